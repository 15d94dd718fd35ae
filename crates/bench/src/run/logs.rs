//! Warning and error lines in a system's log (logfmt, VictoriaMetrics' tab-separated
//! format, or JSON), for the report.

/// Whether `line` is a warning or an error. Shutdown notices on SIGTERM are expected and
/// not counted.
pub(crate) fn is_problem(line: &str) -> bool {
    let low = line.to_ascii_lowercase();
    if low.contains("sigterm") {
        return false;
    }
    [
        "level=warn",
        "level=error",
        "\twarn\t",
        "\terror\t",
        "\"level\":\"warn",
        "\"level\":\"error",
        "panic",
    ]
    .iter()
    .any(|marker| low.contains(marker))
}

/// The number of problem lines and the first `keep` of them.
pub(crate) fn scan(log: &str, keep: usize) -> (usize, Vec<String>) {
    let problems: Vec<&str> = log.lines().filter(|l| is_problem(l)).collect();
    let examples = problems
        .iter()
        .take(keep)
        .map(|l| l.chars().take(300).collect())
        .collect();
    (problems.len(), examples)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_warnings_in_each_format() {
        let log = "\
ts=2026-11-25T10:00:00Z level=info msg=\"Server is ready\"
ts=2026-11-25T10:00:01Z level=warn msg=\"Error on ingesting samples\"
2026-11-25T10:00:02.000Z\terror\tVictoriaMetrics/lib/storage/x.go:1\tcannot open
2026-11-25T10:00:03.000Z\tinfo\tVictoriaMetrics/app/main.go:1\tstarted
ts=2026-11-25T10:00:04Z level=warn msg=\"Received SIGTERM, exiting gracefully...\"
{\"level\":\"error\",\"msg\":\"boom\"}
";
        let (count, examples) = scan(log, 2);
        assert_eq!(count, 3);
        assert_eq!(examples.len(), 2);
        assert!(examples[0].contains("Error on ingesting samples"));
    }
}
