//! `ChatPlatform` for Discord: REST for what perch says, the gateway
//! (serenity's client) for what people do.
//!
//! `/perch` is registered as a guild command with the shared grammar's
//! verbs as subcommands, each taking optional text (`assign` → `@sam #42`).
//! Commands are deferred (ephemeral) at once, well inside Discord's 3 s,
//! and answered later with a follow-up; button presses are acknowledged at
//! once. Handlers only deduplicate (in the store) and hand events on.

use std::sync::Arc;

use chrono::Utc;
use serenity::all::{
    Channel, ChannelId, ChannelType, Client, ClientBuilder, CommandDataOptionValue,
    CommandOptionType, Context, CreateCommand, CreateCommandOption, CreateInteractionResponse,
    CreateInteractionResponseMessage, EventHandler, GatewayIntents, GuildId, Http, Interaction,
    Message, MessageUpdateEvent, Ready,
};
use tokio::sync::{mpsc, watch};

use super::{classify, DiscordRest};
use crate::chat::{
    CardAction, ChatError, ChatEvent, ChatUser, Journal, MessageRef, Platform, PromptAction,
    Responder, Written,
};
use crate::ticket::{ChatMessageId, ChatThread, ChatUserId};

/// How long the gateway may take to close at a stop.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(3);

/// The `/perch` command with its subcommands.
pub fn perch_command() -> CreateCommand {
    let mut command = CreateCommand::new("perch").description("Work X tickets from Discord");
    for verb in crate::ticket::grammar::subcommands() {
        let sub = CreateCommandOption::new(CommandOptionType::SubCommand, verb.name, verb.summary)
            .add_sub_option(
                CreateCommandOption::new(
                    CommandOptionType::String,
                    "text",
                    "Arguments, e.g. #42 or @agent",
                )
                .required(false),
            );
        command = command.add_option(sub);
    }
    command
}

/// Intents perch needs; MESSAGE_CONTENT is privileged and must be enabled
/// for the bot in the developer portal.
pub fn intents() -> GatewayIntents {
    GatewayIntents::GUILDS | GatewayIntents::GUILD_MESSAGES | GatewayIntents::MESSAGE_CONTENT
}

pub struct DiscordAdapter {
    rest: DiscordRest,
    guilds: Vec<u64>,
    journal: Arc<dyn Journal>,
}

impl DiscordAdapter {
    /// `application_id` is `discord.application_id` (interaction follow-ups
    /// are sent in its name).
    pub fn new(
        rest: DiscordRest,
        application_id: u64,
        guilds: Vec<u64>,
        journal: Arc<dyn Journal>,
    ) -> Self {
        if application_id > 0 {
            rest.http
                .set_application_id(serenity::all::ApplicationId::new(application_id));
        }
        Self {
            rest,
            guilds,
            journal,
        }
    }

    pub fn rest(&self) -> &DiscordRest {
        &self.rest
    }

    pub(super) fn guilds(&self) -> &[u64] {
        &self.guilds
    }
}

struct Handler {
    events: mpsc::Sender<ChatEvent>,
    journal: Arc<dyn Journal>,
    guilds: Vec<u64>,
    /// The bot's own user id, learned at READY: a message that starts
    /// with its mention is a command.
    bot: std::sync::OnceLock<u64>,
}

fn author(id: u64, name: &str, roles: Vec<String>) -> ChatUser {
    ChatUser {
        platform: Platform::Discord,
        id: ChatUserId::new(id.to_string()),
        name: Some(name.to_owned()),
        roles,
    }
}

/// The ticket thread a channel is, if it is a thread: (parent, thread).
async fn thread_of(http: &Http, channel: ChannelId) -> Option<ChatThread> {
    let Ok(Channel::Guild(c)) = http.get_channel(channel).await else {
        return None;
    };
    let thread = matches!(
        c.kind,
        ChannelType::PublicThread | ChannelType::PrivateThread
    );
    let parent = c.parent_id.filter(|_| thread)?;
    Some(ChatThread::Discord {
        parent: parent.get().to_string().as_str().into(),
        thread: channel.get().to_string().as_str().into(),
    })
}

