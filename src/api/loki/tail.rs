//! `GET /loki/api/v1/tail` (WebSocket): live entries of a log query.
//!
//! The first frame holds the newest `limit` (default 100) entries since `start` (default one hour
//! ago), oldest first, as Loki's history; then the handler polls the store every second
//! (`delay_for`, at most 5 s, holds back each poll's upper bound so lines arriving a little late
//! are not missed) and sends the entries committed since. A line committed later with a
//! timestamp older than the last one sent is not sent (Loki's tail is fed by ingesters instead).
//! Frames are `{"streams":[{"stream":{…},"values":[["<ns>","line"]]}]}`, as Loki sends them.
//! Entries sharing the last sent timestamp are counted so none is sent twice.

use std::sync::Arc;
use std::time::Duration;

use ::query::logql::ast::Expr;
use ::query::logql::eval::{Engine, LogEntry, QueryParams};
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use logs::Direction;

use super::encode::write_streams;
use super::params::{self as lp};
use super::query::{query_error, read_params};
use super::{LokiError, LokiState};

/// Longest `delay_for` Loki accepts, seconds.
const MAX_DELAY_SECS: i64 = 5;
/// Most entries sent per frame after the first.
const FRAME_LIMIT: usize = 1000;

/// The WebSocket upgrade.
pub async fn tail(State(state): State<Arc<LokiState>>, ws: WebSocketUpgrade, request: Request) -> Response {
    let setup = async {
        let (headers, params) = read_params(request).await?;
        let expr = match ::query::logql::parse(&lp::query_text(&params)) {
            Ok(Expr::Log(log)) => log,
            Ok(Expr::Metric(_)) => return Err(LokiError::bad_request("tail needs a log query, not a metric query")),
            Err(e) => return Err(LokiError::bad_request(e.to_string())),
        };
        let now = logs::store::now_ns();
        let start = match params.get("start") {
            "" => now - lp::DEFAULT_SINCE_NS,
            text => lp::parse_timestamp(text).map_err(LokiError::bad_request)?,
        };
        let limit = lp::limit(&params)?;
        let delay: i64 = match params.get("delay_for") {
            "" => 0,
            text => text
                .parse()
                .map_err(|_| LokiError::bad_request(format!("invalid delay_for {text:?}")))?,
        };
        if !(0..=MAX_DELAY_SECS).contains(&delay) {
            return Err(LokiError::bad_request(format!(
                "delay_for can't be greater than {MAX_DELAY_SECS}"
            )));
        }
        let categorize = super::query::categorize(&headers);
        Ok((expr, start, limit, delay, categorize))
    }
    .await;
    match setup {
        Ok((expr, start, limit, delay, categorize)) => ws.on_upgrade(move |socket| async move {
            let session = Session {
                state,
                expr: Expr::Log(expr),
                next_ts: start,
                sent_at_ts: 0,
                delay_ns: delay * 1_000_000_000,
                categorize,
            };
            session.run(socket, limit).await;
        }),
        Err(e) => e.into_response(),
    }
}

struct Session {
    state: Arc<LokiState>,
    expr: Expr,
    /// Entries from this timestamp on are still to be sent.
    next_ts: i64,
    /// Entries at `next_ts` already sent.
    sent_at_ts: usize,
    delay_ns: i64,
    categorize: bool,
}

impl Session {
    async fn run(mut self, mut socket: WebSocket, first_limit: usize) {
        let mut limit = first_limit;
        let mut history = true;
        let mut ticker = tokio::time::interval(Duration::from_secs(1));
        loop {
            tokio::select! {
                _ = ticker.tick() => {}
                msg = socket.recv() => match msg {
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                    Some(Ok(_)) => continue,
                },
            }
            let entries = match self.poll(limit, history).await {
                Ok(e) => e,
                Err(e) => {
                    tracing::warn!(error = %e.message(), "tail query failed");
                    let _ = socket.send(Message::Close(None)).await;
                    return;
                }
            };
            history = false;
            if entries.is_empty() {
                continue;
            }
            limit = FRAME_LIMIT;
            let mut frame = String::from(r#"{"streams":"#);
            write_streams(&mut frame, &entries, self.categorize);
            frame.push('}');
            if socket.send(Message::Text(frame.into())).await.is_err() {
                return;
            }
        }
    }

    /// The next entries: the newest `limit` for the history, else those after the last sent.
    async fn poll(&mut self, limit: usize, history: bool) -> Result<Vec<LogEntry>, LokiError> {
        let end = logs::store::now_ns() - self.delay_ns;
        if end <= self.next_ts {
            return Ok(Vec::new());
        }
        let state = Arc::clone(&self.state);
        let expr = self.expr.clone();
        let (start, skip) = (self.next_ts, self.sent_at_ts);
        let entries = tokio::task::spawn_blocking(move || {
            let engine = Engine::new(state.store.as_ref(), state.query.engine.clone());
            let Expr::Log(log) = &expr else {
                return Ok::<_, LokiError>(Vec::new());
            };
            let params = QueryParams {
                start_ns: start,
                end_ns: end,
                step_ns: 0,
                interval_ns: 0,
                limit: (limit + skip).min(state.query.engine.max_entries),
                direction: if history {
                    Direction::Backward
                } else {
                    Direction::Forward
                },
            };
            let mut entries = engine.select_logs(log, &params).map_err(query_error)?;
            if history {
                entries.reverse();
            }
            Ok(entries)
        })
        .await
        .map_err(|e| LokiError::bad_request(format!("tail task failed: {e}")))??;
        let entries: Vec<LogEntry> = entries.into_iter().skip(if history { 0 } else { skip }).collect();
        if let Some(last) = entries.last() {
            let at_last = entries.iter().filter(|e| e.ts_ns == last.ts_ns).count();
            if last.ts_ns == self.next_ts {
                self.sent_at_ts += at_last;
            } else {
                self.next_ts = last.ts_ns;
                self.sent_at_ts = at_last;
            }
        } else if history {
            // Nothing yet: follow from now on.
            self.next_ts = end;
            self.sent_at_ts = 0;
        }
        if self.sent_at_ts >= self.state.query.engine.max_entries {
            // More lines share one nanosecond than a query may return: move past it.
            self.next_ts = self.next_ts.saturating_add(1);
            self.sent_at_ts = 0;
        }
        Ok(entries)
    }
}
