//! Every integration test in one binary, a module each (as cargo's own
//! suite is): one link of the crate instead of one per file, and one set
//! of helpers (`common`). Scenarios drive the real `perch` binary or the
//! library against the sandbox fakes on 127.0.0.1.

// Tests panic on what they did not expect (Cargo.toml [lints]).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

mod agent_writes;
mod check_online;
mod config_check;
mod dashboard;
mod digest;
mod discord_adapter;
mod discord_contract;
mod discord_gateway;
mod discord_rest;
mod follow_ups;
mod forward;
mod layers;
mod metrics;
mod relay_auto;
mod relay_claims;
mod relay_crash;
mod relay_limits;
mod relay_pacing;
mod relay_replies;
mod relay_threads;
mod report;
mod response_targets;
mod running;
mod sandbox;
mod sandbox_page;
mod scale;
mod send_modes;
mod send_modes_discord;
mod service;
mod slack_contract;
mod slack_events_api;
mod slack_socket;
mod slack_web;
mod store_crash;
mod store_dump;
mod store_race;
mod x_activity;
mod x_activity_stream;
mod x_auth;
mod x_client;
mod x_contract;
mod x_ingest;
mod x_reality;
mod x_run;
mod x_spend;
mod x_stream;
