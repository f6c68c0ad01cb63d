//! X webhooks (Account Activity): the CRC challenge and delivery
//! signatures, both HMAC-SHA256 with the app's consumer secret, base64.

use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

fn sign(secret: &str, message: &[u8]) -> String {
    // HMAC takes a key of any length; new_from_slice cannot fail here.
    let Ok(mut mac) = HmacSha256::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(message);
    format!(
        "sha256={}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    )
}

/// The answer to `GET ?crc_token=…`: `{"response_token": "sha256=…"}`.
pub fn crc_response(consumer_secret: &str, crc_token: &str) -> String {
    sign(consumer_secret, crc_token.as_bytes())
}

/// The `x-twitter-webhooks-signature` X sends with `body`.
pub fn signature(consumer_secret: &str, body: &[u8]) -> String {
    sign(consumer_secret, body)
}

/// Whether `header` is the signature of `body`, compared in constant time.
pub fn verify(consumer_secret: &str, body: &[u8], header: Option<&str>) -> bool {
    let Some(header) = header else { return false };
    let expected = signature(consumer_secret, body);
    expected.as_bytes().ct_eq(header.trim().as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_matches_the_documented_construction() {
        // HMAC-SHA256("secret", "challenge"), base64.
        let token = crc_response("secret", "challenge");
        assert!(token.starts_with("sha256="));
        assert_eq!(token, crc_response("secret", "challenge"));
        assert_ne!(token, crc_response("other", "challenge"));
    }

    #[test]
    fn signatures_accept_the_right_body_and_reject_the_rest() {
        let body = br#"{"for_user_id":"1","tweet_create_events":[]}"#;
        let good = signature("secret", body);
        assert!(verify("secret", body, Some(&good)));
        assert!(!verify("wrong", body, Some(&good)));
        assert!(!verify("secret", b"{\"altered\":true}", Some(&good)));
        assert!(!verify("secret", body, None));
        assert!(!verify("secret", body, Some("sha256=")));
    }
}
