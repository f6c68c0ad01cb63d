//! `validate`: raw config in, validated config out, or every problem found.
//! Pure: no I/O, no environment, no clock.

use std::collections::{BTreeSet, HashSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use regex::{Regex, RegexBuilder};

use super::parse;
use super::raw::*;
use super::types::*;
use super::Problem;
use crate::ticket::Priority;
use crate::xrules::{limits, text};

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
    let response_targets = targets(&mut c, &raw.response_targets);
    let rules = rules(&mut c, &raw.rules);
    let saved_replies = saved_replies(&mut c, &raw.saved_replies);
    let auto_replies = auto_replies(&mut c, &raw.auto_replies);

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
            rules: Rules(rules),
            saved_replies,
            auto_replies,
        },
        warnings: c.warnings,
    })
}

fn service(c: &mut Checker, raw: &RawService) -> Service {
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
    }
}

fn x_settings(c: &mut Checker, raw: &RawX) -> XSettings {
    let api_url = match &raw.api_url {
        None => "https://api.x.com".to_owned(),
        Some(v) => c.check("x.api_url", parse::base_url(v)).unwrap_or_default(),
    };
    if raw.monthly_read_budget == Some(0) {
        c.fail(
            "x.monthly_read_budget",
            "is 0, which would never allow a read; remove it or set a positive number",
        );
    }
    XSettings {
        api_url,
        monthly_read_budget: raw.monthly_read_budget,
    }
}

