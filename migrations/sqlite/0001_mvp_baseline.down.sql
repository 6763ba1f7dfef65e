DROP TABLE masterplan_history;
DROP TABLE masterplan_versions;
DROP TABLE masterplan_subtasks;
DROP TABLE masterplan_tasks;
DROP TABLE masterplan_milestones;
DROP TABLE masterplan_phases;
DROP TABLE masterplans;
DROP TABLE discovery_documents;
