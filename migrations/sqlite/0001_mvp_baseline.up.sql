-- MVP baseline (SQLite: TEXT uuids, TEXT json, RFC3339 TEXT timestamps): discovery documents, masterplans and their phase > milestone > task > subtask
-- tree, versions and the execution audit trail.

CREATE TABLE discovery_documents (
    discovery_id  TEXT PRIMARY KEY,
    user_id       VARCHAR(100) NOT NULL,
    project_name  VARCHAR(300) NOT NULL,
    user_request  TEXT NOT NULL,
    analysis      TEXT NOT NULL DEFAULT '{}',
    created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE INDEX idx_discovery_user ON discovery_documents (user_id);

CREATE TABLE masterplans (
    masterplan_id     TEXT PRIMARY KEY,
    discovery_id      TEXT REFERENCES discovery_documents (discovery_id) ON DELETE SET NULL,
    user_id           VARCHAR(100) NOT NULL,
    name              VARCHAR(200) NOT NULL,
    description       TEXT NOT NULL,
    status            VARCHAR(50) NOT NULL DEFAULT 'pending',
    plan_source       TEXT NOT NULL,
    reference_dir     TEXT,
    test_command      TEXT,
    total_phases      INTEGER NOT NULL DEFAULT 0,
    total_milestones  INTEGER NOT NULL DEFAULT 0,
    total_tasks       INTEGER NOT NULL DEFAULT 0,
    total_subtasks    INTEGER NOT NULL DEFAULT 0,
    current_version   INTEGER NOT NULL DEFAULT 1,
    created_at        TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at        TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    started_at        TEXT,
    completed_at      TEXT
);

CREATE INDEX idx_masterplan_user ON masterplans (user_id);
CREATE INDEX idx_masterplan_status ON masterplans (status);
CREATE INDEX idx_masterplan_discovery ON masterplans (discovery_id);
CREATE INDEX idx_masterplan_created ON masterplans (created_at);

CREATE TABLE masterplan_phases (
    phase_id       TEXT PRIMARY KEY,
    masterplan_id  TEXT NOT NULL REFERENCES masterplans (masterplan_id) ON DELETE CASCADE,
    phase_number   INTEGER NOT NULL CHECK (phase_number >= 1),
    name           VARCHAR(200) NOT NULL,
    description    TEXT,
    status         VARCHAR(50) NOT NULL DEFAULT 'pending',
    created_at     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    CONSTRAINT unique_phase_number UNIQUE (masterplan_id, phase_number)
);

CREATE TABLE masterplan_milestones (
    milestone_id      TEXT PRIMARY KEY,
    masterplan_id     TEXT NOT NULL REFERENCES masterplans (masterplan_id) ON DELETE CASCADE,
    phase_id          TEXT NOT NULL REFERENCES masterplan_phases (phase_id) ON DELETE CASCADE,
    milestone_number  INTEGER NOT NULL CHECK (milestone_number >= 1),
    name              VARCHAR(200) NOT NULL,
    description       TEXT,
    status            VARCHAR(50) NOT NULL DEFAULT 'pending',
    created_at        TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    CONSTRAINT unique_milestone_number UNIQUE (phase_id, milestone_number)
);

CREATE INDEX idx_milestone_plan ON masterplan_milestones (masterplan_id);

CREATE TABLE masterplan_tasks (
    task_id        TEXT PRIMARY KEY,
    masterplan_id  TEXT NOT NULL REFERENCES masterplans (masterplan_id) ON DELETE CASCADE,
    phase_id       TEXT NOT NULL REFERENCES masterplan_phases (phase_id) ON DELETE CASCADE,
    milestone_id   TEXT NOT NULL REFERENCES masterplan_milestones (milestone_id) ON DELETE CASCADE,
    task_number    INTEGER NOT NULL CHECK (task_number >= 1),
    task_key       VARCHAR(200) NOT NULL,
    name           VARCHAR(300) NOT NULL,
    description    TEXT NOT NULL,
    language       VARCHAR(50) NOT NULL,
    target_path    TEXT NOT NULL,
    depends_on     TEXT NOT NULL DEFAULT '[]',
    skeleton       TEXT,
    status         VARCHAR(50) NOT NULL DEFAULT 'pending',
    attempts       INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    code           TEXT,
    error          TEXT,
    created_at     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    started_at     TEXT,
    completed_at   TEXT,
    CONSTRAINT unique_task_key UNIQUE (masterplan_id, task_key),
    CONSTRAINT unique_task_number UNIQUE (masterplan_id, task_number),
    CONSTRAINT unique_task_target UNIQUE (masterplan_id, target_path)
);

CREATE INDEX idx_task_milestone ON masterplan_tasks (milestone_id);
CREATE INDEX idx_task_phase ON masterplan_tasks (phase_id);
CREATE INDEX idx_task_status ON masterplan_tasks (masterplan_id, status);

CREATE TABLE masterplan_subtasks (
    subtask_id      TEXT PRIMARY KEY,
    masterplan_id   TEXT NOT NULL REFERENCES masterplans (masterplan_id) ON DELETE CASCADE,
    task_id         TEXT NOT NULL REFERENCES masterplan_tasks (task_id) ON DELETE CASCADE,
    subtask_number  INTEGER NOT NULL CHECK (subtask_number >= 1),
    name            VARCHAR(300) NOT NULL,
    description     TEXT,
    line_start      INTEGER,
    line_end        INTEGER,
    status          VARCHAR(50) NOT NULL DEFAULT 'pending',
    attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    code            TEXT,
    error           TEXT,
    created_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    CONSTRAINT unique_subtask_number UNIQUE (task_id, subtask_number),
    CONSTRAINT subtask_line_range CHECK (
        (line_start IS NULL AND line_end IS NULL)
        OR (line_start >= 1 AND line_end >= line_start)
    )
);

CREATE INDEX idx_subtask_plan ON masterplan_subtasks (masterplan_id);

CREATE TABLE masterplan_versions (
    version_id      TEXT PRIMARY KEY,
    masterplan_id   TEXT NOT NULL REFERENCES masterplans (masterplan_id) ON DELETE CASCADE,
    version_number  INTEGER NOT NULL CHECK (version_number >= 1),
    plan_source     TEXT NOT NULL,
    change_summary  TEXT,
    created_by      VARCHAR(100) NOT NULL,
    created_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    CONSTRAINT unique_plan_version UNIQUE (masterplan_id, version_number)
);

CREATE TABLE masterplan_history (
    history_id     INTEGER PRIMARY KEY AUTOINCREMENT,
    masterplan_id  TEXT NOT NULL REFERENCES masterplans (masterplan_id) ON DELETE CASCADE,
    task_id        TEXT REFERENCES masterplan_tasks (task_id) ON DELETE CASCADE,
    event          VARCHAR(100) NOT NULL,
    details        TEXT NOT NULL DEFAULT '{}',
    created_at     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE INDEX idx_history_plan ON masterplan_history (masterplan_id, history_id);
CREATE INDEX idx_history_task ON masterplan_history (task_id);
