//! A burst of tickets against each chat platform's own limits, on the
//! whole product: every route goes at its own platform's pace, urgent
//! tickets go ahead of the ones still waiting, and neither platform
//! answers a single 429.

use std::time::Duration;

use crate::common::relay::{Scene, SLACK};
use crate::common::until_within;

/// How long the whole burst may take: 7 cards at one per 4 s on Discord.
const BURST: Duration = Duration::from_secs(90);

fn slack_order(scene: &Scene, handles: &[&str]) -> Vec<String> {
    scene
        .slack()
        .messages(SLACK)
        .into_iter()
        .filter(|m| m.bot_id.is_some() && m.thread_ts.is_none())
        .filter_map(|m| {
            handles
                .iter()
                .find(|h| m.text.contains(&format!("@{h} ")))
                .map(|h| (*h).to_owned())
        })
        .collect()
}

fn discord_order(scene: &Scene, handles: &[&str]) -> Vec<String> {
    let cards: Vec<_> = handles
        .iter()
        .filter_map(|h| {
            scene
                .discord_cards(h)
                .first()
                .map(|m| (m.id, (*h).to_owned()))
        })
        .collect();
    let mut cards = cards;
    // Discord's ids grow with time: the order they were posted in.
    cards.sort();
    cards.into_iter().map(|(_, h)| h).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_goes_at_each_platforms_pace_urgent_first_without_a_429() {
    let scene = Scene::start_after(
        &[],
        std::sync::Arc::new(perch::clock::SystemClock),
        |sandbox, _| {
            // Discord far stricter than Slack: one message per 4 s in a
            // channel, told in its rate-limit headers.
            if let Some(d) = &sandbox.discord {
                d.set_rate_limit(1, Duration::from_secs(4));
            }
        },
    )
    .await;
    until_within(BURST, "perch on Discord's gateway", || {
        (scene.discord().identified() > 0).then_some(())
    })
    .await;
    let x = &scene.sandbox.x;
    let wave_one = ["norm1", "norm2", "norm3", "norm4"];
    for who in wave_one {
        x.post(who, "@AcmeSupport where is my parcel?", None, None);
    }
    until_within(BURST, "the first wave on Slack", || {
        (slack_order(&scene, &wave_one).len() == 4).then_some(())
    })
    .await;
    // Slack is done with it; Discord, at a quarter of Slack's pace, is not.
    let wave_two = ["norm5", "norm6", "fire1"];
    x.post("norm5", "@AcmeSupport a question about sizes", None, None);
    x.post("norm6", "@AcmeSupport a question about colours", None, None);
    x.post("fire1", "@AcmeSupport your checkout is down", None, None);
    let everyone: Vec<&str> = wave_one.iter().chain(&wave_two).copied().collect();
    until_within(BURST, "the second wave on Slack", || {
        (slack_order(&scene, &everyone).len() == 7).then_some(())
    })
    .await;
    let discord_then = discord_order(&scene, &everyone);
    assert!(
        discord_then.len() < 4,
        "Slack's second wave waited for Discord's first: Discord had {discord_then:?} when Slack was done"
    );
    let discord = until_within(BURST, "every card on Discord", || {
        let order = discord_order(&scene, &everyone);
        (order.len() == 7).then_some(order)
    })
    .await;
    // The urgent ticket went ahead of every normal one still waiting for
    // Discord when it came in.
    let at = |h: &str| discord.iter().position(|d| d == h).unwrap_or(usize::MAX);
    assert!(
        at("fire1") < at("norm4") && at("fire1") < at("norm5") && at("fire1") < at("norm6"),
        "{discord:?}"
    );
    let slack_posts: Vec<u16> = scene
        .slack()
        .calls("chat.postMessage")
        .iter()
        .map(|c| c.status)
        .collect();
    assert!(
        slack_posts.len() >= 7 && slack_posts.iter().all(|s| *s == 200),
        "{slack_posts:?}"
    );
    let discord_posts: Vec<u16> = scene
        .discord()
        .requests()
        .iter()
        .filter(|(m, _, _)| m == "POST")
        .map(|(_, _, s)| *s)
        .collect();
    assert!(
        discord_posts.len() >= 7 && !discord_posts.contains(&429),
        "{discord_posts:?}"
    );
    scene.stop().await;
}