/// What the gateway's cache says `channel` is: `Some(None)` for a channel
/// that is no thread, `Some(Some(thread))` for a thread, `None` when the
/// cache does not know it (then REST is asked).
fn cached_thread(ctx: &Context, guild: GuildId, channel: ChannelId) -> Option<Option<ChatThread>> {
    let guild = ctx.cache.guild(guild)?;
    if guild.channels.contains_key(&channel) {
        return Some(None);
    }
    let thread = guild.threads.iter().find(|t| t.id == channel)?;
    Some(thread.parent_id.map(|parent| ChatThread::Discord {
        parent: parent.get().to_string().as_str().into(),
        thread: channel.get().to_string().as_str().into(),
    }))
}

/// Whether the cache knows `channel` as no thread: edits and deletes
/// there cannot concern a reply, and are not journaled.
fn outside_threads(ctx: &Context, guild: GuildId, channel: ChannelId) -> bool {
    matches!(cached_thread(ctx, guild, channel), Some(None))
}

impl Handler {
    /// Reads back what people wrote in open ticket threads within the
    /// dedupe window; what was seen already is dropped by `forward`.
    async fn catch_up(&self, ctx: &Context) {
        let threads = match self.journal.open_threads(Platform::Discord) {
            Ok(t) => t,
            Err(e) => {
                return tracing::error!(error = %e, "cannot list ticket threads to catch up on Discord")
            }
        };
        let since = serenity::all::MessageId::new(super::snowflake_at(
            Utc::now() - crate::chat::dedupe_window(),
        ));
        let mut roles = std::collections::HashMap::new();
        for thread in &threads {
            let ChatThread::Discord { thread: id, .. } = thread else {
                continue;
            };
            let Ok(channel) = id.as_str().parse::<u64>() else {
                continue;
            };
            let builder = serenity::all::GetMessages::new().after(since).limit(100);
            match ChannelId::new(channel).messages(&ctx.http, builder).await {
                Ok(mut messages) => {
                    messages.sort_by_key(|m| m.id);
                    for m in messages {
                        // History carries no member: roles are asked for.
                        let roles = match m.member {
                            Some(_) => None,
                            None if m.author.bot => None,
                            None => Some(self.roles_of(ctx, m.author.id, &mut roles).await),
                        };
                        self.person_message(thread.clone(), &m, roles).await;
                    }
                }
                Err(e) => {
                    tracing::warn!(thread = channel, error = %e, "cannot catch up on a Discord thread")
                }
            }
        }
    }

    /// A person's role ids in the first configured guild that has them
    /// (none when no guild answers), asked once per catch-up.
    async fn roles_of(
        &self,
        ctx: &Context,
        user: serenity::all::UserId,
        known: &mut std::collections::HashMap<serenity::all::UserId, Vec<String>>,
    ) -> Vec<String> {
        if let Some(r) = known.get(&user) {
            return r.clone();
        }
        let mut found = Vec::new();
        for guild in &self.guilds {
            match GuildId::new(*guild).member(&ctx.http, user).await {
                Ok(member) => {
                    found = member.roles.iter().map(|r| r.get().to_string()).collect();
                    break;
                }
                Err(e) => tracing::debug!(guild, error = %e, "no member there"),
            }
        }
        known.insert(user, found.clone());
        found
    }

    /// A person's message in a ticket thread becomes an event; `roles`
    /// when the message itself does not carry them (history).
    async fn person_message(
        &self,
        thread: ChatThread,
        message: &Message,
        roles: Option<Vec<String>>,
    ) {
        if message.author.bot {
            return;
        }
        let roles = roles.unwrap_or_else(|| {
            message
                .member
                .as_ref()
                .map(|m| m.roles.iter().map(|r| r.get().to_string()).collect())
                .unwrap_or_default()
        });
        let who = author(message.author.id.get(), &message.author.name, roles);
        let key = format!("message/{}", message.id);
        let to_bot = self.bot.get().and_then(|bot| {
            let content = message.content.trim_start();
            [format!("<@{bot}>"), format!("<@!{bot}>")]
                .iter()
                .find_map(|m| content.strip_prefix(m.as_str()))
                .map(|rest| rest.trim().to_owned())
        });
        if let Some(text) = to_bot {
            // Said to the bot in a thread: a command for that thread,
            // answered there (a message has no interaction to answer).
            let event = ChatEvent::Command {
                author: who,
                text,
                thread: Some(thread.clone()),
                responder: Responder::Thread { thread },
            };
            return self.forward(&key, event).await;
        }
        let event = ChatEvent::ThreadMessage {
            message: MessageRef {
                thread,
                id: ChatMessageId::new(message.id.get().to_string()),
            },
            author: who,
            text: message.content.clone(),
            event_id: message.id.get().to_string(),
            files: message
                .attachments
                .iter()
                .map(|a| a.filename.clone())
                .collect(),
        };
        self.forward(&key, event).await;
    }

