//! What a customer and an agent wait for, measured on the fakes' own
//! clocks (each fake notes when it answered): from the X Activity API
//! event (or the X poll) that brought a mention to its card's request at
//! Slack and at Discord, and
//! from an agent's thread reply to the reply's request at X. Polling and
//! platform pacing are left out: mentions come one at a time, further
//! apart than either platform's pace. Then a burst, which is all pacing:
//! how close each platform comes to what its limits allow, its 429s, and
//! where the urgent tickets land.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use perch::sandbox::run::Sandbox;

use crate::probe::p50_p99;
use crate::Table;

const SLACK: &str = "C0SUPPORT1";
const DISCORD: u64 = 1_100_000_000_000_000_001;
const AGENT: &str = "U0SAMLEE1";
/// Further apart than a post a second in a channel (both platforms).
const APART: Duration = Duration::from_millis(1100);

/// Until `probe` finds what it looks for (an error ends the wait at once).
pub async fn wait_until<T, F>(
    what: &str,
    limit: Duration,
    mut probe: impl FnMut() -> F,
) -> anyhow::Result<T>
where
    F: std::future::Future<Output = anyhow::Result<Option<T>>>,
{
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = probe().await? {
            return Ok(v);
        }
        anyhow::ensure!(Instant::now() < deadline, "no {what} in {limit:?}");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// `wait_until` for a probe of the fakes' state.
pub async fn wait_for<T>(
    what: &str,
    limit: Duration,
    mut probe: impl FnMut() -> Option<T>,
) -> anyhow::Result<T> {
    wait_until(what, limit, || std::future::ready(Ok(probe()))).await
}

/// When X had post `id` out to perch: the X Activity API event it made
/// for the webhook (the sandbox's way), or the first mentions poll that
/// returned it.
fn arrived_at(fakes: &Sandbox, id: &str) -> Option<i64> {
    let needle = format!("\"id\":\"{id}\"");
    let delivered = fakes
        .x
        .deliveries()
        .into_iter()
        .find(|d| d.delivered == Some(true) && d.body.contains(&needle))
        .map(|d| d.at.timestamp_micros());
    delivered.or_else(|| {
        fakes
            .x
            .requests_to("GET /2/users/:id/mentions")
            .into_iter()
            .find(|r| r.response.contains(&needle))
            .map(|r| r.at_us)
    })
}

/// When Slack answered the request that posted `handle`'s card.
pub fn slack_card_at(fakes: &Sandbox, handle: &str) -> Option<i64> {
    let needle = format!("@{handle} ");
    fakes
        .slack
        .as_ref()?
        .calls("chat.postMessage")
        .into_iter()
        .find(|c| {
            c.status == 200
                && c.body.get("thread_ts").is_none()
                && c.body["text"].as_str().is_some_and(|t| t.contains(&needle))
        })
        .map(|c| c.at_us)
}

/// When Discord answered the request that posted `handle`'s card.
fn discord_card_at(fakes: &Sandbox, handle: &str) -> Option<i64> {
    let (path, needle) = (
        format!("/channels/{DISCORD}/messages"),
        format!("(@{handle})"),
    );
    fakes
        .discord
        .as_ref()?
        .calls()
        .into_iter()
        .find(|c| {
            c.method == "POST"
                && c.status == 200
                && c.path.ends_with(&path)
                && c.body["embeds"][0]["title"]
                    .as_str()
                    .is_some_and(|t| t.contains(&needle))
        })
        .map(|c| c.at_us)
}

fn micros(d: i64) -> Duration {
    Duration::from_micros(u64::try_from(d).unwrap_or(0))
}

/// Until perch's health says no ticket is left to draw: every thread is
/// linked, so a reply written in one is perch's to take.
async fn drawn(health: SocketAddr) -> anyhow::Result<()> {
    let url = format!("http://{health}/healthz");
    wait_until(
        "health with no ticket left to draw",
        Duration::from_secs(30),
        || async {
            let said: serde_json::Value = reqwest::get(&url).await?.json().await?;
            Ok((said["tickets_to_redraw"] == 0).then_some(()))
        },
    )
    .await
}

/// The path one ticket at a time: `n` mentions, each answered by an agent.
pub async fn one_at_a_time(
    fakes: &Sandbox,
    health: SocketAddr,
    n: usize,
    col: usize,
    table: &mut Table,
) -> anyhow::Result<()> {
    let slack = fakes
        .slack
        .as_ref()
        .ok_or_else(|| anyhow::anyhow!("the bench config has Slack"))?;
    let (mut to_slack, mut to_discord, mut to_x) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..n {
        let handle = format!("path{col}x{i}");
        let post = fakes
            .x
            .post(&handle, "@AcmeSupport my order has not arrived", None, None);
        let (polled, at_slack, at_discord) =
            wait_for("card on both platforms", Duration::from_secs(60), || {
                Some((
                    arrived_at(fakes, &post.id)?,
                    slack_card_at(fakes, &handle)?,
                    discord_card_at(fakes, &handle)?,
                ))
            })
            .await?;
        to_slack.push(micros(at_slack - polled));
        to_discord.push(micros(at_discord - polled));
        let card = wait_for("the Slack card's ts", Duration::from_secs(10), || {
            slack
                .messages(SLACK)
                .into_iter()
                .find(|m| m.thread_ts.is_none() && m.text.contains(&format!("@{handle} ")))
        })
        .await?;
        // A reply counts once perch has linked the thread.
        drawn(health).await?;
        let words = format!("on its way, ref {col}-{i}");
        let asked = chrono::Utc::now().timestamp_micros();
        slack.thread_reply(SLACK, &card.ts, AGENT, &words);
        let sent = wait_for("the reply at X", Duration::from_secs(30), || {
            fakes
                .x
                .requests_to("POST /2/tweets")
                .into_iter()
                .find(|r| r.body.contains(&words))
                .map(|r| r.at_us)
        })
        .await?;
        to_x.push(micros(sent - asked));
        // The workload, not a wait: the next mention comes after both
        // platforms' pace has let the last post through.
        tokio::time::sleep(APART).await;
    }
    for (name, samples) in [
        (
            "mention out to perch -> its Slack card's request, p50 / p99",
            to_slack,
        ),
        (
            "mention out to perch -> its Discord card's request, p50 / p99",
            to_discord,
        ),
        ("agent's Slack reply -> its request at X, p50 / p99", to_x),
    ] {
        let (p50, p99) = p50_p99(samples);
        table.put(name, "", col, format!("{p50:.0} / {p99:.0} ms"));
    }
    Ok(())
}

/// How soon a fixed window of `per` posts per `window` lets `n` posts
/// through (the first at once).
fn fastest_in_windows(n: usize, per: usize, window: Duration) -> Duration {
    window * u32::try_from(n.div_ceil(per).saturating_sub(1)).unwrap_or(u32::MAX)
}

/// When each of `handles`' cards was answered on `platform` (with which
/// mention it was), once all are there.
async fn every_card(
    fakes: &Sandbox,
    handles: &[String],
    limit: Duration,
    platform: &str,
    card_at: fn(&Sandbox, &str) -> Option<i64>,
) -> anyhow::Result<Vec<(i64, usize)>> {
    wait_for(&format!("every card on {platform}"), limit, || {
        handles
            .iter()
            .enumerate()
            .map(|(i, h)| card_at(fakes, h).map(|t| (t, i)))
            .collect()
    })
    .await
}

/// `n` mentions at once, the last tenth urgent.
pub async fn burst(fakes: &Sandbox, n: usize, table: &mut Table) -> anyhow::Result<()> {
    let urgent = n / 10;
    let handles: Vec<String> = (0..n).map(|i| format!("burst{i}")).collect();
    let slack_before = fakes
        .slack
        .as_ref()
        .map_or(0, |s| s.calls("chat.postMessage").len());
    let discord_before = fakes.discord.as_ref().map_or(0, |d| d.calls().len());
    for (i, h) in handles.iter().enumerate() {
        let words = if i >= n - urgent {
            "@AcmeSupport the app is down for me"
        } else {
            "@AcmeSupport a question about my order"
        };
        fakes.x.post(h, words, None, None);
    }
    let limit =
        Duration::from_secs(60) + Duration::from_secs(2) * u32::try_from(n).unwrap_or(u32::MAX);
    let slack = every_card(fakes, &handles, limit, "Slack", slack_card_at).await?;
    let discord = every_card(fakes, &handles, limit, "Discord", discord_card_at).await?;
    let slack_429 = fakes.slack.as_ref().map_or(0, |s| {
        s.calls("chat.postMessage")[slack_before..]
            .iter()
            .filter(|c| c.status == 429)
            .count()
    });
    let discord_429 = fakes.discord.as_ref().map_or(0, |d| {
        d.calls()[discord_before..]
            .iter()
            .filter(|c| c.status == 429)
            .count()
    });
    // What the fakes allow, as Slack and Discord do: Slack a post a second
    // in a channel after a burst of 3; Discord 5 per 5 s.
    let allowed = [
        (
            "Slack",
            slack,
            Duration::from_secs(u64::try_from(n.saturating_sub(3)).unwrap_or(0)),
            slack_429,
        ),
        (
            "Discord",
            discord,
            fastest_in_windows(n, 5, Duration::from_secs(5)),
            discord_429,
        ),
    ];
    for (platform, mut cards, fastest, limited) in allowed {
        cards.sort_unstable();
        let took = micros(cards.last().map_or(0, |c| c.0) - cards.first().map_or(0, |c| c.0));
        let share = fastest.as_secs_f64() / took.as_secs_f64().max(1e-9) * 100.0;
        table.put(
            &format!("burst of {n}: cards on {platform} (share of what it allows), 429s"),
            ">= 95%, 0",
            0,
            format!("{:.1} s ({share:.0}%), {limited}", took.as_secs_f64()),
        );
        let late_urgent = cards
            .iter()
            .rposition(|c| c.1 >= n - urgent)
            .map_or(0, |p| p + 1);
        table.put(
            &format!("burst of {n}: the last of {urgent} urgent cards on {platform} was card"),
            "first",
            0,
            format!("{late_urgent} of {n}"),
        );
    }
    Ok(())
}
