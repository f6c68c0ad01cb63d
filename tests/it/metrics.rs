//! `GET /metrics`: what perch did, counted as it happened, and the store's
//! state read when scraped; the Grafana dashboard in bot-config reads only
//! metrics perch serves.

use crate::common::relay::{until, Scene, JO_SLACK, SLACK};
use crate::common::{http_get, repo_path};

/// perch's metrics now (status, body).
async fn scrape(scene: &Scene) -> (u16, String) {
    let addr = scene.health_addr();
    tokio::task::spawn_blocking(move || http_get(addr, "/metrics"))
        .await
        .expect("join")
        .expect("metrics answer")
}

/// The value of the sample `series` (name and labels, as written).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_what_came_in_what_went_out_and_what_waits() {
    let scene = Scene::start().await;
    let (post, slack, _) = scene.mention("dana", "my order never arrived").await;
    scene
        .slack()
        .thread_reply(SLACK, &slack.ts, JO_SLACK, "A replacement ships today.");
    until("the reply on X", || {
        scene.replies_to(&post.id).into_iter().next()
    })
    .await;
    let wanted = [
        (
            r#"perch_x_items_ingested_total{account="acme",source="webhook"}"#,
            1.0,
        ),
        (
            r#"perch_x_ingest_lag_seconds_count{account="acme",source="webhook"}"#,
            1.0,
        ),
        (
            r#"perch_replies_sent_total{account="acme",kind="public"}"#,
            1.0,
        ),
        (
            r#"perch_x_requests_total{account="acme",endpoint="POST /2/tweets",status="201"}"#,
            1.0,
        ),
        (r#"perch_tickets{state="claimed"}"#, 1.0),
        (r#"perch_tickets{state="open"}"#, 0.0),
        (r#"perch_outbox_replies{state="waiting"}"#, 0.0),
    ];
    let addr = scene.health_addr();
    let (status, text) = until("the reply's counts in the metrics", || {
        http_get(addr, "/metrics")
            .ok()
            .filter(|(_, text)| wanted.iter().all(|(s, v)| sample(text, s) == Some(*v)))
    })
    .await;
    assert_eq!(status, 200);
    assert!(text.ends_with("# EOF\n"), "OpenMetrics text: {text}");
    // Polls (the brand search) were counted, with their status, and
    // nothing was refused.
    let polls = sample(
        &text,
        r#"perch_x_requests_total{account="acme",endpoint="GET /2/tweets/search/recent",status="200"}"#,
    );
    assert!(polls.is_some_and(|n| n >= 1.0), "{text}");
    assert!(!text.contains("perch_replies_refused_total{"), "{text}");
    // The cards went to both platforms through the pacer.
    for platform in ["slack", "discord"] {
        let series = format!(r#"perch_chat_posts_total{{platform="{platform}"}}"#);
        let posts = sample(&text, &series);
        assert!(posts.is_some_and(|n| n >= 1.0), "{platform}: {text}");
    }
    scene.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_grafana_dashboard_reads_only_metrics_perch_serves() {
    let scene = Scene::start().await;
    let (_, text) = scrape(&scene).await;
    scene.stop().await;
    let path = repo_path("bot-config/grafana/perch-dashboard.json");
    let raw = std::fs::read_to_string(&path).expect("the dashboard");
    let dashboard: serde_json::Value = serde_json::from_str(&raw).expect("dashboard JSON");
    let panels = dashboard["panels"].as_array().expect("panels");
    let names = regex::Regex::new(r"perch_[a-z_]+").expect("pattern");
    let mut checked = 0;
    for target in panels
        .iter()
        .flat_map(|p| p["targets"].as_array().into_iter().flatten())
    {
        let expr = target["expr"].as_str().expect("expr");
        for name in names.find_iter(expr).map(|m| m.as_str()) {
            let family = ["_total", "_bucket", "_count", "_sum"]
                .iter()
                .find_map(|s| name.strip_suffix(s))
                .unwrap_or(name);
            assert!(
                perch::metrics::NAMES.contains(&family),
                "the dashboard reads {name}, which perch does not serve"
            );
            checked += 1;
        }
    }
    assert!(
        checked >= 12,
        "the dashboard's queries were read ({checked})"
    );
    // What has happened already is served under those names.
    let served: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE ")?.split(' ').next())
        .collect();
    assert!(served.len() >= 6, "{text}");
    assert!(
        served.iter().all(|n| perch::metrics::NAMES.contains(n)),
        "{text}"
    );
}
