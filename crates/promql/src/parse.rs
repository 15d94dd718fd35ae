//! The one place that knows `promql-parser`: its AST is converted into [`crate::ast`] here.

use crate::ast::{
    Aggregate, AggregateOp, At, Binary, BinaryOp, Call, Cardinality, Expr, Grouping, Matching,
    MatrixSelector, Subquery, ValueType, VectorSelector,
};
use ember_model::{METRIC_NAME, MatchType, Matcher};
use promql_parser::label::MatchOp;
use promql_parser::parser::{self, AtModifier, LabelModifier, Offset, VectorMatchCardinality};
use std::time::{Duration, SystemTime};

/// A PromQL parse error, in Prometheus's `parse error: …` wording where possible.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub String);

/// The parser reports no positions yet, so every error points at the start.
fn parse_error(msg: impl std::fmt::Display) -> ParseError {
    ParseError(format!("1:1: parse error: {msg}"))
}

/// Parses a PromQL expression.
pub fn parse_expr(input: &str) -> Result<Expr, ParseError> {
    let expr = parser::parse(input).map_err(parse_error)?;
    let mut expr = convert(expr)?;
    if has_high_byte_escape(input) {
        restore_byte_escapes(&mut expr)?;
    }
    Ok(expr)
}

/// Formats a query the way `/api/v1/format_query` does: parsed, checked as
/// [`parse_expr`] checks it, and printed in canonical, indented form.
pub fn format_query(input: &str) -> Result<String, ParseError> {
    parse_expr(input)?;
    Ok(parser::parse(input).map_err(parse_error)?.prettify())
}

/// True when a string in `input` has a `\x80`–`\xff` escape.
fn has_high_byte_escape(input: &str) -> bool {
    input.as_bytes().windows(3).any(|w| {
        w[0] == b'\\' && w[1] == b'x' && matches!(w[2], b'8'..=b'9' | b'a'..=b'f' | b'A'..=b'F')
    })
}

/// The parser decodes `\xNN` as the character U+00NN, while in PromQL (as in Go) it is
/// the byte 0xNN: `"\xc3\xa9"` is `é`. Re-encode such strings as bytes; bytes that are
/// not UTF-8 become U+FFFD, which later fails validation as Prometheus does.
fn restore_byte_escapes(expr: &mut Expr) -> Result<(), ParseError> {
    fn fix(s: &str) -> String {
        if !s.chars().any(|c| ('\u{80}'..='\u{ff}').contains(&c)) {
            return s.to_string();
        }
        let mut bytes = Vec::with_capacity(s.len());
        for c in s.chars() {
            match u8::try_from(u32::from(c)) {
                Ok(b) => bytes.push(b),
                Err(_) => bytes.extend_from_slice(c.to_string().as_bytes()),
            }
        }
        String::from_utf8_lossy(&bytes).into_owned()
    }
    let mut result = Ok(());
    expr.walk_mut(&mut |e| {
        let sel = match e {
            Expr::String(s) => {
                *s = fix(s);
                return false;
            }
            Expr::Vector(sel) => sel,
            Expr::Matrix(m) => &mut m.selector,
            _ => return true,
        };
        for m in &mut sel.matchers {
            match Matcher::new(m.kind, fix(&m.name), fix(&m.value)) {
                Ok(fixed) => *m = fixed,
                Err(err) => result = Err(parse_error(err)),
            }
        }
        false
    });
    result
}

/// A label name no series has, standing in while a selector of empty-matching matchers
/// is parsed.
const PLACEHOLDER: &str = "__ember_selector_placeholder__";

/// Parses a series selector such as `up{job=~"node|api"}` into matchers, like Prometheus's
/// `ParseMetricSelector` (used by `match[]` parameters and `/federate`).
pub fn parse_series_selector(input: &str) -> Result<Vec<Matcher>, ParseError> {
    let expr = match parser::parse(input) {
        Ok(expr) => expr,
        // Unlike a query, a `match[]` selector may consist of matchers that all match the
        // empty string (`{job=~".*"}`, as federation configs use). The parser refuses those,
        // so parse it with a placeholder matcher that is dropped again.
        Err(e)
            if e.contains("at least one non-empty matcher")
                && input.trim_start().starts_with('{') =>
        {
            let open = input.find('{').expect("checked above") + 1;
            let with_placeholder =
                format!("{}{PLACEHOLDER}=\"1\",{}", &input[..open], &input[open..]);
            let mut expr = parser::parse(&with_placeholder).map_err(|_| parse_error(&e))?;
            if let parser::Expr::VectorSelector(vs) = &mut expr {
                vs.matchers.matchers.retain(|m| m.name != PLACEHOLDER);
                if vs.matchers.matchers.is_empty() {
                    return Err(parse_error(&e));
                }
            }
            expr
        }
        Err(e) => return Err(parse_error(e)),
    };
    let parser::Expr::VectorSelector(vs) = expr else {
        return Err(parse_error(format!(
            "expected vector selector, got {input:?}"
        )));
    };
    if vs.offset.is_some() || vs.at.is_some() {
        return Err(parse_error(
            "offset and @ are not allowed in a series selector",
        ));
    }
    convert_selector(vs).map(|s| s.matchers)
}

