//! A system's process: started with its output in a log file, signalled and waited for by
//! pid, and killed if it is still running when dropped (so an aborted run leaves nothing).

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Debug)]
pub(crate) struct Process {
    child: Child,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Signal {
    Term,
    Kill,
}

impl Process {
    /// Starts `binary args…` in `cwd`, appending stdout and stderr to `log`.
    pub(crate) fn spawn(
        binary: &Path,
        args: &[String],
        log: &Path,
        cwd: &Path,
    ) -> std::io::Result<Process> {
        use std::io::Write as _;
        let mut out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)?;
        writeln!(out, "==== {} {}", binary.display(), args.join(" "))?;
        let err = out.try_clone()?;
        let child = Command::new(binary)
            .args(args)
            .current_dir(cwd)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()?;
        Ok(Process { child })
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the process has exited (and been reaped).
    pub(crate) fn has_exited(&mut self) -> bool {
        !matches!(self.child.try_wait(), Ok(None))
    }

    pub(crate) fn signal(&self, signal: Signal) -> std::io::Result<()> {
        let sig = match signal {
            Signal::Term => libc::SIGTERM,
            Signal::Kill => libc::SIGKILL,
        };
        let pid = libc::pid_t::try_from(self.pid()).map_err(std::io::Error::other)?;
        // SAFETY: kill has no memory-safety preconditions; the pid is our own unreaped child.
        if unsafe { libc::kill(pid, sig) } == 0 {
            Ok(())
        } else {
            Err(std::io::Error::last_os_error())
        }
    }

    /// Sends `signal` and waits for the exit; after `timeout`, SIGKILL. Returns how long
    /// the process took to exit, or `None` if it had to be killed.
    pub(crate) async fn stop(
        &mut self,
        signal: Signal,
        timeout: Duration,
    ) -> std::io::Result<Option<Duration>> {
        let start = Instant::now();
        if self.has_exited() {
            return Ok(Some(Duration::ZERO));
        }
        self.signal(signal)?;
        while start.elapsed() < timeout {
            if self.has_exited() {
                return Ok(Some(start.elapsed()));
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        self.signal(Signal::Kill)?;
        self.child.wait()?;
        Ok(None)
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if !self.has_exited() {
            let _ = self.signal(Signal::Kill);
            let _ = self.child.wait();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn stops_by_signal_and_reports_the_time() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("sleep.log");
        let args = ["30".to_string()];
        let mut p = Process::spawn(Path::new("sleep"), &args, &log, dir.path()).unwrap();
        assert!(!p.has_exited());
        let took = p.stop(Signal::Term, Duration::from_secs(10)).await.unwrap();
        assert!(took.is_some_and(|t| t < Duration::from_secs(10)));
        assert!(p.has_exited());
        assert!(
            std::fs::read_to_string(&log)
                .unwrap()
                .starts_with("==== sleep 30")
        );
    }
}
