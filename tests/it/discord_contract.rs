//! Contract: the fake Discord's REST answers, and serenity's request
//! bodies, against Discord's OpenAPI description (../shared/specs/discord).

use std::time::Duration;

use perch::chat::discord::DiscordRest;
use perch::chat::{Card, Reaction, Text};
use perch::config::Secret;
use perch::sandbox::discord::{ChannelSpec, FakeDiscord};
use perch::testing::{agent, mention, t0};
use perch::ticket::{Claim, State, Ticket, TicketId};

use crate::common::specs::{load, openapi_violations};

/// The spec's path template for a concrete request path.
fn template(path: &str) -> Option<&'static str> {
    let parts: Vec<&str> = path
        .trim_start_matches("/api/v10")
        .trim_matches('/')
        .split('/')
        .collect();
    Some(match parts.as_slice() {
        ["channels", _] => "/channels/{channel_id}",
        ["channels", _, "messages"] => "/channels/{channel_id}/messages",
        ["channels", _, "messages", _] => "/channels/{channel_id}/messages/{message_id}",
        ["channels", _, "messages", _, "threads"] => {
            "/channels/{channel_id}/messages/{message_id}/threads"
        }
        ["channels", _, "threads"] => "/channels/{channel_id}/threads",
        ["guilds", _, "members", _] => "/guilds/{guild_id}/members/{user_id}",
        _ => return None,
    })
}

#[tokio::test]
async fn rest_answers_and_request_bodies_match_discords_description() {
    let Some(spec) = load("discord/openapi.json") else {
        return;
    };
    let channels = [
        ChannelSpec {
            id: 1_100_000_000_000_000_001,
            name: "support",
            forum_tags: &[],
        },
        ChannelSpec {
            id: 1_100_000_000_000_000_002,
            name: "tickets",
            forum_tags: &["open", "claimed", "resolved"],
        },
    ];
    let d = FakeDiscord::start("tok", &channels, 50, Duration::from_secs(1))
        .await
        .expect("fake");
    let rest = DiscordRest::new(&Secret::new("tok"), Some(&d.url()), Duration::ZERO);
    let mut t = Ticket::open(TicketId::new(3), mention(3));
    for route in ["1100000000000000001", "1100000000000000002"] {
        let thread = rest.open_thread(route, &Card::of(&t)).await.expect("open");
        let note = rest
            .post(&thread, &Text::Quoted("hi @everyone".into()))
            .await
            .expect("post");
        rest.react(&note, Reaction::Pending).await.expect("react");
        // Message history (read back after a restart), reactions included.
        let perch::ticket::ChatThread::Discord { thread: id, .. } = &thread else {
            panic!("{thread:?}");
        };
        let history = serenity::all::HttpBuilder::new("tok")
            .proxy(d.url())
            .ratelimiter_disabled(true)
            .build();
        let read = serenity::all::ChannelId::new(id.as_str().parse().expect("id"))
            .messages(&history, serenity::all::GetMessages::new().limit(10))
            .await
            .expect("history parses");
        assert!(read.iter().any(|m| !m.reactions.is_empty()), "{read:?}");
        // A member's roles, asked for when history does not carry them.
        d.user_message(id.as_str().parse().expect("id"), 42, "jo", &[7], "hi");
        let member = serenity::all::GuildId::new(perch::sandbox::discord::GUILD_ID)
            .member(&history, serenity::all::UserId::new(42))
            .await
            .expect("member parses");
        assert_eq!(member.roles, [serenity::all::RoleId::new(7)]);
        // Text-channel cards are found again; forum posts are not searched.
        let text_channel = route == "1100000000000000001";
        assert_eq!(
            rest.find_card(route, TicketId::new(3))
                .await
                .expect("find the card"),
            text_channel.then(|| thread.clone())
        );
        t.state = State::Claimed(Claim::new(agent("jo"), t0()));
        rest.update_card(&thread, &Card::of(&t))
            .await
            .expect("update");
        t.state = State::Open;
    }
    let mut checked = 0;
    for call in d.calls() {
        let Some(path) = template(&call.path) else {
            continue;
        };
        let method = call.method.to_ascii_lowercase();
        assert!(
            (200..300).contains(&call.status),
            "{} {} answered {}: {}",
            call.method,
            call.path,
            call.status,
            call.response
        );
        let found = openapi_violations(
            &spec,
            path,
            &method,
            Some(&call.status.to_string()),
            &call.response,
        );
        assert!(
            found.is_empty(),
            "{} {path} answer:\n{}\n{:#}",
            call.method,
            found.join("\n"),
            call.response
        );
        if method != "get" {
            let found = openapi_violations(&spec, path, &method, None, &call.body);
            assert!(
                found.is_empty(),
                "{} {path} request:\n{}\n{:#}",
                call.method,
                found.join("\n"),
                call.body
            );
        }
        checked += 1;
    }
    assert!(checked >= 10, "only {checked} calls checked");
}