fn millis(d: &Duration) -> i64 {
    d.as_millis() as i64
}

fn offset_ms(o: &Option<Offset>) -> i64 {
    match o {
        None => 0,
        Some(Offset::Pos(d)) => millis(d),
        Some(Offset::Neg(d)) => -millis(d),
    }
}

fn convert_at(at: &Option<AtModifier>) -> Option<At> {
    at.as_ref().map(|a| match a {
        AtModifier::Start => At::Start,
        AtModifier::End => At::End,
        AtModifier::At(t) => At::Timestamp(match t.duration_since(SystemTime::UNIX_EPOCH) {
            Ok(d) => millis(&d),
            Err(e) => -millis(&e.duration()),
        }),
    })
}

fn convert_selector(vs: parser::VectorSelector) -> Result<VectorSelector, ParseError> {
    if !vs.matchers.or_matchers.is_empty() {
        return Err(parse_error("unexpected \"or\" in label matching"));
    }
    let mut matchers = Vec::with_capacity(vs.matchers.matchers.len() + 1);
    if let Some(name) = &vs.name {
        let named = vs.matchers.matchers.iter().any(|m| m.name == METRIC_NAME);
        if !named {
            matchers.push(
                Matcher::new(MatchType::Equal, METRIC_NAME, name.clone()).map_err(parse_error)?,
            );
        }
    }
    for m in vs.matchers.matchers {
        let kind = match m.op {
            MatchOp::Equal => MatchType::Equal,
            MatchOp::NotEqual => MatchType::NotEqual,
            MatchOp::Re(_) => MatchType::Regex,
            MatchOp::NotRe(_) => MatchType::NotRegex,
        };
        // The parser's own regex lacks Prometheus semantics; ours recompiles the pattern.
        matchers.push(Matcher::new(kind, m.name, m.value).map_err(parse_error)?);
    }
    Ok(VectorSelector {
        matchers,
        offset_ms: offset_ms(&vs.offset),
        at: convert_at(&vs.at),
    })
}

fn label_list(l: &promql_parser::label::Labels) -> Vec<String> {
    l.labels.clone()
}

fn convert_value_type(t: parser::value::ValueType) -> ValueType {
    match t {
        parser::value::ValueType::Scalar => ValueType::Scalar,
        parser::value::ValueType::String => ValueType::String,
        parser::value::ValueType::Vector => ValueType::Vector,
        parser::value::ValueType::Matrix => ValueType::Matrix,
    }
}

fn aggregate_op(name: &str) -> Result<AggregateOp, ParseError> {
    Ok(match name {
        "sum" => AggregateOp::Sum,
        "avg" => AggregateOp::Avg,
        "min" => AggregateOp::Min,
        "max" => AggregateOp::Max,
        "count" => AggregateOp::Count,
        "group" => AggregateOp::Group,
        "stddev" => AggregateOp::Stddev,
        "stdvar" => AggregateOp::Stdvar,
        "topk" => AggregateOp::Topk,
        "bottomk" => AggregateOp::Bottomk,
        "quantile" => AggregateOp::Quantile,
        "count_values" => AggregateOp::CountValues,
        "limitk" => AggregateOp::Limitk,
        "limit_ratio" => AggregateOp::LimitRatio,
        other => return Err(parse_error(format!("unknown aggregation {other:?}"))),
    })
}

fn binary_op(name: &str) -> Result<BinaryOp, ParseError> {
    Ok(match name {
        "+" => BinaryOp::Add,
        "-" => BinaryOp::Sub,
        "*" => BinaryOp::Mul,
        "/" => BinaryOp::Div,
        "%" => BinaryOp::Mod,
        "^" => BinaryOp::Pow,
        "atan2" => BinaryOp::Atan2,
        "==" => BinaryOp::Eq,
        "!=" => BinaryOp::Ne,
        ">" => BinaryOp::Gt,
        "<" => BinaryOp::Lt,
        ">=" => BinaryOp::Ge,
        "<=" => BinaryOp::Le,
        "and" => BinaryOp::And,
        "or" => BinaryOp::Or,
        "unless" => BinaryOp::Unless,
        other => return Err(parse_error(format!("unknown binary operator {other:?}"))),
    })
}

fn boxed(e: parser::Expr) -> Result<Box<Expr>, ParseError> {
    convert(e).map(Box::new)
}

