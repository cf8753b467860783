//! The shutdown signal, in the style of mini-redis's `Shutdown`: one `Trigger`
//! held by the service, any number of `Shutdown` listeners in the workers.
//!
//! A worker checks [`Shutdown::is_shutdown`] before it claims the next part and
//! races [`Shutdown::wait`] against any sleep, so SIGTERM never interrupts a send
//! already on the wire (the README's delivery guarantees depend on that).
//!
//! Sending also stops, for a while, when the process loses the lead (its
//! database went away; another replica may lead already): [`Trigger::pause`].
//! Each lead is a *term*; a listener pinned to a term ([`Shutdown::pinned`])
//! stays stopped once its term ends, even when a later one begins, so a
//! broadcast begun before an outage never goes on after it.

use tokio::sync::watch;

#[derive(Debug, Clone, Copy, Default)]
struct State {
    /// The process is stopping: for good.
    stopped: bool,
    /// The lead is lost: no sending until `resume`.
    paused: bool,
    /// Counts pauses and resumes, so a term's end is seen even after a resume.
    term: u64,
}

/// Fires the shutdown. Dropping it without firing means "never shut down".
#[derive(Debug)]
pub struct Trigger(watch::Sender<State>);

impl Trigger {
    pub fn fire(&self) {
        self.0.send_modify(|s| s.stopped = true);
    }

    /// Stops every sender as a shutdown would, until [`Trigger::resume`].
    pub fn pause(&self) {
        self.0.send_modify(|s| {
            s.paused = true;
            s.term += 1;
        });
    }

    /// Sending may begin again, in a new term: listeners pinned to an earlier
    /// one stay stopped.
    pub fn resume(&self) {
        self.0.send_modify(|s| {
            s.paused = false;
            s.term += 1;
        });
    }
}

/// Listens for the shutdown. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Shutdown {
    rx: watch::Receiver<State>,
    /// Pinned to this term; `None` follows whichever term is current.
    term: Option<u64>,
}

impl Shutdown {
    pub fn new() -> (Trigger, Shutdown) {
        let (tx, rx) = watch::channel(State::default());
        (Trigger(tx), Shutdown { rx, term: None })
    }

    /// A listener that is never told to stop (one-shot commands, tests).
    pub fn never() -> Shutdown {
        Shutdown::new().1
    }

    /// This listener, held to the current term (a pinned one keeps its own).
    pub fn pinned(&self) -> Shutdown {
        Shutdown {
            rx: self.rx.clone(),
            term: Some(self.term.unwrap_or_else(|| self.rx.borrow().term)),
        }
    }

    fn ends(&self, s: &State) -> bool {
        s.stopped || s.paused || self.term.is_some_and(|t| t != s.term)
    }

    /// Whether to send no more: the process is stopping, sending is paused,
    /// or (pinned) the term is over.
    pub fn is_shutdown(&self) -> bool {
        self.ends(&self.rx.borrow())
    }

    /// Whether the process itself is stopping (a pause is not that).
    pub fn is_stopping(&self) -> bool {
        self.rx.borrow().stopped
    }

    /// Resolves once [`Shutdown::is_shutdown`] holds; never, if the trigger is
    /// gone unfired.
    pub async fn wait(&self) {
        let mut rx = self.rx.clone();
        if rx.wait_for(|s| self.ends(s)).await.is_err() {
            std::future::pending::<()>().await;
        }
    }

    /// Resolves once the process is stopping.
    pub async fn stopping(&self) {
        let mut rx = self.rx.clone();
        if rx.wait_for(|s| s.stopped).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn fires_once_for_every_listener() {
        let (trigger, shutdown) = Shutdown::new();
        let other = shutdown.clone();
        assert!(!shutdown.is_shutdown());
        trigger.fire();
        shutdown.wait().await;
        assert!(other.is_shutdown());
    }

    #[tokio::test]
    async fn a_dropped_trigger_never_fires() {
        let shutdown = Shutdown::never();
        let waited =
            tokio::time::timeout(std::time::Duration::from_millis(20), shutdown.wait()).await;
        assert!(waited.is_err());
        assert!(!shutdown.is_shutdown());
    }

    /// A pause stops every listener; a resume lets through only those that
    /// follow the current term, never one pinned before the pause.
    #[tokio::test]
    async fn a_pinned_listener_stays_stopped_after_a_pause_and_a_resume() {
        let (trigger, follows) = Shutdown::new();
        let pinned = follows.pinned();
        trigger.pause();
        pinned.wait().await;
        follows.wait().await;
        assert!(!follows.is_stopping(), "a pause is not a shutdown");
        trigger.resume();
        assert!(pinned.is_shutdown(), "its term is over");
        assert!(!follows.is_shutdown());
        let next = follows.pinned();
        assert!(!next.is_shutdown());
        assert!(
            next.pinned().term == next.term,
            "pinning twice keeps the term"
        );
        trigger.fire();
        follows.stopping().await;
        assert!(next.is_shutdown() && next.is_stopping());
    }
}
