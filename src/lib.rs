//! perch: answer customers on X (Twitter) from Slack or Discord threads.
//!
//! # Layout
//!
//! - [`config`]: the TOML config: raw serde types, a pure `validate()`, and
//!   the validated types the rest of the crate reads.
//! - [`ticket`]: the domain with no I/O: typed ids, tickets, the claim state
//!   machine and the chat command grammar.
//! - [`store`]: the sled store: trees, versioned and checksummed values,
//!   transactions for claims, export and import.
//! - [`sandbox`]: fake X, Slack and Discord on 127.0.0.1, and `perch
//!   sandbox`, which plays a scene on them.
//! - [`service`]: `perch run`: opens the store, starts ingest, the chat
//!   adapters and the relay, serves health, and stops cleanly.
//! - [`chat`]: the chat-platform interface, and the Slack and Discord
//!   adapters.
//! - [`relay`]: X items into ticket threads, chat into claims and replies,
//!   the outbox to X.
//! - [`cli`]: what each `perch` subcommand does (`main.rs` only parses).
//! - [`twitter`]: the X API v2 client, ingest, read budget, publishing.
//! - [`logging`]: tracing setup (text or JSON).
//! - [`xrules`]: what X allows (published rate limits, polling pace), pure.

pub mod chat;
pub mod cli;
pub mod config;
pub mod logging;
pub mod relay;
pub mod sandbox;
pub mod service;
pub mod store;
pub mod ticket;
pub mod twitter;
pub mod xrules;

#[doc(hidden)]
pub mod testing;
