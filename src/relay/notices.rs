//! What the outbox says in chat threads once it acted on a reply (sent,
//! waiting for X's limit, failed), said in the background: queued per
//! thread and said in order by that thread's own worker. So a chat
//! platform's pacing or rate limit never holds back the next reply to X,
//! and one thread's wait never holds back another thread's notices.
//!
//! Notices are best effort, as a post in a thread always was: one that
//! fails is logged; one queued when perch stops is not said.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use super::speaking;
use crate::chat::{ChatPlatform, MessageRef, Reaction, Text};
use crate::ticket::ChatThread;

/// One thing to say or show in a thread.
pub(super) enum Notice {
    Say(Text),
    Mark(MessageRef, Reaction),
    /// Redraw a prompt perch posted, without its buttons.
    Settle(MessageRef, Text),
}

type Queues = Arc<Mutex<HashMap<ChatThread, VecDeque<Notice>>>>;

/// The threads with notices still to say; a thread has a worker exactly
/// while it is in the map.
#[derive(Default)]
pub(super) struct Notices {
    queues: Queues,
}

fn lock(
    queues: &Mutex<HashMap<ChatThread, VecDeque<Notice>>>,
) -> MutexGuard<'_, HashMap<ChatThread, VecDeque<Notice>>> {
    // Every change under the lock leaves the map consistent.
    queues
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Notices {
    /// Queues `notice` for `thread`, after those already queued there.
    pub(super) fn push(
        &self,
        platform: &Arc<dyn ChatPlatform>,
        thread: &ChatThread,
        notice: Notice,
    ) {
        let mut queues = lock(&self.queues);
        if let Some(queue) = queues.get_mut(thread) {
            queue.push_back(notice);
            return;
        }
        queues.insert(thread.clone(), VecDeque::from([notice]));
        tokio::spawn(work(
            Arc::clone(&self.queues),
            Arc::clone(platform),
            thread.clone(),
        ));
    }
}

/// Says `thread`'s notices in order until none is left, then leaves.
async fn work(queues: Queues, platform: Arc<dyn ChatPlatform>, thread: ChatThread) {
    loop {
        let next = {
            let mut all = lock(&queues);
            match all.get_mut(&thread).and_then(VecDeque::pop_front) {
                Some(n) => n,
                None => {
                    all.remove(&thread);
                    return;
                }
            }
        };
        match next {
            Notice::Say(text) => speaking::say_text(platform.as_ref(), &thread, &text).await,
            Notice::Mark(message, reaction) => {
                speaking::mark(platform.as_ref(), &message, reaction).await;
            }
            Notice::Settle(message, text) => {
                if let Err(e) = platform.settle(&message, &text).await {
                    tracing::warn!(error = %e, "cannot redraw a prompt");
                }
            }
        }
    }
}
