//! How the fake X checks credentials, as the real one does: OAuth 1.0a
//! signatures rebuilt from the URL the client actually called, OAuth 2.0
//! bearer tokens that expire, and refresh tokens that rotate.

use std::collections::{BTreeMap, HashSet};
use std::num::NonZeroU64;

use subtle::ConstantTimeEq;

/// One account's OAuth 1.0a credentials as the fake knows them.
#[derive(Debug, Clone)]
pub struct OAuth1Keys {
    pub consumer_key: String,
    pub consumer_secret: String,
    pub token: String,
    pub token_secret: String,
}

/// Who a request acts for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Identity {
    User(String),
}

/// Why a request was refused (always answered 401).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthFailure(pub String);

/// Splits `OAuth k="v", ...` into decoded pairs.
pub fn parse_oauth_header(header: &str) -> Option<BTreeMap<String, String>> {
    let rest = header.strip_prefix("OAuth ")?;
    let mut out = BTreeMap::new();
    for part in rest.split(',') {
        let (k, v) = part.trim().split_once('=')?;
        let v = v.trim().strip_prefix('"')?.strip_suffix('"')?;
        let decoded = percent_decode(v)?;
        out.insert(k.trim().to_owned(), decoded);
    }
    Some(out)
}

fn percent_decode(s: &str) -> Option<String> {
    url::form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
}

