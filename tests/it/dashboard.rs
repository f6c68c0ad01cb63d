//! The dashboard and the HTML report in a real browser: Debian's Chromium,
//! headless, loads them from the running perch; the page it built (its
//! DOM after rendering) must hold the queue, the figures and the charts,
//! and its screenshot must show the charts drawn. The screenshots are
//! kept in the test's output directory (`target/tmp/dashboard/`).
//! Without Chromium (scripts/test installs it where it can) the test says
//! so and passes.

use std::path::Path;
use std::process::Command;

use crate::common::browser::chromium;
use crate::report::{at, week_scene, TOKEN};

/// Headless Chromium on `url` with `what` (`--dump-dom` or
/// `--screenshot=…`); what it printed.
fn browse(browser: &Path, url: &str, what: &str) -> String {
    let profile = tempfile::tempdir().expect("a profile directory");
    let out = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--hide-scrollbars",
            "--window-size=1280,2200",
            "--virtual-time-budget=2000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(what)
        .arg(url)
        .output()
        .expect("chromium runs");
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// How many pixels of the screenshot have `rgb` (the charts' colours).
fn pixels_of(png: &Path, rgb: [u8; 3]) -> usize {
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(png).expect("the screenshot"),
    ));
    let mut reader = decoder.read_info().expect("a PNG");
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).expect("a frame");
    let step = info.color_type.samples();
    buf[..info.buffer_size()]
        .chunks(step)
        .filter(|p| p.len() >= 3 && p[..3] == rgb)
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_and_the_report_render_in_chromium() {
    let Some(browser) = chromium() else {
        eprintln!(
            "SKIPPED the_dashboard_and_the_report_render_in_chromium: no Chromium found (install Debian's chromium package, as scripts/test does, or set PERCH_CHROMIUM)"
        );
        return;
    };
    let (scene, _) = week_scene(&[], at(30, 9)).await;
    let addr = scene.config.service.health_addr;
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("dashboard");
    std::fs::create_dir_all(&out).expect("the output directory");
    let dashboard = format!("http://{addr}/dashboard?token={TOKEN}&since=2026-11-23");
    let report = format!("http://{addr}/report?token={TOKEN}&since=2026-11-23&format=html");

    let browser_ = browser.clone();
    let (dom, shots) = tokio::task::spawn_blocking(move || {
        let dom = browse(&browser_, &dashboard, "--dump-dom");
        let mut shots = Vec::new();
        for (name, url) in [("dashboard", &dashboard), ("report", &report)] {
            let shot = out.join(format!("{name}.png"));
            browse(&browser_, url, &format!("--screenshot={}", shot.display()));
            shots.push(shot);
        }
        (dom, shots)
    })
    .await
    .expect("the browser ran");

    // The queue as agents see it: the 28 claimed tickets with holder and age.
    let queue_rows = dom.matches("<tr data-ticket=").count();
    assert_eq!(queue_rows, 28, "the queue's rows");
    assert!(dom.contains("<h2>Queue (28)</h2>"), "the queue's heading");
    assert!(dom.contains("<td>Jo Doe</td>") && dom.contains("<td>Sam Lee</td>"));
    // The headline figures and every chart, as Chromium built the page.
    for figure in [
        "data-figure=\"tickets\"><b>280</b>",
        "data-figure=\"answered %\"><b>80%</b>",
        "data-figure=\"answered within 60 min %\"><b>60%</b>",
        "data-figure=\"first response median\"><b>30m</b>",
        "data-figure=\"breaches\"><b>128</b>",
        "data-figure=\"backlog now\"><b>28</b>",
    ] {
        assert!(dom.contains(figure), "{figure} not in the page");
    }
    for chart in ["volume", "first-response", "heatmap", "backlog"] {
        assert!(
            dom.contains(&format!("<svg id=\"{chart}\"")),
            "the {chart} chart"
        );
    }
    // The screenshots show the charts drawn: the kept-target green of the
    // bars, and the blue of the heatmap and the backlog line.
    for shot in &shots {
        let green = pixels_of(shot, [0x2e, 0xb6, 0x7d]);
        let blue = pixels_of(shot, [0x12, 0x64, 0xa3]);
        assert!(
            green > 500 && blue > 500,
            "{}: {green} green and {blue} blue pixels",
            shot.display()
        );
        eprintln!("screenshot: {}", shot.display());
    }
    scene.stop().await;
}
