//! `oncall`: who is on call now and next, and someone standing in for
//! the rota (themselves, or an agent a lead names) until a given time,
//! kept in the store so that a restart keeps it.

use chrono::{DateTime, Utc};

use super::Commands;
use crate::chat::ChatUser;
use crate::store::StoreError;
use crate::ticket::grammar::StandInAsk;
use crate::ticket::oncall::{OnCall, StandIn};
use crate::ticket::{AgentId, Role};

/// How long `oncall me` stands in without a rota shift to end with.
const WITHOUT_ROTA: chrono::Duration = chrono::Duration::hours(8);

impl Commands {
    /// The time as the team reads it: in the rota's zone, else UTC.
    fn team_time(&self, at: DateTime<Utc>) -> String {
        match &self.core.config.oncall {
            Some(rota) => at
                .with_timezone(&rota.zone)
                .format("%a %H:%M %Z")
                .to_string(),
            None => at.format("%a %H:%M UTC").to_string(),
        }
    }

    fn agent_name(&self, id: &AgentId) -> String {
        self.core
            .config
            .agent(id)
            .map_or_else(|| id.to_string(), |a| a.name.clone())
    }

    /// Who is on call now and who is next, in one line (for `oncall`,
    /// `help` and `stats`).
    pub(super) fn on_call_line(&self, now: DateTime<Utc>) -> String {
        let Some(current) = self.core.on_call(now) else {
            return "On call: nobody (add an [oncall] rota to the config, or `oncall me for 4h`)."
                .to_owned();
        };
        let mut line = format!("On call: {}", self.agent_name(&current.agent));
        match (current.until, current.standing_in) {
            (Some(until), true) => {
                line.push_str(&format!(" (standing in until {})", self.team_time(until)))
            }
            (Some(until), false) => line.push_str(&format!(" until {}", self.team_time(until))),
            (None, _) => line.push_str(" (the only one on the rota)"),
        }
        let next = match current.until {
            Some(until) => self.core.on_call(until).map(|n| (until, n)),
            None => None,
        };
        if let Some((from, next)) = next.filter(|(_, n)| n.agent != current.agent) {
            line.push_str(&format!(
                "; next: {} from {}",
                self.agent_name(&next.agent),
                self.team_time(from)
            ));
        }
        line.push('.');
        line
    }

    /// `oncall me [for 4h]` / `oncall @sam [for 4h]`: the answer.
    pub(super) fn stand_in(
        &self,
        caller: &crate::ticket::Actor,
        author: &ChatUser,
        ask: &StandInAsk,
    ) -> Result<String, StoreError> {
        let now = self.core.now();
        let agent = match &ask.who {
            None => caller.agent.clone(),
            Some(who) => match self.roles.named(who) {
                Some(a) if a.id == caller.agent.id => a,
                Some(_) if caller.role != Role::Lead => {
                    return Ok(
                        "Only a lead can put someone else on call; `oncall me` stands in yourself."
                            .to_owned(),
                    )
                }
                Some(a) => a,
                None => return Ok(
                    "No configured agent by that name; use their key, name, initials or mention."
                        .to_owned(),
                ),
            },
        };
        let until = match ask.for_ {
            Some(span) => now + chrono::Duration::from_std(span).unwrap_or(WITHOUT_ROTA),
            None => self
                .core
                .config
                .oncall
                .as_ref()
                .and_then(|rota| rota.at(now))
                .and_then(|shift: OnCall| shift.until)
                .unwrap_or(now + WITHOUT_ROTA),
        };
        self.core.store.set_stand_in(&StandIn {
            agent: agent.id.clone(),
            until,
            by: caller.agent.id.clone(),
        })?;
        tracing::info!(agent = %agent.id, by = %caller.agent.id, who = %author.id, %until, "standing in on call");
        let who = if agent.id == caller.agent.id {
            "You are".to_owned()
        } else {
            format!("{} is", agent.name)
        };
        Ok(format!(
            "{who} on call until {}: unanswered tickets call {} first.",
            self.team_time(until),
            if agent.id == caller.agent.id {
                "you"
            } else {
                "them"
            }
        ))
    }
}
