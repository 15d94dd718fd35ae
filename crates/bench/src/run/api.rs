//! HTTP calls to a system under test, all on 127.0.0.1.

use anyhow::{Context as _, bail};
use serde_json::Value;
use std::time::{Duration, Instant};

/// What to evaluate: an instant query at `time`, or a range query (Unix seconds).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum At {
    Instant { time: f64 },
    Range { start: f64, end: f64, step: f64 },
}

#[derive(Clone, Debug)]
pub(crate) struct Api {
    client: reqwest::Client,
    base: String,
}

impl Api {
    pub(crate) fn new(port: u16) -> anyhow::Result<Api> {
        let client = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(600))
            .build()
            .context("HTTP client")?;
        Ok(Api {
            client,
            base: format!("http://127.0.0.1:{port}"),
        })
    }

    /// Status and body of `GET path`.
    pub(crate) async fn get(&self, path: &str) -> anyhow::Result<(u16, String)> {
        let resp = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await?;
        let status = resp.status().as_u16();
        Ok((status, resp.text().await?))
    }

    /// The system's own `/metrics`.
    pub(crate) async fn metrics(&self) -> anyhow::Result<String> {
        match self.get("/metrics").await? {
            (200, body) => Ok(body),
            (status, body) => bail!("/metrics: HTTP {status}: {}", truncate(&body)),
        }
    }

    /// `POST path` (admin endpoints); the body of a 2xx answer.
    pub(crate) async fn post(&self, path: &str) -> anyhow::Result<String> {
        let resp = self
            .client
            .post(format!("{}{path}", self.base))
            .send()
            .await?;
        let status = resp.status();
        let body = resp.text().await?;
        if !status.is_success() {
            bail!("POST {path}: HTTP {status}: {}", truncate(&body));
        }
        Ok(body)
    }

    /// Posts a snappy-compressed remote-write `body` to `/api/v1/write`.
    pub(crate) async fn remote_write(&self, body: Vec<u8>) -> anyhow::Result<()> {
        let resp = self
            .client
            .post(format!("{}/api/v1/write", self.base))
            .header("Content-Encoding", "snappy")
            .header("Content-Type", "application/x-protobuf")
            .header("X-Prometheus-Remote-Write-Version", "0.1.0")
            .body(body)
            .send()
            .await?;
        let status = resp.status();
        if !status.is_success() {
            let body = resp.text().await?;
            bail!("remote write: HTTP {status}: {}", truncate(&body));
        }
        Ok(())
    }

    /// Runs `query`; returns the client-side latency (until the whole body arrived) and
    /// the response's `data` object.
    pub(crate) async fn query(&self, query: &str, at: At) -> anyhow::Result<(Duration, Value)> {
        let (path, mut params) = match at {
            At::Instant { time } => ("/api/v1/query", vec![("time", format!("{time:.3}"))]),
            At::Range { start, end, step } => (
                "/api/v1/query_range",
                vec![
                    ("start", format!("{start:.3}")),
                    ("end", format!("{end:.3}")),
                    ("step", format!("{step}")),
                ],
            ),
        };
        params.push(("query", query.to_string()));
        let url = reqwest::Url::parse_with_params(&format!("{}{path}", self.base), &params)?;
        let started = Instant::now();
        let resp = self.client.get(url).send().await?;
        let status = resp.status();
        let body = resp.bytes().await?;
        let latency = started.elapsed();
        let doc: Value = serde_json::from_slice(&body).with_context(|| {
            format!(
                "{query}: HTTP {status}: {}",
                truncate(&String::from_utf8_lossy(&body))
            )
        })?;
        if doc.get("status").and_then(Value::as_str) != Some("success") {
            bail!("{query}: HTTP {status}: {}", truncate(&doc.to_string()));
        }
        Ok((latency, doc.get("data").cloned().unwrap_or(Value::Null)))
    }

    /// A single number from an instant query (`count(...)` and the like).
    pub(crate) async fn scalar(&self, query: &str, time: f64) -> anyhow::Result<Option<f64>> {
        let (_, data) = self.query(query, At::Instant { time }).await?;
        let value = data
            .get("result")
            .and_then(|r| r.get(0))
            .and_then(|s| s.get("value"))
            .and_then(|v| v.get(1))
            .and_then(Value::as_str)
            .and_then(|v| v.parse().ok());
        Ok(value)
    }
}

fn truncate(text: &str) -> &str {
    let end = text.char_indices().nth(800).map_or(text.len(), |(i, _)| i);
    &text[..end]
}
