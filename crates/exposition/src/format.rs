//! Choosing a format from HTTP headers.

/// The exposition formats [`crate::Parser`] reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// Prometheus text format 0.0.4 (`text/plain; version=0.0.4`).
    PromText,
    /// OpenMetrics 1.0 text (`application/openmetrics-text`).
    OpenMetrics,
}

/// The `Accept` header Prometheus sends by default when scraping: OpenMetrics first, then
/// the classic text format, then anything.
pub const SCRAPE_ACCEPT_HEADER: &str = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

/// The format of a scrape response with this `Content-Type`.
///
/// Like Prometheus, only the media type counts (parameters such as `version` or
/// `charset` are ignored, case does not matter), and anything that is not OpenMetrics —
/// including a missing or malformed header — is read as the text format.
pub fn format_for_content_type(content_type: &str) -> Format {
    let media_type = content_type.split(';').next().unwrap_or("").trim();
    if media_type.eq_ignore_ascii_case("application/openmetrics-text") {
        Format::OpenMetrics
    } else {
        Format::PromText
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types() {
        let om = "application/openmetrics-text; version=1.0.0; charset=utf-8";
        assert_eq!(format_for_content_type(om), Format::OpenMetrics);
        assert_eq!(
            format_for_content_type("Application/OpenMetrics-Text"),
            Format::OpenMetrics
        );
        assert_eq!(
            format_for_content_type(" application/openmetrics-text ;version=0.0.1"),
            Format::OpenMetrics
        );
        assert_eq!(
            format_for_content_type("text/plain; version=0.0.4; charset=utf-8"),
            Format::PromText
        );
        assert_eq!(format_for_content_type(""), Format::PromText);
        assert_eq!(
            format_for_content_type("application/json"),
            Format::PromText
        );
        assert_eq!(
            format_for_content_type("application/openmetrics-textx"),
            Format::PromText
        );
    }

    #[test]
    fn accept_header_prefers_openmetrics() {
        let parts: Vec<&str> = SCRAPE_ACCEPT_HEADER.split(',').collect();
        assert_eq!(
            parts,
            [
                "application/openmetrics-text;version=1.0.0",
                "application/openmetrics-text;version=0.0.1;q=0.75",
                "text/plain;version=0.0.4;q=0.5",
                "*/*;q=0.1",
            ]
        );
    }
}
