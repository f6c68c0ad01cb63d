//! The polling loops of `perch run`: one per source, at its interval,
//! paced by the read budget, the monthly spending cap and X's window for
//! its endpoint, waiting while the filtered stream brings its hits.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::watch;

use super::budget::{paced_interval, reads_this_month};
use super::ingest::{Ingest, Task};
use super::spend::{self, Polling};
use super::XError;
use crate::xrules::limits;

/// How one loop polls: its configured interval, the month's read budget,
/// and how many loops of its account poll the same endpoint.
#[derive(Debug, Clone, Copy)]
pub struct Pace {
    pub interval: Duration,
    pub budget: Option<u64>,
    /// The monthly cap on what X bills.
    pub spend: crate::config::Spend,
    pub sharers: u32,
}

/// Polls one source until `stop`: at its interval, paced by the budget
/// and by X's window for its endpoint (spread over the window, so that the
/// window is never spent before it resets).
pub async fn run(
    ingest: Arc<Ingest>,
    task: Task,
    pace: Pace,
    vitals: crate::vitals::Vitals,
    metrics: crate::metrics::Metrics,
    live: Option<watch::Receiver<bool>>,
    mut stop: watch::Receiver<bool>,
) {
    let account = ingest.account.key.clone();
    let source = task.label();
    let link = format!("x {account}/{source}");
    let patience = chrono::Duration::from_std(pace.interval * crate::vitals::INGEST_ROUNDS as u32)
        .unwrap_or(crate::vitals::PLATFORM_PATIENCE)
        .max(crate::vitals::PLATFORM_PATIENCE);
    let mut stretched = false;
    loop {
        let now = Utc::now();
        // Whether the filtered stream was up before this poll began: only
        // then does the poll cover everything the stream did not bring.
        let streamed_before = live.as_ref().is_some_and(|l| *l.borrow());
        let poll = async {
            match &task {
                Task::Mentions => ingest.poll_mentions(now).await,
                Task::Dms => ingest.poll_dms(now).await,
                Task::Search(rule) => ingest.poll_search(rule, now).await,
            }
        };
        // Stopping mid-poll is safe: the cursor moves last, and dedupe
        // drops what the next run reads again.
        let outcome = tokio::select! {
            outcome = poll => outcome,
            _ = stop.wait_for(|s| *s) => return,
        };
        match &outcome {
            Ok(_) | Err(XError::RateLimited { .. }) => vitals.ok(&link),
            Err(e) => vitals.failed(&link, e, patience),
        }
        if let Ok(report) = &outcome {
            metrics.ingested(account.as_str(), &source, report.recorded.len() as u64);
            for item in &report.recorded {
                metrics.ingest_lag(account.as_str(), &source, Utc::now() - item.created_at);
            }
        }
        match outcome {
            Ok(report) if !report.recorded.is_empty() => {
                tracing::info!(%account, source = %source, new = report.recorded.len(), reads = report.reads, "ingested")
            }
            Ok(_) => {}
            Err(e) if e.is_retryable() => {
                tracing::warn!(%account, source = %source, error = %e, "poll failed; retrying next round")
            }
            Err(e) => tracing::error!(%account, source = %source, error = %e, "poll failed"),
        }
        let used = reads_this_month(&ingest.store, now).unwrap_or(0);
        let (budgeted, warning) = paced_interval(pace.interval, used, pace.budget, now);
        if let Some(w) = warning {
            tracing::warn!(%account, source = %source, "{w}");
        }
        let spent = spend::this_month(&ingest.store, now).unwrap_or(0);
        let budgeted = match spend::pace(budgeted, spent, &pace.spend, now) {
            Polling::Every(wait) => wait.max(budgeted),
            Polling::StopUntil(until) => {
                tracing::warn!(%account, source = %source, spent = %spend::show(spent), %until, "the month's cap on X spending is reached (x.spend.at_cap = \"stop\"): no more reads until the month turns; replies still go");
                let wait = (until - now).to_std().unwrap_or(Duration::ZERO);
                tokio::select! {
                    _ = tokio::time::sleep(wait) => continue,
                    _ = stop.wait_for(|s| *s) => return,
                }
            }
        };
        let window = ingest.client.window(task.endpoint());
        let wait = limits::paced(budgeted, window, pace.sharers);
        if (wait > budgeted) != stretched {
            stretched = wait > budgeted;
            if stretched {
                tracing::info!(%account, source = %source, endpoint = task.endpoint(), every = %humantime::format_duration(round_s(wait)), "polling slowed to stay within X's rate limit window");
            } else {
                tracing::info!(%account, source = %source, every = %humantime::format_duration(budgeted), "polling at the configured interval again");
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        // While the filtered stream brings this search's hits, the poll
        // waits for it to drop (then reads what came meanwhile), reading
        // once an hour so that catching up stays short.
        if let Some(mut live) = live.clone().filter(|l| streamed_before && *l.borrow()) {
            tokio::select! {
                _ = live.wait_for(|up| !*up) => {}
                _ = tokio::time::sleep(STREAMED_POLL) => {}
                _ = stop.wait_for(|s| *s) => return,
            }
        }
    }
}

/// How often a search the filtered stream brings is polled anyway.
const STREAMED_POLL: Duration = Duration::from_secs(3600);

/// Whole seconds, for logs.
fn round_s(d: Duration) -> Duration {
    Duration::from_secs(d.as_secs_f64().round() as u64)
}
