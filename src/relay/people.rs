//! Who someone in chat is to perch: a configured agent, a member of the
//! agents' or leads' Slack group or Discord role, or an outsider.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::chat::{ChatPlatform, ChatUser, Platform};
use crate::config::{AgentConfig, Config, Permissions};
use crate::ticket::grammar::AgentMention;
use crate::ticket::{Actor, Agent, AgentId, Role};

/// Slack group members are looked up at most this often.
const GROUP_TTL: Duration = Duration::from_secs(300);

pub struct Roles {
    agents: Vec<AgentConfig>,
    permissions: Permissions,
    platforms: Vec<Arc<dyn ChatPlatform>>,
    groups: Mutex<HashMap<String, (Instant, Vec<String>)>>,
}

/// Someone acting in chat, and how to sign for them.
#[derive(Debug, Clone)]
pub struct Person {
    pub actor: Actor,
    pub initials: String,
}

impl Roles {
    pub fn new(config: &Config, platforms: Vec<Arc<dyn ChatPlatform>>) -> Self {
        Self {
            agents: config.agents.clone(),
            permissions: config.permissions.clone(),
            platforms,
            groups: Mutex::new(HashMap::new()),
        }
    }

    fn configured(&self, user: &ChatUser) -> Option<&AgentConfig> {
        self.agents.iter().find(|a| match user.platform {
            Platform::Slack => a
                .slack_user
                .as_ref()
                .is_some_and(|u| u.as_str() == user.id.as_str()),
            Platform::Discord => a
                .discord_user
                .as_ref()
                .is_some_and(|u| u.as_str() == user.id.as_str()),
        })
    }

    /// Members of a Slack user group, cached; empty when it cannot be read
    /// (logged), so an outage never makes an outsider an agent.
    async fn in_slack_group(&self, group: &str, user: &str) -> bool {
        let cached = {
            let groups = self.groups.lock().unwrap_or_else(|p| p.into_inner());
            groups
                .get(group)
                .filter(|(at, _)| at.elapsed() < GROUP_TTL)
                .map(|(_, m)| m.clone())
        };
        let members = match cached {
            Some(m) => m,
            None => {
                let Some(slack) = self
                    .platforms
                    .iter()
                    .find(|p| p.platform() == Platform::Slack)
                else {
                    return false;
                };
                match slack.group_members(group).await {
                    Ok(m) => {
                        let mut groups = self.groups.lock().unwrap_or_else(|p| p.into_inner());
                        groups.insert(group.to_owned(), (Instant::now(), m.clone()));
                        m
                    }
                    Err(e) => {
                        tracing::warn!(group, error = %e, "cannot read a Slack user group");
                        Vec::new()
                    }
                }
            }
        };
        members.iter().any(|m| m == user)
    }

    async fn has(
        &self,
        user: &ChatUser,
        slack_group: &Option<String>,
        discord_role: &Option<String>,
    ) -> bool {
        match user.platform {
            Platform::Slack => match slack_group {
                Some(g) => self.in_slack_group(g, user.id.as_str()).await,
                None => false,
            },
            Platform::Discord => discord_role
                .as_ref()
                .is_some_and(|r| user.roles.iter().any(|have| have == r)),
        }
    }

    /// The actor a chat user is: configured agents by their key, others by
    /// platform and id.
    pub async fn resolve(&self, user: &ChatUser) -> Person {
        let p = &self.permissions;
        let lead_by_group = self
            .has(user, &p.slack_lead_group, &p.discord_lead_role)
            .await;
        if let Some(a) = self.configured(user) {
            return Person {
                actor: Actor {
                    agent: Agent {
                        id: a.key.clone(),
                        name: a.name.clone(),
                    },
                    role: if a.lead || lead_by_group {
                        Role::Lead
                    } else {
                        Role::Agent
                    },
                },
                initials: a.initials.clone(),
            };
        }
        let role = if lead_by_group {
            Role::Lead
        } else if self
            .has(user, &p.slack_agent_group, &p.discord_agent_role)
            .await
        {
            Role::Agent
        } else {
            Role::Outsider
        };
        let name = user.name.clone().unwrap_or_else(|| user.id.to_string());
        Person {
            actor: Actor {
                agent: Agent {
                    id: AgentId::from(format!("{}:{}", user.platform.name(), user.id).as_str()),
                    name: name.clone(),
                },
                role,
            },
            initials: initials_of(&name),
        }
    }

    /// The configured agent a command names.
    pub fn named(&self, who: &AgentMention) -> Option<Agent> {
        let a = self.agents.iter().find(|a| match who {
            AgentMention::Slack(u) => a.slack_user.as_ref() == Some(u),
            AgentMention::Discord(u) => a.discord_user.as_ref() == Some(u),
            AgentMention::Name(n) => {
                let n = n.trim_start_matches('@');
                a.key.as_str().eq_ignore_ascii_case(n)
                    || a.name.eq_ignore_ascii_case(n)
                    || a.initials.eq_ignore_ascii_case(n)
            }
        })?;
        Some(Agent {
            id: a.key.clone(),
            name: a.name.clone(),
        })
    }

    /// A configured agent's id on a platform (to address them).
    pub fn chat_id(&self, agent: &AgentId, platform: Platform) -> Option<String> {
        let a = self.agents.iter().find(|a| &a.key == agent)?;
        match platform {
            Platform::Slack => a.slack_user.as_ref().map(|u| u.as_str().to_owned()),
            Platform::Discord => a.discord_user.as_ref().map(|u| u.as_str().to_owned()),
        }
    }
}

/// `Jo Doe` -> `JD`, for people who are not configured agents.
fn initials_of(name: &str) -> String {
    let s: String = name
        .split_whitespace()
        .filter_map(|w| w.chars().next())
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_uppercase)
        .take(3)
        .collect();
    if s.is_empty() {
        "?".to_owned()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::initials_of;

    #[test]
    fn initials_come_from_the_words_of_a_name() {
        assert_eq!(initials_of("Jo Doe"), "JD");
        assert_eq!(initials_of("ana"), "A");
        assert_eq!(initials_of("  "), "?");
    }
}
