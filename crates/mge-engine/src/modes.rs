//! Dual-mode control at run time: stored flags, mode decisions, rollback and its watcher.
//!
//! [`ModeControl`] holds the flags of the store in a cached [`FlagSet`] that is reloaded whenever
//! [`ModeStore::flags_version`] moves; every decision checks the version first, so a flag change
//! made by any process is seen by the next decision in every other one. A plan's mode is decided
//! once ([`ModeControl::decide`]) and persisted on the plan; deciding it again returns the stored
//! decision.
//!
//! [`ModeWatcher`] runs next to an [`crate::Engine`]: it polls the flags version every 250 ms and
//! sets the engine's `stop` (or calls a callback) when a draining rollback appears (running plans stop at the next unit
//! boundary and keep their state for `--resume`), and it feeds V2 unit outcomes into the
//! automatic-rollback [`SlidingWindow`]; when the window trips it records the rollback with the
//! trigger as its reason.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mge_core::{ExecutionMode, PlanId};
use mge_rollout::{
    names, resolve, Decision, FlagError, FlagSet, ResolveInput, SlidingWindow, Trigger,
    UnitOutcome, WindowSettings, V2_CAPABILITIES,
};
use mge_store::{
    FlagChangeSet, FlagWrite, FlagsVersion, NewRollback, RollbackEvent, RollbackKind, Store,
};
use tokio::sync::broadcast;

use crate::events::{Event, EventSink};

/// How often running processes look for flag changes and rollbacks.
pub const POLL_INTERVAL: Duration = Duration::from_millis(250);
/// `created_by` of automatic rollbacks.
pub const AUTO_ROLLBACK_BY: &str = "auto-rollback";

