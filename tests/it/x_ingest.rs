//! X ingest end to end: the real client against the fake X.

use chrono::Utc;
use perch::store::Store;
use perch::twitter::{InboundItem, InboundKind, Source, XError};

use crate::common::x::{fake, ingest, setup, ACME_ID};

fn inbox(store: &Store) -> Vec<InboundItem> {
    store
        .inbox::<InboundItem>()
        .expect("inbox")
        .into_iter()
        .map(|(_, i)| i)
        .collect()
}

#[tokio::test]
async fn a_mention_is_recorded_once_and_the_cursor_moves() {
    let (x, _dir, store) = setup().await;
    let ingest = ingest(&x, &store);
    let post = x.post("dana", "@AcmeSupport my order never arrived", None, None);

    let report = ingest.poll_mentions(Utc::now()).await.expect("poll");
    assert_eq!(report.recorded.len(), 1);
    assert_eq!(report.reads, 1);
    let item = &report.recorded[0];
    assert_eq!(item.author.handle, "dana");
    assert_eq!(item.text, "@AcmeSupport my order never arrived");
    assert!(
        matches!(&item.kind, InboundKind::Post { tweet_id, conversation_id, mentioned_or_quoted: true, in_reply_to: None }
        if tweet_id.as_str() == post.id && conversation_id.as_str() == post.id)
    );
    assert_eq!(
        store.cursor("acme", "mentions").expect("cursor"),
        Some(post.id.clone())
    );

    // The next poll asks only for newer posts and records nothing again.
    let again = ingest.poll_mentions(Utc::now()).await.expect("poll");
    assert!(again.recorded.is_empty());
    let last = x
        .requests_to("GET /2/users/:id/mentions")
        .pop()
        .expect("a request");
    assert!(
        last.path_and_query
            .contains(&format!("since_id={}", post.id)),
        "{}",
        last.path_and_query
    );
    assert_eq!(inbox(&store).len(), 1);
}

#[tokio::test]
async fn a_follow_up_reply_carries_its_conversation_and_parent() {
    let (x, _dir, store) = setup().await;
    let first = x.post("dana", "@AcmeSupport help", None, None);
    let ours = x.post("AcmeSupport", "@dana on it", Some(&first.id), None);
    let follow = x.post(
        "dana",
        "@AcmeSupport thanks, still waiting",
        Some(&ours.id),
        None,
    );
    let report = ingest(&x, &store)
        .poll_mentions(Utc::now())
        .await
        .expect("poll");
    // Our own post is not ingested.
    assert_eq!(report.recorded.len(), 2);
    let item = report
        .recorded
        .iter()
        .find(|i| i.text.contains("still waiting"))
        .expect("follow-up");
    assert!(
        matches!(&item.kind, InboundKind::Post { conversation_id, in_reply_to: Some(parent), .. }
        if conversation_id.as_str() == first.id && parent.as_str() == ours.id)
    );
    assert!(!report
        .recorded
        .iter()
        .any(|i| i.author.id.as_str() == ACME_ID));
    let _ = follow;
}

#[tokio::test]
async fn search_hits_are_recorded_and_marked_not_answerable_in_public() {
    let (x, _dir, store) = setup().await;
    let ingest = ingest(&x, &store);
    x.post("erin", "my akme blender is broken", None, None);
    x.post("frank", "nothing to see here", None, None);
    x.post("AcmeSupport", "acme news from us", None, None);
    let rule = ingest.account.ingest.search[0].clone();
    let report = ingest.poll_search(&rule, Utc::now()).await.expect("poll");
    assert_eq!(report.recorded.len(), 1, "{:?}", report.recorded);
    let item = &report.recorded[0];
    assert_eq!(
        item.source,
        Source::Search {
            rule: "brand".into()
        }
    );
    assert!(matches!(
        item.kind,
        InboundKind::Post {
            mentioned_or_quoted: false,
            ..
        }
    ));
    assert!(store
        .cursor("acme", "search:brand")
        .expect("cursor")
        .is_some());
    let sent = x
        .requests_to("GET /2/tweets/search/recent")
        .pop()
        .expect("request");
    assert!(
        sent.path_and_query
            .contains("query=%28acme%20OR%20akme%29%20-from%3AAcmeSupport"),
        "{}",
        sent.path_and_query
    );
}

