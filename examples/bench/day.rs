//! A day of X traffic at a known price: mentions and DMs (delivered by
//! the X Activity API) and brand search hits (on the filtered stream),
//! one every `gap`, interleaved. Measures what X billed per item perch
//! received (each item should be billed once), perch's own count of the
//! month's spend against the fake X's bill, and how long a customer's post
//! took to become a card at Slack.

use std::net::SocketAddr;
use std::time::Duration;

use perch::sandbox::run::Sandbox;

use crate::flow::{slack_card_at, wait_for, wait_until};
use crate::probe::p50_p99;
use crate::Table;

const ACME: &str = "1500000000000000001";

/// How many of each come in a day.
pub struct Day {
    pub mentions: usize,
    pub dms: usize,
    pub hits: usize,
    pub gap: Duration,
}

impl Day {
    fn total(&self) -> usize {
        self.mentions + self.dms + self.hits
    }
}

/// perch's count of the month's X spend, in micro-dollars.
async fn perch_spent(health: SocketAddr) -> anyhow::Result<u64> {
    let said: serde_json::Value = reqwest::get(format!("http://{health}/healthz"))
        .await?
        .json()
        .await?;
    let dollars = said["x_spend"]["spent_usd"].as_f64().unwrap_or(0.0);
    Ok((dollars * 1_000_000.0).round() as u64)
}

pub async fn run(
    fakes: &Sandbox,
    health: SocketAddr,
    day: &Day,
    table: &mut Table,
) -> anyhow::Result<()> {
    let n = day.total();
    let bill_before = fakes.x.bill();
    // A cached store keeps the month's count of earlier runs; the fake X
    // bills this run only.
    let perch_before = perch_spent(health).await?;
    let mut posted = Vec::with_capacity(n);
    for i in 0..n {
        let handle = format!("day{i}");
        let at = chrono::Utc::now().timestamp_micros();
        // Mixed as they would come: a fixed shuffle of the day's kinds
        // (7919 is prime, so this visits every slot once).
        let which = (i * 7919) % n;
        if which < day.mentions {
            fakes
                .x
                .post(&handle, "@AcmeSupport my order has not arrived", None, None);
        } else if which < day.mentions + day.dms {
            fakes.x.dm(&handle, ACME, "hello, my parcel is lost");
        } else {
            fakes
                .x
                .post(&handle, "thinking of returning my akme blender", None, None);
        }
        posted.push((handle, at));
        // The workload, not a wait: the next customer writes a little later.
        tokio::time::sleep(day.gap).await;
    }
    let limit = Duration::from_secs(60) + day.gap * u32::try_from(n).unwrap_or(u32::MAX);
    let cards = wait_for("every card of the day at Slack", limit, || {
        posted
            .iter()
            .map(|(h, at)| slack_card_at(fakes, h).map(|card| card - at))
            .collect::<Option<Vec<i64>>>()
    })
    .await?;
    let waits = cards
        .into_iter()
        .map(|us| Duration::from_micros(u64::try_from(us).unwrap_or(0)))
        .collect();
    let (p50, p99) = p50_p99(waits);
    table.put(
        &format!("a day ({} mentions, {} DMs, {} search hits, one every {} ms): post -> its Slack card's request, p50 / p99", day.mentions, day.dms, day.hits, day.gap.as_millis()),
        "p50 < 2 s",
        0,
        format!("{p50:.0} / {p99:.0} ms"),
    );
    // Every count settled: what perch counted for the day as the bill says.
    let billed = wait_until(
        "perch's count of the day's spend equal to X's bill for it",
        Duration::from_secs(30),
        || async {
            let bill = fakes.x.bill().micros.saturating_sub(bill_before.micros);
            let perch = perch_spent(health).await?.saturating_sub(perch_before);
            Ok((perch == bill).then_some((bill, perch)))
        },
    )
    .await;
    let bill = fakes.x.bill();
    let count = |items: &std::collections::BTreeMap<&str, u64>, keys: &[&str]| -> u64 {
        keys.iter()
            .map(|k| items.get(k).copied().unwrap_or(0))
            .sum()
    };
    let item_reads = [
        "post_read",
        "dm_event_read",
        "mention_event",
        "dm_received_event",
    ];
    let reads = count(&bill.items, &item_reads) - count(&bill_before.items, &item_reads);
    table.put(
        "a day: X's billed reads of items (posts, DM events, events) per item received",
        "<= 1.05",
        0,
        format!("{:.3} ({reads} for {n})", reads as f64 / n.max(1) as f64),
    );
    let users = count(&bill.items, &["user_read"]) - count(&bill_before.items, &["user_read"]);
    table.put(
        "a day: user reads billed",
        "",
        0,
        format!("{users} for {n} new customers"),
    );
    let spent = bill.micros - bill_before.micros;
    let said = match billed {
        Ok(_) => "perch counted the same".to_owned(),
        Err(_) => format!(
            "perch counted ${:.3}",
            perch_spent(health).await?.saturating_sub(perch_before) as f64 / 1e6
        ),
    };
    table.put(
        "a day: X's bill for it, and perch's count of it",
        "equal",
        0,
        format!("${:.3}; {said}", spent as f64 / 1e6),
    );
    Ok(())
}
