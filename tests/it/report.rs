//! The figures a lead asks for, on a fixed week of 280 tickets across two
//! accounts, two agents and a weekend: `stats` in Slack, the report from
//! the running perch's HTTP port (CSV and HTML), and `perch report` on the
//! stopped store all say the values worked out by hand below.
//!
//! The fixture, ticket i of 0..280 (opened Monday 23 November 2026 00:00
//! UTC + 36 min × i, so 40 a day through Sunday):
//! - account `acmebilling` for even i, `acme` for odd; origin by i % 4:
//!   mention, mention, search, DM; priority by i % 7: urgent, high, then
//!   normal (2-5), low (6); targets (the sandbox's): 15m, 30m, 1h, 4h;
//! - first answer by i % 5: jo after 10 min, sam after 25, jo after 50, sam
//!   after 180 (5 min more for odd i), none for 4;
//! - answered tickets with i % 8 == 7 stay claimed by whoever answered
//!   (28); the others are resolved 5 min after the answer, the unanswered
//!   two hours after opening; i % 3 == 0 got a second answer; i % 10 == 1
//!   (resolved) was reopened once; a breach went off on every ticket that
//!   missed its target, at its due time;
//! - before the week: one ticket opened Saturday 21 and resolved Tuesday
//!   24 at noon (in Monday's backlog), one opened and resolved on Sunday 22.
//!
//! Worked out (support hours Monday to Friday 08:00-20:00):
//! - 280 tickets, 224 answered (80%); within 30 min 112 (40%), 60 min 168
//!   (60%), 24 h 224 (80%);
//! - first response, nearest rank of 224: median the 112th (30m: 56 of
//!   10-15m, then 56 of 25-30m), p90 the 202nd (185m = 3h 05m); in open
//!   time most answers came at night or at the weekend: median 0s, p90 55m;
//! - targets met: urgent 8/40, high 16/40, normal 96/160, low 32/40; so
//!   128 missed, 128 breaches;
//! - resolved 252 (280 - 28), one-touch 116, reopened 21; backlog now 28
//!   (jo 14, sam 14), at the end of each day 7, 10, 14, 18, 22, 26, 30;
//! - jo answered 112 (median 15m), sam 112 (median 30m); acme and
//!   acmebilling 140 each, 80% answered, medians 30m and 25m.

use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use perch::clock::ManualClock;
use perch::store::Store;
use perch::ticket::targets::{Fired, Step};
use perch::ticket::{
    AccountKey, Author, Claim, Message, Origin, Priority, Resolution, State, Transition, XRef,
};

use crate::common::relay::{sandbox_toml, Ports, Scene, DISCORD, JO_SLACK, SAM_DISCORD, SLACK};
use crate::common::{perch, text, until};

pub fn at(day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, day, hour, 0, 0)
        .single()
        .expect("a date")
}

/// One ticket of the fixture, opened at `opened`, changed by `edit`.
fn put(store: &Store, n: u64, opened: DateTime<Utc>, edit: impl Fn(&mut perch::ticket::Ticket)) {
    let mut new = perch::testing::mention(n);
    new.first_message.at = opened;
    let id = store.open_ticket(new).expect("a ticket").ticket().id;
    store
        .update_ticket(id, None, opened, |t| {
            let mut t = t.clone();
            edit(&mut t);
            Ok(Transition {
                ticket: t,
                effects: Vec::new(),
            })
        })
        .expect("the store")
        .expect("the edit");
}

fn answer(t: &mut perch::ticket::Ticket, by: &str, at: DateTime<Utc>) {
    t.messages.push(Message {
        author: Author::Agent {
            agent: perch::testing::agent(by),
        },
        x_ref: XRef::Tweet {
            id: format!("8{}{}", t.id.get(), t.messages.len())
                .as_str()
                .into(),
        },
        text: "Thanks, on it".to_owned(),
        at,
    });
    t.first_response_at.get_or_insert(at);
    t.last_response_at = Some(at);
}

