//! Read caches of the request path.
//!
//! - [`TokenCache`]: token hash -> user, for [`TOKEN_TTL`]. Tokens are never changed once
//!   created (there is no revocation yet), so the TTL only bounds memory and how long a token
//!   deleted from the database by hand keeps working.
//! - [`PlanCache`]: the serialized body of `GET /api/v1/masterplan/{id}` (without its live
//!   `running` field) per plan. An entry is dropped as soon as an event of that plan is reported
//!   by a run of this process (every state change is persisted before it is reported), when this
//!   process starts or retries a run of the plan, and after [`PLAN_TTL`] at the latest, which
//!   bounds staleness for changes made by another process on the same database.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use mge_core::PlanId;
use mge_store::TokenOwner;

/// How long a token lookup is reused.
pub const TOKEN_TTL: Duration = Duration::from_secs(60);
/// How long a plan's body is reused at most.
pub const PLAN_TTL: Duration = Duration::from_secs(1);
/// Entries kept at most; the cache is emptied when full.
const MAX_ENTRIES: usize = 10_000;

#[derive(Debug, Default)]
pub struct TokenCache {
    map: Mutex<HashMap<String, (TokenOwner, Instant)>>,
}

impl TokenCache {
    pub fn get(&self, hash: &str) -> Option<TokenOwner> {
        let map = self.map.lock().expect("token cache lock");
        map.get(hash)
            .filter(|(_, at)| at.elapsed() < TOKEN_TTL)
            .map(|(owner, _)| owner.clone())
    }

    pub fn put(&self, hash: String, owner: TokenOwner) {
        let mut map = self.map.lock().expect("token cache lock");
        if map.len() >= MAX_ENTRIES {
            map.clear();
        }
        map.insert(hash, (owner, Instant::now()));
    }
}

/// A plan's cached body: its owner (checked on every hit) and the JSON object without
/// `running`.
#[derive(Debug, Clone)]
pub struct CachedPlan {
    pub owner: String,
    pub body: Bytes,
}

#[derive(Debug, Default)]
struct Slot {
    entry: Option<(CachedPlan, Instant)>,
    invalidated: Option<Instant>,
}

#[derive(Debug, Default)]
struct Slots {
    slots: HashMap<PlanId, Slot>,
    /// Last time every entry was dropped at once.
    cleared: Option<Instant>,
}

#[derive(Debug, Default)]
pub struct PlanCache {
    map: Mutex<Slots>,
}

impl PlanCache {
    pub fn get(&self, plan: PlanId) -> Option<CachedPlan> {
        let map = self.map.lock().expect("plan cache lock");
        map.slots
            .get(&plan)
            .and_then(|slot| slot.entry.as_ref())
            .filter(|(_, at)| at.elapsed() < PLAN_TTL)
            .map(|(c, _)| c.clone())
    }

    /// Stores a body read from the store at `read_at`; an invalidation since then wins (the
    /// body is not stored), so a body read before a change is never served after it.
    pub fn put(&self, plan: PlanId, entry: CachedPlan, read_at: Instant) {
        let mut map = self.map.lock().expect("plan cache lock");
        if map.cleared.is_some_and(|at| at >= read_at) {
            return;
        }
        if map.slots.len() >= MAX_ENTRIES {
            map.slots.clear();
            map.cleared = Some(Instant::now());
            return;
        }
        let slot = map.slots.entry(plan).or_default();
        if slot.invalidated.is_some_and(|at| at >= read_at) {
            return;
        }
        slot.entry = Some((entry, read_at));
    }

    pub fn invalidate(&self, plan: PlanId) {
        let mut map = self.map.lock().expect("plan cache lock");
        let slot = map.slots.entry(plan).or_default();
        slot.entry = None;
        slot.invalidated = Some(Instant::now());
    }

    pub fn clear(&self) {
        let mut map = self.map.lock().expect("plan cache lock");
        map.slots.clear();
        map.cleared = Some(Instant::now());
    }
}

/// The response body: `{"running":<bool>,` followed by the cached object's fields.
pub fn with_running(body: &[u8], running: bool) -> Vec<u8> {
    let head: &[u8] = if running {
        b"{\"running\":true,"
    } else {
        b"{\"running\":false,"
    };
    let mut out = Vec::with_capacity(body.len() + head.len());
    out.extend_from_slice(head);
    out.extend_from_slice(&body[1..]);
    out
}
