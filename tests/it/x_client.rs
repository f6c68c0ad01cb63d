//! The X client's manners against the fake X: rate limits, OAuth 2.0
//! rotation, publishing.

use std::time::Duration;

use perch::store::Store;
use perch::twitter::publish::{self, Posted};
use perch::twitter::{Since, XError};

use crate::common::x::{client, fake, oauth1, oauth2, ACME_ID};

const MENTIONS: &str = "GET /2/users/:id/mentions";

#[tokio::test]
async fn a_429_says_when_the_window_resets_and_nothing_is_sent_until_then() {
    let x = fake().await;
    x.post("dana", "@AcmeSupport hi", None, None);
    x.set_rate_limit(MENTIONS, 1, Duration::from_secs(2));
    // Another client spends the window, so this one meets a 429 unwarned.
    let other = client(&x, oauth1("ts-acme"));
    other
        .mentions(ACME_ID, Since::Newest, None)
        .await
        .expect("first request");
    let c = client(&x, oauth1("ts-acme"));
    let err = c
        .mentions(ACME_ID, Since::Newest, None)
        .await
        .expect_err("X's 429");
    let XError::RateLimited { endpoint, reset_in } = &err else {
        panic!("{err:?}");
    };
    assert_eq!(endpoint, MENTIONS);
    assert!(*reset_in <= Duration::from_secs(3), "{reset_in:?}");
    // The client does not sleep; asked again, it refuses without sending.
    let again = c
        .mentions(ACME_ID, Since::Newest, None)
        .await
        .expect_err("spent");
    assert!(matches!(again, XError::RateLimited { .. }), "{again:?}");
    assert_eq!(x.requests_to(MENTIONS).len(), 2);
    // Once the window has reset, the next call goes out and succeeds.
    crate::common::relay::until("the window to reset", || {
        c.window(MENTIONS).is_none().then_some(())
    })
    .await;
    let page = c
        .mentions(ACME_ID, Since::Newest, None)
        .await
        .expect("succeeds after the reset");
    assert_eq!(page.data.len(), 1);
    let statuses: Vec<u16> = x.requests_to(MENTIONS).iter().map(|r| r.status).collect();
    assert_eq!(
        statuses,
        [200, 429, 200],
        "exactly one 429, then one request after the reset"
    );
}

#[tokio::test]
async fn a_known_spent_window_is_refused_without_sending() {
    let x = fake().await;
    x.set_rate_limit(MENTIONS, 2, Duration::from_secs(2));
    let c = client(&x, oauth1("ts-acme"));
    c.mentions(ACME_ID, Since::Newest, None).await.expect("1");
    c.mentions(ACME_ID, Since::Newest, None).await.expect("2");
    let limit = c
        .rate_limit("GET", &format!("/2/users/{ACME_ID}/mentions"))
        .expect("headers read");
    assert_eq!((limit.limit, limit.remaining), (2, 0));
    let window = c.window(MENTIONS).expect("the window is known");
    assert_eq!(window.remaining, 0);
    let err = c
        .mentions(ACME_ID, Since::Newest, None)
        .await
        .expect_err("spent");
    assert!(matches!(err, XError::RateLimited { .. }), "{err:?}");
    crate::common::relay::until("the window to reset", || {
        c.window(MENTIONS).is_none().then_some(())
    })
    .await;
    c.mentions(ACME_ID, Since::Newest, None)
        .await
        .expect("3 after the reset");
    // No 429 at all: the client knew from the headers.
    assert!(x.requests_to(MENTIONS).iter().all(|r| r.status == 200));
    assert_eq!(x.requests_to(MENTIONS).len(), 3);
}

#[tokio::test]
async fn a_reset_too_far_away_is_an_error_not_a_hang() {
    let x = fake().await;
    x.set_rate_limit(MENTIONS, 1, Duration::from_secs(900));
    let c = client(&x, oauth1("ts-acme"));
    c.mentions(ACME_ID, Since::Newest, None).await.expect("1");
    let err = c
        .mentions(ACME_ID, Since::Newest, None)
        .await
        .expect_err("rate limited");
    assert!(
        matches!(err, XError::RateLimited { .. }) && err.is_retryable(),
        "{err:?}"
    );
    assert_eq!(
        x.requests_to(MENTIONS).len(),
        1,
        "nothing sent into a spent window"
    );
}

#[tokio::test]
async fn oauth2_refresh_rotates_and_survives_a_restart() {
    let x = fake().await;
    x.post("dana", "@AcmeSupport hi", None, None);
    let dir = tempfile::tempdir().expect("dir");
    {
        let store = Store::open(dir.path()).expect("store");
        let c = client(&x, oauth2(&x, &store));
        c.mentions(ACME_ID, Since::Newest, None)
            .await
            .expect("with a refreshed token");
        let rotated = x.current_refresh_token("client-acme").expect("client");
        assert_ne!(rotated, "seed-refresh");
        assert_eq!(store.refresh_token("acme").expect("stored"), Some(rotated));
    }
    // Restart: the seed in the environment is dead; the stored token works.
    x.expire_access_tokens();
    let store = Store::open(dir.path()).expect("reopen");
    let c = client(&x, oauth2(&x, &store));
    c.mentions(ACME_ID, Since::Newest, None)
        .await
        .expect("after restart");
    assert_eq!(
        store.refresh_token("acme").expect("stored"),
        x.current_refresh_token("client-acme")
    );
}

