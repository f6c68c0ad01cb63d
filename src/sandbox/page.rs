//! The sandbox's page, on perch's health port at `/sandbox`: X, Slack and
//! Discord side by side, played by a person. The page is a thin client of
//! the fakes' control APIs (it reads them, acts through them and follows
//! their `/_sandbox/events`); what it is served here is where they are,
//! who the people are, and the scene: what it has said so far, its own
//! events, and a way to play it again.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use super::run::Sandbox;
use super::scene::Narration;
use crate::clock::AheadClock;
use crate::config::{AgentConfig as Agent, Config};

/// A person who is in the sandbox's Slack and Discord but is no agent:
/// perch refuses them, and the page shows how.
pub const NOT_AN_AGENT: (&str, u64, &str) = ("U0PATKIM1", 1_400_000_000_000_000_099, "Pat Kim");

/// What the page and the scene play on.
pub struct Stage {
    pub config: Config,
    pub sandbox: Arc<Sandbox>,
    pub clock: Arc<AheadClock>,
    pub narration: Arc<Narration>,
}

impl Stage {
    /// Plays the scene, unless it is playing already (then `false`).
    pub async fn play(&self) -> bool {
        if !self.narration.begin() {
            return false;
        }
        let played = super::scene::play(&self.config, &self.sandbox, &self.clock, &self.narration);
        if let Err(e) = played.await {
            self.narration
                .tell(&format!("\nThe scene stopped early: {e:#}\n"));
        }
        self.narration.end();
        true
    }
}

pub fn routes(stage: Arc<Stage>) -> Router {
    Router::new()
        .route("/sandbox", get(page))
        .route("/sandbox/scene", get(scene).post(replay))
        .route("/sandbox/scene/events", get(scene_events))
        .with_state(stage)
}

/// The agents with an id on a platform (`id_of`), then Pat, who is none.
fn people(config: &Config, id_of: impl Fn(&Agent) -> Option<String>, pat: String) -> Vec<Value> {
    let role = |lead: bool| if lead { "lead" } else { "agent" };
    let mut people: Vec<Value> = config
        .agents
        .iter()
        .filter_map(|a| Some(json!({ "id": id_of(a)?, "name": a.name, "role": role(a.lead) })))
        .collect();
    people.push(json!({ "id": pat, "name": NOT_AN_AGENT.2, "role": "not an agent" }));
    people
}

/// Where each fake is and who is in it, for the page.
fn setting(stage: &Stage) -> Value {
    let config = &stage.config;
    let account = config.accounts.first();
    let routes = account.map(|a| &a.routes);
    let slack = stage.sandbox.slack.as_ref().map(|s| {
        let slack_id = |a: &Agent| a.slack_user.as_ref().map(|u| u.as_str().to_owned());
        json!({
            "url": format!("http://{}", s.addr()),
            "channel": routes.and_then(|r| r.slack_channels.first()).map(|c| c.as_str()),
            "bot": super::slack::BOT_USER,
            "people": people(config, slack_id, NOT_AN_AGENT.0.to_owned()),
        })
    });
    let discord = stage.sandbox.discord.as_ref().map(|d| {
        let discord_id = |a: &Agent| a.discord_user.as_ref().map(|u| u.as_str().to_owned());
        json!({
            "url": d.url(),
            "channel": routes.and_then(|r| r.discord_channels.first()).map(|c| c.as_str()),
            "people": people(config, discord_id, NOT_AN_AGENT.1.to_string()),
        })
    });
    json!({
        "x": { "url": stage.sandbox.x.base_url(), "handle": account.map(|a| a.handle.as_str()) },
        "slack": slack,
        "discord": discord,
    })
}

/// `GET /sandbox`: the page.
async fn page(State(stage): State<Arc<Stage>>) -> Response {
    // Inside a <script> element nothing may close it early.
    let setting = setting(&stage).to_string().replace("</", "<\\/");
    let html = include_str!("page.html")
        .replace("/*STYLE*/", include_str!("page.css"))
        .replace("/*SCRIPT*/", include_str!("page.js"))
        .replace("{/*SETTING*/}", &setting);
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        html,
    )
        .into_response()
}

/// `GET /sandbox/scene`: what the scene has said, and whether it plays.
async fn scene(State(stage): State<Arc<Stage>>) -> Json<Value> {
    let (lines, playing) = stage.narration.read();
    Json(json!({ "lines": lines, "playing": playing }))
}

/// `GET /sandbox/scene/events`: an event at each line the scene says.
async fn scene_events(State(stage): State<Arc<Stage>>) -> impl IntoResponse {
    stage.narration.changes().events()
}

/// `POST /sandbox/scene`: plays the scene again (409 while it plays).
async fn replay(State(stage): State<Arc<Stage>>) -> Response {
    if stage.narration.read().1 {
        return (StatusCode::CONFLICT, "the scene is playing").into_response();
    }
    let playing = Arc::clone(&stage);
    tokio::spawn(async move { playing.play().await });
    (StatusCode::ACCEPTED, "the scene plays again").into_response()
}
