//! The weekly digest goes to the channels once a week, at the configured
//! day and time, whatever restarts happen in between.

use std::time::Duration;

use crate::common::relay::{Scene, DISCORD, SLACK};
use crate::common::{never, until};
use crate::report::{at, week_scene};

const DIGEST: &str = "Weekly digest.";

fn slack_digests(scene: &Scene) -> Vec<String> {
    scene
        .slack()
        .messages(SLACK)
        .into_iter()
        .filter(|m| m.thread_ts.is_none() && m.text.contains(DIGEST))
        .map(|m| m.text)
        .collect()
}

fn discord_digests(scene: &Scene) -> usize {
    scene
        .discord()
        .messages(DISCORD)
        .iter()
        .filter(|m| m.content.contains(DIGEST))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_weekly_digest_goes_once_a_week_across_restarts() {
    let digest = (
        "[oncall]",
        "[digest]\nweekly = \"mon 09:00\"\nreport_url = \"https://perch.example.com/report\"\n\n[oncall]",
    );
    let minutes = chrono::Duration::minutes;
    let (mut scene, clock) = week_scene(&[digest], at(30, 9) - minutes(1)).await;
    never(
        "a digest before Monday 09:00",
        Duration::from_secs(3),
        || !slack_digests(&scene).is_empty(),
    )
    .await;

    // Monday 09:01: the seven days since Monday 23 09:01 hold the fixture's
    // tickets from i = 16 on: 264, of which 211 answered.
    clock.set(at(30, 9) + minutes(1));
    let said = until("the digest in Slack", || slack_digests(&scene).pop()).await;
    assert!(said.contains("264 tickets, 211 answered (80%)"), "{said}");
    assert!(said.contains("Breaches "), "{said}");
    assert!(
        said.contains("The full report: https://perch.example.com/report"),
        "{said}"
    );
    until("the digest on Discord", || {
        (discord_digests(&scene) == 1).then_some(())
    })
    .await;

    // Started again the same morning: not again.
    scene.restart(clock.clone()).await;
    clock.set(at(30, 9) + minutes(5));
    never(
        "a second digest the same week",
        Duration::from_secs(3),
        || slack_digests(&scene).len() > 1 || discord_digests(&scene) > 1,
    )
    .await;

    // The next Monday: the next one.
    clock.set(at(30, 9) + chrono::Duration::days(7) + minutes(1));
    until("next week's digest", || {
        (slack_digests(&scene).len() == 2 && discord_digests(&scene) == 2).then_some(())
    })
    .await;
    scene.stop().await;
}
