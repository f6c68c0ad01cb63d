//! Logs with `tracing`: text by default, JSON on request. Filter with
//! `PERCH_LOG` (same syntax as `RUST_LOG`), default `info`.
//!
//! Never a secret, at any level: the client libraries log what they send
//! below `info` (serenity the gateway's identify payload with the bot
//! token, slack-morphism the Socket Mode URL with its ticket, the HTTP
//! and WebSocket crates their frames), so those are capped at `info`
//! whatever `PERCH_LOG` asks. perch's own logs name no secret.

use std::io::IsTerminal;

use tracing_subscriber::filter::{filter_fn, FilterExt};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// Crates whose logs below `info` can carry credentials.
const CHATTY: [&str; 10] = [
    "serenity",
    "slack_morphism",
    "tungstenite",
    "tokio_tungstenite",
    "hyper",
    "hyper_util",
    "reqwest",
    "h2",
    "rustls",
    "oauth1_request",
];

/// Whether a log record may be written: anything from perch, and only
/// `info` and above from the crates that talk to the platforms.
fn may_carry_no_secret(meta: &tracing::Metadata<'_>) -> bool {
    let crate_name = meta.target().split("::").next().unwrap_or_default();
    *meta.level() <= tracing::Level::INFO || !CHATTY.contains(&crate_name)
}

use crate::config::LogFormat;

/// Installs the global subscriber. Logs go to stderr so that `perch export`
/// can write its dump to stdout.
pub fn init(format: LogFormat) {
    let asked = EnvFilter::try_from_env("PERCH_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let filter = asked.and(filter_fn(may_carry_no_secret));
    let fmt = tracing_subscriber::fmt::layer()
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let layer = match format {
        LogFormat::Text => fmt.with_filter(filter).boxed(),
        LogFormat::Json => fmt.json().flatten_event(true).with_filter(filter).boxed(),
    };
    // A second init (tests) keeps the first subscriber.
    let _ = tracing_subscriber::registry().with(layer).try_init();
}
