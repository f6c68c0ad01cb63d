//! What perch does, counted for Prometheus: `GET /metrics` on perch's
//! HTTP port, in the OpenMetrics text format. Counters are kept as things
//! happen (items read from X, requests to X and their answers, X's rate
//! limits, replies sent and refused, chat calls and 429s); the state of
//! the store (tickets by state, the outbox) is read when scraped.
//!
//! One `Metrics` is made by the service and handed to what it counts; a
//! part made without one (a test, `perch check`) counts into its own,
//! which nobody reads.

use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// Every metric perch serves (a family shows in `/metrics` once it has a
/// sample; a dashboard may read any of these).
pub const NAMES: [&str; 17] = [
    "perch_x_items_ingested",
    "perch_x_ingest_lag_seconds",
    "perch_x_requests",
    "perch_x_rate_limited",
    "perch_replies_sent",
    "perch_replies_refused",
    "perch_chat_posts",
    "perch_chat_rate_limited",
    "perch_tickets",
    "perch_outbox_replies",
    "perch_outbox_oldest_wait_seconds",
    "perch_chat_events_waiting",
    "perch_relay_passes",
    "perch_x_spend_dollars",
    "perch_x_spend_projected_dollars",
    "perch_last_day_tickets",
    "perch_last_day_first_response_seconds",
];

