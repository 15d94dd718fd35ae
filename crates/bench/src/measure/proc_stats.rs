//! CPU time and memory of a process, from `/proc/PID/stat` and `/proc/PID/status`.

use std::io;

/// Parses user+system CPU time, in clock ticks, from the text of `/proc/PID/stat`.
pub fn parse_cpu_ticks(stat: &str) -> Option<u64> {
    // The command name (field 2) is in parentheses and may contain spaces or `)`, so split
    // after the last `)`; there, field 3 (state) is index 0, utime (14) 11, stime (15) 12.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// Resident memory of a process, in bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Memory {
    /// `VmRSS`: resident now.
    pub rss: u64,
    /// `VmHWM`: the peak resident size so far.
    pub hwm: u64,
}

/// Parses `VmRSS` and `VmHWM` (kB) from the text of `/proc/PID/status`.
pub fn parse_memory(status: &str) -> Option<Memory> {
    let kib = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse::<u64>().ok())
            .map(|n| n * 1024)
    };
    Some(Memory {
        rss: kib("VmRSS:")?,
        hwm: kib("VmHWM:")?,
    })
}

fn clock_ticks_per_second() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 { ticks as f64 } else { 100.0 }
}

fn unparsable(path: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("cannot parse {path}"))
}

/// User+system CPU seconds `pid` has used so far.
pub fn cpu_seconds(pid: u32) -> io::Result<f64> {
    let path = format!("/proc/{pid}/stat");
    let ticks =
        parse_cpu_ticks(&std::fs::read_to_string(&path)?).ok_or_else(|| unparsable(&path))?;
    Ok(ticks as f64 / clock_ticks_per_second())
}

/// Current and peak resident memory of `pid`.
pub fn memory(pid: u32) -> io::Result<Memory> {
    let path = format!("/proc/{pid}/status");
    parse_memory(&std::fs::read_to_string(&path)?).ok_or_else(|| unparsable(&path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_ticks_skip_a_command_name_with_spaces_and_parens() {
        let stat = "4242 (my (odd) prog) S 1 4242 4242 0 -1 4194560 1234 0 5 0 \
                    250 37 0 0 20 0 12 0 9876 123456789 3210 18446744073709551615";
        assert_eq!(parse_cpu_ticks(stat), Some(287));
        assert_eq!(parse_cpu_ticks("4242 (x) S 1 2"), None);
        assert_eq!(parse_cpu_ticks("garbage"), None);
    }

    #[test]
    fn memory_reads_rss_and_high_water_mark() {
        let status = "Name:\tprometheus\nVmPeak:\t 2000000 kB\nVmHWM:\t  150000 kB\n\
                      VmRSS:\t  140000 kB\nThreads:\t12\n";
        assert_eq!(
            parse_memory(status),
            Some(Memory {
                rss: 140_000 * 1024,
                hwm: 150_000 * 1024
            })
        );
        assert_eq!(parse_memory("Name:\tx\nVmRSS:\t1 kB\n"), None);
    }

    #[test]
    fn reads_this_process() {
        let pid = std::process::id();
        assert!(memory(pid).unwrap().rss > 0);
        assert!(cpu_seconds(pid).unwrap() >= 0.0);
    }
}
