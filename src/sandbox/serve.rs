//! What every fake is built on: its state behind one lock, shared by its
//! handlers, and an HTTP server on a loopback address that stops when the
//! fake is dropped.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// A free port on 127.0.0.1.
pub const ANY_PORT: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 0);

/// A fake's state, shared by its handlers and its control API.
pub type Shared<S> = Arc<Mutex<S>>;

/// The state, also after a handler panicked while holding it: every fake
/// changes its state in steps that leave it consistent.
pub fn lock<S>(state: &Mutex<S>) -> MutexGuard<'_, S> {
    state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A listener on `addr`, and the address it got (the port, when `addr`
/// asks for any).
pub async fn bind(addr: SocketAddr) -> std::io::Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    Ok((listener, addr))
}

/// A fake being served; dropping it stops the server.
pub struct Served {
    task: JoinHandle<()>,
}

impl Drop for Served {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serves `app` on `listener`, with `beside` (a fake's own timers) running
/// as long as it does. `name` says which fake stopped, if one does.
pub fn serve<F>(name: &'static str, listener: TcpListener, app: Router, beside: F) -> Served
where
    F: Future<Output = ()> + Send + 'static,
{
    let task = tokio::spawn(async move {
        tokio::select! {
            served = axum::serve(listener, app) => {
                if let Err(e) = served {
                    tracing::error!(error = %e, "fake {name} stopped");
                }
            }
            () = beside => {}
        }
    });
    Served { task }
}

/// Tells whoever watches a fake (the demo page) that what people see in
/// it changed: a counter raised at each change, read as server-sent
/// events at `/_sandbox/events`.
#[derive(Clone)]
pub struct Changes(Arc<tokio::sync::watch::Sender<u64>>);

impl Default for Changes {
    fn default() -> Self {
        Self(Arc::new(tokio::sync::watch::channel(0).0))
    }
}

impl std::fmt::Debug for Changes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Changes({})", *self.0.borrow())
    }
}

impl Changes {
    /// Something people see changed.
    pub fn bump(&self) {
        self.0.send_modify(|n| *n += 1);
    }

    /// `GET /_sandbox/events`: an event `changed` at once (so a page reads
    /// the fake when it connects), then one after each change (several
    /// close together may come as one).
    pub fn events(
        &self,
    ) -> axum::response::Sse<
        impl futures_util::Stream<Item = Result<axum::response::sse::Event, std::convert::Infallible>>,
    > {
        let mut watching = self.0.subscribe();
        watching.mark_changed();
        let stream = futures_util::stream::unfold(watching, |mut watching| async move {
            watching.changed().await.ok()?;
            let n = *watching.borrow_and_update();
            let event = axum::response::sse::Event::default()
                .event("changed")
                .data(n.to_string());
            Some((Ok(event), watching))
        });
        axum::response::Sse::new(stream).keep_alive(axum::response::sse::KeepAlive::default())
    }
}

/// The demo page (on perch's health port) reads the fakes' control APIs
/// from another origin: they allow it, and only they (the fake services'
/// own APIs answer as the real ones, with no CORS headers).
pub fn for_the_page<S: Clone + Send + Sync + 'static>(control: Router<S>) -> Router<S> {
    control.layer(tower_http::cors::CorsLayer::permissive())
}
