DROP TABLE IF EXISTS rollback_events;
DROP TABLE IF EXISTS user_mode_overrides;
DROP TABLE IF EXISTS plan_mode_overrides;
DROP INDEX IF EXISTS idx_feature_flag_audit_name;
DROP INDEX IF EXISTS idx_feature_flag_audit_change_set;
DROP TABLE IF EXISTS feature_flag_audit;
DROP TABLE IF EXISTS feature_flags;
