//! The Slack adapter on the Events API: signed requests only, answered at
//! once, retries dropped.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use perch::chat::slack::Connection;
use perch::chat::{CardAction, ChatEvent, ChatPlatform};
use perch::config::Secret;
use perch::sandbox::slack::{post_signed, sign, FakeSlack};
use perch::store::Store;
use perch::ticket::ChatThread;
use tokio::sync::{mpsc, watch};

use crate::common::chat::{
    fake_slack, run, slack_adapter, ticket_card, Running, SLACK_CHANNEL, SLACK_JO,
};
use crate::common::{free_addr, next_event, no_more_events, until};

const SECRET: &str = "signing-secret-123";
const CHANNEL: &str = SLACK_CHANNEL;
const JO: &str = SLACK_JO;
const JSON: &str = "application/json";
const FORM: &str = "application/x-www-form-urlencoded";

struct Rig {
    slack: FakeSlack,
    base: String,
    events: mpsc::Receiver<ChatEvent>,
    stop: watch::Sender<bool>,
    thread_ts: String,
    _dir: tempfile::TempDir,
}

async fn rig() -> Rig {
    let slack = fake_slack().await;
    let dir = tempfile::tempdir().expect("dir");
    let store = Store::open(dir.path()).expect("store");
    let addr = free_addr();
    let connection = Connection::EventsApi {
        signing_secret: Secret::new(SECRET),
        addr,
    };
    let adapter: Arc<dyn ChatPlatform> = Arc::new(slack_adapter(&slack, connection, store).await);
    let Running { events, stop } = run(Arc::clone(&adapter));
    let ChatThread::Slack { thread_ts, .. } = ticket_card(adapter.as_ref(), CHANNEL).await else {
        panic!()
    };
    until("the Events API endpoint listening", || {
        std::net::TcpStream::connect(addr).ok().map(drop)
    })
    .await;
    Rig {
        slack,
        base: format!("http://{addr}"),
        events,
        stop,
        thread_ts: thread_ts.to_string(),
        _dir: dir,
    }
}

/// Signed as Slack signs, now.
async fn send(
    r: &Rig,
    path: &str,
    content_type: &str,
    body: &str,
    retry: Option<u32>,
) -> (u16, String) {
    let ts = Utc::now().timestamp();
    post_signed(
        &format!("{}{path}", r.base),
        content_type,
        body.to_owned(),
        Some(ts),
        Some(sign(SECRET, ts, body)),
        retry,
    )
    .await
    .expect("request")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn url_verification_echoes_the_challenge() {
    let r = rig().await;
    let (status, body) = send(
        &r,
        "/slack/events",
        JSON,
        r#"{"token":"t","challenge":"c-42","type":"url_verification"}"#,
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert!(body.contains("c-42"), "{body}");
    let _ = r.stop.send(true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_thread_reply_arrives_once_and_a_retry_is_dropped() {
    let mut r = rig().await;
    let body = r
        .slack
        .thread_reply_event(CHANNEL, &r.thread_ts, JO, "Checking your order now");
    let started = Instant::now();
    let (status, _) = send(&r, "/slack/events", JSON, &body, None).await;
    assert_eq!(status, 200);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "answered in {:?}",
        started.elapsed()
    );
    match next_event(&mut r.events).await {
        ChatEvent::ThreadMessage { text, author, .. } => assert_eq!(
            (text.as_str(), author.id.as_str()),
            ("Checking your order now", JO)
        ),
        other => panic!("{other:?}"),
    }
    // Slack retries the same event (X-Slack-Retry-Num): acknowledged, dropped.
    let (status, _) = send(&r, "/slack/events", JSON, &body, Some(1)).await;
    assert_eq!(status, 200);
    no_more_events(&mut r.events, Duration::from_millis(500)).await;
    let _ = r.stop.send(true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_stale_missing_and_altered_signatures_are_refused() {
    let mut r = rig().await;
    let body = r
        .slack
        .thread_reply_event(CHANNEL, &r.thread_ts, JO, "should never arrive");
    let url = format!("{}/slack/events", r.base);
    let now = Utc::now().timestamp();
    let stale = now - 6 * 60;
    let altered = body.replace("should never arrive", "should never ARRIVE");
    let cases: [(&str, String, Option<i64>, Option<String>); 5] = [
        (
            "wrong secret",
            body.clone(),
            Some(now),
            Some(sign("not-the-secret", now, &body)),
        ),
        (
            "stale timestamp",
            body.clone(),
            Some(stale),
            Some(sign(SECRET, stale, &body)),
        ),
        ("no signature", body.clone(), Some(now), None),
        (
            "no timestamp",
            body.clone(),
            None,
            Some(sign(SECRET, now, &body)),
        ),
        (
            "body altered",
            altered,
            Some(now),
            Some(sign(SECRET, now, &body)),
        ),
    ];
    for (what, payload, ts, signature) in cases {
        let (status, _) = post_signed(&url, JSON, payload, ts, signature, None)
            .await
            .expect("request");
        assert_eq!(status, 401, "{what} was not refused");
    }
    no_more_events(&mut r.events, Duration::from_millis(500)).await;
    let _ = r.stop.send(true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slash_commands_and_buttons_arrive_over_http() {
    let mut r = rig().await;
    let fields = r.slack.slash_command_payload(CHANNEL, JO, "queue");
    let form: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(
            fields
                .as_object()
                .expect("fields")
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned())),
        )
        .finish();
    let (status, body) = send(&r, "/slack/commands", FORM, &form, None).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("ephemeral"), "{body}");
    assert!(
        matches!(next_event(&mut r.events).await, ChatEvent::Command { text, thread: None, .. } if text == "queue")
    );

    let payload = r
        .slack
        .button_payload(CHANNEL, &r.thread_ts, JO, "perch_resolve")
        .expect("button");
    let form: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("payload", &payload.to_string())
        .finish();
    let (status, _) = send(&r, "/slack/interactions", FORM, &form, None).await;
    assert_eq!(status, 200);
    assert!(matches!(
        next_event(&mut r.events).await,
        ChatEvent::Button {
            action: CardAction::Resolve,
            ..
        }
    ));
    let _ = r.stop.send(true);
}
