//! Posting replies: checked before anything is sent.

use super::api::{CreatePost, ReplySettings};
use super::{XClient, XError};
use crate::xrules::text;

/// Refuses a text X would refuse for length, saying by how much.
pub fn check_length(text: &str) -> Result<usize, XError> {
    if text.trim().is_empty() {
        return Err(XError::Invalid("the reply is empty".to_owned()));
    }
    text::fits_post(text).map_err(|too_long| {
        XError::Invalid(format!(
            "the reply is {} characters as X counts them; the limit is {}, so cut {}",
            too_long.count,
            too_long.limit,
            too_long.excess()
        ))
    })
}

/// What became of a post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Posted {
    /// X created it, with this id.
    Created { id: String },
    /// X says the same text is already posted: treat as sent, the existing
    /// post's id is not known (reconcile against the account's posts).
    AlreadyPosted,
}

/// A public reply to `in_reply_to`. `mentioned_or_quoted` says whether that
/// post mentioned or quoted the account: X refuses other replies, so they
/// are refused here first.
pub async fn reply(
    client: &XClient,
    in_reply_to: &str,
    mentioned_or_quoted: bool,
    text: &str,
) -> Result<Posted, XError> {
    if !mentioned_or_quoted {
        return Err(XError::ReplyNotAllowed {
            detail: "the post did not mention or quote the account, and X accepts public replies only to those; answer by DM"
                .to_owned(),
        });
    }
    check_length(text)?;
    let body = CreatePost {
        text: text.to_owned(),
        reply: Some(ReplySettings {
            in_reply_to_tweet_id: in_reply_to.to_owned(),
        }),
    };
    match client.create_post(&body).await {
        Ok(created) => Ok(Posted::Created { id: created.id }),
        Err(XError::Duplicate { .. }) => Ok(Posted::AlreadyPosted),
        Err(e) => Err(e),
    }
}

/// A DM to `participant_id`; returns the DM event id.
pub async fn direct_message(
    client: &XClient,
    participant_id: &str,
    text: &str,
) -> Result<String, XError> {
    if text.trim().is_empty() {
        return Err(XError::Invalid("the message is empty".to_owned()));
    }
    if let Err(too_long) = text::fits_dm(text) {
        return Err(XError::Invalid(format!(
            "the message is {} characters; X allows {} in a DM",
            too_long.count, too_long.limit
        )));
    }
    Ok(client.send_dm(participant_id, text).await?.dm_event_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn too_long_is_refused_with_the_count() {
        assert_eq!(check_length(&"a".repeat(280)).ok(), Some(280));
        let err = check_length(&"a".repeat(281))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.contains("281") && err.contains("280") && err.contains("cut 1"),
            "{err}"
        );
        let cjk = "漢".repeat(141);
        let err = check_length(&cjk)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("282"), "{err}");
        assert!(check_length("  ").is_err());
    }
}
