//! perch: answer customers on X (Twitter) from Slack or Discord threads.
//!
//! # Layout
//!
//! Bottom-up: each module uses only those on its own line or above it,
//! never below (`tests/layers.rs` fails the tests when one does).
//!
//! 1. [`xrules`]: what X allows (published rate limits, polling pace, how
//!    X measures a post or a DM): pure facts and arithmetic; [`backoff`]:
//!    the one retry policy; [`clock`]: the time, injected; [`vitals`]:
//!    which links (a chat platform, an X source) work, and since when not;
//!    [`metrics`]: the counters and histograms served on `/metrics`.
//! 2. [`ticket`]: the domain with no I/O: typed ids, tickets, the claim
//!    state machine and the chat command grammar.
//! 3. [`config`]: the TOML config: raw serde types, a pure `validate()`,
//!    and the validated types the rest of the crate reads. (`testing`:
//!    builders for unit tests, on this line.)
//! 4. [`chat`]: the chat-platform interface (and the `Journal` the store
//!    keeps for it), the Slack and Discord adapters; [`logging`]: tracing
//!    setup (text or JSON); [`report`]: the figures as `stats`, Markdown,
//!    CSV and an HTML page with SVG charts.
//! 5. [`store`]: the sled store: trees, versioned and checksummed values,
//!    transactions for claims, export and import.
//! 6. [`twitter`]: the X API v2 client, ingest, read budget, publishing,
//!    `perch auth x`; [`online`]: `perch check --online`, which asks each
//!    platform what the credentials allow.
//! 7. [`relay`]: X items into ticket threads, chat into claims and replies,
//!    the outbox to X.
//! 8. [`service`]: `perch run`: opens the store, starts ingest, the chat
//!    adapters and the relay, serves health, and stops cleanly.
//! 9. [`sandbox`]: fake X, Slack and Discord on 127.0.0.1, and `perch
//!    sandbox`, which plays a scene on them.
//! 10. [`cli`]: what each `perch` subcommand does (`main.rs` only parses).

pub mod backoff;
pub mod chat;
pub mod cli;
pub mod clock;
pub mod config;
pub mod logging;
pub mod metrics;
pub mod online;
pub mod relay;
pub mod report;
pub mod sandbox;
pub mod service;
pub mod store;
pub mod ticket;
pub mod twitter;
pub mod vitals;
pub mod xrules;

#[doc(hidden)]
pub mod testing;
