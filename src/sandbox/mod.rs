//! Sandbox fakes of the external services, speaking their real wire
//! protocols on 127.0.0.1, for tests and the demo. The real clients are
//! pointed at them.
//!
//! - `x`: the X API v2 (auth, rate limits, error bodies, paging) with a
//!   control API to act as customers.
//! - `slack`, `discord`: the Slack Web API and Socket Mode, Discord's REST
//!   API and gateway, each with a control API to act as people.
//! - `serve`: what each fake is built on (its state, its server).
//! - `run`: `perch sandbox`, the fakes and perch together; `scene`: the
//!   scripted scene it plays first; `page`: the page where a person plays
//!   X, Slack and Discord side by side.

pub mod discord;
pub mod page;
mod plain;
pub mod run;
pub mod scene;
mod serve;
pub mod slack;
pub mod x;
