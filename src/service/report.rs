//! `GET /report` and `GET /dashboard` on perch's HTTP port, both behind
//! the token `service.report_token_env` names (off when it is unset):
//! the report of a period in any format (what `perch report` asks a
//! running perch for), and the live page a lead keeps open: the queue as
//! agents see it, today's figures (or `?since=`) and the charts, redrawn
//! every 30 s.

use std::collections::HashMap;
use std::fmt::Write;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use chrono::{DateTime, Utc};
use html_escape::encode_text as esc;
use subtle::ConstantTimeEq;

use crate::clock::Clock;
use crate::config::{secrets::Secret, Config};
use crate::relay::reports;
use crate::report::{page, Format, Report};
use crate::store::Store;
use crate::ticket::figures::{short, Span};
use crate::ticket::{State as TicketState, Ticket};

pub(super) struct Shared {
    pub store: Store,
    pub config: Config,
    pub token: Option<Secret>,
    pub clock: Arc<dyn Clock>,
}

pub(super) fn routes(shared: Shared) -> Router {
    Router::new()
        .route("/report", get(report))
        .route("/dashboard", get(dashboard))
        .with_state(Arc::new(shared))
}

type Params = Query<HashMap<String, String>>;

fn answer(status: StatusCode, text: impl Into<String>) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        text.into(),
    )
        .into_response()
}

/// `None` when the request may see the figures; else the answer saying
/// why not.
fn refused(shared: &Shared, headers: &HeaderMap, params: &Params) -> Option<Response> {
    let Some(token) = &shared.token else {
        return Some(answer(
            StatusCode::NOT_FOUND,
            "The report and the dashboard are off: set service.report_token_env to the name of an environment variable holding a token.",
        ));
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .or(params.get("token").map(String::as_str))
        .unwrap_or_default();
    if bool::from(given.as_bytes().ct_eq(token.expose().as_bytes())) {
        return None;
    }
    Some(answer(
        StatusCode::UNAUTHORIZED,
        "A token is needed: `Authorization: Bearer <token>` or `?token=<token>`, the value of the variable service.report_token_env names.",
    ))
}

async fn report(State(shared): State<Arc<Shared>>, headers: HeaderMap, params: Params) -> Response {
    if let Some(refusal) = refused(&shared, &headers, &params) {
        return refusal;
    }
    let span = match Span::parse(params.get("since").map_or("7d", String::as_str)) {
        Ok(span) => span,
        Err(e) => return answer(StatusCode::BAD_REQUEST, format!("since: {e}")),
    };
    let asked = params.get("format").map_or("html", String::as_str);
    let Some(format) = Format::parse(asked) else {
        return answer(
            StatusCode::BAD_REQUEST,
            format!("format: `{asked}` is not one of md, csv, html"),
        );
    };
    let now = shared.clock.now();
    let since = span.since(now, shared.config.zone());
    let shared = Arc::clone(&shared);
    let drawn = tokio::task::spawn_blocking(move || {
        reports::render(&shared.store, &shared.config, since, now, Some(format))
    })
    .await;
    match drawn {
        Ok(Ok(body)) => ([(header::CONTENT_TYPE, format.content_type())], body).into_response(),
        Ok(Err(e)) => answer(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot read the store: {e}"),
        ),
        Err(e) => answer(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("the report failed: {e}"),
        ),
    }
}

async fn dashboard(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    params: Params,
) -> Response {
    if let Some(refusal) = refused(&shared, &headers, &params) {
        return refusal;
    }
    let now = shared.clock.now();
    let zone = shared.config.zone();
    let span = match params.get("since").map(|s| Span::parse(s)) {
        None => Span::Since(now.with_timezone(&zone).date_naive()),
        Some(Ok(span)) => span,
        Some(Err(e)) => return answer(StatusCode::BAD_REQUEST, format!("since: {e}")),
    };
    let shared = Arc::clone(&shared);
    let drawn = tokio::task::spawn_blocking(move || -> Result<String, crate::store::StoreError> {
        let config = &shared.config;
        let since = span.since(now, zone);
        let figures = reports::figures(&shared.store, config, since, now)?;
        let names = |id: &crate::ticket::AgentId| reports::agent_name(config, id);
        let report = Report {
            figures: &figures,
            names: &names,
            spend: reports::spend_line(&shared.store, config, now),
        };
        let queue = shared.store.active()?;
        Ok(page(&report, Some(&live(&queue, now))))
    })
    .await;
    match drawn {
        Ok(Ok(body)) => {
            ([(header::CONTENT_TYPE, Format::Html.content_type())], body).into_response()
        }
        Ok(Err(e)) => answer(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot read the store: {e}"),
        ),
        Err(e) => answer(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("the dashboard failed: {e}"),
        ),
    }
}

/// The queue as agents see it: most urgent and oldest first, with who
/// holds each ticket and when its answer is due; the page reloads itself.
fn live(active: &[Ticket], now: DateTime<Utc>) -> String {
    let mut queue: Vec<&Ticket> = active.iter().collect();
    queue.sort_by_key(|t| (t.priority, t.created_at));
    let mut out = format!(
        "<meta http-equiv=\"refresh\" content=\"30\"><h2>Queue ({})</h2><table id=\"queue\"><tr><th>ticket</th><th>priority</th><th>customer</th><th>origin</th><th>holder</th><th>age</th><th>answer due</th></tr>",
        queue.len()
    );
    for t in queue {
        let holder = match &t.state {
            TicketState::Claimed(c) => c.holder.name.clone(),
            _ => "unclaimed".to_owned(),
        };
        let due = match t
            .alarms
            .due_at
            .filter(|_| t.alarms.basis.is_some_and(|b| b.since.is_some()))
        {
            Some(due) if due < now => format!("late by {}", short(now - due)),
            Some(due) => format!("in {}", short(due - now)),
            None => String::new(),
        };
        let _ = write!(
            out,
            "<tr data-ticket=\"{}\"><td>{}</td><td>{}</td><td>@{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            t.id,
            t.id,
            t.priority,
            esc(&t.customer.handle),
            t.origin.label(),
            esc(&holder),
            short(now - t.created_at),
            esc(&due)
        );
    }
    out.push_str("</table>");
    out
}
