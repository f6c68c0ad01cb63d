//! The names behind the ids in what an agent wrote on Discord, asked of
//! Discord's REST API: a member's nickname (or their name), a channel's
//! name, a role's name. What cannot be learnt is left to the neutral word.

use serenity::all::{ChannelId, GuildId, RoleId, UserId};

use super::gateway::DiscordAdapter;
use super::text;
use crate::chat::markup::{Names, Ref};

impl DiscordAdapter {
    /// What an agent wrote, as plain text for X.
    pub(super) async fn plain_text(&self, raw: &str) -> String {
        let mut names = Names::new();
        for r in text::refs(raw) {
            match self.name_of(&r).await {
                Some(name) => {
                    names.insert(r, name);
                }
                // The customer reads the neutral word instead ("someone").
                None => {
                    tracing::warn!(mention = ?r, "cannot learn a name from Discord; the reply uses the neutral word")
                }
            }
        }
        text::to_x(raw, &names)
    }

    async fn name_of(&self, what: &Ref) -> Option<String> {
        let http = &*self.rest().http;
        match what {
            Ref::User(id) => {
                let user = UserId::new(id.parse().ok().filter(|n| *n > 0)?);
                for guild in self.guilds() {
                    if let Ok(m) = GuildId::new(*guild).member(http, user).await {
                        return Some(m.nick.or(m.user.global_name).unwrap_or(m.user.name));
                    }
                }
                None
            }
            Ref::Channel(id) => {
                let channel = ChannelId::new(id.parse().ok().filter(|n| *n > 0)?);
                let found = channel.to_channel(http).await.ok()?;
                found.guild().map(|c| c.name)
            }
            Ref::Group(id) => {
                let role = RoleId::new(id.parse().ok().filter(|n| *n > 0)?);
                for guild in self.guilds() {
                    if let Ok(roles) = GuildId::new(*guild).roles(http).await {
                        if let Some(r) = roles.get(&role) {
                            return Some(r.name.clone());
                        }
                    }
                }
                None
            }
        }
    }
}