pub fn week(store: &Store) {
    let monday = at(23, 0);
    for i in 0..280u64 {
        let opened = monday + Duration::minutes(36 * i as i64);
        put(store, 100 + i, opened, |t| {
            t.account = AccountKey::from(if i % 2 == 0 { "acmebilling" } else { "acme" });
            t.origin = match i % 4 {
                2 => Origin::SearchHit {
                    rule: "brand".to_owned(),
                },
                3 => Origin::Dm,
                _ => Origin::Mention,
            };
            t.priority = match i % 7 {
                0 => Priority::Urgent,
                1 => Priority::High,
                6 => Priority::Low,
                _ => Priority::Normal,
            };
            let target = match t.priority {
                Priority::Urgent => 15,
                Priority::High => 30,
                Priority::Normal => 60,
                Priority::Low => 240,
            };
            let due = opened + Duration::minutes(target);
            let first = [(10, "jo"), (25, "sam"), (50, "jo"), (180, "sam")]
                .get(i as usize % 5)
                .map(|(m, by)| (opened + Duration::minutes(m + 5 * (i as i64 % 2)), *by));
            if let Some((first, by)) = first {
                answer(t, by, first);
                if i % 3 == 0 {
                    answer(t, by, first + Duration::minutes(2));
                }
            }
            if first.is_none_or(|(f, _)| f > due) {
                t.alarms.fired.push(Fired {
                    step: Step::Breach,
                    at: due,
                    due_at: due,
                    called: Vec::new(),
                });
            }
            match first {
                Some((f, by)) if i % 8 == 7 => {
                    let mut claim = Claim::new(perch::testing::agent(by), f);
                    claim.last_reply_at = Some(f);
                    t.state = State::Claimed(claim);
                }
                _ => {
                    let done = first.map_or(opened + Duration::hours(2), |(f, _)| {
                        f + Duration::minutes(5)
                    });
                    t.state = State::Resolved(Resolution {
                        by: perch::testing::agent("jo"),
                        at: done,
                        note: None,
                    });
                    t.resolved_at = Some(done);
                    t.reopened = u32::from(i % 10 == 1);
                }
            }
        });
    }
    for (n, opened, resolved) in [(1, at(21, 10), at(24, 12)), (2, at(22, 18), at(22, 19))] {
        put(store, n, opened, |t| {
            t.state = State::Resolved(Resolution {
                by: perch::testing::agent("jo"),
                at: resolved,
                note: None,
            });
            t.resolved_at = Some(resolved);
        });
    }
    // A history: its threads were drawn long ago.
    for (id, revision) in store.needs_sync().expect("the store") {
        store.synced(id, revision).expect("the store");
    }
}

/// The sandbox with support hours Monday to Friday 08:00-20:00 and
/// claims that stay (the week's claims are days old).
pub fn edits() -> Vec<(String, String)> {
    let mut edits = vec![(
        "claim_idle_release = \"30m\"".to_owned(),
        "claim_idle_release = \"30d\"".to_owned(),
    )];
    for day in ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] {
        let hours = if matches!(day, "sat" | "sun") {
            "closed"
        } else {
            "08:00-20:00"
        };
        edits.push((
            format!("{day} = \"00:00-24:00\""),
            format!("{day} = \"{hours}\""),
        ));
    }
    edits
}

/// perch on the sandbox (with `edits()` and `more`) over the fixture week,
/// its clock at `now`.
pub async fn week_scene(more: &[(&str, &str)], now: DateTime<Utc>) -> (Scene, Arc<ManualClock>) {
    let edits = edits();
    let edits: Vec<(&str, &str)> = edits
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .chain(more.iter().copied())
        .collect();
    let clock = Arc::new(ManualClock::new(now));
    let scene = Scene::start_after(&edits, clock.clone(), |_, store| week(store)).await;
    (scene, clock)
}