#[derive(Debug, thiserror::Error)]
pub enum ModeError {
    #[error(transparent)]
    Store(#[from] mge_store::StoreError),
    #[error(transparent)]
    Flag(#[from] FlagError),
}

pub type Result<T, E = ModeError> = std::result::Result<T, E>;

/// A plan's mode as decided (now or earlier).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ModeDecision {
    pub mode: ExecutionMode,
    /// Human text, as recorded on the plan.
    pub reason: String,
    /// `None` when the plan had been decided before (the stored decision is returned).
    pub decision: Option<Decision>,
}

struct Cached {
    version: FlagsVersion,
    flags: FlagSet,
}

/// Stored flags, cached and refreshed on version change; mode decisions; rollback.
pub struct ModeControl {
    store: Arc<dyn Store>,
    cache: Mutex<Cached>,
}

impl ModeControl {
    /// Seeds missing flags from `defaults` (first start, audited as `by`), then loads them.
    pub async fn open(store: Arc<dyn Store>, defaults: &FlagSet, by: &str) -> Result<ModeControl> {
        let writes = to_writes(defaults.iter().map(|(d, _)| d.name), defaults);
        store
            .modes()
            .seed_flags(&writes, by, "first-start default")
            .await?;
        let control = ModeControl {
            store,
            cache: Mutex::new(Cached {
                version: FlagsVersion {
                    audit: -1,
                    rollback: -1,
                },
                flags: FlagSet::defaults(),
            }),
        };
        control.flags().await?;
        Ok(control)
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The current flags: reloaded from the store when its version moved since the last call.
    pub async fn flags(&self) -> Result<FlagSet> {
        let version = self.store.modes().flags_version().await?;
        {
            let cache = self.cache.lock().expect("flag cache lock");
            if cache.version == version {
                return Ok(cache.flags.clone());
            }
        }
        let rows = self.store.modes().load_flags().await?;
        let (flags, problems) =
            FlagSet::from_stored(rows.iter().map(|r| (r.name.as_str(), &r.value)));
        for p in problems {
            tracing::warn!(problem = %p, "ignoring a stored flag");
        }
        let mut cache = self.cache.lock().expect("flag cache lock");
        *cache = Cached {
            version,
            flags: flags.clone(),
        };
        Ok(flags)
    }

    /// Decides the plan's mode once: an earlier decision is returned as stored; otherwise the
    /// resolver decides from the current flags and the stored overrides, and the decision is
    /// persisted on the plan.
    pub async fn decide(
        &self,
        plan: PlanId,
        user: Option<&str>,
        requested: Option<ExecutionMode>,
    ) -> Result<ModeDecision> {
        let modes = self.store.modes();
        if let Some(done) = modes.decided_mode(plan).await? {
            return Ok(ModeDecision {
                mode: done.mode,
                reason: done.reason,
                decision: None,
            });
        }
        let flags = self.flags().await?;
        let plan_override = modes.plan_override(plan).await?.map(|o| o.mode);
        let user_override = match user {
            Some(u) => modes.user_override(u).await?.map(|o| o.mode),
            None => None,
        };
        let plan_text = plan.to_string();
        let decision = resolve(&ResolveInput {
            flags: &flags,
            plan_id: &plan_text,
            user_id: user,
            requested,
            plan_override,
            user_override,
        });
        let reason = decision.reason.to_string();
        self.store
            .set_execution_mode(plan, decision.mode, &reason)
            .await?;
        Ok(ModeDecision {
            mode: decision.mode,
            reason,
            decision: Some(decision),
        })
    }

    /// Sets flag `name` from text after validating it; returns the audit rows written.
    pub async fn set_flag(
        &self,
        name: &str,
        raw: &str,
        by: &str,
        reason: &str,
    ) -> Result<FlagChangeSet> {
        let mut flags = self.flags().await?;
        let change = flags.set(name, raw)?;
        let writes = to_writes([change.name.as_str()], &flags);
        Ok(self.store.modes().set_flags(&writes, by, reason).await?)
    }

    /// Turns every V2 capability flag off and the rollout to 0, audited, and records the
    /// rollback event, all in one transaction. Nothing else is touched; no data is deleted.
    pub async fn rollback(
        &self,
        kind: RollbackKind,
        trigger: Option<&Trigger>,
        drain: bool,
        reason: &str,
        by: &str,
    ) -> Result<(RollbackEvent, FlagChangeSet)> {
        let rolled = self.flags().await?.rolled_back();
        let names = V2_CAPABILITIES
            .into_iter()
            .chain([names::V2_ROLLOUT_PERCENT]);
        let rollback = NewRollback {
            kind,
            trigger: trigger.map(|t| serde_json::to_value(t).expect("trigger serializes")),
            drain,
            reason: reason.to_string(),
            created_by: by.to_string(),
            flags: to_writes(names, &rolled.flags),
        };
        Ok(self.store.modes().record_rollback(&rollback).await?)
    }
}

fn to_writes<'a>(names: impl IntoIterator<Item = &'a str>, flags: &FlagSet) -> Vec<FlagWrite> {
    names
        .into_iter()
        .map(|n| {
            let value = flags.get(n).expect("registered flag");
            FlagWrite::new(
                n,
                serde_json::to_value(value).expect("flag value serializes"),
            )
        })
        .collect()
}

/// What the watcher did, for tests and reports.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WatchReport {
    /// The draining rollback that stopped the engine.
    pub drained_by: Option<i64>,
    /// The automatic rollback this watcher recorded.
    pub auto_rollback: Option<RollbackEvent>,
    /// V2 unit outcomes fed to the window.
    pub outcomes: usize,
}

/// Watches flags and V2 unit outcomes next to a running engine (see the module documentation).
pub struct ModeWatcher {
    task: tokio::task::JoinHandle<()>,
    report: Arc<Mutex<WatchReport>>,
}

impl ModeWatcher {
    /// Starts watching: rollbacks newer than now are noticed (a draining one sets `stop`);
    /// `events` feeds the window.
    pub async fn start(
        control: Arc<ModeControl>,
        events: &EventSink,
        stop: Arc<AtomicBool>,
    ) -> Result<ModeWatcher> {
        Self::start_with(control, events, move || stop.store(true, Ordering::SeqCst)).await
    }

    /// [`ModeWatcher::start`] calling `on_drain` for each draining rollback instead of setting
    /// one flag (a server stops its V2 and hybrid runs, each with a flag of its own).
    pub async fn start_with(
        control: Arc<ModeControl>,
        events: &EventSink,
        on_drain: impl Fn() + Send + Sync + 'static,
    ) -> Result<ModeWatcher> {
        let baseline = control.store.modes().flags_version().await?;
        let flags = control.flags().await?;
        let rx = events.subscribe();
        let report = Arc::new(Mutex::new(WatchReport::default()));
        let state = WatchState {
            control,
            on_drain: Box::new(on_drain),
            last: baseline,
            window: SlidingWindow::new(WindowSettings::from_flags(&flags)),
            auto_enabled: flags.auto_rollback_enabled(),
            latency_ms: HashMap::new(),
            report: report.clone(),
        };
        let task = tokio::spawn(state.run(rx));
        Ok(ModeWatcher { task, report })
    }

