//! `[service]`, `[x]`, `[slack]` and `[discord]`.

use std::collections::BTreeMap;

use super::*;
use crate::xrules::prices::{Priced, Prices, MICROS_PER_DOLLAR};

pub(super) fn service(c: &mut Checker, raw: &RawService) -> Service {
    let health_addr = match &raw.health_addr {
        None => SocketAddr::from(([127, 0, 0, 1], 8080)),
        Some(v) => c
            .check(
                "service.health_addr",
                v.parse().map_err(|_| {
                    format!("`{v}` is not an address; write it like \"127.0.0.1:8080\"")
                }),
            )
            .unwrap_or(SocketAddr::from(([127, 0, 0, 1], 8080))),
    };
    let log_format = match raw.log_format.as_deref() {
        None | Some("text") => LogFormat::Text,
        Some("json") => LogFormat::Json,
        Some(other) => {
            c.fail(
                "service.log_format",
                format!("`{other}` is not a log format; use \"text\" or \"json\""),
            );
            LogFormat::Text
        }
    };
    let data_dir = match raw.data_dir.as_deref() {
        None => PathBuf::from("perch-data"),
        Some("") => {
            c.fail(
                "service.data_dir",
                "is empty; name the directory for the store",
            );
            PathBuf::new()
        }
        Some(d) => PathBuf::from(d),
    };
    let claim_idle_release = raw
        .claim_idle_release
        .as_ref()
        .and_then(|v| c.check("service.claim_idle_release", parse::duration(v)));
    Service {
        data_dir,
        health_addr,
        log_format,
        require_explicit_claim: raw.require_explicit_claim.unwrap_or(false),
        claim_idle_release,
        keep_sent_replies: raw
            .keep_sent_replies
            .as_ref()
            .and_then(|v| c.check("service.keep_sent_replies", parse::duration(v)))
            .unwrap_or(DEFAULT_KEEP_SENT_REPLIES),
        report_token: raw
            .report_token_env
            .as_ref()
            .map(|v| c.env("service.report_token_env", v)),
    }
}

/// How long a sent reply stays in the outbox unless the config says.
pub const DEFAULT_KEEP_SENT_REPLIES: Duration = Duration::from_secs(30 * 24 * 3600);

/// `0s` (read nothing back) or a positive duration.
fn zero_or_duration(v: &str) -> Result<Duration, String> {
    match humantime::parse_duration(v.trim()) {
        Ok(d) if d.is_zero() => Ok(Duration::ZERO),
        _ => parse::duration(v),
    }
}

/// The furthest back a first poll may read.
const MAX_BACKFILL: Duration = Duration::from_secs(30 * 24 * 3600);

/// Automatic replies go to what was written this recently.
const DEFAULT_AUTO_REPLY_MAX_AGE: Duration = Duration::from_secs(3600);

pub(super) fn x_settings(c: &mut Checker, raw: &RawX) -> XSettings {
    let api_url = match &raw.api_url {
        None => "https://api.x.com".to_owned(),
        Some(v) => c.check("x.api_url", parse::base_url(v)).unwrap_or_default(),
    };
    let authorize_url = match &raw.authorize_url {
        None => "https://x.com/i/oauth2/authorize".to_owned(),
        Some(v) => c
            .check("x.authorize_url", parse::base_url(v))
            .unwrap_or_default(),
    };
    if raw.filtered_stream == Some(true) && raw.bearer_token_env.is_none() {
        c.fail(
            "x.filtered_stream",
            "needs x.bearer_token_env: X takes the filtered stream and its rules only from the app itself (X Developer Console > your app > Keys and tokens > Bearer token)",
        );
    }
    if raw.monthly_read_budget == Some(0) {
        c.fail(
            "x.monthly_read_budget",
            "is 0, which would never allow a read; remove it or set a positive number",
        );
    }
    let backfill = raw
        .backfill
        .as_ref()
        .and_then(|v| c.check("x.backfill", zero_or_duration(v)))
        .unwrap_or(Duration::ZERO);
    if backfill > MAX_BACKFILL {
        c.fail(
            "x.backfill",
            "is more than 30 days; X keeps mentions that far back at most (and recent search 7 days)",
        );
    }
    XSettings {
        api_url,
        authorize_url,
        monthly_read_budget: raw.monthly_read_budget,
        backfill,
        auto_reply_max_age: raw
            .auto_reply_max_age
            .as_ref()
            .and_then(|v| c.check("x.auto_reply_max_age", parse::duration(v)))
            .unwrap_or(DEFAULT_AUTO_REPLY_MAX_AGE),
        bearer_token: raw
            .bearer_token_env
            .as_ref()
            .map(|v| c.env("x.bearer_token_env", v)),
        filtered_stream: raw.filtered_stream.unwrap_or(false),
        prices: prices(c, &raw.prices),
        spend: spend(c, &raw.spend),
    }
}

