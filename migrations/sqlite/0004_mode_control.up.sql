-- Dual-mode control: feature flags with their audit trail, per-plan and per-user mode overrides,
-- and rollback events. Additive only: no MVP or V2 table is altered.
CREATE TABLE feature_flags (
    name        VARCHAR(100) PRIMARY KEY,
    value       TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    updated_by  VARCHAR(100) NOT NULL
);

CREATE TABLE feature_flag_audit (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    change_set  TEXT NOT NULL,
    name        VARCHAR(100) NOT NULL,
    old_value   TEXT,
    new_value   TEXT NOT NULL,
    changed_by  VARCHAR(100) NOT NULL,
    changed_at  TEXT NOT NULL,
    reason      TEXT NOT NULL
);

CREATE INDEX idx_feature_flag_audit_change_set ON feature_flag_audit (change_set);
CREATE INDEX idx_feature_flag_audit_name ON feature_flag_audit (name, id);

CREATE TABLE plan_mode_overrides (
    masterplan_id  TEXT PRIMARY KEY REFERENCES masterplans (masterplan_id) ON DELETE CASCADE,
    mode           VARCHAR(20) NOT NULL CHECK (mode IN ('mvp', 'v2_atoms', 'hybrid')),
    set_by         VARCHAR(100) NOT NULL,
    set_at         TEXT NOT NULL,
    reason         TEXT NOT NULL
);

CREATE TABLE user_mode_overrides (
    user_id  VARCHAR(100) PRIMARY KEY,
    mode     VARCHAR(20) NOT NULL CHECK (mode IN ('mvp', 'v2_atoms', 'hybrid')),
    set_by   VARCHAR(100) NOT NULL,
    set_at   TEXT NOT NULL,
    reason   TEXT NOT NULL
);

CREATE TABLE rollback_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    change_set  TEXT NOT NULL,
    kind        VARCHAR(20) NOT NULL CHECK (kind IN ('manual', 'automatic')),
    trigger_info TEXT,
    drain       INTEGER NOT NULL,
    reason      TEXT NOT NULL,
    created_by  VARCHAR(100) NOT NULL,
    created_at  TEXT NOT NULL
);
