-- V2 additions (SQLite: TEXT uuids, TEXT json, RFC3339 TEXT timestamps). Additive only: new tables, and new nullable-or-defaulted columns on masterplans
-- and masterplan_history. No MVP column is altered or dropped.

-- Atomic units (~10 LOC each), carved out of a task's target file.
CREATE TABLE atomic_units (
    id                  TEXT PRIMARY KEY,

    task_id             TEXT REFERENCES masterplan_tasks (task_id) NOT NULL,
    masterplan_id       TEXT REFERENCES masterplans (masterplan_id) NOT NULL,

    atom_number         INTEGER NOT NULL,
    atom_key            VARCHAR(500) NOT NULL,
    name                VARCHAR(300) NOT NULL,
    description         TEXT NOT NULL,
    kind                VARCHAR(50) NOT NULL,
    qualified_name      VARCHAR(500),

    language            VARCHAR(50) NOT NULL,
    file_path           TEXT NOT NULL,
    start_byte          INTEGER NOT NULL,
    end_byte            INTEGER NOT NULL,
    start_line          INTEGER NOT NULL,
    end_line            INTEGER NOT NULL,
    parent_atom_id      TEXT REFERENCES atomic_units (id) DEFERRABLE INITIALLY DEFERRED,
    estimated_loc       INTEGER DEFAULT 10,
    actual_loc          INTEGER,
    complexity          REAL DEFAULT 1.0,
    node_type           VARCHAR(100),

    context_json        TEXT NOT NULL,
    completeness_score  REAL DEFAULT 0.0,

    code                TEXT,

    status              VARCHAR(50) DEFAULT 'pending',
    attempts            INTEGER DEFAULT 0,
    wave_number         INTEGER,
    last_error          TEXT,

    validation_passed   INTEGER,
    validation_results  TEXT,
    atomicity_score     REAL,

    confidence_score    REAL,
    needs_human_review  INTEGER DEFAULT FALSE,
    human_reviewed      INTEGER DEFAULT FALSE,
    human_feedback      TEXT,

    llm_model           VARCHAR(100),
    llm_cost_usd        REAL,
    llm_tokens_input    INTEGER,
    llm_tokens_output   INTEGER,

    created_at          TEXT DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    started_at          TEXT,
    completed_at        TEXT,

    CONSTRAINT unique_task_atom UNIQUE (task_id, atom_number),
    CONSTRAINT unique_plan_atom_key UNIQUE (masterplan_id, atom_key),
    CONSTRAINT atom_byte_range CHECK (start_byte >= 0 AND end_byte >= start_byte),
    CONSTRAINT atom_line_range CHECK (start_line >= 1 AND end_line >= start_line)
);

CREATE INDEX idx_atom_task ON atomic_units (task_id);
CREATE INDEX idx_atom_plan ON atomic_units (masterplan_id);
CREATE INDEX idx_atom_status ON atomic_units (status);
CREATE INDEX idx_atom_review ON atomic_units (needs_human_review, human_reviewed);
CREATE INDEX idx_atom_parent ON atomic_units (parent_atom_id);

-- Edges run from the provider (from_atom_id) to the dependent (to_atom_id).
CREATE TABLE atom_dependencies (
    id               TEXT PRIMARY KEY,
    masterplan_id    TEXT REFERENCES masterplans (masterplan_id) NOT NULL,

    from_atom_id     TEXT REFERENCES atomic_units (id) NOT NULL,
    to_atom_id       TEXT REFERENCES atomic_units (id) NOT NULL,

    dependency_type  VARCHAR(50) NOT NULL,
    weight           REAL DEFAULT 1.0,

    created_at       TEXT DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),

    CONSTRAINT unique_atom_dep UNIQUE (from_atom_id, to_atom_id)
);

CREATE INDEX idx_dep_from ON atom_dependencies (from_atom_id);
CREATE INDEX idx_dep_to ON atom_dependencies (to_atom_id);
CREATE INDEX idx_dep_plan ON atom_dependencies (masterplan_id);

