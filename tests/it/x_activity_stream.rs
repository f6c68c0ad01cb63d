//! The X Activity API with no public URL: perch subscribes the account
//! with no webhook, holds the app's activity stream, records what comes
//! on it as it records a webhook delivery, and after a dropped connection
//! asks for X's backfill, so nothing said meanwhile is lost.

use crate::common::relay::{until, Scene, ACME_ID, POLL_SEARCH};
use crate::x_spend::settled;

/// The sandbox with the account's activity on the app's stream.
async fn streaming_scene() -> Scene {
    let scene = Scene::start_with(&[
        (
            "[accounts.ingest.webhook]",
            "[accounts.ingest.activity_stream]\n\n[accounts.ingest.webhook]\nenabled = false",
        ),
        POLL_SEARCH,
    ])
    .await;
    until("perch on the activity stream", || {
        scene.sandbox.x.activity_streaming().then_some(())
    })
    .await;
    scene
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mentions_and_dms_come_on_the_activity_stream_and_a_gap_is_backfilled() {
    let scene = streaming_scene().await;
    let x = &scene.sandbox.x;
    let mut subscribed: Vec<(String, Option<String>)> = x
        .subscriptions()
        .into_iter()
        .filter(|s| s.user_id == ACME_ID)
        .map(|s| (s.event_type, s.webhook_id))
        .collect();
    subscribed.sort();
    assert_eq!(
        subscribed,
        [
            ("dm.received".to_owned(), None),
            ("dm.sent".to_owned(), None),
            ("post.mention.create".to_owned(), None)
        ]
    );
    assert!(x.webhooks().is_empty(), "no webhook is needed");

    scene.mention("dana", "my order is stuck").await;
    x.dm("erin", ACME_ID, "hello there");
    until("erin's card", || {
        scene.slack_cards("erin").into_iter().next()
    })
    .await;
    assert!(x.requests_to("GET /2/users/:id/mentions").is_empty());
    assert!(x.requests_to("GET /2/dm_events").is_empty());

    // The connection drops; what is said before perch is back comes with
    // the backfill it asks for.
    x.cut_activity_stream();
    x.post("fay", "@AcmeSupport still waiting", None, None);
    until("fay's card", || scene.slack_cards("fay").into_iter().next()).await;
    let connects = x.requests_to("GET /2/activity/stream");
    assert!(connects.len() >= 2, "{connects:?}");
    assert!(
        connects
            .iter()
            .all(|c| c.path_and_query.contains("backfill_minutes=5")),
        "{connects:?}"
    );
    // A line backfilled again is recorded once; X bills what it delivers.
    let tickets = scene.store.tickets().expect("tickets");
    assert_eq!(tickets.len(), 3, "{tickets:?}");
    assert_eq!(scene.slack_cards("dana").len(), 1);
    settled(&scene).await;
    scene.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_gap_longer_than_the_backfill_one_poll_catches_up() {
    let hour_ago = chrono::Utc::now() - chrono::Duration::hours(1);
    let scene = Scene::start_after(
        &[
            (
                "[accounts.ingest.webhook]",
                "[accounts.ingest.activity_stream]\n\n[accounts.ingest.webhook]\nenabled = false",
            ),
            POLL_SEARCH,
        ],
        std::sync::Arc::new(perch::clock::SystemClock),
        |sandbox, store| {
            // perch read the stream until an hour ago, and has watched the
            // account's mentions since before; meanwhile gil wrote.
            let earlier = (hour_ago - chrono::Duration::hours(1)).to_rfc3339();
            store
                .set_cursor("acme", "activity-stream-upto", &hour_ago.to_rfc3339())
                .expect("cursor");
            store
                .set_cursor("acme", "mentions#watching_since", &earlier)
                .expect("cursor");
            sandbox.x.post(
                "gil",
                "@AcmeSupport posted while perch was away",
                None,
                None,
            );
        },
    )
    .await;
    let x = &scene.sandbox.x;
    until("gil's card", || scene.slack_cards("gil").into_iter().next()).await;
    let polls = x.requests_to("GET /2/users/:id/mentions");
    assert_eq!(polls.len(), 1, "one catch-up poll: {polls:?}");
    assert!(polls[0].path_and_query.contains("start_time="), "{polls:?}");
    assert_eq!(x.requests_to("GET /2/dm_events").len(), 1);
    scene.stop().await;
}
