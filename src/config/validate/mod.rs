//! `validate`: raw config in, validated config out, or every problem found.
//! Pure: no I/O, no environment, no clock.

use std::collections::{BTreeSet, HashSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use regex::{Regex, RegexBuilder};

mod accounts;
mod escalation;
mod platforms;
mod replies;
mod team;
mod webhook;

use super::parse;
use super::raw::*;
use super::types::*;
use super::Problem;
use crate::ticket::Priority;
use crate::xrules::{limits, text};
use accounts::accounts;
use platforms::{discord, service, slack, x_settings};
use replies::{auto_replies, rules, saved_replies};
use team::{agents, permissions, support_hours};

/// X's limit on a recent-search query.
pub const MAX_QUERY_CHARS: usize = 512;
const DEFAULT_POLL: Duration = Duration::from_secs(60);
const DEFAULT_SEARCH_POLL: Duration = Duration::from_secs(120);
const MIN_POLL: Duration = Duration::from_secs(1);

/// A validated config and the things worth a warning but not a refusal.
#[derive(Debug)]
pub struct Validated {
    pub config: Config,
    pub warnings: Vec<Problem>,
}

/// Collects problems while building validated values.
#[derive(Default)]
struct Checker {
    problems: Vec<Problem>,
    warnings: Vec<Problem>,
}

impl Checker {
    fn fail(&mut self, key: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem::new(key, message));
    }

    fn warn(&mut self, key: impl Into<String>, message: impl Into<String>) {
        self.warnings.push(Problem::new(key, message));
    }

    /// Keeps the value, or records the parser's message under `key`.
    fn check<T>(&mut self, key: &str, result: Result<T, String>) -> Option<T> {
        result.map_err(|m| self.fail(key, m)).ok()
    }

    fn env(&mut self, key: &str, value: &str) -> EnvVar {
        let name = self.check(key, parse::env_name(value)).unwrap_or_default();
        EnvVar {
            name,
            key: key.to_owned(),
        }
    }

    fn required_env(&mut self, key: &str, value: Option<&String>, why: &str) -> EnvVar {
        match value {
            Some(v) => self.env(key, v),
            None => {
                self.fail(key, format!("is missing: {why}"));
                EnvVar {
                    name: String::new(),
                    key: key.to_owned(),
                }
            }
        }
    }

    fn duration_or(&mut self, key: &str, value: Option<&String>, default: Duration) -> Duration {
        match value {
            None => default,
            Some(v) => match self.check(key, parse::duration(v)) {
                Some(d) if d < MIN_POLL => {
                    self.fail(key, format!("`{v}` is shorter than the 1s minimum"));
                    default
                }
                Some(d) => d,
                None => default,
            },
        }
    }

    fn unique<'a>(&mut self, seen: &mut HashSet<&'a str>, key: &str, value: &'a str, what: &str) {
        if !seen.insert(value) {
            self.fail(
                key,
                format!("`{value}` is used by another {what}; each {what} needs its own"),
            );
        }
    }
}

pub fn validate(raw: RawConfig) -> Result<Validated, Vec<Problem>> {
    let mut c = Checker::default();
    let service = service(&mut c, &raw.service);
    let x = x_settings(&mut c, &raw.x);
    let slack = raw.slack.as_ref().map(|s| slack(&mut c, s));
    let discord = raw.discord.as_ref().map(|d| discord(&mut c, d));
    let accounts = accounts(&mut c, &raw.accounts, slack.is_some(), discord.is_some());
    let agents = agents(&mut c, &raw.agents);
    let permissions = permissions(&mut c, &raw.permissions);
    let support_hours = raw
        .support_hours
        .as_ref()
        .and_then(|h| support_hours(&mut c, h));
    let response_targets = escalation::targets(&mut c, &raw, &agents, support_hours.as_ref());
    let oncall = raw
        .oncall
        .as_ref()
        .and_then(|o| escalation::oncall(&mut c, o, &agents));
    let digest = raw.digest.as_ref().and_then(|d| {
        escalation::digest(
            &mut c,
            d,
            support_hours.as_ref(),
            (slack.is_some(), discord.is_some()),
        )
    });
    let rules = rules(&mut c, &raw.rules);
    let saved_replies = saved_replies(&mut c, &raw.saved_replies);
    let auto_replies = auto_replies(&mut c, &raw.auto_replies);
    let check_in = raw.followups.check_in.as_ref().and_then(|name| {
        let found = saved_replies
            .iter()
            .find(|r| r.name.eq_ignore_ascii_case(name));
        if found.is_none() {
            let names: Vec<&str> = saved_replies.iter().map(|r| r.name.as_str()).collect();
            c.fail(
                "followups.check_in",
                format!(
                    "`{name}` is not a saved reply; name one of [[saved_replies]] ({})",
                    if names.is_empty() {
                        "there are none".to_owned()
                    } else {
                        names.join(", ")
                    }
                ),
            );
        }
        found.cloned()
    });

    if accounts.is_empty() && c.problems.is_empty() {
        c.fail(
            "accounts",
            "no X account is configured; add an [[accounts]] table",
        );
    }
    if agents.is_empty()
        && permissions.slack_agent_group.is_none()
        && permissions.discord_agent_role.is_none()
    {
        c.warn(
            "agents",
            "no agents and no agent group or role: nobody can claim or answer tickets",
        );
    }
    if auto_replies.off_hours.is_some() && support_hours.is_none() {
        c.warn(
            "auto_replies.off_hours",
            "is set but there are no [support_hours], so it is never sent",
        );
    }
    if x.bearer_token.is_none() {
        for a in &accounts {
            if a.ingest.activity_stream.is_some() {
                c.fail(
                    "x.bearer_token_env",
                    format!("is missing: account `{}` reads the X Activity API stream, which X serves only to the app itself (X Developer Console > your app > Keys and tokens > Bearer token); name its environment variable here", a.key),
                );
            }
            if a.ingest.webhook.as_ref().is_some_and(|w| w.url.is_some()) {
                c.fail(
                    "x.bearer_token_env",
                    format!("is missing: account `{}` has a webhook url, and X registers webhooks and replays what perch missed only for the app's bearer token (X Developer Console > your app > Keys and tokens); name its environment variable here", a.key),
                );
            }
        }
    }
    if x.monthly_read_budget.is_none() {
        c.warn(
            "x.monthly_read_budget",
            "is not set: X bills every post read, and polling is not budgeted",
        );
    }

    if !c.problems.is_empty() {
        return Err(c.problems);
    }
    Ok(Validated {
        config: Config {
            service,
            x,
            accounts,
            slack,
            discord,
            agents,
            permissions,
            support_hours,
            response_targets,
            oncall,
            rules: Rules(rules),
            saved_replies,
            auto_replies,
            check_in,
            digest,
        },
        warnings: c.warnings,
    })
}
