//! The sandbox's page in a real browser, played as a person would: the
//! real `perch sandbox` runs; Debian's Chromium, headless and driven over
//! the DevTools protocol, loads the page; the test types and clicks in it
//! (no control API called from here) and reads what the page shows.
//!
//! One ticket goes through Slack (a customer's post, claim, inline reply,
//! resolve, the customer writes again, reopened), one through Discord (a
//! DM, the same), then someone who is not an agent is refused in private,
//! and the scene plays in the page. Screenshots go to the test's output
//! directory (`target/tmp/sandbox-page/`). Without Chromium the test says
//! so and passes.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chromiumoxide::browser::{Browser, BrowserConfig};
use chromiumoxide::page::ScreenshotParams;
use chromiumoxide::Page;
use futures_util::StreamExt;
use serde_json::Value;

use crate::common::browser::chromium;
use crate::common::relay::{sandbox_toml, Ports};
use crate::common::try_until;
use crate::sandbox::start_sandbox;

/// How long any one thing may take to show.
const SHOW: Duration = Duration::from_secs(30);

/// Waits until `js` (an expression) gives something other than null,
/// false or an empty string, and returns it.
async fn until(page: &Page, what: &str, js: &str) -> Value {
    until_within(SHOW, page, what, js).await
}

async fn until_within(within: Duration, page: &Page, what: &str, js: &str) -> Value {
    let shown = try_until(within, || async {
        let got = page.evaluate(js).await.ok()?.into_value::<Value>().ok()?;
        match &got {
            Value::Null | Value::Bool(false) => None,
            Value::String(s) if s.is_empty() => None,
            _ => Some(got),
        }
    })
    .await;
    if let Some(got) = shown {
        return got;
    }
    let panes = page
        .evaluate("document.body.innerText")
        .await
        .ok()
        .and_then(|r| r.into_value::<String>().ok())
        .unwrap_or_default();
    panic!("the page never showed {what} ({js}); it shows:\n{panes}");
}

/// Clicks what `selector` finds, as a mouse would. The page redraws a
/// pane when its fake changes: a node replaced between finding and
/// clicking is found again.
async fn click(page: &Page, selector: &str) {
    let failed = RefCell::new(String::new());
    let failed_ = &failed;
    let clicked = try_until(SHOW, move || async move {
        let clicking = async { page.find_element(selector).await?.click().await.map(|_| ()) };
        clicking
            .await
            .map_err(|e| *failed_.borrow_mut() = e.to_string())
            .ok()
    })
    .await;
    if clicked.is_none() {
        panic!("cannot click {selector}: {}", failed.borrow());
    }
}

/// Types `text` into the box `selector` finds (emptied first), then
/// presses Enter when `enter`. A box replaced by a redraw while typing is
/// emptied and typed into again.
async fn type_in(page: &Page, selector: &str, text: &str, enter: bool) {
    let failed = RefCell::new(String::new());
    let failed_ = &failed;
    let typed = try_until(SHOW, move || async move {
        let empty = format!(
            "(() => {{ const b = document.querySelector({selector:?}); b.value = ''; b.dispatchEvent(new Event('input', {{ bubbles: true }})); }})()"
        );
        let typing = async {
            page.evaluate(empty).await?;
            let the_box = page.find_element(selector).await?;
            the_box.click().await?.type_str(text).await?;
            if enter {
                the_box.press_key("Enter").await?;
            }
            Ok::<_, chromiumoxide::error::CdpError>(())
        };
        typing
            .await
            .map_err(|e| *failed_.borrow_mut() = e.to_string())
            .ok()
    })
    .await;
    if typed.is_none() {
        panic!("cannot type in {selector}: {}", failed.borrow());
    }
}

/// Chooses who one is in a pane, as the select box does.
async fn be(page: &Page, select: &str, name: &str) {
    let js = format!(
        "(() => {{ const s = document.querySelector({select:?});
          const o = [...s.options].find((o) => o.text.startsWith({name:?}));
          s.value = o.value; s.dispatchEvent(new Event('change')); return o.value; }})()"
    );
    until(page, &format!("{name} in {select}"), &js).await;
}

async fn shoot(page: &Page, dir: &Path, name: &str) {
    let path = dir.join(format!("{name}.png"));
    page.save_screenshot(ScreenshotParams::builder().full_page(true).build(), &path)
        .await
        .unwrap_or_else(|e| panic!("screenshot {}: {e}", path.display()));
}

/// The `data-ts` of the Slack card whose text has `words`.
fn slack_card(words: &str) -> String {
    format!(
        "[...document.querySelectorAll('#slack-feed .root > .msg')].find((m) => m.innerText.includes({words:?}))?.dataset.ts"
    )
}

