//! The config file as written: serde types that mirror the TOML exactly and
//! reject unknown keys. Values stay strings here; `validate` parses them.

use std::collections::BTreeMap;

use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    #[serde(default)]
    pub service: RawService,
    #[serde(default)]
    pub x: RawX,
    #[serde(default)]
    pub accounts: Vec<RawAccount>,
    pub slack: Option<RawSlack>,
    pub discord: Option<RawDiscord>,
    #[serde(default)]
    pub agents: Vec<RawAgent>,
    #[serde(default)]
    pub permissions: RawPermissions,
    pub support_hours: Option<RawSupportHours>,
    #[serde(default)]
    pub response_targets: RawTargets,
    pub escalation: Option<RawEscalation>,
    pub oncall: Option<RawOnCall>,
    pub digest: Option<RawDigest>,
    #[serde(default)]
    pub rules: Vec<RawRule>,
    #[serde(default)]
    pub saved_replies: Vec<RawSavedReply>,
    #[serde(default)]
    pub auto_replies: RawAutoReplies,
    #[serde(default)]
    pub followups: RawFollowUps,
}

/// `[followups]`: what a follow-up does besides reminding its author.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFollowUps {
    /// A saved reply's name, sent to the customer by DM when it is due.
    pub check_in: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawService {
    pub data_dir: Option<String>,
    pub health_addr: Option<String>,
    pub log_format: Option<String>,
    pub require_explicit_claim: Option<bool>,
    pub claim_idle_release: Option<String>,
    pub keep_sent_replies: Option<String>,
    pub report_token_env: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawX {
    pub api_url: Option<String>,
    pub authorize_url: Option<String>,
    pub monthly_read_budget: Option<u64>,
    pub backfill: Option<String>,
    pub auto_reply_max_age: Option<String>,
    pub bearer_token_env: Option<String>,
    pub filtered_stream: Option<bool>,
    #[serde(default)]
    pub spend: RawSpend,
    /// Price per thing X bills, in US dollars, by `Priced::key`.
    #[serde(default)]
    pub prices: std::collections::BTreeMap<String, f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSpend {
    /// US dollars a month.
    pub monthly_cap: Option<f64>,
    pub at_cap: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAccount {
    pub key: String,
    pub handle: String,
    pub user_id: String,
    pub auth: RawAuth,
    #[serde(default)]
    pub ingest: RawIngest,
    #[serde(default)]
    pub routes: RawRoutes,
    pub send_mode: Option<String>,
    pub undo_window: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAuth {
    pub kind: String,
    pub consumer_key_env: Option<String>,
    pub consumer_secret_env: Option<String>,
    pub access_token_env: Option<String>,
    pub access_token_secret_env: Option<String>,
    pub client_id_env: Option<String>,
    pub client_secret_env: Option<String>,
    pub refresh_token_env: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawIngest {
    pub mentions: Option<RawPoll>,
    pub dms: Option<RawPoll>,
    #[serde(default)]
    pub search: Vec<RawSearch>,
    pub webhook: Option<RawWebhook>,
    pub activity_stream: Option<RawActivityStream>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawActivityStream {
    pub enabled: Option<bool>,
    pub events: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPoll {
    pub enabled: Option<bool>,
    pub interval: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSearch {
    pub name: String,
    pub query: String,
    #[serde(default)]
    pub misspellings: Vec<String>,
    pub interval: Option<String>,
    pub enabled: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWebhook {
    pub enabled: Option<bool>,
    pub path: Option<String>,
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    pub replay: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRoutes {
    #[serde(default)]
    pub slack_channels: Vec<String>,
    #[serde(default)]
    pub discord_channels: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSlack {
    pub mode: Option<String>,
    pub bot_token_env: String,
    pub app_token_env: Option<String>,
    pub signing_secret_env: Option<String>,
    pub events_addr: Option<String>,
    pub api_url: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDiscord {
    pub bot_token_env: String,
    pub application_id: String,
    #[serde(default)]
    pub guild_ids: Vec<String>,
    pub api_url: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAgent {
    pub key: String,
    pub name: String,
    pub initials: String,
    pub slack_user: Option<String>,
    pub discord_user: Option<String>,
    pub lead: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPermissions {
    pub slack_agent_group: Option<String>,
    pub slack_lead_group: Option<String>,
    pub discord_agent_role: Option<String>,
    pub discord_lead_role: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSupportHours {
    pub time_zone: String,
    #[serde(default)]
    pub weekly: BTreeMap<String, String>,
    #[serde(default)]
    pub holidays: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTargets {
    pub urgent: Option<String>,
    pub high: Option<String>,
    pub normal: Option<String>,
    pub low: Option<String>,
    pub support_hours_only: Option<bool>,
    pub warn_at: Option<String>,
    pub next: Option<RawNextTargets>,
}

/// `[response_targets.next]`: after the customer writes again.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNextTargets {
    pub urgent: Option<String>,
    pub high: Option<String>,
    pub normal: Option<String>,
    pub low: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEscalation {
    #[serde(default)]
    pub ladder: Vec<RawRung>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRung {
    pub after: String,
    pub ping: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDigest {
    pub weekly: String,
    pub time_zone: Option<String>,
    #[serde(default)]
    pub slack_channels: Vec<String>,
    #[serde(default)]
    pub discord_channels: Vec<String>,
    pub report_url: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOnCall {
    pub time_zone: String,
    #[serde(default)]
    pub shifts: Vec<RawShift>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawShift {
    pub from: String,
    pub agent: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRule {
    pub name: String,
    #[serde(default)]
    pub keywords: Vec<String>,
    pub regex: Option<String>,
    pub category: Option<String>,
    pub priority: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSavedReply {
    pub name: String,
    pub text: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAutoReplies {
    pub off_hours: Option<String>,
    pub dm_welcome: Option<String>,
}
