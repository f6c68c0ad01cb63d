//! Saved replies: `reply <name>` sends a reply the team wrote once, in
//! `[[saved_replies]]`, as the agent who asked: signed, length-checked,
//! claiming and refused exactly as a reply they typed would be.
//! `replies` lists them.

use super::people::Person;
use super::Commands;
use crate::chat::{Asking, ChatUser, Responder};
use crate::config::SendMode;
use crate::store::StoreError;
use crate::ticket::{compose, Ticket};

impl Commands {
    /// Sends the saved reply `name` on `ticket` (as the account's send
    /// mode says, asking `author` through `responder`); returns what to
    /// answer.
    pub(super) async fn saved_reply(
        &self,
        key: &str,
        (person, author, responder): (&Person, &ChatUser, &Responder),
        ticket: &Ticket,
        name: &str,
    ) -> Result<Option<String>, StoreError> {
        let id = ticket.id;
        let Some(saved) = self
            .core
            .config
            .saved_replies
            .iter()
            .find(|r| r.name.eq_ignore_ascii_case(name))
        else {
            return Ok(Some(format!(
                "There is no saved reply `{name}`. {}",
                self.saved_replies_text()
            )));
        };
        let composed = match compose(ticket, &person.initials, &saved.text) {
            Ok(c) => c,
            Err(e) => return Ok(Some(format!("{id}: not sent: {e}."))),
        };
        let mode = self.mode_for(ticket, &composed);
        let written = self
            .write_reply(key, id, person, &saved.text, None, &mode)
            .await?;
        let (number, t) = match written {
            Ok(w) => w,
            Err(refusal) => return Ok(Some(format!("{id}: not sent: {refusal}."))),
        };
        let asked = match ticket
            .threads
            .iter()
            .find(|th| th.platform() == author.platform)
        {
            Some(thread) => {
                let asking = Asking {
                    thread,
                    agent: author,
                    privately: true,
                    responder: Some(responder),
                };
                self.ask_about(number, &mode, &asking).await?
            }
            None => false,
        };
        Ok(Some(match mode {
            SendMode::Confirm if asked => format!(
                "{id}: the saved reply `{}` waits for you to press Send.",
                saved.name
            ),
            _ => format!(
                "{id}: sending the saved reply `{}` as a {}; the thread shows it when X has it.",
                saved.name, t.ticket.reply_channel
            ),
        }))
    }

    pub(super) fn saved_replies_text(&self) -> String {
        let replies = &self.core.config.saved_replies;
        if replies.is_empty() {
            return "No saved replies are configured (`[[saved_replies]]` in perch's config)."
                .to_owned();
        }
        let mut out = "Saved replies (`reply <name>`):".to_owned();
        for r in replies {
            let start: String = r.text.chars().take(70).collect();
            let more = if r.text.chars().count() > 70 {
                "…"
            } else {
                ""
            };
            out.push_str(&format!("\n  {}: {start}{more}", r.name));
        }
        out
    }
}
