//! perch is killed (SIGKILL) at random moments while customers tweet and
//! DM and agents reply from Slack and Discord, then started again; at the
//! end every customer's ticket has exactly one card per route, and every
//! reply (the agents', and perch's own off-hours replies) reached X
//! exactly once (perch never even tried to post one twice: X's
//! duplicate-content refusal never fired). Replies go at once or after
//! an undo window, as the seed chooses.
//!
//! The fakes live in this test process and outlive each perch; perch is
//! the real binary (`perch run`) against them.

use std::collections::BTreeMap;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::common::relay::{
    closed_until_day_after_tomorrow, config, discord_cards, replies_to, sandbox_toml, slack_cards,
    until, Ports, ACME_ID, DISCORD, JO_DISCORD, JO_SLACK, SLACK,
};
use crate::common::{http_get, perch};
use perch::sandbox::run::{fake_secret, Sandbox};

/// How the sandbox's off-hours reply starts.
const OFF_HOURS: &str = "Thanks! Our team is offline right now";

/// At least 30 by the issue; `PERCH_CRASH_ROUNDS` raises it.
fn rounds() -> usize {
    std::env::var("PERCH_CRASH_ROUNDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(30)
}

struct Perch {
    config_path: std::path::PathBuf,
    secrets: Vec<(String, String)>,
    health: std::net::SocketAddr,
    logs: std::path::PathBuf,
}

impl Perch {
    fn start(&self, round: usize) -> Child {
        let log = std::fs::File::create(self.logs.join(format!("perch-{round}.log"))).expect("log");
        let mut cmd = perch();
        cmd.env("PERCH_LOG", "info")
            .args(["run", "--config"])
            .arg(&self.config_path)
            .stdout(Stdio::null())
            .stderr(Stdio::from(log));
        for (k, v) in &self.secrets {
            cmd.env(k, v);
        }
        cmd.spawn().expect("spawn perch run")
    }

    async fn wait_healthy(&self) {
        until("perch's health endpoint", || {
            http_get(self.health, "/healthz")
                .ok()
                .filter(|(s, _)| *s == 200)
        })
        .await;
        crate::common::receiving(self.health, "acme").await;
    }
}

/// What was asked of perch: each customer's handle (one ticket each), and
/// each reply an agent wrote, by ticket kind.
#[derive(Default)]
struct Asked {
    public: Vec<(String, String)>,
    dms: Vec<String>,
    public_replies: Vec<(String, String)>,
    dm_replies: Vec<String>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_tweet_gets_one_card_per_route_and_every_reply_goes_once_across_sigkills() {
    let dir = tempfile::tempdir().expect("dir");
    let ports = Ports::free();
    // Off hours, so every new ticket also gets an automatic reply, which
    // must go out once like the agents' replies.
    let ((from, to), _) = closed_until_day_after_tomorrow();
    let seed = std::env::var("PERCH_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..));
    let mut rng = fastrand::Rng::with_seed(seed);
    // Half the seeds send replies at once, half after a 5 s undo window
    // that kills land in (each reply is written waiting, and released
    // when its time is up, whichever perch is running then).
    let mode = if rng.bool() {
        "send_mode = \"undo\"\nundo_window = \"5s\""
    } else {
        "send_mode = \"direct\""
    };
    // PERCH_CRASH_SEED=<seed> plays the same run again.
    println!("seed: {seed}; {mode}");
    let source = sandbox_toml(
        &dir.path().join("data"),
        &ports,
        &[(from, to.as_str()), ("send_mode = \"direct\"", mode)],
    );
    let cfg = config(&source);
    let sandbox = Sandbox::start(&cfg).await.expect("fakes");
    let (x, slack, discord) = (
        &sandbox.x,
        sandbox.slack.as_ref().expect("slack"),
        sandbox.discord.as_ref().expect("discord"),
    );
    // X and Slack take a moment to answer, as the real ones do: a kill
    // then often lands after the work was done and before perch heard.
    x.set_delay("POST /2/tweets", Duration::from_millis(400));
    x.set_delay(
        "POST /2/dm_conversations/with/:id/messages",
        Duration::from_millis(400),
    );
    slack.set_delay("chat.postMessage", Duration::from_millis(150));
    // A seed can make more than X's 100 public posts per 15 minutes, and a
    // held reply would wait out the window: this test gives the account a
    // limit it cannot cross. Replies held by X's limit are tested in
    // relay_limits.rs.
    for endpoint in [
        "POST /2/tweets",
        "POST /2/dm_conversations/with/:id/messages",
    ] {
        x.set_rate_limit(endpoint, 10_000, Duration::from_secs(15 * 60));
    }
    let config_path = dir.path().join("perch.toml");
    std::fs::write(&config_path, &source).expect("config");
    let perch = Perch {
        config_path,
        secrets: cfg
            .secrets()
            .iter()
            .map(|e| (e.name.clone(), fake_secret(&e.name)))
            .collect(),
        health: ports.health,
        logs: dir.path().to_owned(),
    };

    let mut asked = Asked::default();
    for round in 0..rounds() {
        let mut child = perch.start(round);
        perch.wait_healthy().await;
        let kill_at = Instant::now() + Duration::from_millis(rng.u64(100..1500));
        // A stream of customers and replies until the kill.
        let mut step = 0;
        while Instant::now() < kill_at {
            match rng.u8(0..4) {
                0 => {
                    let handle = format!("c{round}x{step}");
                    let post = x.post(
                        &handle,
                        &format!("@AcmeSupport help {round}.{step}"),
                        None,
                        None,
                    );
                    asked.public.push((handle, post.id));
                }
                1 if round % 3 == 0 => {
                    let handle = format!("d{round}x{step}");
                    x.dm(&handle, ACME_ID, &format!("dm help {round}.{step}"));
                    asked.dms.push(handle);
                }
                _ => reply_somewhere(&mut rng, &mut asked, slack, discord, round, step),
            }
            step += 1;
            tokio::time::sleep(Duration::from_millis(rng.u64(50..400))).await;
        }
        child.kill().expect("SIGKILL");
        child.wait().expect("reap");
    }

    // Once more, to the end.
    let mut child = perch.start(rounds());
    perch.wait_healthy().await;
    let settled = tokio::time::timeout(Duration::from_secs(240), async {
        loop {
            if missing(&asked, &sandbox).is_empty() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    })
    .await;
    let left = missing(&asked, &sandbox);
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        settled.is_ok(),
        "after {} kills, still missing: {left:#?}\n(logs in {})",
        rounds(),
        dir.keep().display()
    );
    let duplicates: Vec<_> = x
        .requests_to("POST /2/tweets")
        .into_iter()
        .filter(|r| r.status == 403)
        .map(|r| r.body)
        .collect();
    assert!(
        duplicates.is_empty(),
        "perch tried to post again: {duplicates:#?}"
    );
    println!(
        "{} kills; {} public and {} DM tickets; {} public and {} DM replies, each once",
        rounds(),
        asked.public.len(),
        asked.dms.len(),
        asked.public_replies.len(),
        asked.dm_replies.len()
    );
}

/// Jo replies in a random existing ticket thread, from Slack or Discord.
fn reply_somewhere(
    rng: &mut fastrand::Rng,
    asked: &mut Asked,
    slack: &perch::sandbox::slack::FakeSlack,
    discord: &perch::sandbox::discord::FakeDiscord,
    round: usize,
    step: usize,
) {
    let public: Vec<(String, String)> = asked.public.clone();
    let mut customers: Vec<(String, Option<String>)> = public
        .into_iter()
        .map(|(h, id)| (h, Some(id)))
        .chain(asked.dms.iter().map(|h| (h.clone(), None)))
        .collect();
    rng.shuffle(&mut customers);
    let words = format!("reply {round}.{step}");
    for (handle, post) in customers {
        let sent = if rng.bool() {
            slack_cards(slack, &handle).first().map(|card| {
                slack.thread_reply(SLACK, &card.ts, JO_SLACK, &words);
            })
        } else {
            // A person can write only in a thread that exists.
            let cards = discord_cards(discord, &handle);
            let card = cards.first().filter(|c| discord.channel(c.id).is_some());
            card.map(|card| {
                discord.user_message(card.id, JO_DISCORD, "Jo", &[], &words);
            })
        };
        if sent.is_some() {
            match post {
                Some(id) => asked
                    .public_replies
                    .push((id, format!("@{handle} {words} ^JD"))),
                None => asked.dm_replies.push(format!("{words}\n^JD")),
            }
            return;
        }
    }
}

/// What is not (yet) as it must end: each problem named.
fn missing(asked: &Asked, sandbox: &Sandbox) -> Vec<String> {
    let (x, slack, discord) = (
        &sandbox.x,
        sandbox.slack.as_ref().expect("slack"),
        sandbox.discord.as_ref().expect("discord"),
    );
    let mut problems = Vec::new();
    for handle in asked.public.iter().map(|(h, _)| h).chain(asked.dms.iter()) {
        let (s, d) = (
            slack_cards(slack, handle).len(),
            discord_cards(discord, handle).len(),
        );
        if (s, d) != (1, 1) {
            problems.push(format!("@{handle}: {s} Slack and {d} Discord cards"));
        }
    }
    let posted = x.posted();
    for (post, text) in &asked.public_replies {
        let n = replies_to(&posted, post)
            .iter()
            .filter(|p| &p.text == text)
            .count();
        if n != 1 {
            problems.push(format!("{text:?} posted {n} times"));
        }
    }
    for (handle, post) in &asked.public {
        let n = replies_to(&posted, post)
            .iter()
            .filter(|p| p.text.starts_with(&format!("@{handle} {OFF_HOURS}")))
            .count();
        if n != 1 {
            problems.push(format!("@{handle}'s off-hours reply posted {n} times"));
        }
    }
    let mut dms: BTreeMap<String, usize> = BTreeMap::new();
    let mut off_hours_dms: BTreeMap<String, usize> = BTreeMap::new();
    for dm in x.sent_dms() {
        let text = dm.text.unwrap_or_default();
        if text.starts_with(OFF_HOURS) {
            *off_hours_dms
                .entry(dm.dm_conversation_id.unwrap_or_default())
                .or_default() += 1;
        }
        *dms.entry(text).or_default() += 1;
    }
    // Each DM customer is new: one conversation each, one reply in each.
    if off_hours_dms.len() != asked.dms.len() || off_hours_dms.values().any(|n| *n != 1) {
        problems.push(format!(
            "{} DM customers, off-hours DMs per conversation: {off_hours_dms:?}",
            asked.dms.len()
        ));
    }
    for text in &asked.dm_replies {
        let n = dms.get(text).copied().unwrap_or(0);
        if n != 1 {
            problems.push(format!("DM {text:?} sent {n} times"));
        }
    }
    let _ = DISCORD;
    problems
}
