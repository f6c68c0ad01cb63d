//! The lines of one of X's streaming connections (the filtered stream,
//! the X Activity API stream): one JSON object per line ended by `\r\n`,
//! a bare `\r\n` every 20 s or so to say the connection lives.

use std::time::{Duration, Instant};

/// No line for this long (X sends `\r\n` every 20 s) and the connection
/// is taken for dead.
const SILENCE: Duration = Duration::from_secs(60);

/// What the connection gave next.
pub enum Next {
    /// A line with something on it.
    Line(Vec<u8>),
    /// Nothing for a while (the caller may look at what it must, and ask
    /// again).
    Quiet,
    /// The connection ended, and why.
    Ended(String),
}

pub struct Lines {
    response: reqwest::Response,
    pending: Vec<u8>,
    heard: Instant,
    /// How long `next` waits before it says `Quiet`.
    quiet: Duration,
}

impl Lines {
    pub fn new(response: reqwest::Response, quiet: Duration) -> Self {
        Self {
            response,
            pending: Vec::new(),
            heard: Instant::now(),
            quiet,
        }
    }

    pub async fn next(&mut self) -> Next {
        loop {
            if let Some(end) = self.pending.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = self.pending.drain(..=end).collect();
                let line = line.trim_ascii();
                if !line.is_empty() {
                    return Next::Line(line.to_vec());
                }
                continue;
            }
            match tokio::time::timeout(self.quiet, self.response.chunk()).await {
                Err(_) if self.heard.elapsed() < SILENCE => return Next::Quiet,
                Err(_) => return Next::Ended("no keep-alive for a minute".to_owned()),
                Ok(Err(e)) => return Next::Ended(format!("it broke off: {e}")),
                Ok(Ok(None)) => return Next::Ended("X ended it".to_owned()),
                Ok(Ok(Some(chunk))) => {
                    self.heard = Instant::now();
                    self.pending.extend_from_slice(&chunk);
                }
            }
        }
    }
}