fn convert(expr: parser::Expr) -> Result<Expr, ParseError> {
    Ok(match expr {
        parser::Expr::NumberLiteral(n) => Expr::Number(n.val),
        parser::Expr::StringLiteral(s) => Expr::String(s.val),
        parser::Expr::VectorSelector(vs) => Expr::Vector(convert_selector(vs)?),
        parser::Expr::MatrixSelector(ms) => Expr::Matrix(MatrixSelector {
            range_ms: millis(&ms.range),
            selector: convert_selector(ms.vs)?,
        }),
        parser::Expr::Subquery(sq) => Expr::Subquery(Subquery {
            range_ms: millis(&sq.range),
            step_ms: sq.step.as_ref().map(millis),
            offset_ms: offset_ms(&sq.offset),
            at: convert_at(&sq.at),
            expr: boxed(*sq.expr)?,
        }),
        parser::Expr::Paren(p) => Expr::Paren(boxed(*p.expr)?),
        parser::Expr::Unary(u) => Expr::Negate(boxed(*u.expr)?),
        parser::Expr::Call(c) => Expr::Call(Call {
            name: c.func.name.to_string(),
            return_type: convert_value_type(c.func.return_type),
            args: c
                .args
                .args
                .into_iter()
                .map(|a| convert(*a))
                .collect::<Result<_, _>>()?,
        }),
        parser::Expr::Aggregate(a) => Expr::Aggregate(Aggregate {
            op: aggregate_op(&a.op.to_string())?,
            grouping: match &a.modifier {
                None => Grouping::By(Vec::new()),
                Some(LabelModifier::Include(l)) => Grouping::By(label_list(l)),
                Some(LabelModifier::Exclude(l)) => Grouping::Without(label_list(l)),
            },
            param: a.param.map(|p| boxed(*p)).transpose()?,
            expr: boxed(*a.expr)?,
        }),
        parser::Expr::Binary(b) => {
            let op = binary_op(&b.op.to_string())?;
            let (return_bool, matching, card) = match &b.modifier {
                None => (false, Matching::Ignoring(Vec::new()), None),
                Some(m) => {
                    if m.fill_values.lhs.is_some() || m.fill_values.rhs.is_some() {
                        return Err(parse_error("fill modifiers are not supported"));
                    }
                    let matching = match &m.matching {
                        None => Matching::Ignoring(Vec::new()),
                        Some(LabelModifier::Include(l)) => Matching::On(label_list(l)),
                        Some(LabelModifier::Exclude(l)) => Matching::Ignoring(label_list(l)),
                    };
                    let card = match &m.card {
                        VectorMatchCardinality::OneToOne => Cardinality::OneToOne,
                        VectorMatchCardinality::ManyToOne(l) => {
                            Cardinality::ManyToOne(label_list(l))
                        }
                        VectorMatchCardinality::OneToMany(l) => {
                            Cardinality::OneToMany(label_list(l))
                        }
                        VectorMatchCardinality::ManyToMany => Cardinality::ManyToMany,
                    };
                    (m.return_bool, matching, Some(card))
                }
            };
            let card = match card {
                _ if op.is_set() => Cardinality::ManyToMany,
                Some(c) => c,
                None => Cardinality::OneToOne,
            };
            Expr::Binary(Binary {
                op,
                lhs: boxed(*b.lhs)?,
                rhs: boxed(*b.rhs)?,
                return_bool,
                matching,
                card,
            })
        }
        parser::Expr::Extension(_) => return Err(parse_error("extensions are not supported")),
    })
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
        let all = parse_series_selector(r#"{job=~".*"}"#).expect("federation-style selector");
        assert_eq!(all.len(), 1);
        assert!(all[0].matches("") && all[0].matches("node"));
        let dot = parse_series_selector(r#"{job=~"a.b"}"#).unwrap();
        assert!(dot[0].matches("a\nb"), "Prometheus 3: dot matches newline");
    }

    #[test]
    fn expressions() {
        let e = parse_expr("sum by (job) (rate(x[5m] offset -1m @ 10))").unwrap();
        let Expr::Aggregate(a) = e else {
            panic!("not an aggregation")
        };
        assert_eq!(a.grouping, Grouping::By(vec!["job".into()]));
        let Expr::Call(c) = *a.expr else {
            panic!("not a call")
        };
        let Expr::Matrix(m) = &c.args[0] else {
            panic!("not a matrix")
        };
        assert_eq!(m.range_ms, 300_000);
        assert_eq!(m.selector.offset_ms, -60_000);
        assert_eq!(m.selector.at, Some(At::Timestamp(10_000)));
        let e = parse_expr("a and on(x) b").unwrap();
        assert!(matches!(
            e,
            Expr::Binary(Binary {
                card: Cardinality::ManyToMany,
                ..
            })
        ));
        assert!(parse_expr(r#"{a="b" or c="d"}"#).is_err());
    }

    #[test]
    fn hex_escapes_are_bytes() {
        let e = parse_expr(r#"x{a="\xc3\xa9"} or vector(1) > bool 2 or count_values("\xff", x)"#)
            .unwrap();
        let mut strings = Vec::new();
        let mut values = Vec::new();
        e.walk(&mut |e| match e {
            Expr::Vector(v) => values.extend(v.matchers.iter().map(|m| m.value.clone())),
            Expr::String(s) => strings.push(s.clone()),
            _ => {}
        });
        assert!(values.contains(&"é".to_string()), "{values:?}");
        assert_eq!(strings, vec!["\u{FFFD}".to_string()]);
    }
}
