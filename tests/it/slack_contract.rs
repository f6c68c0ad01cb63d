//! Contract: what the fake Slack answers, and what the adapter sends,
//! against Slack's Web API description (../shared/specs/slack).

use std::time::Duration;

use perch::chat::slack::SlackWeb;
use perch::chat::{Card, Reaction, Responder, Text, Visibility};
use perch::config::Secret;
use perch::sandbox::slack::FakeSlack;
use perch::testing::{agent, mention, t0};
use perch::ticket::{ChatThread, Claim, State, Ticket, TicketId};

use crate::common::specs::{load, swagger_parameters, swagger_response_violations};

#[tokio::test]
async fn web_api_answers_and_requests_match_slacks_description() {
    let Some(spec) = load("slack/web-openapi-v2.json") else {
        return;
    };
    let slack = FakeSlack::start("xoxb-t", "xapp-t", &["C0SUPPORT1"], Duration::ZERO)
        .await
        .expect("fake");
    slack.add_user("U0JODOE01", "jo");
    slack.set_group("S0AGENTS1", &["U0JODOE01"]);
    let web =
        SlackWeb::new(&slack.api_url(), &Secret::new("xoxb-t"), Duration::ZERO).expect("client");

    let mut t = Ticket::open(TicketId::new(1), mention(1));
    web.whoami().await.expect("auth.test");
    let thread = web
        .open_thread("C0SUPPORT1", &Card::of(&t))
        .await
        .expect("open");
    t.state = State::Claimed(Claim::new(agent("jo"), t0()));
    web.update_card(&thread, &Card::of(&t))
        .await
        .expect("update");
    let note = web
        .post(&thread, &Text::Quoted("hi <!here>".into()))
        .await
        .expect("post");
    web.react(&note, Reaction::Pending).await.expect("react");
    let ChatThread::Slack { thread_ts, .. } = &thread else {
        panic!()
    };
    let to = Responder::Slack {
        channel: "C0SUPPORT1".into(),
        user: "U0JODOE01".into(),
        thread_ts: Some(thread_ts.to_string()),
    };
    web.answer(&to, "done", Visibility::Caller)
        .await
        .expect("ephemeral");
    // After a restart, a card is looked for in the channel's history.
    assert_eq!(
        web.find_card("C0SUPPORT1", TicketId::new(1))
            .await
            .expect("history"),
        Some(thread.clone())
    );

    let mut checked = 0;
    for (method, path, verb) in [
        ("auth.test", "/auth.test", "get"),
        ("chat.postMessage", "/chat.postMessage", "post"),
        ("chat.update", "/chat.update", "post"),
        ("reactions.add", "/reactions.add", "post"),
        ("chat.postEphemeral", "/chat.postEphemeral", "post"),
        ("conversations.history", "/conversations.history", "get"),
    ] {
        let documented = swagger_parameters(&spec, path, verb);
        for call in slack.calls(method) {
            assert_eq!(call.status, 200, "{method}: {}", call.response);
            let found: Vec<String> = swagger_response_violations(&spec, path, verb, &call.response)
                .into_iter()
                .filter(|v| !known_spec_error(method, v, &call.response))
                .collect();
            assert!(
                found.is_empty(),
                "{method} answer does not match the spec:\n{}\n{:#}",
                found.join("\n"),
                call.response
            );
            // Every parameter the adapter sent is one Slack documents (or
            // a newer one slack-morphism knows, listed here on purpose).
            let newer = ["unfurl_links", "unfurl_media"];
            for key in call
                .body
                .as_object()
                .map(|o| o.keys().cloned().collect::<Vec<_>>())
                .unwrap_or_default()
            {
                assert!(
                    documented.contains(&key) || newer.contains(&key.as_str()),
                    "{method} sent `{key}`, which the spec does not document"
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 6, "only {checked} calls checked");
}

/// Two gaps of the 2021 snapshot, let through narrowly:
/// - it types `chat.update`'s `message.blocks` as an object, while its own
///   `objs_message` (and Slack itself) uses an array of blocks;
/// - its `objs_message` lacks `edited`, which Slack sends on an edited
///   message (`{ "user", "ts" }`; a card is edited as its ticket changes).
fn known_spec_error(method: &str, violation: &str, answer: &serde_json::Value) -> bool {
    let blocks = method == "chat.update"
        && violation.ends_with("is not of type \"object\" at /message/blocks")
        && answer["message"]["blocks"].is_array();
    let edited = method == "conversations.history"
        && violation.starts_with(
            "Additional properties are not allowed ('edited' was unexpected) at /messages/",
        )
        && answer["messages"].as_array().is_some_and(|m| {
            m.iter().all(|m| {
                m.get("edited")
                    .is_none_or(|e| e["ts"].is_string() && e["user"].is_string())
            })
        });
    blocks || edited
}
