//! What X says about each endpoint's window, per account: read from the
//! `x-rate-limit-*` headers of every answer, consulted before every
//! request, so nothing is sent into a window known to be spent.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::XError;
use crate::xrules::limits;

/// What X last said about one endpoint's budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub limit: u64,
    pub remaining: u64,
    /// Unix seconds.
    pub reset: u64,
}

/// The windows of one account's endpoints (`GET /2/users/:id/mentions`).
#[derive(Default)]
pub(super) struct Windows(Mutex<HashMap<String, RateLimit>>);

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Windows {
    pub(super) fn get(&self, endpoint: &str) -> Option<RateLimit> {
        self.0.lock().ok()?.get(endpoint).copied()
    }

    /// The window while it lasts.
    pub(super) fn window(&self, endpoint: &str) -> Option<limits::Window> {
        let limit = self.get(endpoint)?;
        let resets_in = until_reset(limit.reset);
        (!resets_in.is_zero()).then_some(limits::Window {
            remaining: limit.remaining,
            resets_in,
        })
    }

    pub(super) fn record(&self, endpoint: &str, headers: &reqwest::header::HeaderMap) {
        let number = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
        };
        if let (Some(limit), Some(remaining), Some(reset)) = (
            number("x-rate-limit-limit"),
            number("x-rate-limit-remaining"),
            number("x-rate-limit-reset"),
        ) {
            if let Ok(mut limits) = self.0.lock() {
                limits.insert(
                    endpoint.to_owned(),
                    RateLimit {
                        limit,
                        remaining,
                        reset,
                    },
                );
            }
        }
    }

    /// After a 429, treat the window as spent even if headers were missing.
    pub(super) fn exhaust(&self, endpoint: &str) {
        if let Ok(mut limits) = self.0.lock() {
            let entry = limits.entry(endpoint.to_owned()).or_insert(RateLimit {
                limit: 0,
                remaining: 0,
                // No headers: X's windows are 15 minutes; try again in one.
                reset: unix_now() + 60,
            });
            entry.remaining = 0;
        }
    }

    pub(super) fn reset_in(&self, endpoint: &str) -> Duration {
        self.0
            .lock()
            .ok()
            .and_then(|l| l.get(endpoint).map(|r| r.reset))
            .map_or(Duration::ZERO, until_reset)
    }

    /// `RateLimited` without sending when the endpoint's window is known
    /// to be spent; a window whose reset has passed is forgotten.
    pub(super) fn check(&self, endpoint: &str) -> Result<(), XError> {
        let Ok(mut limits) = self.0.lock() else {
            return Ok(());
        };
        let Some(limit) = limits.get(endpoint).copied() else {
            return Ok(());
        };
        if limit.remaining > 0 {
            return Ok(());
        }
        let reset_in = until_reset(limit.reset);
        if reset_in.is_zero() {
            limits.remove(endpoint);
            return Ok(());
        }
        Err(XError::RateLimited {
            endpoint: endpoint.to_owned(),
            reset_in,
        })
    }
}

/// How long until a window that resets at `reset` (Unix seconds) is new
/// again: +1 s, as the reset is whole seconds and X's clock is not ours.
fn until_reset(reset: u64) -> Duration {
    match reset.checked_sub(unix_now()) {
        Some(secs) => Duration::from_secs(secs + 1),
        None => Duration::ZERO,
    }
}

/// The endpoint a request counts against, as X documents its limits:
/// `GET /2/users/:id/mentions` for `/2/users/1500…/mentions`.
pub fn endpoint_key(method: &str, path: &str) -> String {
    // `/2/…`: the version is a number too, and stays.
    let template: Vec<&str> = path
        .split('/')
        .enumerate()
        .map(|(i, part)| {
            if i > 1 && !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()) {
                ":id"
            } else {
                part
            }
        })
        .collect();
    format!("{method} {}", template.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_count_against_the_endpoint_x_documents() {
        assert_eq!(
            endpoint_key("GET", "/2/users/1500000000000000001/mentions"),
            limits::MENTIONS
        );
        assert_eq!(
            endpoint_key("POST", "/2/dm_conversations/with/42/messages"),
            limits::SEND_DM
        );
        assert_eq!(endpoint_key("POST", "/2/tweets"), limits::CREATE_POST);
        assert_eq!(endpoint_key("GET", "/2/dm_events"), limits::DM_EVENTS);
    }
}
