//! `POST /api/v2/validate/hierarchical`: the four validation levels of mge-validate over a
//! plan's current output, each result stored as a `validation_results` row (one transaction).
//!
//! 1. atomic: every atom's current code in its place in the file (the engine's V2 check),
//! 2. module: every generated file reassembled from its atoms (parse, names, `py_compile`),
//! 3. component: the generated files grouped by directory (imports, arity, `tsc --noEmit`),
//! 4. system: the plan's test command over the written project (when the plan has one).
//!
//! Every atom must have code (run or execute the plan's waves first): otherwise 409.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::State;
use mge_core::{ExecutionMode, PlanId, ValidationLevel};
use mge_engine::run::RunContext;
use mge_engine::{ExecutionStrategy, RunOptions, V2Strategy};
use mge_rollout::names;
use mge_store::NewValidationResult;
use mge_validate::{
    components, validate_components, validate_modules, validate_system, Project, SandboxLimits,
    ValidationReport,
};
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::User;
use crate::error::{ApiError, ApiResult};
use crate::extract::Json;
use crate::runs::build_generator;
use crate::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(hierarchical))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ValidateRequest {
    #[schema(value_type = String, format = Uuid)]
    pub plan_id: PlanId,
}

fn row(atom: Option<mge_core::AtomId>, report: &ValidationReport) -> NewValidationResult {
    NewValidationResult {
        atom_id: atom,
        level: report.level,
        passed: report.passed,
        score: Some(report.score),
        violations: report.violations_json(),
        warnings: report.warnings_json(),
        duration_seconds: Some(report.duration.as_secs_f64()),
        validator_version: Some(report.validator_version.to_string()),
    }
}

fn level_json(level: ValidationLevel, results: Vec<Value>) -> Value {
    let passed = results.iter().all(|r| r["passed"] == true);
    json!({ "level": level.as_str(), "passed": passed, "checked": results.len(), "results": results })
}

#[utoipa::path(post, path = "/api/v2/validate/hierarchical", tag = "v2", security(("bearer" = [])), request_body = ValidateRequest, responses((status = 200, description = "Per-level results (atomic, module, component, system), stored", body = serde_json::Value), (status = 400, description = "Bad input", body = crate::error::ErrorBody), (status = 401, description = "No or unknown token", body = crate::error::ErrorBody), (status = 404, description = "No such plan for this user", body = crate::error::ErrorBody), (status = 409, description = "Atoms without code, the plan is running, or V2 validation is disabled", body = crate::error::ErrorBody), (status = 422, description = "The plan cannot be validated", body = crate::error::ErrorBody)))]
async fn hierarchical(
    State(state): State<AppState>,
    user: User,
    Json(req): Json<ValidateRequest>,
) -> ApiResult<axum::Json<Value>> {
    let plan = state.owned_plan(&user, req.plan_id).await?;
    let plan_id = req.plan_id;
    if !state
        .control
        .flags()
        .await?
        .is_on(names::ENABLE_V2_VALIDATION)
    {
        return Err(ApiError::Conflict {
            message: format!(
                "V2 validation is disabled ({} is off)",
                names::ENABLE_V2_VALIDATION
            ),
        });
    }
    let atoms = state.store.load_atoms(plan_id).await?;
    let missing = atoms.iter().filter(|a| a.atom.code.is_none()).count();
    if atoms.is_empty() || missing > 0 {
        return Err(ApiError::Conflict {
            message: format!(
                "plan {plan_id}: {missing} of {} atom(s) have no code yet; execute the plan or its waves first",
                atoms.len()
            ),
        });
    }
    let ctx = RunContext {
        store: state.store.clone(),
        generator: build_generator(&state.config.generator)?,
        plan,
        options: RunOptions {
            mode: ExecutionMode::V2Atoms,
            mode_reason: "validate endpoint".to_string(),
            ..RunOptions::default()
        },
        events: state.runs.events.clone(),
    };
    let store = state.store.clone();
    state
        .runs
        .exclusive(plan_id, "validate", async move {
            validate(ctx, store, atoms).await
        })
        .await
        .map(axum::Json)
}