/// What each format must say: (section, about, figure, as a person reads
/// it, as CSV has it).
const EXPECTED: &[(&str, &str, &str, &str, &str)] = &[
    ("all", "", "tickets", "280", "280"),
    ("all", "", "answered", "224", "224"),
    ("all", "", "answered %", "80%", "80"),
    ("all", "", "answered within 30 min %", "40%", "40"),
    ("all", "", "answered within 60 min %", "60%", "60"),
    ("all", "", "answered within 24 h %", "80%", "80"),
    ("all", "", "first response median", "30m", "1800"),
    ("all", "", "first response p90", "3h 05m", "11100"),
    (
        "all",
        "",
        "first response median in support hours",
        "0s",
        "0",
    ),
    (
        "all",
        "",
        "first response p90 in support hours",
        "55m",
        "3300",
    ),
    ("all", "", "breaches", "128", "128"),
    ("all", "", "resolved", "252", "252"),
    ("all", "", "one-touch", "116", "116"),
    ("all", "", "reopened", "21", "21"),
    ("all", "", "backlog now", "28", "28"),
    ("all", "", "backlog at the end of the first day", "7", "7"),
    ("priority", "urgent", "tickets", "40", "40"),
    ("priority", "urgent", "target", "15m", "900"),
    ("priority", "urgent", "met", "8", "8"),
    ("priority", "urgent", "missed", "32", "32"),
    ("priority", "urgent", "pending", "0", "0"),
    ("priority", "urgent", "met %", "20%", "20"),
    ("priority", "high", "met", "16", "16"),
    ("priority", "high", "missed", "24", "24"),
    ("priority", "high", "met %", "40%", "40"),
    ("priority", "normal", "tickets", "160", "160"),
    ("priority", "normal", "met", "96", "96"),
    ("priority", "normal", "missed", "64", "64"),
    ("priority", "normal", "met %", "60%", "60"),
    ("priority", "low", "met", "32", "32"),
    ("priority", "low", "missed", "8", "8"),
    ("priority", "low", "met %", "80%", "80"),
    ("agent", "Jo Doe", "answered first", "112", "112"),
    ("agent", "Jo Doe", "first response median", "15m", "900"),
    ("agent", "Jo Doe", "holding now", "14", "14"),
    ("agent", "Sam Lee", "answered first", "112", "112"),
    ("agent", "Sam Lee", "first response median", "30m", "1800"),
    ("agent", "Sam Lee", "holding now", "14", "14"),
    ("account", "acme", "tickets", "140", "140"),
    ("account", "acme", "answered", "112", "112"),
    ("account", "acmebilling", "tickets", "140", "140"),
    ("account", "acmebilling", "answered %", "80%", "80"),
    ("account", "acme", "first response median", "30m", "1800"),
    (
        "account",
        "acmebilling",
        "first response median",
        "25m",
        "1500",
    ),
    ("origin", "DM", "tickets", "70", "70"),
    ("origin", "DM", "answered", "56", "56"),
    ("origin", "DM", "first response median", "30m", "1800"),
    ("origin", "mention", "tickets", "140", "140"),
    ("origin", "mention", "first response median", "30m", "1800"),
    ("origin", "search", "tickets", "70", "70"),
    ("origin", "search", "first response median", "25m", "1500"),
    ("origin", "search", "answered %", "80%", "80"),
    ("day", "2026-11-23", "tickets", "40", "40"),
    ("day", "2026-11-23", "backlog", "7", "7"),
    ("day", "2026-11-24", "backlog", "10", "10"),
    ("day", "2026-11-25", "backlog", "14", "14"),
    ("day", "2026-11-26", "backlog", "18", "18"),
    ("day", "2026-11-27", "backlog", "22", "22"),
    ("day", "2026-11-28", "backlog", "26", "26"),
    ("day", "2026-11-29", "tickets", "40", "40"),
    ("day", "2026-11-29", "backlog", "30", "30"),
];

