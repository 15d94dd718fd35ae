//! The `ember` binary: flags in, services wired, errors reported once.

mod cli;
mod logging;
mod server;
mod tsdb_tools;

use clap::Parser;

/// jemalloc: the engine's many short-lived buffers made glibc's malloc a third of an
/// instant query's time (engine bench: `rate` over 2,000 series 15 ms → 5 ms).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    match cli.command {
        cli::Command::Server(flags) => {
            logging::init(&flags.log_level, &flags.log_format);
            match server::run(*flags) {
                Ok(()) => std::process::ExitCode::SUCCESS,
                Err(e) => {
                    tracing::error!("{e:#}");
                    std::process::ExitCode::FAILURE
                }
            }
        }
        cli::Command::Check(cli::Check::Config { files }) => {
            let mut ok = true;
            for file in files {
                let report = ember_config::check_config(&file);
                let passed = report.is_success();
                for line in report.lines() {
                    if passed {
                        println!("{line}")
                    } else {
                        eprintln!("{line}")
                    }
                }
                ok &= passed;
            }
            if ok {
                std::process::ExitCode::SUCCESS
            } else {
                std::process::ExitCode::FAILURE
            }
        }
        cli::Command::Tsdb(command) => tsdb_tools::run(command),
    }
}
