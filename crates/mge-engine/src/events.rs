//! Progress events. Each is reported only after the state change it describes is persisted; its
//! sequence number is the id of the `masterplan_history` row that recorded it, so a client that
//! reconnects with its last sequence number misses nothing.

use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Id of the history row: increasing within a plan.
    pub seq: i64,
    pub plan_id: mge_core::PlanId,
    /// `unit_started`, `unit_succeeded`, `unit_failed`, `unit_blocked`, `attempt_failed`,
    /// `wave_completed`, `run_started`, `run_completed`, ...
    pub event: String,
    pub details: serde_json::Value,
}

/// Where events go: a broadcast channel any number of observers subscribe to.
#[derive(Debug, Clone)]
pub struct EventSink {
    sender: broadcast::Sender<Event>,
}

impl Default for EventSink {
    fn default() -> Self {
        EventSink::new(4096)
    }
}

impl EventSink {
    pub fn new(capacity: usize) -> EventSink {
        EventSink {
            sender: broadcast::channel(capacity).0,
        }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.sender.subscribe()
    }

    pub fn send(&self, event: Event) {
        // No subscriber is fine: the history table keeps every event.
        let _ = self.sender.send(event);
    }
}
