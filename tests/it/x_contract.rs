//! Contract: what the fake X answers, and what perch's client sends, match
//! the official X API v2 OpenAPI description for the same operations.

use std::collections::BTreeMap;

use perch::twitter::api::{CreatePost, ReplySettings};
use serde_json::{json, Value};

use crate::common::specs::{load, schema_of, violations};
use crate::common::x::{client, fake, ACME_ID};

/// The wire's names as the spec file renames them (see
/// ../shared/specs/README.md): validated under the spec's names, so that
/// what the renamed schemas say is checked too.
fn in_spec_vocabulary(wire: &Value) -> Value {
    const RENAMED: [(&str, &str); 4] = [
        ("tweets", "posts"),
        ("referenced_tweets", "referenced_posts"),
        ("edit_history_tweet_ids", "edit_history_post_ids"),
        ("note_tweet", "note_post"),
    ];
    match wire {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let name = RENAMED
                        .iter()
                        .find(|(w, _)| w == k)
                        .map_or(k.as_str(), |(_, s)| s);
                    (name.to_owned(), in_spec_vocabulary(v))
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(in_spec_vocabulary).collect()),
        other => other.clone(),
    }
}

fn check(spec: &Value, path: &str, method: &str, status: Option<&str>, wire: &Value) {
    let name = schema_of(spec, path, method, status);
    let instance = &in_spec_vocabulary(wire);
    let found = violations(spec, &name, instance);
    assert!(
        found.is_empty(),
        "{method} {path} ({name}) does not match the spec:\n{}\n{instance:#}",
        found.join("\n")
    );
}

fn post_query() -> BTreeMap<&'static str, String> {
    let mut q = BTreeMap::new();
    q.insert("tweet.fields", "id,text,author_id,conversation_id,created_at,in_reply_to_user_id,referenced_tweets,entities".to_owned());
    q.insert("expansions", "author_id,referenced_tweets.id".to_owned());
    q.insert("user.fields", "username,name".to_owned());
    q
}

#[tokio::test]
async fn read_endpoints_answer_as_the_spec_describes() {
    let Some(spec) = load("x/openapi.json") else {
        return;
    };
    let x = fake().await;
    let c = client(&x, crate::common::x::oauth1("ts-acme"));

    // Empty first: `data` absent, only meta.
    let empty: Value = c
        .get(&format!("/2/users/{ACME_ID}/mentions"), &post_query())
        .await
        .expect("mentions");
    assert!(empty.get("data").is_none(), "{empty}");
    check(&spec, "/2/users/{id}/mentions", "get", Some("200"), &empty);

    let first = x.post("dana", "@AcmeSupport where is my order?", None, None);
    let ours = x.post("AcmeSupport", "@dana checking", Some(&first.id), None);
    x.post(
        "erin",
        "@AcmeSupport acme quoted this",
        None,
        Some(&ours.id),
    );
    for i in 0..12 {
        x.post(
            &format!("c{i}"),
            &format!("@AcmeSupport acme help {i}"),
            None,
            None,
        );
    }
    let mentions: Value = c
        .get(&format!("/2/users/{ACME_ID}/mentions"), &post_query())
        .await
        .expect("mentions");
    assert!(
        mentions["meta"]["next_token"].is_string(),
        "paged: {mentions}"
    );
    // The wire's names, not the spec file's.
    let mut all = post_query();
    all.insert("max_results", "100".to_owned());
    let everything: Value = c
        .get(&format!("/2/users/{ACME_ID}/mentions"), &all)
        .await
        .expect("mentions");
    assert!(
        everything["includes"]["tweets"].is_array()
            && everything["includes"].get("posts").is_none(),
        "quoted posts under includes.tweets: {everything}"
    );
    check(
        &spec,
        "/2/users/{id}/mentions",
        "get",
        Some("200"),
        &everything,
    );
    check(
        &spec,
        "/2/users/{id}/mentions",
        "get",
        Some("200"),
        &mentions,
    );

    let mut q = post_query();
    q.insert(
        "query",
        "(acme OR akme) -from:AcmeSupport -is:retweet".to_owned(),
    );
    let search: Value = c.get("/2/tweets/search/recent", &q).await.expect("search");
    assert!(search["data"].is_array());
    check(
        &spec,
        "/2/tweets/search/recent",
        "get",
        Some("200"),
        &search,
    );

    let posts: Value = c
        .get(&format!("/2/users/{ACME_ID}/tweets"), &post_query())
        .await
        .expect("posts");
    check(&spec, "/2/users/{id}/tweets", "get", Some("200"), &posts);

    x.dm("gina", ACME_ID, "hello by DM");
    let mut dq = BTreeMap::new();
    dq.insert(
        "dm_event.fields",
        "id,text,event_type,created_at,sender_id,dm_conversation_id".to_owned(),
    );
    dq.insert("expansions", "sender_id".to_owned());
    dq.insert("user.fields", "username,name".to_owned());
    let dms: Value = c.get("/2/dm_events", &dq).await.expect("dm events");
    assert!(dms["data"].is_array());
    check(&spec, "/2/dm_events", "get", Some("200"), &dms);

    // X's count of what was read today: app-only, counts as strings.
    let bearer = perch::config::Secret::new(x.app_bearer());
    let app = client(&x, perch::twitter::Auth::App { bearer });
    let mut uq = BTreeMap::new();
    uq.insert("days", "2".to_owned());
    uq.insert(
        "usage.fields",
        "daily_project_usage,project_cap,project_usage".to_owned(),
    );
    let usage: Value = app.get("/2/usage/tweets", &uq).await.expect("usage");
    let days = usage["data"]["daily_project_usage"]["usage"]
        .as_array()
        .expect("daily usage");
    assert_eq!(days.len(), 2, "{usage}");
    assert!(days[1]["usage"].is_string(), "{usage}");
    check(&spec, "/2/usage/tweets", "get", Some("200"), &usage);
    // A user's credentials are refused, as X refuses them.
    assert!(c.get::<Value>("/2/usage/tweets", &uq).await.is_err());
}