#[tokio::test]
async fn an_expired_access_token_is_refreshed_once_on_401() {
    let x = fake().await;
    let dir = tempfile::tempdir().expect("dir");
    let store = Store::open(dir.path()).expect("store");
    let c = client(&x, oauth2(&x, &store));
    c.mentions(ACME_ID, Since::Newest, None)
        .await
        .expect("first");
    x.expire_access_tokens();
    c.mentions(ACME_ID, Since::Newest, None)
        .await
        .expect("refreshed after 401");
    let statuses: Vec<u16> = x.requests_to(MENTIONS).iter().map(|r| r.status).collect();
    assert_eq!(statuses, [200, 401, 200]);
    assert_eq!(x.requests_to("POST /2/oauth2/token").len(), 2);
}

#[tokio::test]
async fn a_dead_refresh_token_says_what_to_do() {
    let x = fake().await;
    let dir = tempfile::tempdir().expect("dir");
    let store = Store::open(dir.path()).expect("store");
    store.set_refresh_token("acme", "revoked").expect("token");
    let c = client(&x, oauth2(&x, &store));
    let err = c
        .mentions(ACME_ID, Since::Newest, None)
        .await
        .expect_err("refused");
    let message = err.to_string();
    assert!(matches!(err, XError::Refresh { .. }), "{err:?}");
    assert!(
        message.contains("authorize the account again") && message.contains("refresh_token_env"),
        "{message}"
    );
}

#[tokio::test]
async fn a_public_reply_is_posted_threaded_and_a_repeat_is_recognised() {
    let x = fake().await;
    let c = client(&x, oauth1("ts-acme"));
    let mention = x.post("dana", "@AcmeSupport where is my order?", None, None);
    let posted = publish::reply(&c, &mention.id, true, "@dana It ships today! ^JD")
        .await
        .expect("posted");
    let Posted::Created { id } = posted else {
        panic!("{posted:?}")
    };
    let ours = x.posted();
    assert_eq!(ours.len(), 1);
    assert_eq!(ours[0].id, id);
    assert_eq!(
        ours[0].conversation_id.as_deref(),
        Some(mention.id.as_str())
    );
    assert!(ours[0]
        .referenced_tweets
        .iter()
        .any(|r| r.kind == "replied_to" && r.id == mention.id));
    // X's 403 duplicate content means it is already there.
    let again = publish::reply(&c, &mention.id, true, "@dana It ships today! ^JD")
        .await
        .expect("duplicate");
    assert_eq!(again, Posted::AlreadyPosted);
    assert_eq!(x.posted().len(), 1);
}

#[tokio::test]
async fn replies_x_would_refuse_are_refused_first_or_recognised() {
    let x = fake().await;
    let c = client(&x, oauth1("ts-acme"));
    let hit = x.post("erin", "my acme blender broke", None, None);
    // Known up front: the search hit did not mention the account.
    let err = publish::reply(&c, &hit.id, false, "Sorry!")
        .await
        .expect_err("refused");
    assert!(
        matches!(err, XError::ReplyNotAllowed { .. }) && err.to_string().contains("DM"),
        "{err}"
    );
    assert!(
        x.requests_to("POST /2/tweets").is_empty(),
        "nothing was sent"
    );
    // If the flag were wrong, X's own 403 is recognised.
    let err = publish::reply(&c, &hit.id, true, "Sorry!")
        .await
        .expect_err("refused by X");
    assert!(matches!(err, XError::ReplyNotAllowed { .. }), "{err:?}");
    // Too long: refused with the count, nothing sent.
    let before = x.requests_to("POST /2/tweets").len();
    let err = publish::reply(&c, &hit.id, true, &"x".repeat(281))
        .await
        .expect_err("too long");
    assert!(err.to_string().contains("281"), "{err}");
    assert_eq!(x.requests_to("POST /2/tweets").len(), before);
}

#[tokio::test]
async fn a_dm_reply_reaches_the_customer() {
    let x = fake().await;
    let c = client(&x, oauth1("ts-acme"));
    let dm = x.dm("gina", ACME_ID, "my account is locked");
    let sender = dm.sender_id.clone().expect("sender");
    let id = publish::direct_message(&c, &sender, "Unlocked it for you! ^JD")
        .await
        .expect("sent");
    let sent = x.sent_dms();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].id, id);
    assert_eq!(sent[0].dm_conversation_id, dm.dm_conversation_id);
}
