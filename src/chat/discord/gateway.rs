//! `ChatPlatform` for Discord: REST for what perch says, the gateway
//! (serenity's client) for what people do.
//!
//! `/perch` is registered as a guild command with the shared grammar's
//! verbs as subcommands, each taking optional text (`assign` → `@sam #42`).
//! Commands are deferred (ephemeral) at once, well inside Discord's 3 s,
//! and answered later with a follow-up; button presses are acknowledged at
//! once. Handlers only deduplicate (in the store) and hand events on.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::Utc;
use serenity::all::{
    Channel, ChannelId, ChannelType, Client, ClientBuilder, CommandDataOptionValue,
    CommandOptionType, Context, CreateCommand, CreateCommandOption, CreateInteractionResponse,
    CreateInteractionResponseFollowup, CreateInteractionResponseMessage, EventHandler,
    GatewayIntents, GuildId, Http, Interaction, Message, Ready,
};
use serenity::builder::Builder;
use tokio::sync::{mpsc, watch};

use super::{classify, DiscordRest};
use crate::chat::{
    Capabilities, Card, CardAction, ChatError, ChatEvent, ChatPlatform, ChatUser, Journal,
    MessageRef, Platform, Reaction, Responder, Text, Visibility,
};
use crate::ticket::{ChatMessageId, ChatThread, ChatUserId, TicketId};

/// The grammar's verbs, as `/perch` subcommands.
const SUBCOMMANDS: [(&str, &str); 12] = [
    (
        "claim",
        "Take the ticket (add #42 outside its thread; `force` for leads)",
    ),
    ("unclaim", "Give the ticket back to the queue"),
    (
        "assign",
        "Give the ticket to an agent: @agent [#42] (leads)",
    ),
    ("resolve", "Close the ticket, with an optional note"),
    ("reopen", "Open a resolved ticket again"),
    ("note", "Leave an internal note"),
    ("dm", "Answer by DM from now on"),
    ("public", "Answer by public reply from now on"),
    ("queue", "Unclaimed tickets, most urgent first"),
    ("mine", "The tickets you hold"),
    (
        "stats",
        "Response rate and time to first response: today, 7d, 30d",
    ),
    ("help", "What perch understands"),
];

/// The `/perch` command with its subcommands.
pub fn perch_command() -> CreateCommand {
    let mut command = CreateCommand::new("perch").description("Work X tickets from Discord");
    for (name, description) in SUBCOMMANDS {
        let sub = CreateCommandOption::new(CommandOptionType::SubCommand, name, description)
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
}

struct Handler {
    events: mpsc::Sender<ChatEvent>,
    journal: Arc<dyn Journal>,
    guilds: Vec<u64>,
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
        let event = ChatEvent::ThreadMessage {
            message: MessageRef {
                thread,
                id: ChatMessageId::new(message.id.get().to_string()),
            },
            author: author(message.author.id.get(), &message.author.name, roles),
            text: message.content.clone(),
            event_id: message.id.get().to_string(),
        };
        self.forward(&format!("message/{}", message.id), event)
            .await;
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
    async fn ready(&self, ctx: Context, _ready: Ready) {
        // Every READY starts a session the gateway replays nothing into:
        // after a restart or an invalid session, what people wrote in the
        // gap is read back (what was seen already is dropped).
        self.catch_up(&ctx).await;
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
    }

    async fn message(&self, ctx: Context, message: Message) {
        if message.author.bot || message.guild_id.is_none() {
            return;
        }
        let Some(thread) = thread_of(&ctx.http, message.channel_id).await else {
            return;
        };
        self.person_message(thread, &message, None).await;
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

#[async_trait]
impl ChatPlatform for DiscordAdapter {
    fn platform(&self) -> Platform {
        Platform::Discord
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            ephemeral: true,
            reactions: true,
            forum_posts: true,
            max_message_chars: 2000,
        }
    }

    async fn open_thread(&self, channel: &str, card: &Card) -> Result<ChatThread, ChatError> {
        self.rest.open_thread(channel, card).await
    }

    async fn post(&self, thread: &ChatThread, text: &Text) -> Result<MessageRef, ChatError> {
        self.rest.post(thread, text).await
    }

    async fn update_card(&self, thread: &ChatThread, card: &Card) -> Result<(), ChatError> {
        self.rest.update_card(thread, card).await
    }

    async fn find_card(
        &self,
        channel: &str,
        ticket: TicketId,
    ) -> Result<Option<ChatThread>, ChatError> {
        self.rest.find_card(channel, ticket).await
    }

    async fn react(&self, message: &MessageRef, reaction: Reaction) -> Result<(), ChatError> {
        self.rest.react(message, reaction).await
    }

    async fn answer(
        &self,
        to: &Responder,
        text: &str,
        visibility: Visibility,
    ) -> Result<(), ChatError> {
        let Responder::Discord { token, .. } = to else {
            return Err(ChatError::Refused("not a Discord interaction".to_owned()));
        };
        CreateInteractionResponseFollowup::new()
            .content(text)
            .ephemeral(visibility == Visibility::Caller)
            .allowed_mentions(serenity::all::CreateAllowedMentions::new())
            .execute(&*self.rest.http, (None, token))
            .await
            .map(|_| ())
            .map_err(classify)
    }

    async fn run(
        &self,
        events: mpsc::Sender<ChatEvent>,
        mut stop: watch::Receiver<bool>,
    ) -> Result<(), ChatError> {
        let handler = Handler {
            events,
            journal: Arc::clone(&self.journal),
            guilds: self.guilds.clone(),
        };
        let mut client: Client = ClientBuilder::new_with_http(self.rest.client_http(), intents())
            .event_handler(handler)
            .await
            .map_err(classify)?;
        let shards = Arc::clone(&client.shard_manager);
        let stopper = tokio::spawn(async move {
            let _ = stop.wait_for(|s| *s).await;
            shards.shutdown_all().await;
        });
        let result = client.start().await.map_err(classify);
        stopper.abort();
        result
    }
}
