//! `[accounts.ingest.webhook]`: where X delivers, and what.

use super::Checker;
use crate::config::raw::{RawActivityStream, RawWebhook};
use crate::config::types::{Webhook, XAuth};

/// `[accounts.ingest.webhook]`, when enabled: X signs with the consumer
/// secret, so it needs OAuth 1.0a.
pub(super) fn webhook(
    c: &mut Checker,
    at: &str,
    raw: Option<&RawWebhook>,
    handle: &str,
    auth: &XAuth,
) -> Option<Webhook> {
    match raw {
        Some(w) if w.enabled.unwrap_or(true) => {
            if !matches!(auth, XAuth::OAuth1 { .. }) {
                c.fail(
                    format!("{at}.ingest.webhook"),
                    "X signs webhooks with the app's consumer secret: use auth.kind = \"oauth1\" for this account",
                );
            }
            let path = w
                .path
                .clone()
                .unwrap_or_else(|| format!("/x/webhook/{handle}"));
            if !path.starts_with('/') {
                c.fail(
                    format!("{at}.ingest.webhook.path"),
                    format!("`{path}` must start with /"),
                );
            }
            let url = w
                .url
                .as_ref()
                .and_then(|u| c.check(&format!("{at}.ingest.webhook.url"), webhook_url(u, &path)));
            let events = events(c, &format!("{at}.ingest.webhook.events"), w.events.as_ref());
            Some(Webhook {
                path,
                url,
                events,
                replay: w.replay.unwrap_or(true),
            })
        }
        _ => None,
    }
}

/// The X Activity API events asked for (all perch reads by default).
fn events(c: &mut Checker, key: &str, raw: Option<&Vec<String>>) -> Vec<String> {
    let events = raw
        .cloned()
        .unwrap_or_else(|| crate::xrules::activity::EVENTS.map(str::to_owned).to_vec());
    for e in &events {
        if !crate::xrules::activity::understood(e) {
            c.fail(
                key,
                format!(
                    "`{e}` is not an event perch reads; choose from {}",
                    crate::xrules::activity::EVENTS.join(", ")
                ),
            );
        }
    }
    events
}

/// `[accounts.ingest.activity_stream]`, when enabled: the account's X
/// Activity API events on the app's stream instead of a webhook.
pub(super) fn activity_stream(
    c: &mut Checker,
    at: &str,
    raw: Option<&RawActivityStream>,
    webhook: Option<&Webhook>,
) -> Option<Vec<String>> {
    let raw = raw.filter(|r| r.enabled.unwrap_or(true))?;
    if webhook.is_some_and(|w| w.url.is_some()) {
        c.fail(
            format!("{at}.ingest.activity_stream"),
            "and a webhook url both subscribe the account: keep one (the stream needs no public URL)",
        );
    }
    Some(events(
        c,
        &format!("{at}.ingest.activity_stream.events"),
        raw.events.as_ref(),
    ))
}

/// Where X delivers: an absolute http(s) URL ending in the webhook's
/// path (X itself takes only HTTPS without a port; a loopback address is
/// let through for the sandbox).
fn webhook_url(url: &str, path: &str) -> Result<String, String> {
    let parsed = url::Url::parse(url).map_err(|e| format!("`{url}` is not a URL: {e}"))?;
    let loopback = matches!(parsed.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
    if parsed.scheme() != "https" && !loopback {
        return Err(format!(
            "`{url}`: X delivers only to https:// addresses (without a port)"
        ));
    }
    if parsed.port().is_some() && !loopback {
        return Err(format!(
            "`{url}`: X delivers only to addresses without a port; put perch behind a proxy on 443"
        ));
    }
    if parsed.path() != path {
        return Err(format!(
            "`{url}` does not end in this webhook's path `{path}`: X would deliver where perch does not listen"
        ));
    }
    if url.len() > 200 {
        return Err("X takes webhook URLs of at most 200 characters".to_owned());
    }
    Ok(url.to_owned())
}
