//! `perch check --online`: asks each configured platform whether the
//! credentials work and what they allow, and says what to fix. Nothing is
//! posted and nothing changes (an OAuth 2.0 refresh token rotates, and the
//! new one is stored, as `perch run` would).

use std::collections::HashMap;

use serenity::all::{ChannelId, GuildId, Permissions};

use crate::chat::discord::{invite_url, required_permissions, DiscordRest};
use crate::chat::slack::SlackWeb;
use crate::chat::ChatError;
use crate::config::{secrets, Config, EnvVar, SlackMode};
use crate::store::{Store, StoreError};
use crate::twitter::authorize::missing_scopes;
use crate::twitter::{Patience, XClient, XError};

/// One thing asked of a platform: what, and what came of it (a detail
/// when it works, what to do when it does not).
#[derive(Debug, Clone)]
pub struct Finding {
    pub what: String,
    pub outcome: Result<String, String>,
}

fn found(what: impl Into<String>, outcome: Result<String, String>) -> Finding {
    Finding {
        what: what.into(),
        outcome,
    }
}

/// Asks every platform in `config`. `store` is `None` when a running
/// perch holds it (OAuth 2.0 accounts are then left to that perch).
pub async fn check(
    config: &Config,
    store: Result<Store, StoreError>,
    lookup: &(dyn Fn(&str) -> Option<String> + Sync),
) -> Vec<Finding> {
    let mut findings = Vec::new();
    let store = store.ok();
    for account in &config.accounts {
        findings.push(x_account(config, account, store.as_ref(), lookup).await);
        if let Some(url) = account.ingest.webhook.as_ref().and_then(|w| w.url.as_ref()) {
            findings.push(x_activity(config, account, url, lookup).await);
        }
    }
    if config.slack.is_some() {
        findings.extend(slack(config, lookup).await);
    }
    if config.discord.is_some() {
        findings.extend(discord(config, lookup).await);
    }
    findings
}