    async fn forward(&self, key: &str, event: ChatEvent) {
        crate::chat::deliver_once(
            self.journal.as_ref(),
            Platform::Discord,
            key,
            &self.events,
            event,
        )
        .await;
    }
}

#[serenity::async_trait]
impl EventHandler for Handler {
    async fn ready(&self, ctx: Context, ready: Ready) {
        let _ = self.bot.set(ready.user.id.get());
        for guild in &self.guilds {
            match GuildId::new(*guild)
                .set_commands(&ctx.http, vec![perch_command()])
                .await
            {
                Ok(_) => tracing::info!(guild, "/perch registered"),
                Err(e) => {
                    tracing::error!(guild, error = %e, "cannot register /perch; check the bot's applications.commands scope")
                }
            }
        }
        // Every READY starts a session the gateway replays nothing into:
        // after a restart or an invalid session, what people wrote in the
        // gap is read back (what was seen already is dropped). After
        // `/perch` is registered: with many open tickets this takes a while.
        self.catch_up(&ctx).await;
    }

    async fn message(&self, ctx: Context, message: Message) {
        if message.author.bot {
            return;
        }
        let Some(guild) = message.guild_id else {
            return;
        };
        // The gateway's cache knows the guild's channels and threads: a
        // message in an ordinary channel costs no REST call.
        let thread = match cached_thread(&ctx, guild, message.channel_id) {
            Some(known) => known,
            None => thread_of(&ctx.http, message.channel_id).await,
        };
        let Some(thread) = thread else {
            return;
        };
        self.person_message(thread, &message, None).await;
    }

    async fn message_update(
        &self,
        ctx: Context,
        _old: Option<Message>,
        _new: Option<Message>,
        event: MessageUpdateEvent,
    ) {
        // An update without content is Discord adding an embed, not an edit.
        let (Some(text), Some(by), Some(guild)) = (event.content, event.author, event.guild_id)
        else {
            return;
        };
        if by.bot || outside_threads(&ctx, guild, event.channel_id) {
            return;
        }
        let at = event.edited_timestamp.map_or(0, |t| t.unix_timestamp());
        let edited = ChatEvent::MessageEdited {
            message: Written {
                platform: Platform::Discord,
                channel: event.channel_id.get().to_string(),
                id: ChatMessageId::new(event.id.get().to_string()),
            },
            text,
            event_id: format!("{}@{at}", event.id),
        };
        self.forward(&format!("edit/{}@{at}", event.id), edited)
            .await;
    }

    async fn message_delete(
        &self,
        ctx: Context,
        channel: ChannelId,
        message: serenity::all::MessageId,
        guild: Option<GuildId>,
    ) {
        let Some(guild) = guild else {
            return;
        };
        if outside_threads(&ctx, guild, channel) {
            return;
        }
        let deleted = ChatEvent::MessageDeleted {
            message: Written {
                platform: Platform::Discord,
                channel: channel.get().to_string(),
                id: ChatMessageId::new(message.get().to_string()),
            },
            event_id: format!("delete/{message}"),
        };
        self.forward(&format!("delete/{message}"), deleted).await;
    }

