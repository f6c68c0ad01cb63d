//! What real X does that the first fake did not, replayed from recorded
//! shapes (tests/fixtures/x, see its SOURCES.md) and taught to the fake X:
//! an account with a past, escaped text, `includes.tweets`, numerically
//! ordered DM conversations, long posts, authors missing from the
//! expansions, and webhook deliveries for someone else.

use std::time::Duration;

use chrono::{Datelike, Utc};
use perch::store::Store;
use perch::ticket::{DmConversationId, Origin, ReplyChannel};
use perch::twitter::api::{DmPage, PostPage};
use perch::twitter::webhook;
use perch::twitter::{InboundItem, InboundKind, Source};

use crate::common::x::{account, config_text, fake, ingest, ACME_ID, SECRETS};
use crate::common::{free_addr, http_get, perch, repo_path, until};

fn fixture(name: &str) -> String {
    std::fs::read_to_string(repo_path(&format!("tests/fixtures/x/{name}")))
        .unwrap_or_else(|e| panic!("fixture {name}: {e}"))
}

#[tokio::test]
async fn recorded_pages_read_as_their_authors_wrote_them() {
    let x = fake().await;
    let acme = account(&x);
    let page: PostPage = serde_json::from_str(&fixture("mentions_page.json")).expect("the page");
    let items: Vec<InboundItem> = page
        .data
        .iter()
        .filter_map(|p| {
            InboundItem::from_post(
                &acme,
                Source::Mentions,
                p,
                page.includes.as_ref(),
                Utc::now(),
            )
        })
        .collect();
    // Unescaped once; links as X wrapped them.
    assert_eq!(
        items[0].text,
        "@AcmeSupport Refund & apology please, the lid is cracked <3 >_< https://t.co/W5GxALkkZd"
    );
    // The quoted brand post is under `includes.tweets`: a public reply is
    // allowed (found by search, it would still be answerable in public).
    let quoting = InboundItem::from_post(
        &acme,
        Source::Search {
            rule: "brand".into(),
        },
        &page.data[1],
        page.includes.as_ref(),
        Utc::now(),
    )
    .expect("the quote");
    assert!(matches!(
        quoting.kind,
        InboundKind::Post {
            mentioned_or_quoted: true,
            ..
        }
    ));
    // The long post's author is missing from the expansions: it is left to
    // ingest to look them up, never answered as `@4421576056`.
    assert_eq!(items.len(), 2, "{items:?}");
    assert!(items.iter().all(|i| i.author.handle != "4421576056"));

    let dms: DmPage = serde_json::from_str(&fixture("dm_events_page.json")).expect("DMs");
    let dm = InboundItem::from_dm(&acme, &dms.data[0], dms.includes.as_ref(), Utc::now())
        .expect("the DM");
    let polled = match &dm.kind {
        InboundKind::Dm {
            dm_conversation_id, ..
        } => dm_conversation_id.clone(),
        other => panic!("{other:?}"),
    };

    // The same customer by webhook: the same conversation, so one ticket.
    let delivery: serde_json::Value =
        serde_json::from_str(&fixture("aaa_direct_message.json")).expect("delivery");
    let hooked = webhook::http::items(&acme, &delivery, Utc::now());
    assert!(matches!(
        &hooked[0].kind,
        InboundKind::Dm { dm_conversation_id, .. } if *dm_conversation_id == polled
    ));
    assert_eq!(
        polled,
        DmConversationId::between("750362064426721281", ACME_ID)
    );

    // A long post by webhook comes truncated; its whole text is read.
    let delivery: serde_json::Value =
        serde_json::from_str(&fixture("aaa_tweet_create.json")).expect("delivery");
    let hooked = webhook::http::items(&acme, &delivery, Utc::now());
    assert!(
        hooked[0].text.ends_with("Refund & apology, please."),
        "{}",
        hooked[0].text
    );
    assert!(matches!(
        hooked[0].kind,
        InboundKind::Post {
            mentioned_or_quoted: true,
            ..
        }
    ));
}