fn secret(
    env: &EnvVar,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<crate::config::Secret, String> {
    secrets::read(env, lookup).map_err(|p| p.to_string())
}

async fn x_account(
    config: &Config,
    account: &crate::config::Account,
    store: Option<&Store>,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Finding {
    let what = format!("X account `{}` (@{})", account.key, account.handle);
    let client = crate::twitter::runtime::auth(config, account, store, lookup).and_then(|auth| {
        XClient::new(
            &config.x.api_url,
            account.key.clone(),
            auth,
            Patience::default(),
        )
    });
    let me = match client {
        Ok(client) => client.me().await,
        Err(e) => Err(e),
    };
    let me = match me {
        Ok(me) => me,
        Err(XError::Unauthorized { .. }) => {
            return found(what, Err(match account.auth.kind() {
                "OAuth 1.0a" => "X refused the credentials (401): in the app's Keys and tokens, regenerate the Access Token and Secret (after any change of app permissions they must be regenerated) and put them in the variables the account names".to_owned(),
                _ => format!("X refused the token (401): run `perch auth x --account {}` again", account.key),
            }))
        }
        Err(e) => return found(what, Err(e.to_string())),
    };
    if me.user.id != account.user_id.as_str() {
        return found(
            what,
            Err(format!(
                "the credentials act as @{} (user id {}), not user_id {}: use @{}'s tokens, or set user_id = \"{}\" if that is the brand account",
                me.user.username, me.user.id, account.user_id, account.handle, me.user.id
            )),
        );
    }
    if let Some(level) = &me.access_level {
        if level != "read-write-directmessages" {
            return found(what, Err(format!(
                "the app's permission is `{level}`: perch posts replies and reads and sends DMs; in the app's User authentication settings choose \"Read and write and Direct message\", then regenerate the Access Token and Secret"
            )));
        }
    }
    if let Some(scopes) = &me.scopes {
        let missing = missing_scopes(scopes);
        if !missing.is_empty() {
            return found(
                what,
                Err(format!(
                    "the token lacks {}: run `perch auth x --account {}` and grant them",
                    missing.join(" "),
                    account.key
                )),
            );
        }
    }
    let allowed = me
        .access_level
        .or(me.scopes.map(|s| s.join(" ")))
        .unwrap_or_default();
    found(
        what,
        Ok(format!(
            "acts as @{} (user id {}), {allowed}",
            me.user.username, me.user.id
        )),
    )
}

/// What X delivers to the account's webhook: the webhook registered and
/// valid, and a subscription for each event the config asks.
async fn x_activity(
    config: &Config,
    account: &crate::config::Account,
    url: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Finding {
    let what = format!("X Activity API for `{}` at {url}", account.key);
    let app = match crate::twitter::runtime::app_client(config, lookup) {
        Ok(app) => app,
        Err(e) => return found(what, Err(e.to_string())),
    };
    let webhook = match crate::twitter::subscriptions::webhook_of(&app, url, false).await {
        Ok(Some(w)) => w,
        Ok(None) => {
            return found(
                what,
                Ok("no webhook here yet: perch registers it and subscribes the account when it starts where X reaches this URL".to_owned()),
            )
        }
        Err(e) => return found(what, Err(e.to_string())),
    };
    if !webhook.valid {
        return found(what, Err(format!(
            "X marked webhook {} invalid (it failed a CRC check) and delivers nothing: make the URL reach perch, then restart perch or run `perch x subscribe --account {}`",
            webhook.id, account.key
        )));
    }
    let subscribed: Vec<String> = match app.subscriptions().await {
        Ok(all) => all
            .into_iter()
            .filter(|s| {
                s.webhook_id.as_deref() == Some(webhook.id.as_str())
                    && s.filter.user_id.as_deref() == Some(account.user_id.as_str())
            })
            .map(|s| s.event_type)
            .collect(),
        Err(e) => return found(what, Err(e.to_string())),
    };
    let events = account
        .ingest
        .webhook
        .as_ref()
        .map(|w| w.events.clone())
        .unwrap_or_default();
    let missing: Vec<&String> = events.iter().filter(|e| !subscribed.contains(e)).collect();
    if !missing.is_empty() {
        return found(what, Err(format!(
            "not subscribed to {}: X does not deliver them; restart perch or run `perch x subscribe --account {}`",
            missing.iter().map(|e| e.as_str()).collect::<Vec<_>>().join(", "),
            account.key
        )));
    }
    found(
        what,
        Ok(format!(
            "webhook {} valid, subscribed to {}",
            webhook.id,
            subscribed.join(", ")
        )),
    )
}

/// What to do about a Slack error on a channel.
fn slack_channel_fix(e: &ChatError) -> String {
    match e {
        ChatError::Refused(code) if code == "not_in_channel" => {
            "the bot is not in the channel: `/invite @perch` there".to_owned()
        }
        ChatError::NotFound(_) => "no channel with this id that the bot can see: check the id (channel details, bottom), and invite the bot to a private channel".to_owned(),
        ChatError::Refused(code) if code == "missing_scope" => "the app lacks a scope (channels:history, groups:history): add it under OAuth & Permissions and reinstall the app".to_owned(),
        other => other.to_string(),
    }
}

async fn slack(config: &Config, lookup: &dyn Fn(&str) -> Option<String>) -> Vec<Finding> {
    let Some(settings) = &config.slack else {
        return Vec::new();
    };
    let web = match secret(&settings.bot_token, lookup).and_then(|token| {
        SlackWeb::new(
            &settings.api_url,
            &token,
            crate::chat::slack::DEFAULT_POST_INTERVAL,
        )
        .map_err(|e| e.to_string())
    }) {
        Ok(web) => web,
        Err(e) => return vec![found("Slack", Err(e))],
    };
    let bot = match web.whoami().await {
        Ok(user) => found("Slack bot token", Ok(format!("accepted, bot user {user}"))),
        Err(ChatError::Unauthorized(code)) => {
            return vec![found(
                "Slack bot token",
                Err(format!("Slack refused it ({code}): copy the Bot User OAuth Token (xoxb-…) from the app's Install App page")),
            )]
        }
        Err(e) => return vec![found("Slack bot token", Err(e.to_string()))],
    };
    let mut findings = vec![bot];
    if let SlackMode::Socket { app_token } = &settings.mode {
        let outcome = match secret(app_token, lookup) {
            Err(e) => Err(e),
            Ok(token) => match web.can_connect(&token).await {
                Ok(()) => Ok("opens a Socket Mode connection".to_owned()),
                Err(e) => Err(format!("Slack refused it ({e}): generate an app-level token (xapp-…) with connections:write under Basic Information, and turn Socket Mode on")),
            },
        };
        findings.push(found("Slack app token", outcome));
    }
    for channel in config
        .accounts
        .iter()
        .flat_map(|a| &a.routes.slack_channels)
    {
        let outcome = match web.can_read(channel.as_str()).await {
            Ok(()) => Ok("the bot is in it".to_owned()),
            Err(e) => Err(slack_channel_fix(&e)),
        };
        findings.push(found(format!("Slack channel {channel}"), outcome));
    }
    findings
}

async fn discord(config: &Config, lookup: &dyn Fn(&str) -> Option<String>) -> Vec<Finding> {
    let Some(settings) = &config.discord else {
        return Vec::new();
    };
    let rest = match secret(&settings.bot_token, lookup) {
        Ok(token) => DiscordRest::new(
            &token,
            settings.api_url.as_deref(),
            crate::chat::discord::DEFAULT_POST_INTERVAL,
        ),
        Err(e) => return vec![found("Discord", Err(e))],
    };
    let http = rest.client_http();
    let invite = invite_url(settings.application_id);
    let bot = match http.get_current_user().await {
        Ok(bot) => bot,
        Err(e) => {
            return vec![found(
                "Discord bot token",
                Err(format!("Discord refused it ({}): Developer Portal → the application → Bot → Reset Token, and put the new one in the variable", crate::chat::discord::classify(e))),
            )]
        }
    };
    let mut findings = vec![found(
        "Discord bot token",
        Ok(format!("accepted, bot {} ({})", bot.name, bot.id)),
    )];
    let intent = match http.get_current_application_info().await {
        Ok(app) if app.id.get() != settings.application_id => Err(format!(
            "the token is the bot of application {}, not application_id {}",
            app.id, settings.application_id
        )),
        Ok(app) => {
            use serenity::all::ApplicationFlags as F;
            let flags = app.flags.unwrap_or(F::empty());
            if flags.intersects(F::GATEWAY_MESSAGE_CONTENT | F::GATEWAY_MESSAGE_CONTENT_LIMITED) {
                Ok("Message Content intent on".to_owned())
            } else {
                Err("the Message Content intent is off (perch reads replies in threads): Developer Portal → Bot → Privileged Gateway Intents → Message Content Intent".to_owned())
            }
        }
        Err(e) => Err(crate::chat::discord::classify(e).to_string()),
    };
    findings.push(found("Discord application", intent));
    let mut guilds = HashMap::new();
    for id in &settings.guild_ids {
        let outcome = match http.get_guild(GuildId::new(*id)).await {
            Ok(guild) => {
                let detail = format!("the bot is in {}", guild.name);
                guilds.insert(guild.id, guild);
                Ok(detail)
            }
            Err(_) => Err(format!(
                "the bot is not in this server: add it with {invite}"
            )),
        };
        findings.push(found(format!("Discord server {id}"), outcome));
    }
    for channel in config
        .accounts
        .iter()
        .flat_map(|a| &a.routes.discord_channels)
    {
        let outcome = match channel.as_str().parse::<u64>() {
            Ok(id) if id > 0 => discord_channel(&http, &guilds, bot.id, id, &invite).await,
            _ => Err("not a channel id (digits)".to_owned()),
        };
        findings.push(found(format!("Discord channel {channel}"), outcome));
    }
    findings
}

/// Whether the bot has every permission perch needs in `channel`.
async fn discord_channel(
    http: &serenity::http::Http,
    guilds: &HashMap<GuildId, serenity::all::PartialGuild>,
    bot: serenity::all::UserId,
    channel: u64,
    invite: &str,
) -> Result<String, String> {
    let Ok(serenity::all::Channel::Guild(channel)) =
        http.get_channel(ChannelId::new(channel)).await
    else {
        return Err("no channel with this id that the bot can see: check the id (Developer Mode → right-click → Copy Channel ID) and the bot's View Channel permission there".to_owned());
    };
    let Some(guild) = guilds.get(&channel.guild_id) else {
        return Err(format!(
            "the channel is in server {}, which is not in discord.guild_ids",
            channel.guild_id
        ));
    };
    let member = http.get_member(channel.guild_id, bot).await.map_err(|_| {
        format!(
            "the bot is not a member of server {}: add it with {invite}",
            channel.guild_id
        )
    })?;
    let has = guild.user_permissions_in(&channel, &member);
    let missing: Permissions = required_permissions() - has;
    if missing.is_empty() {
        Ok(format!("#{}: every permission perch needs", channel.name))
    } else {
        Err(format!(
            "#{}: the bot lacks {}: grant them to its role, or remove the channel's overwrite that denies them",
            channel.name,
            missing.get_permission_names().join(", ")
        ))
    }
}