CREATE TABLE dependency_graphs (
    id                    TEXT PRIMARY KEY,
    masterplan_id         TEXT REFERENCES masterplans (masterplan_id) NOT NULL,

    total_atoms           INTEGER NOT NULL,
    total_edges           INTEGER NOT NULL,
    max_depth             INTEGER,
    parallelizable_atoms  INTEGER,

    execution_order       TEXT NOT NULL,
    parallel_waves        TEXT NOT NULL,
    boundaries            TEXT,
    graph_json            TEXT,

    created_at            TEXT DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),

    CONSTRAINT unique_graph_plan UNIQUE (masterplan_id)
);

CREATE INDEX idx_graph_plan ON dependency_graphs (masterplan_id);

CREATE TABLE validation_results (
    id                 TEXT PRIMARY KEY,
    masterplan_id      TEXT REFERENCES masterplans (masterplan_id) NOT NULL,
    atom_id            TEXT REFERENCES atomic_units (id),

    validation_level   VARCHAR(50) NOT NULL,

    passed             INTEGER NOT NULL,
    score              REAL,
    violations         TEXT,
    warnings           TEXT,

    validated_at       TEXT DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    duration_seconds   REAL,

    validator_version  VARCHAR(50)
);

CREATE INDEX idx_validation_plan ON validation_results (masterplan_id);
CREATE INDEX idx_validation_atom ON validation_results (atom_id);
CREATE INDEX idx_validation_level ON validation_results (validation_level);

CREATE TABLE execution_waves (
    id                TEXT PRIMARY KEY,
    masterplan_id     TEXT REFERENCES masterplans (masterplan_id) NOT NULL,

    wave_number       INTEGER NOT NULL,
    atom_ids          TEXT NOT NULL,

    status            VARCHAR(50) DEFAULT 'pending',
    total_atoms       INTEGER NOT NULL,
    completed_atoms   INTEGER DEFAULT 0,
    failed_atoms      INTEGER DEFAULT 0,

    started_at        TEXT,
    completed_at      TEXT,
    duration_seconds  REAL,

    CONSTRAINT unique_wave UNIQUE (masterplan_id, wave_number)
);

CREATE INDEX idx_wave_plan ON execution_waves (masterplan_id);

CREATE TABLE atom_retry_history (
    id                 TEXT PRIMARY KEY,
    atom_id            TEXT REFERENCES atomic_units (id) NOT NULL,

    attempt_number     INTEGER NOT NULL,

    error_message      TEXT,
    error_type         VARCHAR(100),
    validation_errors  TEXT,

    feedback_prompt    TEXT,
    temperature        REAL,

    attempted_at       TEXT DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),

    CONSTRAINT unique_retry UNIQUE (atom_id, attempt_number)
);

CREATE INDEX idx_retry_atom ON atom_retry_history (atom_id);

CREATE TABLE human_review_queue (
    id                TEXT PRIMARY KEY,
    atom_id           TEXT REFERENCES atomic_units (id) NOT NULL,
    masterplan_id     TEXT REFERENCES masterplans (masterplan_id) NOT NULL,

    confidence_score  REAL NOT NULL,
    reasons           TEXT,

    status            VARCHAR(50) DEFAULT 'pending',
    assigned_to       VARCHAR(100),

    human_decision    VARCHAR(50),
    human_edits       TEXT,
    human_comments    TEXT,

    queued_at         TEXT DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    assigned_at       TEXT,
    reviewed_at       TEXT,

    CONSTRAINT unique_review_atom UNIQUE (atom_id)
);

CREATE INDEX idx_review_plan ON human_review_queue (masterplan_id);
CREATE INDEX idx_review_status ON human_review_queue (status);
CREATE INDEX idx_review_confidence ON human_review_queue (confidence_score);

ALTER TABLE masterplans
    ADD COLUMN execution_mode VARCHAR(50) DEFAULT 'mvp';

ALTER TABLE masterplans ADD COLUMN v2_total_atoms INTEGER DEFAULT 0;
ALTER TABLE masterplans ADD COLUMN v2_avg_atom_loc REAL DEFAULT 0.0;
ALTER TABLE masterplans ADD COLUMN v2_atomization_time_seconds REAL;
ALTER TABLE masterplans ADD COLUMN v2_graph_build_time_seconds REAL;

ALTER TABLE masterplan_history
    ADD COLUMN execution_mode VARCHAR(50);

CREATE INDEX idx_masterplan_mode ON masterplans (execution_mode);
