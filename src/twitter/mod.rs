//! The X (Twitter) side: a thin typed API v2 client, ingest (polling and
//! webhooks), the read budget, and publishing.
//!
//! - `api`: the JSON shapes. `client`: signing, rate limits, retries,
//!   typed errors (`error`); `reads`: the typed calls. `oauth2`: token refresh with rotation.
//! - `inbound`: the item ingest hands to the relay. `ingest`: polling each
//!   source with cursors and dedupe, paced by the read budget.
//! - `publish`: length checks and posting. `webhook`: CRC and signatures.
//!   `activity`: what X Activity API deliveries carry. `spend`: what X
//!   bills perch, in money, and the monthly cap. `usage`: X's own count
//!   of the posts read, compared daily with perch's. `stream`: the filtered
//!   stream, for search hits in real time.

pub mod activity;
pub mod activity_stream;
pub mod api;
pub mod authorize;
pub mod budget;
pub mod client;
mod error;
pub mod inbound;
pub mod ingest;
mod lines;
pub mod oauth2;
pub mod polling;
pub mod publish;
mod reads;
pub mod replay;
pub mod runtime;
pub mod spend;
pub mod stream;
pub mod subscriptions;
pub mod usage;
pub mod webhook;
mod windows;

pub use client::{Auth, Patience, XClient};
pub use error::XError;
pub use inbound::{InboundItem, InboundKind, Source};
pub use reads::Since;
