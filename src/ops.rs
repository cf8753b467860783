//! Operating the service: `/healthz` and `/metrics` (Prometheus text) on a local
//! address, off unless `[ops] listen` is set. Metrics are recorded through the
//! `metrics` facade everywhere and rendered by metrics-exporter-prometheus.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU8, Ordering};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

/// Metric names, in one place.
pub mod names {
    pub const POSTS_SENT: &str = "dhikra_posts_sent_total";
    pub const POSTS_FAILED: &str = "dhikra_posts_failed_total";
    pub const TOO_MANY_REQUESTS: &str = "dhikra_telegram_429_total";
    pub const RETRIES: &str = "dhikra_retries_total";
    pub const TARGETS_DISABLED: &str = "dhikra_targets_disabled";
    pub const LAST_POST: &str = "dhikra_last_successful_post_timestamp_seconds";
    pub const UPDATES: &str = "dhikra_updates_total";
    pub const LEADER: &str = "dhikra_leader";
}

/// Readiness: the store is loaded, and the Bot API was reached since the last
/// failed poll (a handled update or the periodic `getMe` counts as reaching it).
#[derive(Debug, Default)]
pub struct Health {
    store_loaded: AtomicBool,
    last_ok_ms: AtomicI64,
    last_error_ms: AtomicI64,
    /// 0 before the first election, then `Role as u8`.
    role: AtomicU8,
    /// Counts Telegram's 409s to this process's `getUpdates`: another process
    /// polls the same bot.
    polled_elsewhere: tokio::sync::watch::Sender<u64>,
}

/// What this process does among the processes sharing a database: only the
/// leader polls updates and sends; a standby waits to take over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Role {
    Standby = 1,
    Leader = 2,
}

impl Health {
    pub fn store_loaded(&self) {
        self.store_loaded.store(true, Ordering::Relaxed);
    }

    pub fn api_ok(&self) {
        self.last_ok_ms.store(now_ms(), Ordering::Relaxed);
    }

    /// Telegram ended a `getUpdates` because another process polls the bot.
    pub fn polled_elsewhere(&self) {
        self.polled_elsewhere.send_modify(|n| *n += 1);
    }

    /// Notified of each [`Health::polled_elsewhere`] from now on.
    pub fn polls_elsewhere(&self) -> tokio::sync::watch::Receiver<u64> {
        self.polled_elsewhere.subscribe()
    }

    pub fn poll_failed(&self) {
        self.last_error_ms.store(now_ms(), Ordering::Relaxed);
    }

    pub fn set_role(&self, role: Role) {
        self.role.store(role as u8, Ordering::Relaxed);
        metrics::gauge!(names::LEADER).set(if role == Role::Leader { 1.0 } else { 0.0 });
    }

    pub fn role(&self) -> Option<Role> {
        match self.role.load(Ordering::Relaxed) {
            1 => Some(Role::Standby),
            2 => Some(Role::Leader),
            _ => None,
        }
    }

    pub fn ready(&self) -> bool {
        let (ok, err) = (
            self.last_ok_ms.load(Ordering::Relaxed),
            self.last_error_ms.load(Ordering::Relaxed),
        );
        self.store_loaded.load(Ordering::Relaxed) && ok > 0 && ok >= err
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Installs the global Prometheus recorder (once per process).
pub fn install_recorder() -> Option<PrometheusHandle> {
    let handle = PrometheusBuilder::new().install_recorder().ok()?;
    // Describe what each series means on /metrics.
    metrics::describe_counter!(
        names::POSTS_SENT,
        "Post parts Telegram accepted (the day's card is part 0), per target"
    );
    metrics::describe_counter!(names::POSTS_FAILED, "Post parts given up on, per target");
    metrics::describe_counter!(names::TOO_MANY_REQUESTS, "429 answers from the Bot API");
    metrics::describe_counter!(names::RETRIES, "Retries after a network error or 5xx");
    metrics::describe_gauge!(
        names::TARGETS_DISABLED,
        "Targets disabled after Telegram refused them"
    );
    metrics::describe_gauge!(
        names::LAST_POST,
        "Unix time of the last post part Telegram accepted"
    );
    metrics::describe_counter!(names::UPDATES, "Updates handled");
    metrics::describe_gauge!(
        names::LEADER,
        "1 while this process is the leader (polls and sends), 0 on standby"
    );
    Some(handle)
}

#[derive(Clone)]
struct OpsState {
    health: Arc<Health>,
    metrics: Option<PrometheusHandle>,
}

/// Serves `/healthz` and `/metrics` on `addr` until the process ends.
pub async fn serve(
    addr: SocketAddr,
    health: Arc<Health>,
    metrics: Option<PrometheusHandle>,
) -> std::io::Result<()> {
    let app = Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(render_metrics))
        .with_state(OpsState { health, metrics });
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!(%addr, "health and metrics listening");
    axum::serve(listener, app).await
}

/// `ready` (or `not ready`), then the role: a standby is ready too, to take over.
async fn healthz(State(s): State<OpsState>) -> (StatusCode, String) {
    let role = match s.health.role() {
        Some(Role::Leader) => "leader",
        Some(Role::Standby) => "standby",
        None => "starting",
    };
    if s.health.ready() {
        (StatusCode::OK, format!("ready\n{role}\n"))
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready\n{role}\n"),
        )
    }
}

async fn render_metrics(State(s): State<OpsState>) -> (StatusCode, String) {
    match &s.metrics {
        Some(h) => (StatusCode::OK, h.render()),
        None => (
            StatusCode::NOT_FOUND,
            "metrics recorder not installed\n".into(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_needs_the_store_and_a_recent_api_contact() {
        let h = Health::default();
        assert!(!h.ready());
        h.store_loaded();
        assert!(!h.ready());
        h.api_ok();
        assert!(h.ready());
        std::thread::sleep(std::time::Duration::from_millis(2));
        h.poll_failed();
        assert!(!h.ready());
        std::thread::sleep(std::time::Duration::from_millis(2));
        h.api_ok();
        assert!(h.ready());
    }
}