/// The content type of `GET /metrics`.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Figure {
    figure: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Quantile {
    quantile: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Source {
    account: String,
    source: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct XRequest {
    account: String,
    endpoint: String,
    /// The HTTP status, or `unreachable`.
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct XLimit {
    account: String,
    endpoint: String,
    /// `429` (X refused) or `window_spent` (perch did not send).
    why: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Reply {
    account: String,
    /// `public` or `dm`.
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ChatPlatform {
    platform: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Step {
    step: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TicketState {
    state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutboxState {
    state: String,
}

fn lag_histogram() -> Histogram {
    // 0.25 s to about 17 min: a poll interval's lag up to an outage's.
    Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(
        0.25, 2.0, 13,
    ))
}

struct Families {
    registry: Registry,
    ingested: Family<Source, Counter>,
    ingest_lag: Family<Source, Histogram, fn() -> Histogram>,
    x_requests: Family<XRequest, Counter>,
    x_limited: Family<XLimit, Counter>,
    replies_sent: Family<Reply, Counter>,
    replies_refused: Family<Reply, Counter>,
    chat_posts: Family<ChatPlatform, Counter>,
    chat_limited: Family<ChatPlatform, Counter>,
    tickets: Family<TicketState, Gauge>,
    outbox: Family<OutboxState, Gauge>,
    outbox_oldest: Gauge<f64, AtomicU64>,
    chat_events_waiting: Gauge,
    relay_passes: Family<Step, Counter>,
    spend: Family<Source, Gauge<f64, AtomicU64>>,
    spend_projected: Gauge<f64, AtomicU64>,
    last_day: Family<Figure, Gauge>,
    last_day_first_response: Family<Quantile, Gauge<f64, AtomicU64>>,
}

/// perch's counters and gauges; clones count into the same registry.
#[derive(Clone)]
pub struct Metrics(Arc<Families>);

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("perch");
        let f = Families {
            ingested: Family::default(),
            ingest_lag: Family::new_with_constructor(lag_histogram),
            x_requests: Family::default(),
            x_limited: Family::default(),
            replies_sent: Family::default(),
            replies_refused: Family::default(),
            chat_posts: Family::default(),
            chat_limited: Family::default(),
            tickets: Family::default(),
            outbox: Family::default(),
            outbox_oldest: Gauge::default(),
            chat_events_waiting: Gauge::default(),
            relay_passes: Family::default(),
            spend: Family::default(),
            spend_projected: Gauge::default(),
            last_day: Family::default(),
            last_day_first_response: Family::default(),
            registry: Registry::default(),
        };
        registry.register(
            "x_items_ingested",
            "Posts and DMs read from X and recorded, per account and source",
            f.ingested.clone(),
        );
        registry.register(
            "x_ingest_lag_seconds",
            "From when an item was written on X to when perch recorded it",
            f.ingest_lag.clone(),
        );
        registry.register(
            "x_requests",
            "Requests to X's API by endpoint and HTTP status (each is billed)",
            f.x_requests.clone(),
        );
        registry.register(
            "x_rate_limited",
            "X rate limits: a 429, or a request not sent into a spent window",
            f.x_limited.clone(),
        );
        registry.register(
            "replies_sent",
            "Agents' replies and automatic replies that reached X",
            f.replies_sent.clone(),
        );
        registry.register(
            "replies_refused",
            "Replies X refused for good (the reason is in the log and the thread)",
            f.replies_refused.clone(),
        );
        registry.register(
            "chat_posts",
            "Messages posted to a chat platform, paced per channel (each attempt)",
            f.chat_posts.clone(),
        );
        registry.register(
            "chat_rate_limited",
            "429s from a chat platform",
            f.chat_limited.clone(),
        );
        registry.register("tickets", "Tickets by state", f.tickets.clone());
        registry.register(
            "outbox_replies",
            "Replies in the outbox by state: waiting (perch should send), held (by X's limit), awaiting_agent (undo window or Send), failed",
            f.outbox.clone(),
        );
        registry.register(
            "outbox_oldest_wait_seconds",
            "How long the longest-waiting reply perch should have sent has been due",
            f.outbox_oldest.clone(),
        );
        registry.register(
            "chat_events_waiting",
            "Chat events recorded and not yet acted on",
            f.chat_events_waiting.clone(),
        );
        registry.register(
            "relay_passes",
            "Passes of each relay loop (woken by work, or on its tick): a loop that stops counting is stuck",
            f.relay_passes.clone(),
        );
        registry.register(
            "x_spend_dollars",
            "What X bills this month so far, in US dollars, per account and source (at the prices in config)",
            f.spend.clone(),
        );
        registry.register(
            "x_spend_projected_dollars",
            "This month's X bill at the month's pace so far, in US dollars",
            f.spend_projected.clone(),
        );
        registry.register(
            "last_day_tickets",
            "Tickets opened in the last 24 hours, and of them: answered, answered within 30 and 60 minutes, breached (as `stats 24h` counts)",
            f.last_day.clone(),
        );
        registry.register(
            "last_day_first_response_seconds",
            "Time to first response of the last 24 hours' answered tickets: median (0.5) and p90 (0.9), nearest rank",
            f.last_day_first_response.clone(),
        );
        Self(Arc::new(Families { registry, ..f }))
    }

    /// `n` items from `source` of `account` were recorded.
    pub fn ingested(&self, account: &str, source: &str, n: u64) {
        self.0
            .ingested
            .get_or_create(&source_of(account, source))
            .inc_by(n);
    }

    /// An item written `lag` before perch recorded it.
    pub fn ingest_lag(&self, account: &str, source: &str, lag: chrono::Duration) {
        let seconds = lag.num_milliseconds().max(0) as f64 / 1000.0;
        self.0
            .ingest_lag
            .get_or_create(&source_of(account, source))
            .observe(seconds);
    }

    /// X answered a request to `endpoint` with `status` (`None`: no answer).
    pub fn x_request(&self, account: &str, endpoint: &str, status: Option<u16>) {
        let status = status.map_or_else(|| "unreachable".to_owned(), |s| s.to_string());
        self.0
            .x_requests
            .get_or_create(&XRequest {
                account: account.to_owned(),
                endpoint: endpoint.to_owned(),
                status,
            })
            .inc();
    }

    /// X's limit stopped a request: `refused` (a 429) or not sent.
    pub fn x_limited(&self, account: &str, endpoint: &str, refused: bool) {
        let why = if refused { "429" } else { "window_spent" };
        self.0
            .x_limited
            .get_or_create(&XLimit {
                account: account.to_owned(),
                endpoint: endpoint.to_owned(),
                why: why.to_owned(),
            })
            .inc();
    }

    /// A reply reached X (`dm`: as a DM, else in public).
    pub fn reply_sent(&self, account: &str, dm: bool) {
        self.0.replies_sent.get_or_create(&reply(account, dm)).inc();
    }

    /// X refused a reply for good.
    pub fn reply_refused(&self, account: &str, dm: bool) {
        self.0
            .replies_refused
            .get_or_create(&reply(account, dm))
            .inc();
    }

    /// A post to `platform` (`Slack`, `Discord`: labelled in lowercase),
    /// and whether it was rate limited.
    pub fn chat_post(&self, platform: &str, limited: bool) {
        let labels = ChatPlatform {
            platform: platform.to_ascii_lowercase(),
        };
        self.0.chat_posts.get_or_create(&labels).inc();
        if limited {
            self.0.chat_limited.get_or_create(&labels).inc();
        }
    }

    /// A relay loop went through its `step` once.
    pub fn relay_pass(&self, step: &str) {
        self.0
            .relay_passes
            .get_or_create(&Step {
                step: step.to_owned(),
            })
            .inc();
    }

    /// The store's state, read when scraped.
    pub fn set_state(&self, state: &StoreState) {
        for (name, n) in &state.tickets {
            self.0
                .tickets
                .get_or_create(&TicketState {
                    state: (*name).to_owned(),
                })
                .set(gauge(*n));
        }
        for (name, n) in &state.outbox {
            self.0
                .outbox
                .get_or_create(&OutboxState {
                    state: (*name).to_owned(),
                })
                .set(gauge(*n));
        }
        self.0.outbox_oldest.set(state.oldest_wait_seconds);
        for (figure, n) in &state.last_day {
            self.0
                .last_day
                .get_or_create(&Figure {
                    figure: (*figure).to_owned(),
                })
                .set(gauge(*n));
        }
        for (quantile, seconds) in &state.last_day_first_response {
            self.0
                .last_day_first_response
                .get_or_create(&Quantile {
                    quantile: (*quantile).to_owned(),
                })
                .set(*seconds);
        }
        self.0
            .chat_events_waiting
            .set(gauge(state.chat_events_waiting));
        for (account, source, dollars) in &state.spend {
            self.0
                .spend
                .get_or_create(&source_of(account, source))
                .set(*dollars);
        }
        self.0.spend_projected.set(state.spend_projected);
    }

    /// Everything, in the OpenMetrics text format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.0.registry);
        out
    }
}

/// The store's state for the gauges.
#[derive(Debug, Default)]
pub struct StoreState {
    pub tickets: Vec<(&'static str, usize)>,
    pub outbox: Vec<(&'static str, usize)>,
    pub oldest_wait_seconds: f64,
    pub chat_events_waiting: usize,
    /// This month's X bill in dollars per (account, source).
    pub spend: Vec<(String, String, f64)>,
    pub spend_projected: f64,
    /// The last 24 hours' figures: (`opened`, `answered`, …, count).
    pub last_day: Vec<(&'static str, usize)>,
    /// (`0.5` or `0.9`, seconds).
    pub last_day_first_response: Vec<(&'static str, f64)>,
}

fn reply(account: &str, dm: bool) -> Reply {
    Reply {
        account: account.to_owned(),
        kind: if dm { "dm" } else { "public" }.to_owned(),
    }
}

fn source_of(account: &str, source: &str) -> Source {
    Source {
        account: account.to_owned(),
        source: source.to_owned(),
    }
}

fn gauge(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_and_gauges_are_encoded_with_their_labels() {
        let m = Metrics::new();
        m.ingested("acme", "mentions", 2);
        m.x_request("acme", "GET /2/users/:id/mentions", Some(200));
        m.x_request("acme", "POST /2/tweets", None);
        m.x_limited("acme", "POST /2/tweets", true);
        m.reply_sent("acme", false);
        m.chat_post("Discord", true);
        m.ingest_lag("acme", "mentions", chrono::Duration::seconds(3));
        m.set_state(&StoreState {
            tickets: vec![("open", 3), ("claimed", 1)],
            outbox: vec![("waiting", 2)],
            oldest_wait_seconds: 12.5,
            chat_events_waiting: 0,
            spend: vec![("acme".to_owned(), "search".to_owned(), 1.25)],
            spend_projected: 2.5,
            last_day: vec![("opened", 4)],
            last_day_first_response: vec![("0.5", 90.0)],
        });
        let text = m.encode();
        for line in [
            r#"perch_last_day_tickets{figure="opened"} 4"#,
            r#"perch_last_day_first_response_seconds{quantile="0.5"} 90.0"#,
            r#"perch_x_items_ingested_total{account="acme",source="mentions"} 2"#,
            r#"perch_x_requests_total{account="acme",endpoint="GET /2/users/:id/mentions",status="200"} 1"#,
            r#"perch_x_requests_total{account="acme",endpoint="POST /2/tweets",status="unreachable"} 1"#,
            r#"perch_x_rate_limited_total{account="acme",endpoint="POST /2/tweets",why="429"} 1"#,
            r#"perch_replies_sent_total{account="acme",kind="public"} 1"#,
            r#"perch_chat_posts_total{platform="discord"} 1"#,
            r#"perch_chat_rate_limited_total{platform="discord"} 1"#,
            r#"perch_tickets{state="open"} 3"#,
            r#"perch_outbox_replies{state="waiting"} 2"#,
            "perch_outbox_oldest_wait_seconds 12.5",
            r#"perch_x_spend_dollars{account="acme",source="search"} 1.25"#,
            "perch_x_spend_projected_dollars 2.5",
            r#"perch_x_ingest_lag_seconds_bucket{le="4.0",account="acme",source="mentions"} 1"#,
            r#"perch_x_ingest_lag_seconds_bucket{le="2.0",account="acme",source="mentions"} 0"#,
        ] {
            assert!(text.lines().any(|l| l == line), "{line} in\n{text}");
        }
        assert!(text.ends_with("# EOF\n"), "{text}");
        m.x_limited("acme", "POST /2/tweets", false);
        m.reply_refused("acme", true);
        m.relay_pass("outbox");
        let text = m.encode();
        assert!(
            text.contains("perch_relay_passes_total{step=\"outbox\"} 1"),
            "{text}"
        );
        let served: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("# TYPE ")?.split(' ').next())
            .collect();
        assert_eq!(served, NAMES, "every family, once each");
    }
}