/// The id of the Discord card whose embed has `words`.
fn discord_card(words: &str) -> String {
    format!(
        "[...document.querySelectorAll('#discord-feed .root > .msg')].find((m) => m.querySelector('.embed') && m.innerText.includes({words:?}))?.dataset.id"
    )
}

/// The text of what `selector` finds, when it has `words`.
fn shows(selector: &str, words: &str) -> String {
    format!(
        "(() => {{ const e = document.querySelector({selector:?}); return !!e && e.innerText.includes({words:?}); }})()"
    )
}

struct Chromium {
    browser: Browser,
    handler: tokio::task::JoinHandle<()>,
    _profile: tempfile::TempDir,
}

async fn launch(path: PathBuf) -> Chromium {
    let profile = tempfile::tempdir().expect("a profile directory");
    let config = BrowserConfig::builder()
        .chrome_executable(path)
        .no_sandbox()
        .user_data_dir(profile.path())
        .window_size(1600, 1000)
        .args(["--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"])
        .build()
        .expect("a browser config");
    let (browser, mut events) = Browser::launch(config).await.expect("chromium starts");
    let handler = tokio::spawn(async move { while events.next().await.is_some() {} });
    Chromium {
        browser,
        handler,
        _profile: profile,
    }
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_plays_a_ticket_through_the_page_on_slack_and_on_discord() {
    let Some(path) = chromium() else {
        eprintln!(
            "SKIPPED a_person_plays_a_ticket_through_the_page_on_slack_and_on_discord: no Chromium found (install Debian's chromium package, as scripts/test does, or set PERCH_CHROMIUM)"
        );
        return;
    };
    let dir = tempfile::tempdir().expect("dir");
    let ports = Ports::free();
    let config = dir.path().join("sandbox.toml");
    std::fs::write(&config, sandbox_toml(&dir.path().join("data"), &ports, &[])).expect("write");
    let deadline = Instant::now() + Duration::from_secs(60);
    let (sandbox, guide) =
        tokio::task::spawn_blocking(move || start_sandbox(&config, &["--no-scene"], deadline))
            .await
            .expect("the sandbox");
    let url = format!("http://{}/sandbox", ports.health);
    assert!(guide.contains(&url), "{guide}");
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("sandbox-page");
    std::fs::create_dir_all(&shots).expect("the output directory");

    let mut chromium = launch(path).await;
    let page = chromium
        .browser
        .new_page(url.as_str())
        .await
        .expect("the page");
    until(
        &page,
        "the panes",
        "document.querySelector('#slack-who').options.length >= 3",
    )
    .await;

    slack_ticket(&page, &shots).await;
    discord_ticket(&page, &shots).await;
    not_an_agent(&page).await;
    the_scene(&page, &shots).await;

    let _ = chromium.browser.close().await;
    let _ = chromium.handler.await;
    drop(sandbox);
}

/// dana posts; Sam claims in Slack, answers in the thread, resolves; dana
/// writes again and the ticket is open again.
async fn slack_ticket(page: &Page, shots: &Path) {
    type_in(page, "#x-from", "dana", false).await;
    type_in(page, "#x-text", "@AcmeSupport my parcel never came", false).await;
    click(page, "#x-post").await;
    let ts = until(
        page,
        "dana's card in Slack",
        &slack_card("my parcel never came"),
    )
    .await;
    let ts = ts.as_str().expect("a ts").to_owned();
    until(page, "dana's card in Discord", &discord_card("dana")).await;
    shoot(page, shots, "1-a-customer-posts").await;

    be(page, "#slack-who", "Sam Lee").await;
    let card = format!("#slack-feed .msg[data-ts='{ts}']");
    click(page, &format!("{card} [data-action='perch_claim']")).await;
    until(page, "the claim on the card", &shows(&card, "Sam Lee")).await;

    click(page, &format!("[data-thread='{ts}']")).await;
    let reply = format!("[data-keep='slack-reply-{ts}']");
    until(
        page,
        "the thread's box",
        &format!("!!document.querySelector({reply:?})"),
    )
    .await;
    type_in(page, &reply, "So sorry! A new parcel ships today.", true).await;
    until(
        page,
        "the reply on X",
        &shows("#x-feed", "@dana So sorry! A new parcel ships today."),
    )
    .await;
    let thread = format!("[data-thread-of='{ts}']");
    until(
        page,
        "the thread saying it was sent",
        &shows(&thread, "Sent as a public reply"),
    )
    .await;
    shoot(page, shots, "2-claimed-and-answered-in-slack").await;

    type_in(page, &reply, "@perch resolve sent a new parcel", true).await;
    until(page, "the card resolved", &shows(&card, "resolved")).await;

    // dana answers the brand's reply on X.
    let ours = "[...document.querySelectorAll('#x-feed .post.brand')].find((p) => p.innerText.includes('new parcel ships'))?.dataset.post";
    let ours = until(page, "the brand's reply", ours).await;
    let ours = ours.as_str().expect("a post id");
    click(page, &format!("[data-reply='{ours}']")).await;
    type_in(page, "#x-text", "thanks, but it still has not come", false).await;
    click(page, "#x-post").await;
    until(
        page,
        "dana's answer in the thread",
        &shows(&thread, "it still has not come"),
    )
    .await;
    let reopened = format!(
        "(() => {{ const t = document.querySelector(\"{card}\").innerText; return !t.includes('resolved') && t.includes('open'); }})()"
    );
    until(page, "the card open again", &reopened).await;
    shoot(page, shots, "3-reopened-when-the-customer-writes-again").await;
}

/// erin sends a DM; Sam claims on Discord, answers in the thread,
/// resolves; erin writes again and the ticket is open again.
async fn discord_ticket(page: &Page, shots: &Path) {
    type_in(page, "#x-from", "erin", false).await;
    type_in(page, "#x-text", "hello, I was charged twice", false).await;
    click(page, "#x-dm").await;
    let id = until(page, "erin's card in Discord", &discord_card("erin")).await;
    let id = id.as_str().expect("an id").to_owned();

    be(page, "#discord-who", "Sam Lee").await;
    let card = format!("#discord-feed .msg[data-id='{id}']");
    click(page, &format!("{card} [data-custom-id^='perch_claim:']")).await;
    until(page, "the claim on the card", &shows(&card, "Sam Lee")).await;

    click(page, &format!("[data-thread='{id}']")).await;
    let reply = format!("[data-keep='discord-reply-{id}']");
    until(
        page,
        "the thread's box",
        &format!("!!document.querySelector({reply:?})"),
    )
    .await;
    type_in(page, &reply, "Refunded the second charge just now.", true).await;
    let dm = "[...document.querySelectorAll('#x-feed .post.brand')].some((p) => p.dataset.kind === 'dm' && p.innerText.includes('Refunded the second charge'))";
    until(page, "the DM on X", dm).await;
    let thread = format!("[data-thread-of='{id}']");
    until(
        page,
        "the thread saying it was sent",
        &shows(&thread, "Sent as a DM"),
    )
    .await;
    shoot(page, shots, "4-claimed-and-answered-in-discord").await;

    type_in(page, &reply, "/perch resolve refunded", true).await;
    until(page, "the card resolved", &shows(&card, "resolved")).await;

    type_in(page, "#x-text", "one more question about that", false).await;
    click(page, "#x-dm").await;
    until(
        page,
        "erin's DM in the thread",
        &shows(&thread, "one more question"),
    )
    .await;
    let reopened = format!(
        "(() => {{ const t = document.querySelector(\"{card}\").innerText; return !t.includes('resolved') && t.includes('open'); }})()"
    );
    until(page, "the card open again", &reopened).await;
    shoot(page, shots, "5-reopened-on-discord").await;
}

/// Pat is in both chats but is no agent: perch answers them in private,
/// and the page shows it to Pat only.
async fn not_an_agent(page: &Page) {
    be(page, "#slack-who", "Pat Kim").await;
    type_in(page, "#slack-command-text", "/perch queue", true).await;
    until(
        page,
        "Pat's private answer in Slack",
        "[...document.querySelectorAll('#slack-feed .ephemeral')].some((e) => e.innerText.includes('Only visible to you'))",
    )
    .await;
    be(page, "#slack-who", "Jo Doe").await;
    until(
        page,
        "Jo not seeing Pat's answer",
        "document.querySelectorAll('#slack-feed .ephemeral').length === 0",
    )
    .await;
}

/// The scene plays in the page.
async fn the_scene(page: &Page, shots: &Path) {
    click(page, "#scene-play").await;
    until(
        page,
        "the scene's first step",
        &shows("#scene-lines", "@dana mentions"),
    )
    .await;
    // The scene waits on perch at each step (a minute at most, always).
    let end = shows("#scene-lines", "the scene is over");
    until_within(Duration::from_secs(120), page, "the scene's end", &end).await;
    let stopped = page
        .evaluate("document.querySelector('#scene-lines').innerText.includes('stopped early')")
        .await
        .ok()
        .and_then(|r| r.into_value::<bool>().ok());
    assert_eq!(stopped, Some(false));
    shoot(page, shots, "6-the-scene").await;
}
