//! Brand search in real time: perch keeps X's filtered-stream rules in
//! step with its search rules, holds the one connection X allows, records
//! what the stream brings as search hits (billed as X bills them), and
//! polls recent search only while the stream is down.

use std::time::Duration;

use perch::config::Secret;
use perch::twitter::stream::{sync_rules, tag};
use perch::twitter::{Auth, XClient, XError};

use crate::common::never;
use crate::common::relay::{until, Scene};
use crate::x_spend::settled;

const SEARCH: &str = "GET /2/tweets/search/recent";

/// The sandbox with its brand search on the filtered stream.
async fn streaming_scene() -> Scene {
    let scene = Scene::start().await;
    until("perch on the filtered stream", || {
        scene.sandbox.x.streaming().then_some(())
    })
    .await;
    scene
}

/// The app's client, with the fake's bearer token.
fn app(x: &perch::sandbox::x::FakeX) -> XClient {
    let bearer = Secret::new(x.app_bearer());
    XClient::new(
        &x.base_url(),
        "app".into(),
        Auth::App { bearer },
        crate::common::x::patience(),
    )
    .expect("app client")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_hits_come_on_the_stream_and_polls_wait_while_it_is_up() {
    let scene = streaming_scene().await;
    let x = &scene.sandbox.x;
    // The search rule is the stream's rule: the same query, misspellings
    // and all, tagged as perch's.
    let rules = x.stream_rules();
    let brand = &scene.config.accounts[0].ingest.search[0];
    assert_eq!(rules.len(), 1, "{rules:?}");
    assert_eq!(rules[0].value, brand.query);
    assert_eq!(
        rules[0].tag.as_deref(),
        Some(tag(&scene.config.accounts[0].key, "brand").as_str())
    );
    // While it is up, nobody polls recent search (once a poll begun after
    // the stream came up has covered what came before it).
    let up = x
        .requests_to("GET /2/tweets/search/stream")
        .last()
        .map_or(0, |r| r.at_us);
    until("a search poll begun after the stream came up", || {
        x.requests_to(SEARCH)
            .iter()
            .any(|r| r.at_us > up)
            .then_some(())
    })
    .await;
    // (A poll that straddled its coming up is followed by one more.)
    let polls = x.requests_to(SEARCH).len();
    never(
        "a search poll while the stream is up",
        Duration::from_secs(3),
        || x.requests_to(SEARCH).len() > polls + 1,
    )
    .await;
    let polls = x.requests_to(SEARCH).len();
    let frank = x.post("frank", "my akme blender broke", None, None);
    let card = until("frank's card", || {
        scene.slack_cards("frank").into_iter().next()
    })
    .await;
    assert!(
        card.text.contains("frank") || card.blocks.is_some(),
        "{card:?}"
    );
    assert_eq!(x.requests_to(SEARCH).len(), polls, "no poll while up");
    assert!(
        !x.requests_to(SEARCH)
            .iter()
            .any(|r| r.response.contains(&frank.id)),
        "the hit came on the stream"
    );
    let ticket = until("frank's ticket", || {
        scene
            .store
            .tickets()
            .ok()?
            .into_iter()
            .find(|t| t.customer.handle == "frank")
    })
    .await;
    assert_eq!(ticket.origin.label(), "search");
    // X bills the streamed post as a read; perch counts the same.
    settled(&scene).await;

    // The stream drops and X refuses to reconnect for a while: the search
    // polls again, and what is posted meanwhile still becomes a ticket.
    x.fail_next("GET /2/tweets/search/stream", 503, 1);
    x.cut_stream();
    let gina = x.post("gina", "acmee app crashed", None, None);
    until("gina's card", || {
        scene.slack_cards("gina").into_iter().next()
    })
    .await;
    until("gina's post read by a search poll", || {
        x.requests_to(SEARCH)
            .iter()
            .any(|r| r.response.contains(&gina.id))
            .then_some(())
    })
    .await;
    // Back on the stream after X's backoff; polls wait again.
    crate::common::until_within(Duration::from_secs(60), "perch back on the stream", || {
        x.streaming().then_some(())
    })
    .await;
    scene.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorded_stream_line_becomes_the_rule_s_search_hit_as_written() {
    let scene = streaming_scene().await;
    let path = crate::common::repo_path("tests/fixtures/x/stream_line.json");
    let line: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("JSON");
    // Recorded posts are dated: perch reads what is recent.
    let mut line = line;
    line["data"]["created_at"] = chrono::Utc::now()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        .into();
    assert!(scene.sandbox.x.stream_recorded(&line));
    let ticket = until("hal's ticket", || {
        scene
            .store
            .tickets()
            .ok()?
            .into_iter()
            .find(|t| t.customer.handle == "halbrook")
    })
    .await;
    assert_eq!(ticket.origin.label(), "search");
    assert_eq!(
        ticket.messages[0].text,
        "my akme kettle & toaster both died <3 days after the warranty"
    );
    assert_eq!(ticket.customer.name, "Hal Brook");
    // A line for a rule that is not perch's is left.
    let mut other = line.clone();
    other["data"]["id"] = "1871000000000000102".into();
    other["matching_rules"][0]["tag"] = "analytics".into();
    assert!(scene.sandbox.x.stream_recorded(&other));
    never(
        "a ticket from another app's rule",
        Duration::from_secs(2),
        || scene.store.tickets().map(|t| t.len()).unwrap_or(0) > 1,
    )
    .await;
    scene.stop().await;
}

#[tokio::test]
async fn the_rules_follow_the_config_and_leave_others_alone() {
    let x = crate::common::x::fake().await;
    let app = app(&x);
    let wanted = |rules: &[(&str, &str)]| -> Vec<(String, String)> {
        rules
            .iter()
            .map(|(t, v)| (t.to_string(), v.to_string()))
            .collect()
    };
    // Someone else's rule, and one perch made for a search since removed.
    let refused = app
        .add_stream_rules(&wanted(&[
            ("analytics", "acme lang:en"),
            ("perch:acme:old", "(oldname) -is:retweet"),
        ]))
        .await
        .expect("added");
    assert!(refused.is_empty(), "{refused:?}");
    let synced = sync_rules(
        &app,
        &wanted(&[
            (
                "perch:acme:brand",
                "(acme OR akme) -from:AcmeSupport -is:retweet",
            ),
            ("perch:acme:broken", "(unclosed -is:retweet"),
        ]),
    )
    .await
    .expect("synced");
    assert_eq!(synced.removed, ["perch:acme:old"]);
    assert_eq!(synced.added, ["perch:acme:brand"]);
    assert_eq!(synced.refused.len(), 1, "{synced:?}");
    assert!(synced.refused[0].contains("(unclosed"), "{synced:?}");
    let mut tags: Vec<String> = x.stream_rules().into_iter().filter_map(|r| r.tag).collect();
    tags.sort();
    assert_eq!(tags, ["analytics", "perch:acme:brand"]);
    // In step already: nothing changes.
    let again = sync_rules(
        &app,
        &wanted(&[(
            "perch:acme:brand",
            "(acme OR akme) -from:AcmeSupport -is:retweet",
        )]),
    )
    .await
    .expect("synced");
    assert_eq!(again.kept, ["perch:acme:brand"]);
    assert!(again.added.is_empty() && again.removed.is_empty());

    // One connection per app, as X allows; a user's credentials are refused.
    let query = std::collections::BTreeMap::new();
    let first = app
        .open_stream("/2/tweets/search/stream", &query)
        .await
        .expect("connected");
    match app.open_stream("/2/tweets/search/stream", &query).await {
        Err(XError::Refused {
            status: 429,
            detail,
        }) => {
            assert!(detail.contains("maximum allowed connection"), "{detail}")
        }
        other => panic!("a second connection: {:?}", other.map(|r| r.status())),
    }
    drop(first);
    let user = crate::common::x::client(&x, crate::common::x::oauth1("ts-acme"));
    assert!(user.stream_rules().await.is_err());
}
