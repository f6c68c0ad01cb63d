//! X API errors, each classed retryable or permanent in one place.

use std::time::Duration;

use crate::ticket::AccountKey;

#[derive(Debug, thiserror::Error)]
pub enum XError {
    /// 401: the credentials are wrong or revoked.
    #[error("X rejected the credentials of account `{account}` ({detail}); check the tokens its auth env vars hold")]
    Unauthorized { account: AccountKey, detail: String },
    /// 403 duplicate content: the same text was already posted.
    #[error("X says this exact text was already posted ({detail})")]
    Duplicate { detail: String },
    /// 403 for a reply to a post that did not mention or quote the account.
    #[error("X refused a public reply: {detail}")]
    ReplyNotAllowed { detail: String },
    /// Any other 4xx: the request itself is wrong or not allowed.
    #[error("X refused the request ({status}): {detail}")]
    Refused { status: u16, detail: String },
    /// 429 that outlasted the wait we allow.
    #[error("X rate limit reached for {endpoint}; it resets in {}s", reset_in.as_secs())]
    RateLimited {
        endpoint: String,
        reset_in: Duration,
    },
    /// 5xx or a transport failure.
    #[error("X is unavailable ({detail})")]
    Unavailable { detail: String },
    /// A 2xx we could not read.
    #[error("X answered in an unexpected shape: {detail}")]
    BadResponse { detail: String },
    /// Refused before sending.
    #[error("{0}")]
    Invalid(String),
    #[error("cannot refresh the OAuth 2.0 token of account `{account}`: {detail}")]
    Refresh { account: AccountKey, detail: String },
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

impl XError {
    /// Worth trying again later without a person changing anything.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::RateLimited { .. } | Self::Unavailable { .. })
    }
}

/// Whether X's refusal says the account may not reply in that
/// conversation (the author limited who can reply).
pub(crate) fn is_reply_restriction(detail: &str) -> bool {
    let d = detail.to_ascii_lowercase();
    d.contains("reply to this conversation is not allowed") || d.contains("not been mentioned")
}
