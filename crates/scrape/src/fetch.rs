//! One HTTP scrape: request with Prometheus's headers, bounded and gunzipped body, and
//! error texts worded as Prometheus's (`server returned HTTP status …`,
//! `body size limit exceeded`, `Get "…": context deadline exceeded`).

use futures::StreamExt;
use std::io::Read;
use std::time::Duration;

/// Why fetching failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub(crate) enum FetchError {
    /// The body exceeded `body_size_limit`.
    #[error("body size limit exceeded")]
    BodySizeLimit,
    /// Anything else, worded as Prometheus does.
    #[error("{0}")]
    Other(String),
}

/// A fetched body and its content type.
pub(crate) struct Fetched {
    /// The (decompressed) body.
    pub(crate) body: Vec<u8>,
    /// The response's `Content-Type`.
    pub(crate) content_type: String,
}

/// Fetches `url` within `timeout`, refusing bodies over `body_limit` bytes (0 = no limit).
pub(crate) async fn fetch(
    client: &reqwest::Client,
    url: &str,
    timeout: Duration,
    body_limit: u64,
) -> Result<Fetched, FetchError> {
    let timeout_header = format!("{}", timeout.as_secs_f64());
    let request = client
        .get(url)
        .header("Accept", ember_exposition::SCRAPE_ACCEPT_HEADER)
        .header("Accept-Encoding", "gzip")
        .header("User-Agent", concat!("Ember/", env!("CARGO_PKG_VERSION")))
        .header("X-Prometheus-Scrape-Timeout-Seconds", timeout_header);
    let work = async {
        let response = request
            .send()
            .await
            .map_err(|e| FetchError::Other(describe(url, &e)))?;
        let status = response.status();
        if status != reqwest::StatusCode::OK {
            let reason = status.canonical_reason().unwrap_or("");
            return Err(FetchError::Other(format!(
                "server returned HTTP status {} {reason}",
                status.as_u16()
            )));
        }
        let header = |name| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string()
        };
        let content_type = header(reqwest::header::CONTENT_TYPE);
        let gzipped = header(reqwest::header::CONTENT_ENCODING).eq_ignore_ascii_case("gzip");
        let raw = read_limited(response, if gzipped { 0 } else { body_limit }, url).await?;
        let body = if gzipped {
            gunzip_limited(&raw, body_limit)?
        } else {
            raw
        };
        Ok(Fetched { body, content_type })
    };
    match tokio::time::timeout(timeout, work).await {
        Ok(r) => r,
        Err(_) => Err(FetchError::Other(format!(
            "Get {url:?}: context deadline exceeded"
        ))),
    }
}

async fn read_limited(
    response: reqwest::Response,
    limit: u64,
    url: &str,
) -> Result<Vec<u8>, FetchError> {
    let mut body =
        Vec::with_capacity(response.content_length().unwrap_or(0).min(64 << 20) as usize);
    let mut stream = response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| FetchError::Other(describe(url, &e)))?;
        body.extend_from_slice(&chunk);
        if limit > 0 && body.len() as u64 > limit {
            return Err(FetchError::BodySizeLimit);
        }
    }
    Ok(body)
}

fn gunzip_limited(raw: &[u8], limit: u64) -> Result<Vec<u8>, FetchError> {
    let decoder = flate2::read::GzDecoder::new(raw);
    let mut body = Vec::new();
    let cap = if limit > 0 { limit + 1 } else { u64::MAX };
    decoder
        .take(cap)
        .read_to_end(&mut body)
        .map_err(|e| FetchError::Other(format!("error decompressing gzip body: {e}")))?;
    if limit > 0 && body.len() as u64 > limit {
        return Err(FetchError::BodySizeLimit);
    }
    Ok(body)
}

/// Words a client error the way Go's HTTP client does, as far as users rely on it.
fn describe(url: &str, e: &reqwest::Error) -> String {
    let mut source: Option<&dyn std::error::Error> = Some(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::ConnectionRefused {
                let host = url
                    .split("://")
                    .nth(1)
                    .and_then(|r| r.split('/').next())
                    .unwrap_or_default();
                return format!("Get {url:?}: dial tcp {host}: connect: connection refused");
            }
        }
        source = s.source();
    }
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text = format!("{text}: {s}");
        source = s.source();
    }
    format!("Get {url:?}: {text}")
}
