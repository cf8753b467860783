//! A TCP proxy in front of the test PostgreSQL server, one per test, so a test
//! can take the database away from the processes it points here — and from
//! them only — and give it back, as a server restart or a network cut would.
//!
//! `cut` closes every connection both ways (the server ends those backends, and
//! their advisory locks with them; the process sees its connections die), and
//! until `restore` a new connection is accepted and closed at once, so no
//! query and no connect succeeds.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use dhikra::config::PostgresUrl;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

pub struct PgProxy {
    /// The server's URL (with the test's schema), through this proxy.
    pub url: PostgresUrl,
    up: Arc<AtomicBool>,
    cuts: watch::Sender<u64>,
    accepting: tokio::task::JoinHandle<()>,
}

impl PgProxy {
    /// A proxy on a free loopback port to the server and schema of `url`.
    pub async fn start(url: &PostgresUrl) -> Self {
        let mut through = url::Url::parse(url.expose()).expect("a URL");
        let server = format!(
            "{}:{}",
            through.host_str().expect("a host"),
            through.port().unwrap_or(5432)
        );
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().unwrap().port();
        through.set_host(Some("127.0.0.1")).unwrap();
        through.set_port(Some(port)).unwrap();
        let up = Arc::new(AtomicBool::new(true));
        let (cuts, _) = watch::channel(0);
        let accepting = tokio::spawn(accept(listener, server, Arc::clone(&up), cuts.clone()));
        Self {
            url: PostgresUrl::parse(through.as_str()).expect("a PostgreSQL URL"),
            up,
            cuts,
            accepting,
        }
    }

    /// Every connection closed; new ones closed on arrival until `restore`.
    pub fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        self.cuts.send_modify(|n| *n += 1);
    }

    pub fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

impl Drop for PgProxy {
    fn drop(&mut self) {
        self.accepting.abort();
        self.cut();
    }
}

async fn accept(
    listener: TcpListener,
    server: String,
    up: Arc<AtomicBool>,
    cuts: watch::Sender<u64>,
) {
    loop {
        let Ok((client, _)) = listener.accept().await else {
            continue;
        };
        if !up.load(Ordering::SeqCst) {
            drop(client); // The server is "down".
            continue;
        }
        let (server, cut) = (server.clone(), cuts.subscribe());
        tokio::spawn(pipe(client, server, cut));
    }
}

/// Copies both ways until either side closes or the connection is cut.
async fn pipe(mut client: TcpStream, server: String, mut cut: watch::Receiver<u64>) {
    let Ok(mut upstream) = TcpStream::connect(&server).await else {
        return;
    };
    tokio::select! {
        _ = tokio::io::copy_bidirectional(&mut client, &mut upstream) => {}
        _ = cut.changed() => {}
    }
}
