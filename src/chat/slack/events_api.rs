//! The Events API over HTTP, for teams that prefer a public URL to Socket
//! Mode. slack-morphism's axum layer checks every request's
//! `X-Slack-Signature` (HMAC-SHA256 of `v0:{timestamp}:{body}` with the
//! signing secret, timestamp within 5 minutes, compared in constant time)
//! before our handlers see it; a bad, stale or missing signature is
//! answered 401. Handlers answer at once (Slack wants 2xx within 3 s and
//! retries otherwise, with `X-Slack-Retry-Num`); retries are dropped by the
//! same dedupe as Socket Mode.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Extension, Json, Router};
use slack_morphism::prelude::*;
use slack_morphism::signature_verifier::{
    SlackEventAbsentSignatureError, SlackEventSignatureVerifierError,
};
use tokio::sync::watch;

use super::socket_mode::{forward, Inbound};
use super::{events, ChatError};

fn on_error(
    err: Box<dyn std::error::Error + Send + Sync>,
    _client: Arc<SlackHyperClient>,
    _state: SlackClientEventsUserState,
) -> HttpStatusCode {
    if err
        .downcast_ref::<SlackEventSignatureVerifierError>()
        .is_some()
        || err
            .downcast_ref::<SlackEventAbsentSignatureError>()
            .is_some()
    {
        tracing::warn!(error = %err, "Slack request with a bad or missing signature refused");
        return HttpStatusCode::UNAUTHORIZED;
    }
    tracing::warn!(error = %err, "Slack request not understood");
    HttpStatusCode::BAD_REQUEST
}

async fn inbound(env: &SlackHyperListenerEnvironment) -> Option<Arc<Inbound>> {
    env.user_state
        .read()
        .await
        .get_user_state::<Arc<Inbound>>()
        .cloned()
}

async fn push(
    Extension(env): Extension<Arc<SlackHyperListenerEnvironment>>,
    Extension(event): Extension<SlackPushEvent>,
) -> Response {
    match event {
        SlackPushEvent::UrlVerification(v) => {
            Json(serde_json::json!({ "challenge": v.challenge })).into_response()
        }
        SlackPushEvent::EventCallback(callback) => {
            if let Some(inbound) = inbound(&env).await {
                if let Some(chat_event) = events::from_push(&callback, &inbound.bot_user) {
                    forward(
                        &inbound,
                        &format!("event/{}", callback.event_id),
                        chat_event,
                    )
                    .await;
                }
            }
            StatusCode::OK.into_response()
        }
        SlackPushEvent::AppRateLimited(_) => {
            tracing::warn!("Slack says the app is rate limited for events");
            StatusCode::OK.into_response()
        }
    }
}

async fn command(
    Extension(env): Extension<Arc<SlackHyperListenerEnvironment>>,
    Extension(event): Extension<SlackCommandEvent>,
) -> Response {
    if let Some(inbound) = inbound(&env).await {
        forward(
            &inbound,
            &format!("trigger/{}", event.trigger_id),
            events::from_command(&event),
        )
        .await;
    }
    // The ephemeral "working on it"; the answer follows from the relay.
    let echo = format!("`/perch {}` …", event.text.as_deref().unwrap_or_default());
    Json(serde_json::json!({ "response_type": "ephemeral", "text": echo })).into_response()
}

async fn interaction(
    Extension(env): Extension<Arc<SlackHyperListenerEnvironment>>,
    Extension(event): Extension<SlackInteractionEvent>,
) -> Response {
    if let (Some(inbound), SlackInteractionEvent::BlockActions(b)) = (inbound(&env).await, &event) {
        if let Some(chat_event) = events::from_interaction(&event) {
            forward(&inbound, &format!("trigger/{}", b.trigger_id), chat_event).await;
        }
    }
    StatusCode::OK.into_response()
}

/// Serves `/slack/events`, `/slack/commands` and `/slack/interactions` on
/// `addr` until `stop`.
pub async fn serve(
    client: Arc<SlackHyperClient>,
    signing_secret: &str,
    addr: SocketAddr,
    state: Inbound,
    mut stop: watch::Receiver<bool>,
) -> Result<(), ChatError> {
    let environment = Arc::new(
        SlackClientEventsListenerEnvironment::new(client)
            .with_error_handler(on_error)
            .with_user_state(Arc::new(state)),
    );
    let listener = SlackEventsAxumListener::new(Arc::clone(&environment));
    let secret = SlackSigningSecret::new(signing_secret.to_owned());
    let app = Router::new()
        .route(
            "/slack/events",
            post(push).layer(
                listener
                    .events_layer(&secret)
                    .with_event_extractor(SlackEventsExtractors::push_event()),
            ),
        )
        .route(
            "/slack/commands",
            post(command).layer(
                listener
                    .events_layer(&secret)
                    .with_event_extractor(SlackEventsExtractors::command_event()),
            ),
        )
        .route(
            "/slack/interactions",
            post(interaction).layer(
                listener
                    .events_layer(&secret)
                    .with_event_extractor(SlackEventsExtractors::interaction_event()),
            ),
        );
    let tcp = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
        ChatError::Unavailable(format!("cannot listen on {addr} (slack.events_addr): {e}"))
    })?;
    tracing::info!(%addr, "Slack Events API listening");
    axum::serve(tcp, app)
        .with_graceful_shutdown(async move {
            let _ = stop.wait_for(|s| *s).await;
        })
        .await
        .map_err(|e| ChatError::Unavailable(e.to_string()))
}