fn check_csv(csv: &str) {
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("a CSV record")).collect();
    for (section, about, figure, _, raw) in EXPECTED {
        let found = rows
            .iter()
            .find(|r| &r[0] == *section && &r[1] == *about && &r[2] == *figure)
            .unwrap_or_else(|| panic!("no {section}/{about}/{figure} in\n{csv}"));
        assert_eq!(&found[3], *raw, "{section}/{about}/{figure}");
    }
    let unanswered = rows.iter().filter(|r| &r[0] == "unanswered").count();
    let breaches = rows.iter().filter(|r| &r[0] == "breach").count();
    assert_eq!(
        (unanswered, breaches),
        (56, 128),
        "the lists behind the figures"
    );
}

fn check_html(html: &str) {
    for (section, about, figure, human, _) in EXPECTED {
        let cell = format!(
            "data-section=\"{section}\" data-about=\"{about}\" data-figure=\"{figure}\">{}</td>",
            human.replace('&', "&amp;")
        );
        assert!(html.contains(&cell), "{cell} not in the page");
    }
    for chart in ["volume", "first-response", "heatmap", "backlog"] {
        assert!(
            html.contains(&format!("<svg id=\"{chart}\"")),
            "the {chart} chart"
        );
    }
    assert!(
        !html.contains("<script"),
        "the report reads offline, with no script"
    );
}

pub const TOKEN: &str = "sandbox-sandbox_report_token";

