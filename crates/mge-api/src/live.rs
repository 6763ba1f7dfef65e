//! `WS /ws/masterplan/{id}?since=N`: a plan's progress events with sequence numbers above `N`:
//! first the stored history, then live events, deduplicated by sequence number, so a client
//! that reconnects with the last number it saw misses nothing.

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;
use mge_core::PlanId;
use serde::Deserialize;
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::User;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Path, Query};
use crate::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(upgrade))
}

#[derive(Debug, Deserialize)]
struct LiveQuery {
    #[serde(default)]
    since: i64,
    /// Accepted for browsers, read by the [`User`] extractor.
    #[serde(default)]
    #[allow(dead_code)]
    token: Option<String>,
}

#[utoipa::path(get, path = "/ws/masterplan/{id}", tag = "live", security(("bearer" = [])), params(("id" = uuid::Uuid, Path, description = "Id"), ("since" = Option<i64>, Query, description = "Last sequence number seen")), responses((status = 101, description = "WebSocket of progress events"), (status = 400, description = "Bad input", body = crate::error::ErrorBody), (status = 401, description = "No or unknown token", body = crate::error::ErrorBody), (status = 404, description = "No such resource for this user", body = crate::error::ErrorBody)))]
async fn upgrade(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<PlanId>,
    Query(q): Query<LiveQuery>,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> ApiResult<Response> {
    state.owned_plan(&user, id).await?;
    let ws = ws.map_err(|e| {
        ApiError::bad_request(
            format!("websocket upgrade: {}", e.body_text()),
            serde_json::json!({ "location": "headers" }),
        )
    })?;
    Ok(ws.on_upgrade(move |socket| stream(state, id, q.since, socket)))
}

/// Sends every stored event after `last`, returning the new last sequence number; `None` when
/// the client is gone.
async fn replay(
    state: &AppState,
    plan: PlanId,
    mut last: i64,
    socket: &mut WebSocket,
) -> Option<i64> {
    let history = match state.store.load_history(plan).await {
        Ok(h) => h,
        Err(e) => {
            tracing::warn!("live events of plan {plan}: {e}");
            return None;
        }
    };
    let since = last;
    for h in history.into_iter().filter(|h| h.history_id > since) {
        let msg = json!({ "seq": h.history_id, "event": h.event, "task_id": h.task_id, "details": h.details });
        socket
            .send(Message::Text(msg.to_string().into()))
            .await
            .ok()?;
        last = h.history_id;
    }
    Some(last)
}

/// How long a live event waits for the events with lower sequence numbers (written by
/// transactions that commit later) before the stored history decides.
const GAP_WAIT: std::time::Duration = std::time::Duration::from_millis(500);

async fn send_event(socket: &mut WebSocket, event: &mge_engine::Event) -> bool {
    let msg = json!({ "seq": event.seq, "event": event.event, "details": event.details });
    socket
        .send(Message::Text(msg.to_string().into()))
        .await
        .is_ok()
}

async fn stream(state: AppState, plan: PlanId, since: i64, mut socket: WebSocket) {
    // Subscribe before reading the history, so an event written in between is not lost.
    let mut live = state.runs.events.subscribe();
    let Some(mut last) = replay(&state, plan, since, &mut socket).await else {
        return;
    };
    // Events are sent in sequence order. Sequence numbers are global and concurrent
    // transactions may commit (and report) a higher one first: an event of this plan waits until
    // every lower number has been reported (for any plan), or until GAP_WAIT has passed (a number
    // used by another process or a rolled-back transaction), when the stored history (committed
    // rows, in order) fills in.
    let mut held: std::collections::BTreeMap<i64, mge_engine::Event> = Default::default();
    let mut seen: std::collections::BTreeSet<i64> = Default::default();
    let mut deadline: Option<tokio::time::Instant> = None;
    loop {
        let wait = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            event = live.recv() => match event {
                Ok(event) if event.seq > last => {
                    seen.insert(event.seq);
                    if event.plan_id == plan {
                        held.insert(event.seq, event);
                    }
                    while let Some(entry) = held.first_entry() {
                        let next = *entry.key();
                        if !(last + 1..next).all(|s| seen.contains(&s)) {
                            break;
                        }
                        let event = entry.remove();
                        if !send_event(&mut socket, &event).await {
                            return;
                        }
                        last = event.seq;
                    }
                    seen = seen.split_off(&(last + 1));
                    deadline = match (held.is_empty(), deadline) {
                        (true, _) => None,
                        (false, Some(d)) => Some(d),
                        (false, None) => Some(tokio::time::Instant::now() + GAP_WAIT),
                    };
                }
                Ok(_) => {}
                Err(RecvError::Lagged(_)) => match replay(&state, plan, last, &mut socket).await {
                    Some(l) => {
                        last = l;
                        held.retain(|seq, _| *seq > last);
                    }
                    None => return,
                },
                Err(RecvError::Closed) => return,
            },
            _ = wait => {
                match replay(&state, plan, last, &mut socket).await {
                    Some(l) => last = l,
                    None => return,
                }
                held.retain(|seq, _| *seq > last);
                seen = seen.split_off(&(last + 1));
                // What is still held was reported but not yet readable: send it in order.
                for (_, event) in std::mem::take(&mut held) {
                    if !send_event(&mut socket, &event).await {
                        return;
                    }
                    last = event.seq;
                }
                deadline = None;
            }
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            },
        }
    }
}