fn slack(c: &mut Checker, raw: &RawSlack) -> SlackSettings {
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

fn discord(c: &mut Checker, raw: &RawDiscord) -> DiscordSettings {
    let bot_token = c.env("discord.bot_token_env", &raw.bot_token_env);
    let application_id = c
        .check(
            "discord.application_id",
            parse::numeric_id(&raw.application_id, "Discord application id"),
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
                parse::numeric_id(g, "Discord guild id"),
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

fn accounts(
    c: &mut Checker,
    raw: &[RawAccount],
    has_slack: bool,
    has_discord: bool,
) -> Vec<Account> {
    let mut keys = HashSet::new();
    let mut ids = HashSet::new();
    let mut out = Vec::new();
    for (i, a) in raw.iter().enumerate() {
        let at = format!("accounts[{i}]");
        let key = c
            .check(&format!("{at}.key"), parse::key(&a.key))
            .unwrap_or_default();
        c.unique(&mut keys, &format!("{at}.key"), &a.key, "account key");
        c.unique(
            &mut ids,
            &format!("{at}.user_id"),
            &a.user_id,
            "account user_id",
        );
        let handle = handle(c, &format!("{at}.handle"), &a.handle);
        let user_id = c
            .check(
                &format!("{at}.user_id"),
                parse::numeric_id(&a.user_id, "numeric X user id"),
            )
            .unwrap_or_default();
        let auth = auth(c, &format!("{at}.auth"), &a.auth);
        let ingest = ingest(c, &at, &a.ingest, &handle, &auth);
        let routes = routes(c, &at, &a.routes, has_slack, has_discord);
        out.push(Account {
            key: key.as_str().into(),
            handle,
            user_id: user_id.as_str().into(),
            auth,
            ingest,
            routes,
        });
    }
    out
}

fn handle(c: &mut Checker, key: &str, value: &str) -> String {
    if let Some(rest) = value.strip_prefix('@') {
        c.fail(key, format!("write the handle without the @: \"{rest}\""));
        return rest.to_owned();
    }
    let ok = !value.is_empty()
        && value.len() <= 15
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !ok {
        c.fail(
            key,
            format!("`{value}` is not an X handle: 1 to 15 letters, digits or _"),
        );
    }
    value.to_owned()
}

fn auth(c: &mut Checker, at: &str, raw: &RawAuth) -> XAuth {
    let oauth1_fields = [
        ("consumer_key_env", &raw.consumer_key_env),
        ("consumer_secret_env", &raw.consumer_secret_env),
        ("access_token_env", &raw.access_token_env),
        ("access_token_secret_env", &raw.access_token_secret_env),
    ];
    let oauth2_fields = [
        ("client_id_env", &raw.client_id_env),
        ("client_secret_env", &raw.client_secret_env),
        ("refresh_token_env", &raw.refresh_token_env),
    ];
    let mut misplaced = |fields: &[(&str, &Option<String>)], kind: &str| {
        for (name, value) in fields {
            if value.is_some() {
                c.fail(
                    format!("{at}.{name}"),
                    format!("does not apply to kind = \"{kind}\"; remove it"),
                );
            }
        }
    };
    match raw.kind.as_str() {
        "oauth1" => {
            misplaced(&oauth2_fields, "oauth1");
            let why = "OAuth 1.0a needs the app's consumer key and secret and the account's access token and secret";
            XAuth::OAuth1 {
                consumer_key: c.required_env(
                    &format!("{at}.consumer_key_env"),
                    raw.consumer_key_env.as_ref(),
                    why,
                ),
                consumer_secret: c.required_env(
                    &format!("{at}.consumer_secret_env"),
                    raw.consumer_secret_env.as_ref(),
                    why,
                ),
                access_token: c.required_env(
                    &format!("{at}.access_token_env"),
                    raw.access_token_env.as_ref(),
                    why,
                ),
                access_token_secret: c.required_env(
                    &format!("{at}.access_token_secret_env"),
                    raw.access_token_secret_env.as_ref(),
                    why,
                ),
            }
        }
        "oauth2" => {
            misplaced(&oauth1_fields, "oauth2");
            let why =
                "OAuth 2.0 needs the app's client id and a refresh token (scope offline.access)";
            XAuth::OAuth2 {
                client_id: c.required_env(
                    &format!("{at}.client_id_env"),
                    raw.client_id_env.as_ref(),
                    why,
                ),
                client_secret: raw
                    .client_secret_env
                    .as_ref()
                    .map(|v| c.env(&format!("{at}.client_secret_env"), v)),
                refresh_token: c.required_env(
                    &format!("{at}.refresh_token_env"),
                    raw.refresh_token_env.as_ref(),
                    why,
                ),
            }
        }
        other => {
            c.fail(
                format!("{at}.kind"),
                format!("`{other}` is not an auth kind; use \"oauth1\" or \"oauth2\""),
            );
            XAuth::OAuth2 {
                client_id: EnvVar {
                    name: String::new(),
                    key: String::new(),
                },
                client_secret: None,
                refresh_token: EnvVar {
                    name: String::new(),
                    key: String::new(),
                },
            }
        }
    }
}

fn poll(c: &mut Checker, key: &str, raw: Option<&RawPoll>, endpoint: &str) -> Option<Poll> {
    let raw = raw?;
    let interval = c.duration_or(
        &format!("{key}.interval"),
        raw.interval.as_ref(),
        DEFAULT_POLL,
    );
    let enabled = raw.enabled.unwrap_or(true);
    if enabled {
        within_window(c, &format!("{key}.interval"), interval, endpoint, 1);
    }
    enabled.then_some(Poll { interval })
}

/// Warns when `sharers` loops polling `endpoint` every `interval` would
/// spend X's window before it resets (perch then polls more slowly).
fn within_window(c: &mut Checker, key: &str, interval: Duration, endpoint: &str, sharers: u32) {
    let (Some(sustainable), Some(limit)) = (
        limits::sustainable_interval(endpoint, sharers),
        limits::published(endpoint),
    ) else {
        return;
    };
    if interval >= sustainable {
        return;
    }
    let per_window = (limits::WINDOW.as_secs_f64() / interval.as_secs_f64().max(0.001)).round();
    let shared = if sharers > 1 {
        format!(
            " (with the other {} search rules of this account)",
            sharers - 1
        )
    } else {
        String::new()
    };
    let slower = Duration::from_secs(sustainable.as_secs_f64().ceil() as u64);
    c.warn(
        key,
        format!(
            "polling every {} asks `{endpoint}` {per_window} times per 15 minutes{shared}; X allows {limit}, so perch polls every {} instead (set it to {} or more to silence this)",
            humantime::format_duration(interval),
            humantime::format_duration(slower),
            humantime::format_duration(slower),
        ),
    );
}

fn ingest(c: &mut Checker, at: &str, raw: &RawIngest, handle: &str, auth: &XAuth) -> Ingest {
    let mentions = poll(
        c,
        &format!("{at}.ingest.mentions"),
        raw.mentions.as_ref(),
        limits::MENTIONS,
    );
    let dms = poll(
        c,
        &format!("{at}.ingest.dms"),
        raw.dms.as_ref(),
        limits::DM_EVENTS,
    );
    // Every search rule of the account counts against one window.
    let searches = raw
        .search
        .iter()
        .filter(|s| s.enabled.unwrap_or(true))
        .count();
    let searches = u32::try_from(searches).unwrap_or(u32::MAX);
    let mut names = HashSet::new();
    let mut search = Vec::new();
    for (i, s) in raw.search.iter().enumerate() {
        let key = format!("{at}.ingest.search[{i}]");
        c.unique(
            &mut names,
            &format!("{key}.name"),
            &s.name,
            "search name in this account",
        );
        if s.name.trim().is_empty() {
            c.fail(
                format!("{key}.name"),
                "is empty; give the search a short name (shown on its tickets)",
            );
        }
        let interval = c.duration_or(
            &format!("{key}.interval"),
            s.interval.as_ref(),
            DEFAULT_SEARCH_POLL,
        );
        if s.enabled.unwrap_or(true) {
            within_window(
                c,
                &format!("{key}.interval"),
                interval,
                limits::SEARCH_RECENT,
                searches,
            );
        }
        if let Some(query) = search_query(c, &key, s, handle) {
            if s.enabled.unwrap_or(true) {
                search.push(SearchRule {
                    name: s.name.clone(),
                    query,
                    interval,
                });
            }
        }
    }
    let webhook = match &raw.webhook {
        Some(w) if w.enabled.unwrap_or(true) => {
            if !matches!(auth, XAuth::OAuth1 { .. }) {
                c.fail(
                    format!("{at}.ingest.webhook"),
                    "X signs webhooks with the app's consumer secret: use auth.kind = \"oauth1\" for this account",
                );
            }
            let path = w
                .path
                .clone()
                .unwrap_or_else(|| format!("/x/webhook/{handle}"));
            if !path.starts_with('/') {
                c.fail(
                    format!("{at}.ingest.webhook.path"),
                    format!("`{path}` must start with /"),
                );
            }
            Some(Webhook { path })
        }
        _ => None,
    };
    if mentions.is_none() && dms.is_none() && search.is_empty() && webhook.is_none() {
        c.fail(
            format!("{at}.ingest"),
            "ingests nothing: enable [accounts.ingest.mentions], [accounts.ingest.dms], a webhook, or add an [[accounts.ingest.search]]",
        );
    }
    Ingest {
        mentions,
        dms,
        search,
        webhook,
    }
}

/// The query X receives: `(query OR misspelling …) -from:handle -is:retweet`.
fn search_query(c: &mut Checker, key: &str, s: &RawSearch, handle: &str) -> Option<String> {
    if s.query.trim().is_empty() {
        c.fail(
            format!("{key}.query"),
            "is empty; write the words to search for, like \"acme\"",
        );
        return None;
    }
    let mut terms = vec![s.query.trim().to_owned()];
    for (j, m) in s.misspellings.iter().enumerate() {
        let m = m.trim();
        if m.is_empty() || m.contains('"') {
            c.fail(
                format!("{key}.misspellings[{j}]"),
                "must be a word or phrase without quotes",
            );
            return None;
        }
        terms.push(if m.contains(' ') {
            format!("\"{m}\"")
        } else {
            m.to_owned()
        });
    }
    let query = if terms.len() == 1 {
        format!("{} -from:{handle} -is:retweet", terms[0])
    } else {
        format!("({}) -from:{handle} -is:retweet", terms.join(" OR "))
    };
    let len = query.chars().count();
    if len > MAX_QUERY_CHARS {
        c.fail(
            format!("{key}.query"),
            format!("with its misspellings the query is {len} characters; X allows {MAX_QUERY_CHARS}: split it into two searches"),
        );
        return None;
    }
    Some(query)
}

fn routes(
    c: &mut Checker,
    at: &str,
    raw: &RawRoutes,
    has_slack: bool,
    has_discord: bool,
) -> Routes {
    let key = format!("{at}.routes");
    if raw.slack_channels.is_empty() && raw.discord_channels.is_empty() {
        c.fail(
            &key,
            "routes nowhere: list slack_channels and/or discord_channels where this account's tickets appear",
        );
    }
    if !raw.slack_channels.is_empty() && !has_slack {
        c.fail(
            format!("{key}.slack_channels"),
            "names Slack channels but there is no [slack] section; add one",
        );
    }
    if !raw.discord_channels.is_empty() && !has_discord {
        c.fail(
            format!("{key}.discord_channels"),
            "names Discord channels but there is no [discord] section; add one",
        );
    }
    Routes {
        slack_channels: raw
            .slack_channels
            .iter()
            .enumerate()
            .filter_map(|(i, ch)| {
                c.check(
                    &format!("{key}.slack_channels[{i}]"),
                    parse::slack_id(ch, "CG", "Slack channel id"),
                )
            })
            .map(|s| s.as_str().into())
            .collect(),
        discord_channels: raw
            .discord_channels
            .iter()
            .enumerate()
            .filter_map(|(i, ch)| {
                c.check(
                    &format!("{key}.discord_channels[{i}]"),
                    parse::numeric_id(ch, "Discord channel id"),
                )
            })
            .map(|s| s.as_str().into())
            .collect(),
    }
}

fn agents(c: &mut Checker, raw: &[RawAgent]) -> Vec<AgentConfig> {
    let mut keys = HashSet::new();
    let mut slack_users = HashSet::new();
    let mut discord_users = HashSet::new();
    let mut out = Vec::new();
    for (i, a) in raw.iter().enumerate() {
        let at = format!("agents[{i}]");
        let key = c
            .check(&format!("{at}.key"), parse::key(&a.key))
            .unwrap_or_default();
        c.unique(&mut keys, &format!("{at}.key"), &a.key, "agent key");
        if a.name.trim().is_empty() {
            c.fail(
                format!("{at}.name"),
                "is empty; it is shown on tickets the agent holds",
            );
        }
        let initials_ok = (1..=4).contains(&a.initials.chars().count())
            && a.initials.chars().all(char::is_alphanumeric);
        if !initials_ok {
            c.fail(
                format!("{at}.initials"),
                format!(
                    "`{}` must be 1 to 4 letters or digits; it signs replies as ^{}",
                    a.initials, a.initials
                ),
            );
        }
        if a.slack_user.is_none() && a.discord_user.is_none() {
            c.fail(
                &at,
                "has neither slack_user nor discord_user, so perch cannot recognise them",
            );
        }
        let slack_user = a.slack_user.as_ref().and_then(|u| {
            c.unique(
                &mut slack_users,
                &format!("{at}.slack_user"),
                u,
                "agent's slack_user",
            );
            c.check(
                &format!("{at}.slack_user"),
                parse::slack_id(u, "UW", "Slack user id"),
            )
        });
        let discord_user = a.discord_user.as_ref().and_then(|u| {
            c.unique(
                &mut discord_users,
                &format!("{at}.discord_user"),
                u,
                "agent's discord_user",
            );
            c.check(
                &format!("{at}.discord_user"),
                parse::numeric_id(u, "Discord user id"),
            )
        });
        out.push(AgentConfig {
            key: key.as_str().into(),
            name: a.name.trim().to_owned(),
            initials: a.initials.clone(),
            slack_user: slack_user.map(|u| u.as_str().into()),
            discord_user: discord_user.map(|u| u.as_str().into()),
            lead: a.lead.unwrap_or(false),
        });
    }
    out
}

fn permissions(c: &mut Checker, raw: &RawPermissions) -> Permissions {
    let slack = |c: &mut Checker, key: &str, v: &Option<String>| {
        v.as_ref()
            .and_then(|v| c.check(key, parse::slack_id(v, "S", "Slack user group id")))
    };
    let discord = |c: &mut Checker, key: &str, v: &Option<String>| {
        v.as_ref()
            .and_then(|v| c.check(key, parse::numeric_id(v, "Discord role id")))
    };
    Permissions {
        slack_agent_group: slack(c, "permissions.slack_agent_group", &raw.slack_agent_group),
        slack_lead_group: slack(c, "permissions.slack_lead_group", &raw.slack_lead_group),
        discord_agent_role: discord(c, "permissions.discord_agent_role", &raw.discord_agent_role),
        discord_lead_role: discord(c, "permissions.discord_lead_role", &raw.discord_lead_role),
    }
}

fn support_hours(c: &mut Checker, raw: &RawSupportHours) -> Option<SupportHours> {
    let zone = c.check("support_hours.time_zone", parse::zone(&raw.time_zone));
    let mut weekly: [Vec<(u16, u16)>; 7] = Default::default();
    let mut seen_days = HashSet::new();
    for (day, hours) in &raw.weekly {
        let key = format!("support_hours.weekly.{day}");
        let Some(index) = c.check(&key, parse::weekday(day)) else {
            continue;
        };
        if !seen_days.insert(index) {
            c.fail(&key, "names a day that is already listed");
        }
        if let Some(ranges) = c.check(&key, parse::day_hours(hours)) {
            weekly[index] = ranges;
        }
    }
    if weekly.iter().all(Vec::is_empty) {
        c.fail(
            "support_hours.weekly",
            "has no open hours; add e.g. mon = \"09:00-17:00\" (or remove [support_hours] for round-the-clock support)",
        );
    }
    let holidays: BTreeSet<_> = raw
        .holidays
        .iter()
        .enumerate()
        .filter_map(|(i, d)| c.check(&format!("support_hours.holidays[{i}]"), parse::date(d)))
        .collect();
    Some(SupportHours {
        zone: zone?,
        weekly,
        holidays,
    })
}

fn targets(c: &mut Checker, raw: &RawTargets) -> ResponseTargets {
    let mut one = |name: &str, v: &Option<String>| {
        v.as_ref()
            .and_then(|v| c.check(&format!("response_targets.{name}"), parse::duration(v)))
    };
    let t = ResponseTargets {
        urgent: one("urgent", &raw.urgent),
        high: one("high", &raw.high),
        normal: one("normal", &raw.normal),
        low: one("low", &raw.low),
    };
    let set: Vec<_> = Priority::ALL
        .into_iter()
        .filter_map(|p| t.for_priority(p).map(|d| (p, d)))
        .collect();
    for pair in set.windows(2) {
        if let [(p, a), (q, b)] = pair {
            if a > b {
                c.warn(
                    format!("response_targets.{p}"),
                    format!("is longer than the target for {q}: more urgent tickets usually get shorter targets"),
                );
            }
        }
    }
    t
}

fn rules(c: &mut Checker, raw: &[RawRule]) -> Vec<Rule> {
    let mut names = HashSet::new();
    let mut out = Vec::new();
    for (i, r) in raw.iter().enumerate() {
        let at = format!("rules[{i}]");
        c.unique(&mut names, &format!("{at}.name"), &r.name, "rule name");
        if r.name.trim().is_empty() {
            c.fail(
                format!("{at}.name"),
                "is empty; name the rule (it shows in the audit log)",
            );
        }
        let mut matchers = Vec::new();
        let words: Vec<String> = r
            .keywords
            .iter()
            .map(|k| k.trim())
            .filter(|k| !k.is_empty())
            .map(regex::escape)
            .collect();
        if words.len() != r.keywords.len() {
            c.fail(
                format!("{at}.keywords"),
                "contains an empty keyword; remove it",
            );
        }
        if !words.is_empty() {
            let pattern = format!(r"(?i)\b(?:{})\b", words.join("|"));
            match Regex::new(&pattern) {
                Ok(re) => matchers.push(re),
                Err(e) => c.fail(format!("{at}.keywords"), format!("cannot be matched: {e}")),
            }
        }
        if let Some(pattern) = &r.regex {
            match RegexBuilder::new(pattern).size_limit(1 << 20).build() {
                Ok(re) => matchers.push(re),
                Err(e) => c.fail(
                    format!("{at}.regex"),
                    format!(
                        "is not a valid regular expression: {}",
                        e.to_string().replace('\n', " ")
                    ),
                ),
            }
        }
        if r.keywords.is_empty() && r.regex.is_none() {
            c.fail(&at, "matches nothing: give it keywords, a regex, or both");
        }
        let priority = r.priority.as_ref().and_then(|p| {
            let parsed = Priority::parse(p)
                .ok_or_else(|| format!("`{p}` is not a priority; use urgent, high, normal or low"));
            c.check(&format!("{at}.priority"), parsed)
        });
        if r.category.is_none() && priority.is_none() && r.tags.is_empty() {
            c.fail(&at, "sets nothing: give it a category, a priority or tags");
        }
        out.push(Rule {
            name: r.name.clone(),
            matchers,
            category: r.category.clone(),
            priority,
            tags: r.tags.clone(),
        });
    }
    out
}

fn saved_replies(c: &mut Checker, raw: &[RawSavedReply]) -> Vec<SavedReply> {
    let mut names = HashSet::new();
    for (i, r) in raw.iter().enumerate() {
        let at = format!("saved_replies[{i}]");
        c.unique(
            &mut names,
            &format!("{at}.name"),
            &r.name,
            "saved reply name",
        );
        c.check(&format!("{at}.name"), parse::key(&r.name));
        if r.text.trim().is_empty() {
            c.fail(format!("{at}.text"), "is empty; write the reply");
        }
    }
    raw.iter()
        .map(|r| SavedReply {
            name: r.name.clone(),
            text: r.text.trim().to_owned(),
        })
        .collect()
}

fn auto_replies(c: &mut Checker, raw: &RawAutoReplies) -> AutoReplies {
    let mut text = |name: &str, v: &Option<String>| match v {
        Some(t) if t.trim().is_empty() => {
            c.fail(
                format!("auto_replies.{name}"),
                "is empty; write the text or remove the key",
            );
            None
        }
        other => other.as_ref().map(|t| t.trim().to_owned()),
    };
    let replies = AutoReplies {
        off_hours: text("off_hours", &raw.off_hours),
        dm_welcome: text("dm_welcome", &raw.dm_welcome),
    };
    for (name, value, may_name) in [
        ("off_hours", &replies.off_hours, Some(AutoReplies::OPENS)),
        ("dm_welcome", &replies.dm_welcome, None),
    ] {
        let Some(value) = value else { continue };
        if let Some(unknown) = placeholders(value).find(|p| Some(*p) != may_name) {
            let hint = match may_name {
                Some(p) => format!("only {p} is filled in here"),
                None => "nothing is filled in here".to_owned(),
            };
            c.fail(
                format!("auto_replies.{name}"),
                format!("names `{unknown}`, which perch does not know; {hint}"),
            );
        }
    }
    // The off-hours reply is also a public reply: the longest handle (15)
    // and the longest opening time must fit X's limit with it.
    if let Some(off) = &replies.off_hours {
        let longest = format!(
            "@{} {}",
            "x".repeat(15),
            off.replace(AutoReplies::OPENS, "Wednesday 09:00 +0530")
        );
        if let Err(too_long) = text::fits_post(&longest) {
            c.fail(
                "auto_replies.off_hours",
                format!(
                    "is {} characters as X counts them with the customer's @handle; a public reply allows {}, so cut {}",
                    too_long.count,
                    too_long.limit,
                    too_long.excess()
                ),
            );
        }
    }
    replies
}

/// The `{name}`s in a text.
fn placeholders(text: &str) -> impl Iterator<Item = &str> {
    text.match_indices('{').filter_map(|(i, _)| {
        let rest = &text[i..];
        rest.find('}').map(|end| &rest[..=end])
    })
}
