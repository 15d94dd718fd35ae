//! Scraping.
//!
//! - [`ScrapeManager`] owns one pool per `scrape_configs` job and follows config reloads
//!   and service discovery (static and file SD, [`discovery`]).
//! - Each target ([`target::Target`]) runs one loop: fetch with Prometheus's headers and
//!   limits, parse with `ember-exposition`, relabel, append through the storage
//!   `Appender` in one transaction per scrape, with the synthetic `up`/`scrape_*` series
//!   and staleness markers written exactly where Prometheus writes them.
//!
//! Invariant: samples reach storage only through `ember_storage::Appender`.
#![deny(missing_docs)]

mod append;
mod cache;
mod client;
pub mod discovery;
mod fetch;
mod manager;
mod metrics;
mod pool;
mod scrape_loop;
pub mod target;

pub use append::{AppendOptions, AppendStats, merge_target_labels};
pub use client::build_client;
pub use manager::{ActiveTarget, ScrapeManager};
pub use target::Health;