/// Checks an OAuth 1.0a `Authorization` header against `keys`, for a
/// request to `base_url` (scheme, host and path as called) with `query`.
pub fn verify_oauth1(
    header: &str,
    method: &str,
    base_url: &str,
    query: &BTreeMap<String, String>,
    keys: &[OAuth1Keys],
    now_unix: u64,
    nonces: &mut HashSet<String>,
) -> Result<String, AuthFailure> {
    let fail = |why: &str| Err(AuthFailure(why.to_owned()));
    let Some(params) = parse_oauth_header(header) else {
        return fail("malformed OAuth header");
    };
    let get = |k: &str| params.get(k).map(String::as_str).unwrap_or_default();
    if get("oauth_signature_method") != "HMAC-SHA1" {
        return fail("unsupported signature method");
    }
    // Optional in OAuth 1.0a; when sent it is signed and must be 1.0.
    let with_version = params.contains_key("oauth_version");
    if with_version && get("oauth_version") != "1.0" {
        return fail("unsupported OAuth version");
    }
    let Some(account) = keys
        .iter()
        .find(|k| k.consumer_key == get("oauth_consumer_key") && k.token == get("oauth_token"))
    else {
        return fail("unknown consumer key or token");
    };
    let Ok(timestamp) = get("oauth_timestamp").parse::<u64>() else {
        return fail("bad timestamp");
    };
    if timestamp.abs_diff(now_unix) > 300 {
        return fail("timestamp out of bounds");
    }
    let nonce = get("oauth_nonce");
    if nonce.is_empty() || !nonces.insert(format!("{}:{nonce}", account.consumer_key)) {
        return fail("nonce reused");
    }
    // Re-sign with the same nonce and timestamp and compare.
    let client = oauth1_request::Credentials::new(
        account.consumer_key.as_str(),
        account.consumer_secret.as_str(),
    );
    let token =
        oauth1_request::Credentials::new(account.token.as_str(), account.token_secret.as_str());
    let mut builder = oauth1_request::Builder::new(client, oauth1_request::HmacSha1::new());
    builder
        .token(token)
        .nonce(nonce)
        .timestamp(NonZeroU64::new(timestamp))
        .version(with_version);
    let sorted: BTreeMap<&str, &str> = query
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let expected = builder.authorize(
        method,
        base_url,
        &oauth1_request::request::AssertSorted::new(&sorted),
    );
    let expected_sig = parse_oauth_header(&expected)
        .and_then(|p| p.get("oauth_signature").cloned())
        .unwrap_or_default();
    let given = get("oauth_signature");
    if expected_sig.as_bytes().ct_eq(given.as_bytes()).into() && !given.is_empty() {
        Ok(account.token.clone())
    } else {
        fail("signature does not match")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> Vec<OAuth1Keys> {
        vec![OAuth1Keys {
            consumer_key: "ck".into(),
            consumer_secret: "cs".into(),
            token: "t".into(),
            token_secret: "ts".into(),
        }]
    }

    fn signed(
        secret: &str,
        nonce: &str,
        ts: u64,
        url: &str,
        query: &BTreeMap<&str, &str>,
    ) -> String {
        let mut b = oauth1_request::Builder::new(
            oauth1_request::Credentials::new("ck", secret),
            oauth1_request::HmacSha1::new(),
        );
        b.token(oauth1_request::Credentials::new("t", "ts"))
            .nonce(nonce)
            .timestamp(NonZeroU64::new(ts));
        b.authorize(
            "GET",
            url,
            &oauth1_request::request::AssertSorted::new(query),
        )
    }

    /// X's documented signing example ("Creating a signature").
    #[test]
    fn the_signer_reproduces_x_documented_example() {
        let mut b = oauth1_request::Builder::new(
            oauth1_request::Credentials::new(
                "xvz1evFS4wEEPTGEFPHBog",
                "kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw",
            ),
            oauth1_request::HmacSha1::new(),
        );
        b.token(oauth1_request::Credentials::new(
            "370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb",
            "LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE",
        ))
        .nonce("kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg")
        .timestamp(NonZeroU64::new(1318622958))
        .version(true);
        let params: BTreeMap<&str, &str> = [
            ("include_entities", "true"),
            (
                "status",
                "Hello Ladies + Gentlemen, a signed OAuth request!",
            ),
        ]
        .into_iter()
        .collect();
        let header = b.post(
            "https://api.twitter.com/1.1/statuses/update.json",
            &oauth1_request::request::AssertSorted::new(&params),
        );
        let sig = parse_oauth_header(&header).and_then(|p| p.get("oauth_signature").cloned());
        assert_eq!(sig.as_deref(), Some("hCtSmYh+iHYCEqBWrE7C7hYmtUk="));
    }

    #[test]
    fn a_good_signature_passes_once_and_a_wrong_secret_fails() {
        let url = "http://127.0.0.1:9/2/users/1/mentions";
        let q: BTreeMap<&str, &str> = [("since_id", "5"), ("query", "a (b OR \"c d\")")]
            .into_iter()
            .collect();
        let owned: BTreeMap<String, String> = q
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let mut nonces = HashSet::new();
        let good = signed("cs", "n1", 1000, url, &q);
        assert_eq!(
            verify_oauth1(&good, "GET", url, &owned, &keys(), 1000, &mut nonces),
            Ok("t".into())
        );
        // Replayed nonce.
        assert!(verify_oauth1(&good, "GET", url, &owned, &keys(), 1000, &mut nonces).is_err());
        let bad = signed("wrong-secret", "n2", 1000, url, &q);
        assert!(verify_oauth1(&bad, "GET", url, &owned, &keys(), 1000, &mut nonces).is_err());
        // Another URL than the one signed.
        let moved = signed("cs", "n3", 1000, url, &q);
        assert!(verify_oauth1(
            &moved,
            "GET",
            "http://127.0.0.1:9/2/users/2/mentions",
            &owned,
            &keys(),
            1000,
            &mut nonces
        )
        .is_err());
        // A client that includes oauth_version="1.0" is verified as well.
        let mut b = oauth1_request::Builder::new(
            oauth1_request::Credentials::new("ck", "cs"),
            oauth1_request::HmacSha1::new(),
        );
        b.token(oauth1_request::Credentials::new("t", "ts"))
            .nonce("n5")
            .timestamp(NonZeroU64::new(1000))
            .version(true);
        let versioned = b.authorize("GET", url, &oauth1_request::request::AssertSorted::new(&q));
        assert!(versioned.contains("oauth_version"));
        assert_eq!(
            verify_oauth1(&versioned, "GET", url, &owned, &keys(), 1000, &mut nonces),
            Ok("t".into())
        );
        // Stale.
        let old = signed("cs", "n4", 1000, url, &q);
        assert!(verify_oauth1(&old, "GET", url, &owned, &keys(), 2000, &mut nonces).is_err());
    }
}
