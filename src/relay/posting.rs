//! What a reply is on X's wire: a public reply or a DM sent through the
//! account's client, and, for one whose fate is unknown (perch stopped,
//! X's answer was lost, X calls it a duplicate), the same reply found
//! among what the account sent recently. `to_x` decides when; this is
//! how.

use super::Outbox;
use crate::store::OutboxEntry;
use crate::ticket::{ReplyChannel, TweetId, XRef};
use crate::twitter::publish::{self, Posted};
use crate::twitter::{XClient, XError};
use crate::xrules::text;

impl Outbox {
    pub(super) async fn send(&self, client: &XClient, entry: &OutboxEntry) -> Result<XRef, XError> {
        match entry.channel {
            ReplyChannel::Public => {
                let Some(to) = &entry.in_reply_to else {
                    return Err(XError::Invalid(
                        "the ticket has no post of the customer's to reply to; answer by DM (`dm`)"
                            .to_owned(),
                    ));
                };
                match publish::reply(client, to.as_str(), true, &entry.text).await? {
                    Posted::Created { id } => Ok(XRef::Tweet {
                        id: TweetId::from(id.as_str()),
                    }),
                    Posted::AlreadyPosted => match self.find_sent(client, entry).await? {
                        Some(x_ref) => Ok(x_ref),
                        None => Err(XError::Invalid(
                            "X refused it as a duplicate of an earlier post; reword it".to_owned(),
                        )),
                    },
                }
            }
            ReplyChannel::Dm => {
                let Some(to) = &entry.recipient else {
                    return Err(XError::Invalid(
                        "the ticket names no customer to DM".to_owned(),
                    ));
                };
                let id = publish::direct_message(client, to.as_str(), &entry.text).await?;
                Ok(XRef::DmEvent {
                    id: id.as_str().into(),
                })
            }
        }
    }

    /// Looks for the entry among what the account sent recently.
    pub(super) async fn find_sent(
        &self,
        client: &XClient,
        entry: &OutboxEntry,
    ) -> Result<Option<XRef>, XError> {
        let Some(account) = self.core.config.account(&entry.account) else {
            return Ok(None);
        };
        let me = account.user_id.as_str();
        match entry.channel {
            ReplyChannel::Public => {
                let page = client.user_posts(me, None).await?;
                let target = entry.in_reply_to.as_ref().map(TweetId::as_str);
                Ok(page
                    .data
                    .iter()
                    .find(|p| {
                        text::is_post_of(&entry.text, &p.text)
                            && p.referenced_tweets
                                .iter()
                                .any(|r| r.kind == "replied_to" && Some(r.id.as_str()) == target)
                    })
                    .map(|p| XRef::Tweet {
                        id: TweetId::from(p.id.as_str()),
                    }))
            }
            ReplyChannel::Dm => {
                let page = client.dm_events(None, 100).await?;
                let to = entry.recipient.as_ref().map_or("", |r| r.as_str());
                Ok(page
                    .data
                    .iter()
                    .find(|e| {
                        e.sender_id.as_deref() == Some(me)
                            && e.text.as_deref().map(str::trim) == Some(entry.text.trim())
                            && e.dm_conversation_id
                                .as_deref()
                                .is_some_and(|c| c.split('-').any(|part| part == to))
                    })
                    .map(|e| XRef::DmEvent {
                        id: e.id.as_str().into(),
                    }))
            }
        }
    }
}