    pub fn report(&self) -> WatchReport {
        self.report.lock().expect("watch report lock").clone()
    }

    /// Stops watching and returns what the watcher did.
    pub async fn finish(self) -> WatchReport {
        // Let events already sent reach the watcher.
        tokio::task::yield_now().await;
        self.task.abort();
        let _ = self.task.await;
        let report = self.report.lock().expect("watch report lock").clone();
        report
    }
}

struct WatchState {
    control: Arc<ModeControl>,
    on_drain: Box<dyn Fn() + Send + Sync>,
    last: FlagsVersion,
    window: SlidingWindow,
    auto_enabled: bool,
    /// Generation latency summed per (plan, unit) over its attempts.
    latency_ms: HashMap<(PlanId, String), u64>,
    report: Arc<Mutex<WatchReport>>,
}

impl WatchState {
    async fn run(mut self, mut rx: broadcast::Receiver<Event>) {
        let mut tick = tokio::time::interval(POLL_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    if let Err(e) = self.poll().await {
                        tracing::warn!(error = %e, "checking flags for a rollback");
                    }
                }
                event = rx.recv() => match event {
                    Ok(event) => self.on_event(&event).await,
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!(missed = n, "mode watcher lagged behind the events");
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                },
            }
        }
    }

    async fn poll(&mut self) -> Result<()> {
        let modes = self.control.store.modes();
        let version = modes.flags_version().await?;
        if version == self.last {
            return Ok(());
        }
        if version.rollback > self.last.rollback {
            let newer = version.rollback - self.last.rollback;
            for event in modes.rollback_events(newer).await? {
                if event.id > self.last.rollback && event.drain {
                    tracing::warn!(rollback = event.id, reason = %event.reason, "draining");
                    (self.on_drain)();
                    self.report.lock().expect("watch report lock").drained_by = Some(event.id);
                }
            }
        }
        let flags = self.control.flags().await?;
        self.auto_enabled = flags.auto_rollback_enabled();
        self.last = version;
        Ok(())
    }

    async fn on_event(&mut self, event: &Event) {
        let d = &event.details;
        let unit = d.get("unit").and_then(|u| u.as_str()).unwrap_or("");
        let key = (event.plan_id, unit.to_string());
        match event.event.as_str() {
            crate::run::ATTEMPT_FINISHED => {
                let secs = d
                    .get("latency_seconds")
                    .and_then(serde_json::Value::as_f64)
                    .unwrap_or(0.0);
                *self.latency_ms.entry(key).or_default() += (secs * 1000.0).round() as u64;
            }
            "unit_succeeded" | "unit_failed"
                if d.get("kind").and_then(|k| k.as_str()) == Some("atom") =>
            {
                let latency = self.latency_ms.remove(&key).unwrap_or(0);
                let outcome = if event.event == "unit_succeeded" {
                    UnitOutcome::success(latency)
                } else {
                    UnitOutcome::failure(latency)
                };
                self.report.lock().expect("watch report lock").outcomes += 1;
                if let Some(trigger) = self.window.record(outcome) {
                    self.trip(trigger).await;
                }
            }
            _ => {}
        }
    }

    async fn trip(&mut self, trigger: Trigger) {
        if !self.auto_enabled {
            tracing::warn!(%trigger, "automatic rollback is disabled (V2_AUTO_ROLLBACK_ENABLED)");
            return;
        }
        match self
            .control
            .rollback(
                RollbackKind::Automatic,
                Some(&trigger),
                false,
                &trigger.reason,
                AUTO_ROLLBACK_BY,
            )
            .await
        {
            Ok((event, _)) => {
                tracing::warn!(rollback = event.id, reason = %event.reason, "automatic rollback");
                self.report.lock().expect("watch report lock").auto_rollback = Some(event);
            }
            Err(e) => tracing::error!(error = %e, "recording the automatic rollback"),
        }
    }
}
