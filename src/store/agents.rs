//! Agents as last seen in config and on the platforms, so that reports and
//! claims keep a name after an agent leaves the config.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Store, StoreError};
use crate::config::AgentConfig;
use crate::ticket::{AgentId, DiscordUserId, SlackUserId};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentRecord {
    pub id: AgentId,
    pub name: String,
    pub initials: String,
    pub slack_user: Option<SlackUserId>,
    pub discord_user: Option<DiscordUserId>,
    pub lead: bool,
    pub updated_at: DateTime<Utc>,
}

const STAND_IN: &str = "oncall_stand_in";

impl Store {
    /// Who stands in for the on-call rota (`oncall me for 4h`), if anyone
    /// ever did; `on_call` reads whether their time is up.
    pub fn stand_in(&self) -> Result<Option<crate::ticket::oncall::StandIn>, StoreError> {
        self.get(&self.meta, "meta", STAND_IN)
    }

    pub fn set_stand_in(
        &self,
        stand_in: &crate::ticket::oncall::StandIn,
    ) -> Result<(), StoreError> {
        self.put(&self.meta, STAND_IN, stand_in)
    }

    /// Writes the configured agents (those that changed).
    pub fn sync_agents(
        &self,
        agents: &[AgentConfig],
        now: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        let mut changed = 0;
        for a in agents {
            let record = AgentRecord {
                id: a.key.clone(),
                name: a.name.clone(),
                initials: a.initials.clone(),
                slack_user: a.slack_user.clone(),
                discord_user: a.discord_user.clone(),
                lead: a.lead,
                updated_at: now,
            };
            let current: Option<AgentRecord> = self.get(&self.agents, "agents", a.key.as_str())?;
            let same = current.is_some_and(|c| {
                AgentRecord {
                    updated_at: now,
                    ..c
                } == record
            });
            if !same {
                self.agents
                    .insert(a.key.as_str(), super::codec::encode(&record)?)?;
                changed += 1;
            }
        }
        self.flush()?;
        Ok(changed)
    }

    pub fn agents(&self) -> Result<Vec<AgentRecord>, StoreError> {
        Ok(self
            .all(&self.agents, "agents")?
            .into_iter()
            .map(|(_, a)| a)
            .collect())
    }
}