#[tokio::test]
async fn dms_are_recorded_once_without_a_cursor() {
    let (x, _dir, store) = setup().await;
    let ingest = ingest(&x, &store);
    let dm = x.dm("gina", ACME_ID, "hi, my account is locked");
    let report = ingest.poll_dms(Utc::now()).await.expect("poll");
    assert_eq!(report.recorded.len(), 1);
    assert!(
        matches!(&report.recorded[0].kind, InboundKind::Dm { event_id, dm_conversation_id }
        if event_id.as_str() == dm.id && Some(dm_conversation_id.as_str()) == dm.dm_conversation_id.as_deref())
    );
    assert_eq!(report.recorded[0].author.handle, "gina");
    assert!(ingest
        .poll_dms(Utc::now())
        .await
        .expect("poll")
        .recorded
        .is_empty());
}

#[tokio::test]
async fn a_quiet_dm_poll_reads_one_event_and_is_billed_for_none() {
    let (x, _dir, store) = setup().await;
    let ingest = ingest(&x, &store);
    for i in 0..30 {
        x.dm(&format!("d{i}"), ACME_ID, &format!("help {i}"));
    }
    let billed = |store: &perch::store::Store| {
        perch::twitter::ingest::reads_this_month(store, Utc::now()).expect("reads")
    };
    // All new: 1, then 10, then the rest in a page of 100.
    let first = ingest.poll_dms(Utc::now()).await.expect("poll");
    assert_eq!(
        (first.recorded.len(), first.reads, first.billed, first.pages),
        (30, 30, 30, 3)
    );
    assert_eq!(billed(&store), 30);
    // Nothing new: the newest event is all it reads, and X does not bill a
    // resource read again the same UTC day.
    let quiet = ingest.poll_dms(Utc::now()).await.expect("poll");
    assert!(quiet.recorded.is_empty());
    assert_eq!((quiet.reads, quiet.billed, quiet.pages), (1, 0, 1));
    assert_eq!(billed(&store), 30, "a quiet poll adds nothing to the bill");
    let asked = x.requests_to("GET /2/dm_events");
    let sizes: Vec<&str> = asked
        .iter()
        .filter_map(|r| r.path_and_query.split("max_results=").nth(1))
        .map(|rest| rest.split('&').next().unwrap_or(rest))
        .collect();
    assert_eq!(sizes, ["1", "10", "100", "1"], "{asked:?}");
}

#[tokio::test]
async fn a_dm_poll_stops_at_the_first_event_it_knows() {
    let (x, _dir, store) = setup().await;
    let ingest = ingest(&x, &store);
    for i in 0..30 {
        x.dm(&format!("d{i}"), ACME_ID, &format!("help {i}"));
    }
    ingest.poll_dms(Utc::now()).await.expect("poll");
    let newer: Vec<_> = (0..3)
        .map(|i| x.dm(&format!("n{i}"), ACME_ID, &format!("again {i}")).id)
        .collect();
    let report = ingest.poll_dms(Utc::now()).await.expect("poll");
    let got: Vec<String> = report
        .recorded
        .iter()
        .filter_map(|item| match &item.kind {
            InboundKind::Dm { event_id, .. } => Some(event_id.to_string()),
            _ => None,
        })
        .collect();
    let mut want = newer.clone();
    want.reverse();
    assert_eq!(got, want, "the three new ones, newest first");
    // 1 + 10 returned (3 new, then the known one stops the poll), 3 billed.
    assert_eq!((report.reads, report.billed, report.pages), (11, 3, 2));
}

#[tokio::test]
async fn paging_follows_next_token_and_the_cursor_is_the_first_pages_newest() {
    let (x, _dir, store) = setup().await;
    let posts: Vec<_> = (0..230)
        .map(|i| {
            x.post(
                &format!("c{i}"),
                &format!("@AcmeSupport help {i}"),
                None,
                None,
            )
        })
        .collect();
    let report = ingest(&x, &store)
        .poll_mentions(Utc::now())
        .await
        .expect("poll");
    assert_eq!(report.pages, 3);
    assert_eq!(report.recorded.len(), 230);
    assert_eq!(report.reads, 230);
    let newest = posts.last().map(|p| p.id.clone());
    assert_eq!(store.cursor("acme", "mentions").expect("cursor"), newest);
    let counted: u64 = store
        .counters("reads/")
        .expect("counters")
        .iter()
        .map(|(_, n)| n)
        .sum();
    assert_eq!(counted, 230);
}

