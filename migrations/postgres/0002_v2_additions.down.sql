-- Reverts exactly what 0002 added; MVP tables and columns are left untouched.
DROP INDEX idx_masterplan_mode;

ALTER TABLE masterplan_history
    DROP COLUMN execution_mode;

ALTER TABLE masterplans
    DROP COLUMN v2_graph_build_time_seconds,
    DROP COLUMN v2_atomization_time_seconds,
    DROP COLUMN v2_avg_atom_loc,
    DROP COLUMN v2_total_atoms,
    DROP COLUMN execution_mode;

DROP TABLE human_review_queue;
DROP TABLE atom_retry_history;
DROP TABLE execution_waves;
DROP TABLE validation_results;
DROP TABLE dependency_graphs;
DROP TABLE atom_dependencies;
DROP TABLE atomic_units;
