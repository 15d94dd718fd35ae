//! `fake-exporter`: serves `--targets` virtual node_exporters, one loopback port each
//! (`GET /metrics`), and writes the `host:port` list to `--ports-file`, one per line.
//! Run by `bench/side_by_side.py`; stop it by pid.

use std::{net::SocketAddr, sync::Arc, time::SystemTime};

use anyhow::Context as _;
use axum::{Router, extract::State, http::header, response::IntoResponse, routing::get};
use clap::Parser;
use ember_bench::Target;

#[derive(Parser)]
#[command(about = "Fake node_exporter 1.5 targets for the side-by-side benchmark")]
struct Args {
    /// Number of virtual targets (one port each).
    #[arg(long, default_value_t = 100)]
    targets: u64,
    /// Address to bind (port 0 = pick free ports).
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Where to write the `host:port` of each target, one per line.
    #[arg(long)]
    ports_file: std::path::PathBuf,
}

async fn metrics(State(target): State<Arc<Target>>) -> impl IntoResponse {
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    let mut body = String::with_capacity(64 * 1024);
    target.render(now.as_secs_f64(), &mut body);
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let mut addrs = Vec::new();
        let mut tasks = Vec::new();
        for i in 0..args.targets {
            let listener = tokio::net::TcpListener::bind((args.host.as_str(), 0))
                .await
                .context("bind")?;
            let addr: SocketAddr = listener.local_addr()?;
            addrs.push(addr.to_string());
            let app = Router::new()
                .route("/metrics", get(metrics))
                .with_state(Arc::new(Target::new(i)));
            tasks.push(tokio::spawn(
                async move { axum::serve(listener, app).await },
            ));
        }
        let tmp = args.ports_file.with_extension("tmp");
        std::fs::write(&tmp, addrs.join("\n") + "\n")?;
        std::fs::rename(&tmp, &args.ports_file)?;
        for t in tasks {
            t.await??;
        }
        anyhow::Ok(())
    })
}
