//! Helpers for tests that use real software on loopback.
//!
//! - [`shared_dir`] locates the shared test corpus (`EMBER_SHARED_DIR`, else `../shared`
//!   beside the workspace).
//! - [`free_port`] picks a free 127.0.0.1 port.
//! - [`Peer`] runs a process and kills it by pid when dropped.
//! - [`http_get`]/[`http_post`] are a tiny blocking HTTP/1.1 client for test assertions.
//! - [`dashboard`] is a deterministic benchmark dataset.
#![deny(missing_docs)]

pub mod dashboard;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The shared test corpus directory. Panics with a clear message when it is missing,
/// so a missing corpus is a failure, never a silent skip.
pub fn shared_dir() -> PathBuf {
    let dir = std::env::var_os("EMBER_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    assert!(
        dir.is_dir(),
        "shared test corpus not found at {} (set EMBER_SHARED_DIR)",
        dir.display()
    );
    dir
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind an ephemeral loopback port")
}

/// Looks up `name` on PATH; tests that need a peer fail with this message when it is absent.
pub fn require_binary(name: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{name} not found on PATH: run .ci/install-peers"))
}

/// A child process that is killed (by pid) and reaped when dropped.
pub struct Peer {
    name: String,
    child: Child,
    /// A scratch directory owned by the peer (data dir, config), removed on drop.
    pub dir: tempfile::TempDir,
    log: PathBuf,
}

impl Peer {
    /// Starts `program` with `args`; stdout and stderr go to a log file in the peer's dir.
    pub fn start(
        name: &str,
        program: impl AsRef<Path>,
        args: &[String],
        dir: tempfile::TempDir,
    ) -> Peer {
        let log = dir.path().join(format!("{name}.log"));
        let out = std::fs::File::create(&log).expect("create peer log");
        let err = out.try_clone().expect("clone peer log");
        let child = Command::new(program.as_ref())
            .args(args)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("start {name} ({}): {e}", program.as_ref().display()));
        Peer {
            name: name.to_string(),
            child,
            dir,
            log,
        }
    }

    /// Waits until `url` answers 200, or panics with the peer's log after `timeout`.
    pub fn wait_ready(&mut self, url: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok((200, _)) = http_get(url) {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "{} exited with {status} before ready:\n{}",
                    self.name,
                    self.log_text()
                );
            }
            if Instant::now() > deadline {
                panic!(
                    "{} not ready at {url} after {timeout:?}:\n{}",
                    self.name,
                    self.log_text()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Everything the peer has logged so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends SIGTERM and waits up to `timeout` for the process to exit; returns whether it did.
    pub fn terminate(&mut self, timeout: Duration) -> bool {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.pid().to_string())
            .status();
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A blocking HTTP GET; returns status and body.
pub fn http_get(url: &str) -> std::io::Result<(u16, String)> {
    http_request("GET", url, &[], &[])
}

/// A blocking HTTP POST with the given headers and body; returns status and body.
pub fn http_post(
    url: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<(u16, String)> {
    http_request("POST", url, headers, body)
}

fn http_request(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<(u16, String)> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| std::io::Error::other("only http:// URLs"))?;
    let (host, path) = rest
        .split_once('/')
        .map(|(h, p)| (h, format!("/{p}")))
        .unwrap_or((rest, "/".into()));
    let mut stream = TcpStream::connect(host)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    stream.write_all(req.as_bytes())?;
    stream.write_all(body)?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad response: {head}")))?;
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_string()
    };
    Ok((status, body))
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// Polls `check` every 200 ms until it returns `Some`, or panics with `what` after `timeout`.
pub fn eventually<T>(what: &str, timeout: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A real Prometheus on a free loopback port, with its own config and data directory,
/// stopped by pid when dropped.
pub struct Prometheus {
    /// The process.
    pub peer: Peer,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    data_dir: PathBuf,
}

impl Prometheus {
    /// Starts `prometheus` with `config_yaml` and `extra_flags` (for example
    /// `--web.enable-remote-write-receiver`, or a `--storage.tsdb.path` of the test's own)
    /// and waits until it is ready.
    pub fn start(config_yaml: &str, extra_flags: &[&str]) -> Prometheus {
        Prometheus::start_on(free_port(), config_yaml, extra_flags)
    }

    /// Like [`Prometheus::start`] on a given port (for configs that name it).
    pub fn start_on(port: u16, config_yaml: &str, extra_flags: &[&str]) -> Prometheus {
        let dir = tempfile::tempdir().expect("temporary directory");
        let config = dir.path().join("prometheus.yml");
        std::fs::write(&config, config_yaml).expect("write prometheus.yml");
        let data_dir = extra_flags
            .iter()
            .find_map(|f| f.strip_prefix("--storage.tsdb.path="))
            .map(PathBuf::from)
            .unwrap_or_else(|| dir.path().join("data"));
        let mut args = vec![
            format!("--config.file={}", config.display()),
            format!("--web.listen-address=127.0.0.1:{port}"),
        ];
        if !extra_flags
            .iter()
            .any(|f| f.starts_with("--storage.tsdb.path="))
        {
            args.push(format!("--storage.tsdb.path={}", data_dir.display()));
        }
        args.extend(extra_flags.iter().map(|f| f.to_string()));
        let mut peer = Peer::start("prometheus", require_binary("prometheus"), &args, dir);
        let base = format!("http://127.0.0.1:{port}");
        peer.wait_ready(&format!("{base}/-/ready"), Duration::from_secs(30));
        Prometheus {
            peer,
            base,
            data_dir,
        }
    }

    /// The data directory (`--storage.tsdb.path`).
    pub fn data_dir(&self) -> PathBuf {
        self.data_dir.clone()
    }
}

/// One series of a remote-write body: label pairs (any order) and `(timestamp ms, value)`
/// samples.
pub type WriteSeries = (Vec<(String, String)>, Vec<(i64, f64)>);

/// The snappy-compressed protobuf remote-write body carrying `series`.
pub fn remote_write_body(series: impl IntoIterator<Item = WriteSeries>) -> Vec<u8> {
    use ember_remote::prompb::{Label, Sample, TimeSeries, WriteRequest};
    use prost::Message;
    let timeseries = series
        .into_iter()
        .map(|(labels, samples)| TimeSeries {
            labels: labels
                .into_iter()
                .map(|(name, value)| Label { name, value })
                .collect(),
            samples: samples
                .into_iter()
                .map(|(timestamp, value)| Sample { value, timestamp })
                .collect(),
            exemplars: Vec::new(),
        })
        .collect();
    let request = WriteRequest {
        timeseries,
        metadata: Vec::new(),
    };
    snap::raw::Encoder::new()
        .compress_vec(&request.encode_to_vec())
        .expect("snappy")
}

/// POSTs a remote-write body to `base`; returns the status and the response text.
pub fn try_remote_write(base: &str, body: &[u8]) -> (u16, String) {
    let headers = [
        ("Content-Encoding", "snappy"),
        ("Content-Type", "application/x-protobuf"),
        ("X-Prometheus-Remote-Write-Version", "0.1.0"),
    ];
    http_post(&format!("{base}/api/v1/write"), &headers, body).expect("remote write request")
}

/// POSTs a remote-write body to `base` and asserts it was accepted.
pub fn remote_write(base: &str, body: &[u8]) {
    let (status, text) = try_remote_write(base, body);
    assert!(
        status == 204 || status == 200,
        "remote write to {base} refused: {status} {text}"
    );
}