    async fn interaction_create(&self, ctx: Context, interaction: Interaction) {
        match interaction {
            Interaction::Command(cmd) => {
                // Acknowledge first: Discord wants an answer within 3 s.
                let defer = CreateInteractionResponse::Defer(
                    CreateInteractionResponseMessage::new().ephemeral(true),
                );
                if let Err(e) = cmd.create_response(&ctx.http, defer).await {
                    tracing::warn!(error = %e, "cannot defer a /perch interaction");
                }
                let mut text = String::new();
                for option in &cmd.data.options {
                    text.push_str(&option.name);
                    if let CommandDataOptionValue::SubCommand(args) = &option.value {
                        for a in args {
                            if let Some(v) = a.value.as_str() {
                                text.push(' ');
                                text.push_str(v);
                            }
                        }
                    }
                }
                let roles = cmd
                    .member
                    .as_ref()
                    .map(|m| m.roles.iter().map(|r| r.get().to_string()).collect())
                    .unwrap_or_default();
                let event = ChatEvent::Command {
                    author: author(cmd.user.id.get(), &cmd.user.name, roles),
                    text,
                    thread: thread_of(&ctx.http, cmd.channel_id).await,
                    responder: Responder::Discord {
                        interaction_id: cmd.id.get().to_string(),
                        token: cmd.token.clone(),
                    },
                };
                self.forward(&format!("interaction/{}", cmd.id), event)
                    .await;
            }
            Interaction::Component(press) => {
                if let Err(e) = press
                    .create_response(&ctx.http, CreateInteractionResponse::Acknowledge)
                    .await
                {
                    tracing::warn!(error = %e, "cannot acknowledge a button");
                }
                if let Some((action, reply)) = PromptAction::parse(&press.data.custom_id) {
                    let event = ChatEvent::ReplyButton {
                        author: author(press.user.id.get(), &press.user.name, Vec::new()),
                        action,
                        reply,
                        responder: Responder::Discord {
                            interaction_id: press.id.get().to_string(),
                            token: press.token.clone(),
                        },
                    };
                    return self
                        .forward(&format!("interaction/{}", press.id), event)
                        .await;
                }
                let Some(action) = press
                    .data
                    .custom_id
                    .split(':')
                    .next()
                    .and_then(CardAction::from_id)
                else {
                    return;
                };
                // The card of a text-channel ticket is in the channel and its
                // id is the thread's; a forum card is in the post itself.
                let thread = match thread_of(&ctx.http, press.channel_id).await {
                    Some(t) => t,
                    None => ChatThread::Discord {
                        parent: press.channel_id.get().to_string().as_str().into(),
                        thread: press.message.id.get().to_string().as_str().into(),
                    },
                };
                let event = ChatEvent::Button {
                    author: author(press.user.id.get(), &press.user.name, Vec::new()),
                    action,
                    thread,
                    responder: Responder::Discord {
                        interaction_id: press.id.get().to_string(),
                        token: press.token.clone(),
                    },
                };
                self.forward(&format!("interaction/{}", press.id), event)
                    .await;
            }
            _ => {}
        }
    }
}

impl DiscordAdapter {
    /// Connects to the gateway and hands on what people do until `stop`.
    pub(super) async fn connect(
        &self,
        events: mpsc::Sender<ChatEvent>,
        mut stop: watch::Receiver<bool>,
    ) -> Result<(), ChatError> {
        let handler = Handler {
            events,
            journal: Arc::clone(&self.journal),
            guilds: self.guilds.clone(),
            bot: std::sync::OnceLock::new(),
        };
        let mut client: Client = ClientBuilder::new_with_http(self.rest.client_http(), intents())
            .event_handler(handler)
            .await
            .map_err(classify)?;
        let shards = Arc::clone(&client.shard_manager);
        tokio::select! {
            result = client.start() => result.map_err(classify),
            () = async { let _ = stop.wait_for(|s| *s).await; } => {
                // Connected shards say goodbye; a client still trying to
                // reach Discord is dropped with its retries, so perch
                // stops in bounded time whatever Discord does.
                if tokio::time::timeout(SHUTDOWN_GRACE, shards.shutdown_all()).await.is_err() {
                    tracing::warn!("Discord's gateway did not close in time; stopping anyway");
                }
                Ok(())
            }
        }
    }
}