async fn validate(
    ctx: RunContext,
    store: Arc<dyn mge_store::Store>,
    atoms: Vec<mge_store::StoredAtom>,
) -> ApiResult<Value> {
    let plan_id = ctx.plan_id();
    let unprocessable = |what: &str, e: &dyn std::fmt::Display| ApiError::Unprocessable {
        message: format!("plan {plan_id}: {what}: {e}"),
        details: json!({ "plan_id": plan_id }),
    };
    // Level 1: the engine's atomic check of every unit's atoms.
    let strategy = V2Strategy::default();
    let units = strategy
        .atomize_plan(&ctx)
        .await
        .map_err(|e| unprocessable("atomizing", &e))?;
    let mut rows = Vec::new();
    let mut atomic = Vec::new();
    let by_key: BTreeMap<&str, &mge_store::StoredAtom> = atoms
        .iter()
        .map(|a| (a.atom.atom_key.as_str(), a))
        .collect();
    for (unit, key) in units.units.iter().enumerate() {
        let error = strategy
            .validate_unit(&ctx, unit)
            .await
            .map_err(|e| unprocessable("atomic validation", &e))?;
        for member in key.split('+') {
            let atom_id = by_key.get(member).map(|a| a.atom.id);
            let violations = error
                .as_deref()
                .map_or(json!([]), |e| json!(e.lines().collect::<Vec<_>>()));
            rows.push(NewValidationResult {
                atom_id,
                level: ValidationLevel::Atomic,
                passed: error.is_none(),
                score: Some(if error.is_none() { 1.0 } else { 0.0 }),
                violations: violations.clone(),
                warnings: json!([]),
                duration_seconds: None,
                validator_version: Some(mge_validate::VALIDATOR_VERSION.to_string()),
            });
            atomic.push(json!({ "atom": member, "atom_id": atom_id, "passed": error.is_none(), "violations": violations }));
        }
    }
    // Levels 2-4 on the project reassembled from the atoms' current code.
    let mut ordered: Vec<&mge_store::StoredAtom> = atoms.iter().collect();
    ordered.sort_by(|a, b| {
        (a.atom.file_path.as_str(), a.atom.start_byte)
            .cmp(&(b.atom.file_path.as_str(), b.atom.start_byte))
    });
    let mut files: Vec<(String, String)> = Vec::new();
    for a in ordered {
        match files.last_mut() {
            Some((path, code)) if *path == a.atom.file_path => {
                code.push_str(a.atom.code.as_deref().unwrap_or_default())
            }
            _ => files.push((
                a.atom.file_path.clone(),
                a.atom.code.clone().unwrap_or_default(),
            )),
        }
    }
    // What each file must define: the definitions atomization recorded for its atoms.
    let mut expected: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for a in &atoms {
        let defines = a.atom.context["defines"].as_array().into_iter().flatten();
        expected
            .entry(a.atom.file_path.clone())
            .or_default()
            .extend(defines.filter_map(|d| d.as_str().map(str::to_string)));
    }
    let plan = ctx.plan.plan.clone();
    let reports = tokio::task::spawn_blocking(move || -> Result<_, String> {
        let dir = std::env::temp_dir().join(format!("mge-api-validate-{}", uuid::Uuid::new_v4()));
        let result = (|| {
            mge_engine::output::write_project(&dir, &plan, &files).map_err(|e| e.to_string())?;
            let project = Project::load(&dir).map_err(|e| e.to_string())?;
            let project_files = project.atomize(&mge_atomize::Config::default());
            let limits = SandboxLimits::default();
            let modules: Vec<(&str, &str)> = files
                .iter()
                .map(|(p, s)| (p.as_str(), s.as_str()))
                .collect();
            let module = validate_modules(&modules, &project_files, &expected, &[], &limits)
                .map_err(|e| format!("module level: {e}"))?;
            let groups = components(files.iter().map(|(p, _)| p.as_str()));
            let tsconfig = project.get("tsconfig.json").map(|_| "tsconfig.json");
            let component =
                validate_components(&project, &project_files, &groups, tsconfig, &limits)
                    .map_err(|e| format!("component level: {e}"))?;
            let system = match &plan.test_command {
                Some(command) => Some(
                    validate_system(&project, &project_files, command, &limits)
                        .map_err(|e| format!("system level: {e}"))?,
                ),
                None => None,
            };
            Ok((module, component, system))
        })();
        let _ = std::fs::remove_dir_all(&dir);
        result
    })
    .await
    .map_err(|e| ApiError::Internal(format!("validating plan {plan_id}: {e}")))?
    .map_err(|e| unprocessable("validation", &e))?;
    let (module, component, system) = reports;
    let named = |(name, r): (&String, &ValidationReport)| json!({ "name": name, "passed": r.passed, "score": r.score, "violations": r.violations_json() });
    let module_json: Vec<Value> = module.iter().map(named).collect();
    let component_json: Vec<Value> = component.iter().map(named).collect();
    rows.extend(module.values().map(|r| row(None, r)));
    rows.extend(component.values().map(|r| row(None, r)));
    let system_json: Vec<Value> = system
        .iter()
        .map(|r| json!({ "name": "tests", "passed": r.passed, "score": r.score, "violations": r.violations_json() }))
        .collect();
    rows.extend(system.iter().map(|r| row(None, r)));
    store.insert_validation_results(plan_id, &rows).await?;
    let levels = vec![
        level_json(ValidationLevel::Atomic, atomic),
        level_json(ValidationLevel::Module, module_json),
        level_json(ValidationLevel::Component, component_json),
        level_json(ValidationLevel::System, system_json),
    ];
    let passed = levels.iter().all(|l| l["passed"] == true);
    Ok(
        json!({ "plan_id": plan_id, "passed": passed, "stored_results": rows.len(), "levels": levels }),
    )
}