#[tokio::test]
async fn write_endpoints_and_the_clients_bodies_match_the_spec() {
    let Some(spec) = load("x/openapi.json") else {
        return;
    };
    let x = fake().await;
    let c = client(&x, crate::common::x::oauth1("ts-acme"));
    let mention = x.post("dana", "@AcmeSupport help", None, None);

    let body = CreatePost {
        text: "@dana on it ^JD".to_owned(),
        reply: Some(ReplySettings {
            in_reply_to_tweet_id: mention.id.clone(),
        }),
    };
    let created: Value = c.post("/2/tweets", &body).await.expect("create post");
    check(&spec, "/2/tweets", "post", Some("201"), &created);
    let sent: Value =
        serde_json::from_str(&x.requests_to("POST /2/tweets")[0].body).expect("JSON body");
    check(&spec, "/2/tweets", "post", None, &sent);

    // Unknown participant: X's 400 problem, as the spec describes it.
    let unknown = c
        .post::<_, Value>(
            "/2/dm_conversations/with/1500000000000000099/messages",
            &json!({"text": "x"}),
        )
        .await;
    assert!(unknown.is_err());
    let answer: Value = serde_json::from_str(
        &x.requests_to("POST /2/dm_conversations/with/:id/messages")[0].response,
    )
    .expect("JSON");
    assert!(violations(&spec, "Problem", &answer).is_empty(), "{answer}");
    let gina = x.dm("gina", ACME_ID, "hi");
    let to = gina.sender_id.expect("sender");
    let path = format!("/2/dm_conversations/with/{to}/messages");
    let sent_dm: Value = c
        .post(
            &path,
            &perch::twitter::api::CreateDm {
                text: "Hello! ^JD".into(),
            },
        )
        .await
        .expect("dm");
    check(
        &spec,
        "/2/dm_conversations/with/{participant_id}/messages",
        "post",
        Some("201"),
        &sent_dm,
    );
    let log = x.requests_to("POST /2/dm_conversations/with/:id/messages");
    let body: Value = serde_json::from_str(&log[log.len() - 1].body).expect("JSON body");
    check(
        &spec,
        "/2/dm_conversations/with/{participant_id}/messages",
        "post",
        None,
        &body,
    );
}

#[tokio::test]
async fn an_invalid_request_answers_the_spec_problem() {
    let Some(spec) = load("x/openapi.json") else {
        return;
    };
    let x = fake().await;
    let c = client(&x, crate::common::x::oauth1("ts-acme"));
    let mut q = post_query();
    q.insert("query", "x".repeat(600));
    let err = c
        .get::<Value>("/2/tweets/search/recent", &q)
        .await
        .expect_err("400");
    assert!(err.to_string().contains("400"), "{err}");
    let log = x.requests_to("GET /2/tweets/search/recent");
    assert_eq!(log[0].status, 400);
    let body: Value = serde_json::from_str(&log[0].response).expect("JSON problem");
    assert!(
        violations(&spec, "Problem", &body).is_empty(),
        "{:?}",
        violations(&spec, "Problem", &body)
    );
}