#[tokio::test]
async fn the_fake_answers_as_x_does_and_ingest_keeps_what_was_written() {
    let x = fake().await;
    let dir = tempfile::tempdir().expect("dir");
    let store = Store::open(dir.path()).expect("store");
    let ingest = ingest(&x, &store);

    let long = format!(
        "@AcmeSupport {}",
        "my blender arrived broken and nobody answers. ".repeat(8)
    );
    let escaped = x.post(
        "dana",
        "@AcmeSupport Refund & apology <3 https://acme.com/o/7",
        None,
        None,
    );
    assert!(
        escaped.text.contains("&amp;")
            && escaped.text.contains("&lt;3")
            && escaped.text.contains("https://t.co/"),
        "X stores it escaped, its link wrapped: {}",
        escaped.text
    );
    let cut = x.post("erin", &long, None, None);
    assert!(cut.text.chars().count() < long.chars().count() && cut.note_tweet.is_some());
    x.leave_out_of_expansions("fay");
    x.post("fay", "@AcmeSupport where is my parcel", None, None);

    let report = ingest.poll_mentions(Utc::now()).await.expect("poll");
    let by = |handle: &str| {
        report
            .recorded
            .iter()
            .find(|i| i.author.handle == handle)
            .unwrap_or_else(|| panic!("no item from {handle}: {:?}", report.recorded))
    };
    assert_eq!(
        by("dana").text,
        "@AcmeSupport Refund & apology <3 https://t.co/0000000001"
    );
    assert_eq!(
        by("erin").text,
        long,
        "the whole long post, from note_tweet"
    );
    assert_eq!(by("fay").author.name, "fay", "looked up, not a number");
    assert_eq!(x.requests_to("GET /2/users").len(), 1);

    // A DM from a customer whose id is shorter than the account's.
    let dm = x.dm("gina", ACME_ID, "hi & thanks");
    let sender = dm.sender_id.clone().expect("sender");
    assert!(sender.len() < ACME_ID.len());
    assert_eq!(
        dm.dm_conversation_id.as_deref(),
        Some(format!("{sender}-{ACME_ID}").as_str()),
        "the smaller number first"
    );
}

