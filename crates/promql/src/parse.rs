//! The one place that knows `promql-parser`.

use ember_model::{METRIC_NAME, MatchType, Matcher};
use promql_parser::label::MatchOp;
use promql_parser::parser::{self, Expr};

/// A PromQL parse error, in Prometheus's `parse error: …` wording where possible.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub String);

/// Parses a series selector such as `up{job=~"node|api"}` into matchers, like Prometheus's
/// `ParseMetricSelector` (used by `match[]` parameters and `/federate`).
pub fn parse_series_selector(input: &str) -> Result<Vec<Matcher>, ParseError> {
    let expr = parser::parse(input).map_err(|e| ParseError(format!("1:1: parse error: {e}")))?;
    let Expr::VectorSelector(vs) = expr else {
        return Err(ParseError(format!(
            "1:1: parse error: expected vector selector, got {input:?}"
        )));
    };
    if !vs.matchers.or_matchers.is_empty() {
        return Err(ParseError(
            "1:1: parse error: unexpected \"or\" in label matching".into(),
        ));
    }
    if vs.offset.is_some() || vs.at.is_some() {
        return Err(ParseError(
            "1:1: parse error: offset and @ are not allowed in a series selector".into(),
        ));
    }
    let mut out = Vec::with_capacity(vs.matchers.matchers.len() + 1);
    if let Some(name) = vs.name {
        out.push(
            Matcher::new(MatchType::Equal, METRIC_NAME, name)
                .map_err(|e| ParseError(e.to_string()))?,
        );
    }
    for m in vs.matchers.matchers {
        let kind = match m.op {
            MatchOp::Equal => MatchType::Equal,
            MatchOp::NotEqual => MatchType::NotEqual,
            MatchOp::Re(_) => MatchType::Regex,
            MatchOp::NotRe(_) => MatchType::NotRegex,
        };
        // The parser's own regex lacks Prometheus semantics; ours recompiles the pattern.
        out.push(
            Matcher::new(kind, m.name, m.value)
                .map_err(|e| ParseError(format!("1:1: parse error: {e}")))?,
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors() {
        let m = parse_series_selector(r#"up{job=~"a|b", x!="y"}"#).unwrap();
        assert_eq!(m.len(), 3);
        assert_eq!(m[0].to_string(), "__name__=\"up\"");
        assert!(m[1].matches("a") && !m[1].matches("ab"));
        assert!(parse_series_selector(r#"{a="b" or c="d"}"#).is_err());
        assert!(parse_series_selector("rate(x[5m])").is_err());
        assert!(parse_series_selector("{}").is_err());
        let dot = parse_series_selector(r#"{job=~"a.b"}"#).unwrap();
        assert!(dot[0].matches("a\nb"), "Prometheus 3: dot matches newline");
    }
}
