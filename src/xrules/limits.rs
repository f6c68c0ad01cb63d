//! X's rate limits and the pacing that stays within them.
//!
//! X counts requests per user and endpoint in 15-minute windows and says
//! on every answer how many are left (`x-rate-limit-remaining`) and when
//! the window starts again (`x-rate-limit-reset`). A poller that spends a
//! window early gets no reads at all until the reset, so polls are spread
//! evenly: the requests left, shared by the loops that use the endpoint,
//! over the time left.

use std::time::Duration;

/// The window X counts requests in.
pub const WINDOW: Duration = Duration::from_secs(15 * 60);

pub const MENTIONS: &str = "GET /2/users/:id/mentions";
pub const SEARCH_RECENT: &str = "GET /2/tweets/search/recent";
pub const DM_EVENTS: &str = "GET /2/dm_events";
pub const USER_POSTS: &str = "GET /2/users/:id/tweets";
pub const CREATE_POST: &str = "POST /2/tweets";
pub const SEND_DM: &str = "POST /2/dm_conversations/with/:id/messages";
pub const OAUTH2_TOKEN: &str = "POST /2/oauth2/token";
pub const USERS_LOOKUP: &str = "GET /2/users";
pub const USERS_ME: &str = "GET /2/users/me";
/// X's count of the posts a project read (app-only).
pub const USAGE: &str = "GET /2/usage/tweets";
/// The filtered stream's connection, and its rules (app-only).
pub const STREAM: &str = "GET /2/tweets/search/stream";
pub const STREAM_RULES: &str = "GET /2/tweets/search/stream/rules";
pub const CHANGE_STREAM_RULES: &str = "POST /2/tweets/search/stream/rules";

/// Requests per user per 15 minutes, as X documents them for user
/// context.
pub const PUBLISHED: [(&str, u64); 13] = [
    (MENTIONS, 300),
    (SEARCH_RECENT, 300),
    (DM_EVENTS, 300),
    (USER_POSTS, 900),
    (CREATE_POST, 100),
    (SEND_DM, 200),
    (OAUTH2_TOKEN, 1000),
    (USERS_LOOKUP, 900),
    (USERS_ME, 75),
    // "an app rate limit of 50 requests per 15 minutes" (the usage page).
    (USAGE, 50),
    // Per app: 50 connections, 450 reads and 450 changes of the rules.
    (STREAM, 50),
    (STREAM_RULES, 450),
    (CHANGE_STREAM_RULES, 450),
];

/// The published limit of `endpoint` per `WINDOW`.
pub fn published(endpoint: &str) -> Option<u64> {
    PUBLISHED
        .iter()
        .find(|(e, _)| *e == endpoint)
        .map(|(_, n)| *n)
}

/// The shortest interval at which `sharers` loops can each poll
/// `endpoint` (one request a poll) for a whole window without spending
/// its published limit.
pub fn sustainable_interval(endpoint: &str, sharers: u32) -> Option<Duration> {
    let limit = published(endpoint)?.max(1);
    let per_poll = WINDOW.as_secs_f64() * f64::from(sharers.max(1)) / limit as f64;
    Some(Duration::from_secs_f64(per_poll))
}

/// What X last said about an endpoint's window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub remaining: u64,
    /// How long until the window starts again.
    pub resets_in: Duration,
}

/// How long a loop waits before its next poll: its configured `base`,
/// stretched so that the `sharers` loops polling the endpoint spread the
/// requests left in the window evenly over the time left (so the window
/// is never spent early), or until the reset when none are left.
pub fn paced(base: Duration, window: Option<Window>, sharers: u32) -> Duration {
    let Some(w) = window else { return base };
    if w.remaining == 0 {
        return base.max(w.resets_in);
    }
    let even = w
        .resets_in
        .mul_f64(f64::from(sharers.max(1)) / w.remaining as f64);
    base.max(even)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn a_fast_interval_is_stretched_to_what_the_window_allows() {
        // 300 left in a fresh window: one poll every 3 s lasts the window.
        let fresh = Window {
            remaining: 300,
            resets_in: WINDOW,
        };
        assert_eq!(paced(2 * SECOND, Some(fresh), 1), 3 * SECOND);
        // Two search rules share the search endpoint: 6 s each.
        assert_eq!(paced(2 * SECOND, Some(fresh), 2), 6 * SECOND);
        // A slow interval stays as configured.
        assert_eq!(paced(60 * SECOND, Some(fresh), 1), 60 * SECOND);
    }

    #[test]
    fn polls_speed_up_again_when_the_window_has_room_left() {
        // Near the reset with plenty left, the configured pace holds.
        let roomy = Window {
            remaining: 100,
            resets_in: 10 * SECOND,
        };
        assert_eq!(paced(2 * SECOND, Some(roomy), 1), 2 * SECOND);
        // Nothing known yet (the first poll): the configured pace.
        assert_eq!(paced(2 * SECOND, None, 1), 2 * SECOND);
    }

    #[test]
    fn a_spent_window_waits_for_its_reset() {
        let spent = Window {
            remaining: 0,
            resets_in: 300 * SECOND,
        };
        assert_eq!(paced(2 * SECOND, Some(spent), 1), 300 * SECOND);
    }

    #[test]
    fn the_sustainable_interval_follows_the_published_limits() {
        assert_eq!(sustainable_interval(MENTIONS, 1), Some(3 * SECOND));
        assert_eq!(sustainable_interval(SEARCH_RECENT, 3), Some(9 * SECOND));
        assert_eq!(sustainable_interval("GET /2/unknown", 1), None);
        assert_eq!(published(CREATE_POST), Some(100));
    }
}