fn closed_today_config(
    x_url: &str,
    data: &std::path::Path,
    health: std::net::SocketAddr,
) -> String {
    // Open one minute a week, the day after tomorrow: closed now.
    let day = (Utc::now() + chrono::Duration::days(2)).weekday();
    let day = format!("{day:?}").to_lowercase();
    config_text(x_url, data, health).replace(
        "monthly_read_budget = 10000",
        "monthly_read_budget = 10000\nbackfill = \"24h\"",
    ) + &format!(
        "[support_hours]\ntime_zone = \"UTC\"\nweekly = {{ {day} = \"09:00-09:01\" }}\n[auto_replies]\noff_hours = \"Thanks! We are offline and answer from {{opens}}.\"\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn perch_run_on_an_account_with_a_year_of_backlog_answers_only_what_comes_after() {
    let x = fake().await;
    // A year of mentions (one a day) and DMs, the newest a minute ago.
    x.backlog(ACME_ID, 365, 12, 365);
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("data");
    let health = free_addr();
    let path = dir.path().join("perch.toml");
    std::fs::write(&path, closed_today_config(&x.base_url(), &data, health)).expect("config");
    let mut cmd = perch();
    cmd.args(["run", "--config"]).arg(&path);
    for (name, value) in SECRETS {
        cmd.env(name, value);
    }
    cmd.env("SB", "dummy").env("SA", "dummy");
    let mut child = cmd
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn perch run");
    let healthz = || http_get(health, "/healthz").ok().filter(|(s, _)| *s == 200);
    let answered = until("perch run answering /healthz", healthz).await;
    assert!(answered.1.contains("x_watching_since"), "{}", answered.1);

    // After it started, a customer writes: they hear the off-hours reply.
    let live = x.post("hana", "@AcmeSupport my order is late", None, None);
    until("the off-hours reply to the new mention", || {
        x.posted()
            .into_iter()
            .find(|p| p.referenced_tweets.iter().any(|r| r.id == live.id))
    })
    .await;
    let health_now = until("the DMs older than the backfill counted", || {
        let (_, body) = healthz()?;
        let v: serde_json::Value = serde_json::from_str(&body).ok()?;
        (v["x_backlog_left_unread"]["acme/dms"].as_u64() > Some(0)).then_some(v)
    })
    .await;
    let _ = child.kill();
    let _ = child.wait();

    let store = Store::open(&data).expect("store");
    let tickets = store.tickets().expect("tickets");
    let day_ago = Utc::now() - chrono::Duration::hours(24) - chrono::Duration::minutes(5);
    assert!(
        tickets.iter().all(|t| t.created_at > day_ago),
        "no ticket older than the backfill window: {:?}",
        tickets.iter().map(|t| t.created_at).collect::<Vec<_>>()
    );
    // The newest mention and DM of the past (a minute before start) are
    // tickets; the live mention too.
    assert_eq!(tickets.len(), 3, "{tickets:?}");
    assert!(tickets.iter().any(|t| t.origin == Origin::Dm));
    // The only automatic reply went to the live post.
    let ours = x.posted();
    assert_eq!(ours.len(), 1, "{ours:?}");
    assert!(
        x.sent_dms().is_empty(),
        "no welcome or off-hours DM to the past"
    );
    assert!(tickets
        .iter()
        .filter(|t| t.reply_channel == ReplyChannel::Public)
        .all(|t| t.customer.handle != "4421576056"));
    assert!(
        health_now["x_watching_since"]["acme/mentions"].is_string(),
        "{health_now}"
    );
}

#[tokio::test]
async fn recorded_answers_through_the_real_client_become_whole_tickets() {
    let x = fake().await;
    let dir = tempfile::tempdir().expect("dir");
    let store = Store::open(dir.path()).expect("store");
    let mut ingest = ingest(&x, &store);
    // The recording is from 2026-11-30; read back that far.
    ingest.backfill = Duration::from_secs(30 * 24 * 3600);
    let page: serde_json::Value =
        serde_json::from_str(&fixture("mentions_page.json")).expect("page");
    x.answer_next_with("GET /2/users/:id/mentions", page);
    // The author X left out of the page is looked up, in X's own shape.
    x.answer_next_with(
        "GET /2/users",
        serde_json::json!({"data": [{"id": "4421576056", "name": "Gina Ray", "username": "gina_ray"}]}),
    );
    let report = ingest.poll_mentions(Utc::now()).await.expect("poll");
    assert_eq!(report.recorded.len(), 3, "{:?}", report.recorded);
    let long = report
        .recorded
        .iter()
        .find(|i| i.author.handle == "gina_ray")
        .expect("the long post, its author looked up");
    assert!(
        long.text
            .ends_with("what happened to the order & the shipping fee."),
        "{}",
        long.text
    );
    assert!(report.recorded[0].text.contains("Refund & apology"));
    let lookup = x.requests_to("GET /2/users");
    assert!(
        lookup[0].path_and_query.contains("ids=4421576056"),
        "{lookup:?}"
    );

    let dms: serde_json::Value =
        serde_json::from_str(&fixture("dm_events_page.json")).expect("DMs");
    x.answer_next_with("GET /2/dm_events", dms);
    // Its next_token leads to the end of the conversation list.
    x.answer_next_with(
        "GET /2/dm_events",
        serde_json::json!({"meta": {"result_count": 0}}),
    );
    let report = ingest.poll_dms(Utc::now()).await.expect("poll");
    assert!(matches!(
        &report.recorded[0].kind,
        InboundKind::Dm { dm_conversation_id, .. }
            if *dm_conversation_id == DmConversationId::between("750362064426721281", ACME_ID)
    ));
}