#[test]
fn perch_report_reads_a_stopped_store_and_writes_each_format() {
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("data");
    week(&Store::open(&data).expect("a store"));
    let edits = edits();
    let edits: Vec<(&str, &str)> = edits
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let config = dir.path().join("perch.toml");
    std::fs::write(&config, sandbox_toml(&data, &Ports::free(), &edits)).expect("the config");
    let report = |format: &str, out: Option<&std::path::Path>| {
        let mut cmd = perch();
        cmd.args([
            "report",
            "--since",
            "2026-11-23",
            "--format",
            format,
            "--config",
        ])
        .arg(&config);
        if let Some(out) = out {
            cmd.arg("--out").arg(out);
        }
        let done = cmd.output().expect("perch report");
        let (stdout, stderr) = text(&done);
        assert!(done.status.success(), "{stderr}");
        stdout
    };
    check_csv(&report("csv", None));
    let page = Path::new(env!("CARGO_TARGET_TMPDIR")).join("report");
    std::fs::create_dir_all(&page).expect("the output directory");
    let page = page.join("week.html");
    report("html", Some(&page));
    check_html(&std::fs::read_to_string(&page).expect("the page"));
    let md = report("md", None);
    assert!(md.contains("|  | answered within 60 min % | 60% |"), "{md}");
    assert!(md.contains("## Unanswered (56)"), "{md}");
    let refused = perch()
        .args(["report", "--since", "forever", "--config"])
        .arg(&config)
        .output()
        .expect("perch report");
    assert!(!refused.status.success());
    assert!(
        text(&refused).1.contains("try today, 24h, 7d"),
        "{}",
        text(&refused).1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_perch_says_the_hand_counted_figures_in_chat_and_on_its_port() {
    let (scene, _) = week_scene(&[], at(30, 9)).await;

    scene
        .slack()
        .slash_command(SLACK, JO_SLACK, "stats since 2026-11-23");
    let said = scene.told(JO_SLACK, "280 tickets").await;
    for line in [
        "Since 2026-11-23 00:00 UTC: 280 tickets, 224 answered (80%); within 30 min 40%, 60 min 60%, 24 h 80%.",
        "First response: median 30m, p90 3h 05m; in support hours median 0s, p90 55m.",
        "Targets met: urgent 8/40 · high 16/40 · normal 96/160 · low 32/40.",
        "Breaches 128. Resolved 252, one-touch 116, reopened 21. Backlog now 28 (end of the first day 7).",
        "Agents: Jo Doe answered 112 (median 15m), holds 14 · Sam Lee answered 112 (median 30m), holds 14.",
        "Accounts: acme 140 (80% answered) · acmebilling 140 (80% answered).",
        "Origins: DM 70 (80% answered) · mention 140 (80% answered) · search 70 (80% answered).",
    ] {
        assert!(said.contains(line), "`{line}` not in:\n{said}");
    }

    // The same answer on Discord, to whoever asked.
    scene.discord().slash_command(
        DISCORD,
        SAM_DISCORD,
        "Sam",
        &[],
        "stats",
        Some("since 2026-11-23"),
    );
    let on_discord = until("the stats on Discord", || {
        scene
            .discord()
            .followups()
            .into_iter()
            .map(|(_, body)| body["content"].as_str().unwrap_or_default().to_owned())
            .find(|c| c.contains("280 tickets"))
    })
    .await;
    assert!(
        on_discord.contains("Targets met: urgent 8/40 · high 16/40 · normal 96/160 · low 32/40."),
        "{on_discord}"
    );

    // The running perch's report, behind its token.
    let addr = scene.config.service.health_addr;
    let url = format!("http://{addr}/report");
    let client = reqwest::Client::new();
    let get = |format: &'static str, token: &'static str| {
        client
            .get(&url)
            .query(&[("since", "2026-11-23"), ("format", format)])
            .bearer_auth(token)
            .send()
    };
    let refused = get("csv", "wrong").await.expect("an answer");
    assert_eq!(refused.status().as_u16(), 401);
    let csv = get("csv", TOKEN).await.expect("an answer");
    assert_eq!(csv.status().as_u16(), 200);
    check_csv(&csv.text().await.expect("a body"));
    check_html(
        &get("html", TOKEN)
            .await
            .expect("an answer")
            .text()
            .await
            .expect("a body"),
    );

    // The last 24 hours (Sunday 09:00 to Monday 09:00, i = 255..279) on
    // /metrics: 25 opened, 20 answered, 10 within 30 min, 15 within 60,
    // 12 breaches (due in those hours), median 30m, p90 3h.
    let metrics = client
        .get(format!("http://{addr}/metrics"))
        .send()
        .await
        .expect("an answer")
        .text()
        .await
        .expect("a body");
    for line in [
        "perch_last_day_tickets{figure=\"opened\"} 25",
        "perch_last_day_tickets{figure=\"answered\"} 20",
        "perch_last_day_tickets{figure=\"answered_within_30m\"} 10",
        "perch_last_day_tickets{figure=\"answered_within_60m\"} 15",
        "perch_last_day_tickets{figure=\"breached\"} 12",
        "perch_last_day_first_response_seconds{quantile=\"0.5\"} 1800.0",
        "perch_last_day_first_response_seconds{quantile=\"0.9\"} 10800.0",
    ] {
        assert!(
            metrics.lines().any(|l| l == line),
            "`{line}` not in\n{metrics}"
        );
    }

    // `perch report` asks the running perch: its store is in use.
    let dir = tempfile::tempdir().expect("dir");
    let config = dir.path().join("perch.toml");
    std::fs::write(&config, &scene.source).expect("the config");
    let asked = perch()
        .args([
            "report",
            "--since",
            "2026-11-23",
            "--format",
            "csv",
            "--config",
        ])
        .arg(&config)
        .env("SANDBOX_REPORT_TOKEN", TOKEN)
        .output()
        .expect("perch report");
    let (stdout, stderr) = text(&asked);
    assert!(asked.status.success(), "{stderr}");
    check_csv(&stdout);
    scene.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_report_is_off_without_a_token_and_says_how_to_turn_it_on() {
    let edits = [("report_token_env = \"SANDBOX_REPORT_TOKEN\"", "")];
    let scene = Scene::start_with(&edits).await;
    let addr = scene.config.service.health_addr;
    let answer = reqwest::get(format!("http://{addr}/dashboard"))
        .await
        .expect("an answer");
    assert_eq!(answer.status().as_u16(), 404);
    let said = answer.text().await.expect("a body");
    assert!(said.contains("service.report_token_env"), "{said}");
    scene.stop().await;
}
