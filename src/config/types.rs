//! The validated config: every value parsed, every cross-reference checked.
//! Only `validate` builds these.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};

pub use crate::ticket::hours::SupportHours;
pub use crate::ticket::oncall::Rota;
pub use crate::ticket::rules::{Classification, Rule, Rules};
pub use crate::ticket::targets::Targets as ResponseTargets;
use crate::ticket::{
    AccountKey, AgentId, DiscordChannelId, DiscordUserId, SlackChannelId, SlackUserId, XUserId,
};

#[derive(Debug, Clone)]
pub struct Config {
    pub service: Service,
    pub x: XSettings,
    pub accounts: Vec<Account>,
    pub slack: Option<SlackSettings>,
    pub discord: Option<DiscordSettings>,
    pub agents: Vec<AgentConfig>,
    pub permissions: Permissions,
    pub support_hours: Option<SupportHours>,
    /// The targets, the hours they count in and the escalation ladder.
    pub response_targets: ResponseTargets,
    pub oncall: Option<Rota>,
    pub rules: Rules,
    pub saved_replies: Vec<SavedReply>,
    pub auto_replies: AutoReplies,
    /// `[followups] check_in`: the saved reply a due follow-up sends the
    /// customer by DM.
    pub check_in: Option<SavedReply>,
    pub digest: Option<Digest>,
}

/// `[digest]`: the week's headline figures, posted once a week.
#[derive(Debug, Clone)]
pub struct Digest {
    pub zone: chrono_tz::Tz,
    /// Minutes after Monday 00:00, local time.
    pub at: u32,
    /// Where it goes; both empty: every channel tickets go to.
    pub slack_channels: Vec<String>,
    pub discord_channels: Vec<String>,
    /// Where the team opens the full report (named in the digest).
    pub report_url: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone)]
pub struct Service {
    pub data_dir: PathBuf,
    pub health_addr: SocketAddr,
    pub log_format: LogFormat,
    pub require_explicit_claim: bool,
    pub claim_idle_release: Option<Duration>,
    /// How long a reply that went to X (or was taken back) stays in the
    /// outbox; the ticket keeps it as a message, and the audit log keeps
    /// its history.
    pub keep_sent_replies: Duration,
    /// The token that opens `/report` and `/dashboard` on the health
    /// port (`Authorization: Bearer …` or `?token=`); `None`: both are off.
    pub report_token: Option<EnvVar>,
}

#[derive(Debug, Clone)]
pub struct XSettings {
    pub api_url: String,
    /// X's OAuth 2.0 consent page (`perch auth x` sends the person there).
    pub authorize_url: String,
    pub monthly_read_budget: Option<u64>,
    /// How far back a source's first poll reads (a new store, account or
    /// search rule): nothing older becomes a ticket.
    pub backfill: Duration,
    /// No automatic reply goes to a post or DM older than this (one
    /// written before perch watched its source never gets one).
    pub auto_reply_max_age: Duration,
    /// The app's own bearer token (OAuth 2.0 application-only): X takes
    /// only it for webhooks, replay and listing subscriptions.
    pub bearer_token: Option<EnvVar>,
    /// Search hits from X's filtered stream (the search rules become its
    /// rules; polling is the fallback).
    pub filtered_stream: bool,
    /// What X charges (X's published prices unless `[x.prices]` says).
    pub prices: crate::xrules::prices::Prices,
    pub spend: Spend,
}

/// The month's spending limit on X.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Spend {
    /// In micro-dollars; none: no cap.
    pub monthly_cap: Option<u64>,
    pub at_cap: AtCap,
}

/// What perch does once the month's spend reaches the cap. Replies are
/// sent either way.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum AtCap {
    /// Poll ten times less often (the default).
    #[default]
    Slow,
    /// Poll nothing until the month turns.
    Stop,
}

/// The name of an environment variable holding a secret, and the config key
/// that named it (for messages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvVar {
    pub name: String,
    pub key: String,
}

#[derive(Debug, Clone)]
pub enum XAuth {
    OAuth1 {
        consumer_key: EnvVar,
        consumer_secret: EnvVar,
        access_token: EnvVar,
        access_token_secret: EnvVar,
    },
    OAuth2 {
        client_id: EnvVar,
        client_secret: Option<EnvVar>,
        /// Seeds the first refresh; later ones rotate and live in the store.
        /// Absent when `perch auth x` put the first one in the store.
        refresh_token: Option<EnvVar>,
    },
}

impl XAuth {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::OAuth1 { .. } => "OAuth 1.0a",
            Self::OAuth2 { .. } => "OAuth 2.0",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Account {
    pub key: AccountKey,
    /// Without the `@`.
    pub handle: String,
    pub user_id: XUserId,
    pub auth: XAuth,
    pub ingest: Ingest,
    pub routes: Routes,
    pub send_mode: SendMode,
}

/// How an agent's reply leaves for X (`send_mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendMode {
    /// At once.
    Direct,
    /// After `window`, with an Undo button; editing the chat message in
    /// the window changes it, deleting it takes it back (the default).
    Undo { window: Duration },
    /// Only when the agent presses Send under a preview only they see.
    Confirm,
}