/// `[x.prices]`: dollars per thing X bills, over X's published prices.
fn prices(c: &mut Checker, raw: &BTreeMap<String, f64>) -> Prices {
    let mut prices = Prices::default();
    for (key, dollars) in raw {
        let name = format!("x.prices.{key}");
        let Some(what) = Priced::ALL.iter().find(|p| p.key() == key) else {
            let known: Vec<&str> = Priced::ALL.iter().map(|p| p.key()).collect();
            c.fail(
                name,
                format!("is not something X bills; use one of {}", known.join(", ")),
            );
            continue;
        };
        match micros(*dollars) {
            Some(m) => prices.set(*what, m),
            None => c.fail(
                name,
                "must be a price in US dollars, 0 or more (0.005 is half a cent)",
            ),
        }
    }
    prices
}

/// Dollars as micro-dollars, if a sensible amount.
fn micros(dollars: f64) -> Option<u64> {
    (dollars.is_finite() && (0.0..1e9).contains(&dollars))
        .then(|| (dollars * MICROS_PER_DOLLAR as f64).round() as u64)
}

fn spend(c: &mut Checker, raw: &RawSpend) -> Spend {
    let monthly_cap = raw.monthly_cap.and_then(|d| match micros(d) {
        Some(m) if m > 0 => Some(m),
        _ => {
            c.fail(
                "x.spend.monthly_cap",
                "must be a positive amount of US dollars a month (remove it for no cap)",
            );
            None
        }
    });
    let at_cap = match raw.at_cap.as_deref() {
        None | Some("slow") => AtCap::Slow,
        Some("stop") => AtCap::Stop,
        Some(other) => {
            c.fail(
                "x.spend.at_cap",
                format!("is \"{other}\"; use \"slow\" (poll ten times less often) or \"stop\" (poll nothing until the month turns)"),
            );
            AtCap::Slow
        }
    };
    Spend {
        monthly_cap,
        at_cap,
    }
}

pub(super) fn slack(c: &mut Checker, raw: &RawSlack) -> SlackSettings {
    let bot_token = c.env("slack.bot_token_env", &raw.bot_token_env);
    let mode = match raw.mode.as_deref().unwrap_or("socket") {
        "socket" => SlackMode::Socket {
            app_token: c.required_env(
                "slack.app_token_env",
                raw.app_token_env.as_ref(),
                "Socket Mode needs an app-level token (xapp-…); name its environment variable here",
            ),
        },
        "events" => {
            let addr = raw.events_addr.as_deref().unwrap_or("0.0.0.0:3000");
            SlackMode::Events {
                signing_secret: c.required_env(
                    "slack.signing_secret_env",
                    raw.signing_secret_env.as_ref(),
                    "the Events API needs the app's signing secret; name its environment variable here",
                ),
                addr: c
                    .check(
                        "slack.events_addr",
                        addr.parse()
                            .map_err(|_| format!("`{addr}` is not an address; write it like \"0.0.0.0:3000\"")),
                    )
                    .unwrap_or(SocketAddr::from(([0, 0, 0, 0], 3000))),
            }
        }
        other => {
            c.fail(
                "slack.mode",
                format!("`{other}` is not a Slack mode; use \"socket\" or \"events\""),
            );
            SlackMode::Socket {
                app_token: EnvVar {
                    name: String::new(),
                    key: String::new(),
                },
            }
        }
    };
    let api_url = match &raw.api_url {
        None => "https://slack.com/api".to_owned(),
        Some(v) => c
            .check("slack.api_url", parse::base_url(v))
            .unwrap_or_default(),
    };
    SlackSettings {
        mode,
        bot_token,
        api_url,
    }
}

pub(super) fn discord(c: &mut Checker, raw: &RawDiscord) -> DiscordSettings {
    let bot_token = c.env("discord.bot_token_env", &raw.bot_token_env);
    let application_id = c
        .check(
            "discord.application_id",
            parse::snowflake(&raw.application_id, "Discord application id"),
        )
        .unwrap_or_default();
    if raw.guild_ids.is_empty() {
        c.fail(
            "discord.guild_ids",
            "is empty: list the server (guild) ids where the /perch command is registered",
        );
    }
    let guild_ids = raw
        .guild_ids
        .iter()
        .enumerate()
        .filter_map(|(i, g)| {
            c.check(
                &format!("discord.guild_ids[{i}]"),
                parse::snowflake(g, "Discord guild id"),
            )
        })
        .collect();
    let api_url = raw
        .api_url
        .as_ref()
        .and_then(|v| c.check("discord.api_url", parse::base_url(v)));
    DiscordSettings {
        bot_token,
        application_id,
        guild_ids,
        api_url,
    }
}
