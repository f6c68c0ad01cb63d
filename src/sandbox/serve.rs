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