impl SendMode {
    /// The default undo window.
    pub const UNDO_WINDOW: Duration = Duration::from_secs(20);
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Poll {
    pub interval: Duration,
}

#[derive(Debug, Clone)]
pub struct SearchRule {
    pub name: String,
    /// The query sent to X: the configured query, its misspellings OR'ed in,
    /// and the account's own posts and retweets left out.
    pub query: String,
    pub interval: Duration,
}

#[derive(Debug, Clone)]
pub struct Webhook {
    pub path: String,
    /// Where X delivers: this path as the world reaches it (HTTPS, no
    /// port). With it the account is subscribed to the X Activity API
    /// (`perch x subscribe`); without it, deliveries come from an Account
    /// Activity subscription made elsewhere.
    pub url: Option<String>,
    /// The X Activity API event types subscribed to.
    pub events: Vec<String>,
    /// After downtime, ask X to deliver again what perch missed.
    pub replay: bool,
}

#[derive(Debug, Clone)]
pub struct Ingest {
    pub mentions: Option<Poll>,
    pub dms: Option<Poll>,
    pub search: Vec<SearchRule>,
    pub webhook: Option<Webhook>,
    /// X Activity API events read from the app's activity stream (no
    /// public URL needed), the X Activity API event types.
    pub activity_stream: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default)]
pub struct Routes {
    pub slack_channels: Vec<SlackChannelId>,
    pub discord_channels: Vec<DiscordChannelId>,
}

#[derive(Debug, Clone)]
pub enum SlackMode {
    /// Socket Mode: perch dials out; no public URL needed.
    Socket { app_token: EnvVar },
    /// Events API: Slack posts to `addr`, signed with the signing secret.
    Events {
        signing_secret: EnvVar,
        addr: SocketAddr,
    },
}

#[derive(Debug, Clone)]
pub struct SlackSettings {
    pub mode: SlackMode,
    pub bot_token: EnvVar,
    pub api_url: String,
}

#[derive(Debug, Clone)]
pub struct DiscordSettings {
    pub bot_token: EnvVar,
    pub application_id: u64,
    pub guild_ids: Vec<u64>,
    /// Only for the sandbox: where the fake Discord listens.
    pub api_url: Option<String>,
}

#[derive(Debug, Clone)]
pub struct AgentConfig {
    pub key: AgentId,
    pub name: String,
    /// Appended to replies as `^JD`.
    pub initials: String,
    pub slack_user: Option<SlackUserId>,
    pub discord_user: Option<DiscordUserId>,
    pub lead: bool,
}

#[derive(Debug, Clone, Default)]
pub struct Permissions {
    pub slack_agent_group: Option<String>,
    pub slack_lead_group: Option<String>,
    pub discord_agent_role: Option<String>,
    pub discord_lead_role: Option<String>,
}

#[derive(Debug, Clone)]
pub struct SavedReply {
    pub name: String,
    pub text: String,
}

#[derive(Debug, Clone, Default)]
pub struct AutoReplies {
    /// May name `{opens}`, the next opening time.
    pub off_hours: Option<String>,
    pub dm_welcome: Option<String>,
}

impl AutoReplies {
    /// What a customer writes in for may name this in `off_hours`.
    pub const OPENS: &'static str = "{opens}";

    pub fn any(&self) -> bool {
        self.off_hours.is_some() || self.dm_welcome.is_some()
    }

    /// The off-hours reply at `now`, with `{opens}` filled in ("soon" when
    /// no opening is in sight).
    pub fn off_hours_text(&self, hours: &SupportHours, now: DateTime<Utc>) -> Option<String> {
        let text = self.off_hours.as_ref()?;
        if !text.contains(Self::OPENS) {
            return Some(text.clone());
        }
        let opens = hours
            .next_opening(now)
            .map_or_else(|| "soon".to_owned(), |at| hours.describe(at));
        Some(text.replace(Self::OPENS, &opens))
    }
}

impl Config {
    /// Every environment variable the config names, with the key naming it.
    pub fn secrets(&self) -> Vec<&EnvVar> {
        let mut out = Vec::new();
        out.extend(&self.x.bearer_token);
        out.extend(&self.service.report_token);
        for account in &self.accounts {
            match &account.auth {
                XAuth::OAuth1 {
                    consumer_key,
                    consumer_secret,
                    access_token,
                    access_token_secret,
                } => out.extend([
                    consumer_key,
                    consumer_secret,
                    access_token,
                    access_token_secret,
                ]),
                XAuth::OAuth2 {
                    client_id,
                    client_secret,
                    refresh_token,
                } => {
                    out.push(client_id);
                    out.extend(client_secret);
                    out.extend(refresh_token);
                }
            }
        }
        if let Some(slack) = &self.slack {
            out.push(&slack.bot_token);
            match &slack.mode {
                SlackMode::Socket { app_token } => out.push(app_token),
                SlackMode::Events { signing_secret, .. } => out.push(signing_secret),
            }
        }
        if let Some(discord) = &self.discord {
            out.push(&discord.bot_token);
        }
        out
    }

    pub fn account(&self, key: &AccountKey) -> Option<&Account> {
        self.accounts.iter().find(|a| &a.key == key)
    }

    /// The configured agent with key `key`.
    /// The team's time zone: the support hours', UTC without them (days
    /// and weeks in figures, "today" in answers).
    pub fn zone(&self) -> chrono_tz::Tz {
        self.support_hours
            .as_ref()
            .map_or(chrono_tz::UTC, |h| h.zone)
    }

    pub fn agent(&self, key: &AgentId) -> Option<&AgentConfig> {
        self.agents.iter().find(|a| &a.key == key)
    }
}