#[tokio::test]
async fn one_post_found_by_two_sources_is_one_item() {
    let (x, _dir, store) = setup().await;
    let ingest = ingest(&x, &store);
    x.post("hana", "@AcmeSupport acme app is down", None, None);
    let rule = ingest.account.ingest.search[0].clone();
    let by_mention = ingest.poll_mentions(Utc::now()).await.expect("poll");
    let by_search = ingest.poll_search(&rule, Utc::now()).await.expect("poll");
    assert_eq!(by_mention.recorded.len() + by_search.recorded.len(), 1);
    assert_eq!(inbox(&store).len(), 1);
}

#[tokio::test]
async fn nothing_is_recorded_twice_across_a_restart() {
    let x = fake().await;
    let dir = tempfile::tempdir().expect("dir");
    x.post("ivan", "@AcmeSupport hello", None, None);
    x.dm("ivan", ACME_ID, "and a DM");
    {
        let store = Store::open(dir.path()).expect("store");
        let ingest = ingest(&x, &store);
        assert_eq!(
            ingest
                .poll_mentions(Utc::now())
                .await
                .expect("poll")
                .recorded
                .len(),
            1
        );
        assert_eq!(
            ingest
                .poll_dms(Utc::now())
                .await
                .expect("poll")
                .recorded
                .len(),
            1
        );
        // A crash before the cursor moved: simulate by rewinding it.
        store.set_cursor("acme", "mentions", "0").expect("rewind");
    }
    let store = Store::open(dir.path()).expect("reopen");
    let ingest = ingest(&x, &store);
    assert!(ingest
        .poll_mentions(Utc::now())
        .await
        .expect("poll")
        .recorded
        .is_empty());
    assert!(ingest
        .poll_dms(Utc::now())
        .await
        .expect("poll")
        .recorded
        .is_empty());
    assert_eq!(inbox(&store).len(), 2);
}

#[tokio::test]
async fn server_errors_are_retried_with_backoff() {
    let (x, _dir, store) = setup().await;
    x.post("jon", "@AcmeSupport hi", None, None);
    x.fail_next("GET /2/users/:id/mentions", 503, 2);
    let report = ingest(&x, &store)
        .poll_mentions(Utc::now())
        .await
        .expect("poll after retries");
    assert_eq!(report.recorded.len(), 1);
    let statuses: Vec<u16> = x
        .requests_to("GET /2/users/:id/mentions")
        .iter()
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, [503, 503, 200]);
    let gaps: Vec<i64> = x
        .requests_to("GET /2/users/:id/mentions")
        .windows(2)
        .map(|w| (w[1].at_us - w[0].at_us) / 1000)
        .collect();
    assert!(
        gaps[1] >= gaps[0] && gaps[0] >= 15,
        "backoff should grow: {gaps:?}"
    );

    // Past the attempts allowed, the error is retryable and says so.
    x.fail_next("GET /2/users/:id/mentions", 500, 10);
    let err = ingest(&x, &store)
        .poll_mentions(Utc::now())
        .await
        .expect_err("fails");
    assert!(err.is_retryable(), "{err}");
}

#[tokio::test]
async fn a_wrong_secret_is_a_clear_error_naming_the_account() {
    let (x, _dir, store) = setup().await;
    let mut ingest = ingest(&x, &store);
    ingest.client = crate::common::x::client(&x, crate::common::x::oauth1("not-the-secret"));
    let err = ingest.poll_mentions(Utc::now()).await.expect_err("refused");
    assert!(matches!(err, XError::Unauthorized { .. }), "{err:?}");
    assert!(!err.is_retryable());
    let message = err.to_string();
    assert!(
        message.contains("`acme`") && message.contains("credentials"),
        "{message}"
    );
    // Refused once: a 401 is not retried.
    assert_eq!(x.requests_to("GET /2/users/:id/mentions").len(), 1);
    assert_eq!(x.requests_to("GET /2/users/:id/mentions")[0].status, 401);
}
