//! Shared pieces of the scrape integration tests: a manager over in-memory storage and
//! small HTTP servers on loopback.

use ember_scrape::ScrapeManager;
use ember_selfmetrics::Registry;
use ember_storage::{Queryable, Series};
use ember_tsdb::{Head, HeadOptions};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub fn init_tls() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The real storage: a TSDB head logging to a WAL in a temporary directory.
pub struct Storage {
    head: Head,
    /// The registry the manager's metrics are on.
    pub registry: Registry,
    _dir: tempfile::TempDir,
}

impl Storage {
    /// Every series with every sample, sorted by labels.
    pub fn dump(&self) -> Vec<Series> {
        let q = self.head.querier(i64::MIN, i64::MAX).unwrap();
        q.select_all(&[
            ember_model::Matcher::new(ember_model::MatchType::Regex, "__name__", ".+").unwrap(),
        ])
        .unwrap()
    }
}

/// A manager scraping into a fresh TSDB head, configured from `yaml`.
pub async fn start_manager(yaml: &str) -> (Arc<ScrapeManager>, Storage) {
    init_tls();
    let dir = tempfile::tempdir().unwrap();
    let (head, _) = Head::replay(
        HeadOptions::default(),
        &dir.path().join("wal"),
        ember_wal::WalOptions::default(),
    )
    .unwrap();
    let storage = Storage {
        head,
        registry: Registry::new(),
        _dir: dir,
    };
    let manager = ScrapeManager::new(Arc::new(storage.head.clone()), &storage.registry);
    let config = ember_config::load_str(yaml, "test.yml").expect("valid test config");
    manager.apply_config(&config).await.expect("apply config");
    (manager, storage)
}

/// Serves `router` on a free loopback port until the test ends.
pub async fn serve(router: axum::Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("local addr");
    tokio::spawn(async move { axum::serve(listener, router).await.expect("serve") });
    addr
}

/// Polls until every active target has been scraped at least `n` times' worth (health known).
pub async fn wait_scraped(manager: &ScrapeManager, targets: usize, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    loop {
        let active = manager.active_targets();
        let done = active.len() == targets
            && active
                .iter()
                .all(|t| t.target.status().last_scrape_ms.is_some());
        if done {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "targets not scraped within {timeout:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
