//! The shutdown signal, in the style of mini-redis's `Shutdown`: one `Trigger`
//! held by the service, any number of `Shutdown` listeners in the workers.
//!
//! A worker checks [`Shutdown::is_shutdown`] before it claims the next part and
//! races [`Shutdown::wait`] against any sleep, so SIGTERM never interrupts a send
//! already on the wire (the README's delivery guarantees depend on that).

use tokio::sync::watch;

/// Fires the shutdown. Dropping it without firing means "never shut down".
#[derive(Debug)]
pub struct Trigger(watch::Sender<bool>);

impl Trigger {
    pub fn fire(&self) {
        self.0.send_replace(true);
    }
}

/// Listens for the shutdown. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Shutdown {
    rx: watch::Receiver<bool>,
}

impl Shutdown {
    pub fn new() -> (Trigger, Shutdown) {
        let (tx, rx) = watch::channel(false);
        (Trigger(tx), Shutdown { rx })
    }

    /// A listener that is never told to stop (one-shot commands, tests).
    pub fn never() -> Shutdown {
        Shutdown::new().1
    }

    pub fn is_shutdown(&self) -> bool {
        *self.rx.borrow()
    }

    /// Resolves once the shutdown fires; never, if the trigger is gone unfired.
    pub async fn wait(&self) {
        let mut rx = self.rx.clone();
        if rx.wait_for(|stop| *stop).await.is_err() {
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
}
