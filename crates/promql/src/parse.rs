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

/// An error found after parsing (while converting the tree), where no position is known:
/// it points at the start.
fn parse_error(msg: impl std::fmt::Display) -> ParseError {
    ParseError(format!("1:1: parse error: {msg}"))
}

/// A `promql-parser` error in Prometheus's form, `line:col: parse error: message`.
///
/// The parser reports messages only, no positions, and some in other words than
/// Prometheus. The wording is mapped to Prometheus 3's where the message is recognised,
/// and the position is recovered from the input where the message says where the error
/// is: the end of the input for truncated queries, the offending character for the
/// lexer's errors, the named token or the function call for the others. Errors about a
/// whole expression (operand types, argument counts of aggregations) point at the first
/// token, which is right when that expression is the whole query.
fn syntax_error(input: &str, raw: &str) -> ParseError {
    let (message, offset) = errors::locate(input, raw);
    let (line, col) = errors::line_col(input, offset);
    ParseError(format!("{line}:{col}: parse error: {message}"))
}

/// Parses a PromQL expression.
pub fn parse_expr(input: &str) -> Result<Expr, ParseError> {
    let expr = parser::parse(input).map_err(|e| syntax_error(input, &e))?;
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
    Ok(parser::parse(input)
        .map_err(|e| syntax_error(input, &e))?
        .prettify())
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
            let mut expr = parser::parse(&with_placeholder).map_err(|_| syntax_error(input, &e))?;
            if let parser::Expr::VectorSelector(vs) = &mut expr {
                vs.matchers.matchers.retain(|m| m.name != PLACEHOLDER);
                if vs.matchers.matchers.is_empty() {
                    return Err(syntax_error(input, &e));
                }
            }
            expr
        }
        Err(e) => return Err(syntax_error(input, &e)),
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
        name: vs.name,
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
            arg_types: c
                .func
                .arg_types
                .iter()
                .copied()
                .map(convert_value_type)
                .collect(),
            variadic: c.func.variadic,
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

/// Prometheus's wording and positions for `promql-parser`'s messages.
mod errors {
    /// Characters that can end a query only when more must follow.
    const CONTINUATION_CHARS: &[char] = &[
        '+', '-', '*', '/', '%', '^', '=', '!', '<', '>', ',', '(', '[', '{', '@', ':',
    ];
    /// Keywords after which a query cannot end.
    const CONTINUATION_WORDS: &[&str] = &[
        "and",
        "or",
        "unless",
        "atan2",
        "bool",
        "by",
        "without",
        "on",
        "ignoring",
        "group_left",
        "group_right",
        "offset",
    ];

    /// Prometheus's message for `raw` and the byte offset it points at.
    pub(super) fn locate(input: &str, raw: &str) -> (String, usize) {
        let end = input.len();
        let start = input.len() - input.trim_start().len();
        // Truncated input: Prometheus points just past the end.
        if raw == "invalid promql query" && ends_incomplete(input) {
            return ("unexpected end of input".into(), end);
        }
        if raw == "unexpected end of input inside brackets" {
            return ("unclosed left bracket".into(), end);
        }
        if raw.starts_with("unexpected end of input") || raw == "unclosed left parenthesis" {
            return (raw.to_string(), end);
        }
        if let Some(rest) = raw.strip_prefix("unterminated quoted string") {
            let quote = rest.trim().chars().next();
            let at = quote
                .and_then(|q| unterminated_quote(input, q))
                .unwrap_or(start);
            return ("unterminated quoted string".into(), at);
        }
        if let Some(id) = between(raw, "unexpected identifier '", "' in label matching") {
            let at = find_word(input, id, |before| before.ends_with(['=', '~'])).unwrap_or(start);
            return (
                format!("unexpected identifier {id:?} in label matching, expected string"),
                at,
            );
        }
        if let Some(name) = between(raw, "unknown function with name '", "'") {
            let at = find_call(input, name).unwrap_or(start);
            return (format!("unknown function with name {name:?}"), at);
        }
        if let Some(rest) = raw.strip_prefix("expected type ")
            && let Some((want, rest)) = rest.split_once(" in call to function '")
            && let Some((name, got)) = rest.split_once("', got ")
        {
            let at = find_call(input, name)
                .map(|call| first_argument(input, call))
                .unwrap_or(start);
            return (
                format!(
                    "expected type {} in call to function {name:?}, got {}",
                    type_name(want),
                    type_name(got)
                ),
                at,
            );
        }
        if let Some(rest) = raw.strip_prefix("expected ")
            && let Some((count, rest)) = rest.split_once(" argument(s) in call to '")
            && let Some((name, got)) = rest.split_once("', got ")
        {
            let at = find_call(input, name).unwrap_or(start);
            return (
                format!("expected {count} argument(s) in call to {name:?}, got {got}"),
                at,
            );
        }
        if let Some(op) = between(
            raw,
            "set operator '",
            "' not allowed in binary scalar expression",
        ) {
            return (
                format!("set operator {op:?} not allowed in binary scalar expression"),
                expression_start(input),
            );
        }
        if raw == "binary expression must contain only scalar and instant vector types" {
            return (raw.to_string(), expression_start(input));
        }
        if raw.starts_with("unexpected right ") {
            // Prometheus reports these just past the closing character.
            let at = lexer_error_offset(input, raw).map_or(start, |(_, end)| end);
            return (raw.to_string(), at);
        }
        if raw == "unexpected second colon(:) in brackets" {
            let at = lexer_error_offset(input, raw).map_or(start, |(at, _)| at);
            return ("unexpected colon ':'".into(), at);
        }
        if let Some((at, _)) = lexer_error_offset(input, raw) {
            return (raw.to_string(), at);
        }
        (raw.to_string(), start)
    }

    /// Prometheus's line and column (1-based, bytes) of `offset`.
    pub(super) fn line_col(input: &str, offset: usize) -> (usize, usize) {
        let before = &input.as_bytes()[..offset.min(input.len())];
        let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
        let line_start = before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        (line, offset - line_start + 1)
    }

    /// Where the first operand of the outermost operation starts: past leading space
    /// and opening parentheses.
    fn expression_start(input: &str) -> usize {
        input.len()
            - input
                .trim_start_matches(|c: char| c.is_whitespace() || c == '(')
                .len()
    }

    /// Prometheus's names of the parser's value types.
    fn type_name(t: &str) -> &str {
        match t {
            "matrix" => "range vector",
            "vector" => "instant vector",
            other => other,
        }
    }

    fn between<'a>(s: &'a str, prefix: &str, suffix: &str) -> Option<&'a str> {
        let rest = s.strip_prefix(prefix)?;
        rest.find(suffix).map(|i| &rest[..i])
    }

    /// Whether the query stops where more must follow (an operator, an opening
    /// bracket, a keyword such as `by`).
    fn ends_incomplete(input: &str) -> bool {
        let trimmed = input.trim_end();
        if trimmed.ends_with(CONTINUATION_CHARS) {
            return true;
        }
        let word_start = trimmed
            .rfind(|c: char| !(c.is_alphanumeric() || c == '_'))
            .map_or(0, |i| i + 1);
        CONTINUATION_WORDS.contains(&&trimmed[word_start..])
    }

    /// The offset of the quote that opens the string left unterminated.
    fn unterminated_quote(input: &str, quote: char) -> Option<usize> {
        let mut open: Option<(usize, char)> = None;
        let mut chars = input.char_indices();
        while let Some((i, c)) = chars.next() {
            match open {
                Some((_, q)) if c == '\\' && q != '`' => {
                    chars.next();
                }
                Some((_, q)) if c == q => open = None,
                Some(_) => {}
                None if c == '#' => {
                    // A comment runs to the end of the line.
                    for (_, c) in chars.by_ref() {
                        if c == '\n' {
                            break;
                        }
                    }
                }
                None if matches!(c, '"' | '\'' | '`') => open = Some((i, c)),
                None => {}
            }
        }
        open.filter(|&(_, q)| q == quote).map(|(i, _)| i)
    }

    /// The offset of `word` as a whole identifier outside strings whose preceding
    /// non-space text satisfies `before`.
    fn find_word(input: &str, word: &str, before: impl Fn(&str) -> bool) -> Option<usize> {
        let is_ident = |c: char| c.is_alphanumeric() || c == '_' || c == ':';
        input.match_indices(word).map(|(i, _)| i).find(|&i| {
            let prev_ok = !input[..i].chars().next_back().is_some_and(is_ident);
            let next_ok = !input[i + word.len()..].chars().next().is_some_and(is_ident);
            prev_ok
                && next_ok
                && unterminated_quote_any(&input[..i]).is_none()
                && before(input[..i].trim_end())
        })
    }

    /// Whether `prefix` ends inside a string (the offset of its opening quote).
    fn unterminated_quote_any(prefix: &str) -> Option<usize> {
        ['"', '\'', '`']
            .into_iter()
            .find_map(|q| unterminated_quote(prefix, q))
    }

    /// The offset of a call of function `name` (the name followed by `(`).
    fn find_call(input: &str, name: &str) -> Option<usize> {
        input.match_indices(name).map(|(i, _)| i).find(|&i| {
            let is_ident = |c: char| c.is_alphanumeric() || c == '_' || c == ':';
            !input[..i].chars().next_back().is_some_and(is_ident)
                && input[i + name.len()..].trim_start().starts_with('(')
                && unterminated_quote_any(&input[..i]).is_none()
        })
    }

    /// The offset of the first argument of the call at `call`.
    fn first_argument(input: &str, call: usize) -> usize {
        let open = call + input[call..].find('(').unwrap_or(0) + 1;
        let rest = &input[open..];
        open + (rest.len() - rest.trim_start().len())
    }

    /// Where the lexer met the character it reports: the shortest prefix of the input
    /// that fails with the same message ends with it. Returns its start and end.
    fn lexer_error_offset(input: &str, raw: &str) -> Option<(usize, usize)> {
        if promql_parser::parser::lexer(input).err().as_deref() != Some(raw) {
            return None;
        }
        let ends = input.char_indices().map(|(i, c)| (i, i + c.len_utf8()));
        for (start, end) in ends {
            if promql_parser::parser::lexer(&input[..end]).err().as_deref() == Some(raw) {
                return Some((start, end));
            }
        }
        None
    }

    #[cfg(test)]
    mod tests {
        use super::super::parse_expr;

        /// Error texts and positions as Prometheus reports them (checked against 2.42).
        #[test]
        fn prometheus_positions_and_wording() {
            for (query, want) in [
                ("sum(", "1:5: parse error: unclosed left parenthesis"),
                (
                    "temperature{job=api}",
                    "1:17: parse error: unexpected identifier \"api\" in label matching, expected string",
                ),
                (
                    "rate(temperature)",
                    "1:6: parse error: expected type range vector in call to function \"rate\", got instant vector",
                ),
                (
                    "foo{",
                    "1:5: parse error: unexpected end of input inside braces",
                ),
                ("1 +", "1:4: parse error: unexpected end of input"),
                ("temperature[5m", "1:15: parse error: unclosed left bracket"),
                (
                    "rate(x[5m]) + ",
                    "1:15: parse error: unexpected end of input",
                ),
                (
                    "unknown_fn(x)",
                    "1:1: parse error: unknown function with name \"unknown_fn\"",
                ),
                (
                    "x + unknown_fn(x)",
                    "1:5: parse error: unknown function with name \"unknown_fn\"",
                ),
                ("x)", "1:3: parse error: unexpected right parenthesis ')'"),
                (
                    "x offset",
                    "1:9: parse error: unexpected end of input in offset, expected duration",
                ),
                (
                    "avg_over_time(x)",
                    "1:15: parse error: expected type range vector in call to function \"avg_over_time\", got instant vector",
                ),
                (
                    "1 and 2",
                    "1:1: parse error: set operator \"and\" not allowed in binary scalar expression",
                ),
                (
                    "label_replace(x, \"a\")",
                    "1:1: parse error: expected 5 argument(s) in call to \"label_replace\", got 2",
                ),
                (
                    "x{a=\"b\"",
                    "1:8: parse error: unexpected end of input inside braces",
                ),
                (
                    "'unterminated",
                    "1:1: parse error: unterminated quoted string",
                ),
                (
                    "x{a=\"b\"} + 'open",
                    "1:12: parse error: unterminated quoted string",
                ),
                (
                    "y{a=b} + z{c=d}",
                    "1:5: parse error: unexpected identifier \"b\" in label matching, expected string",
                ),
                (
                    "x + y{a=b}",
                    "1:9: parse error: unexpected identifier \"b\" in label matching, expected string",
                ),
                (
                    "histogram_quantile(x, 0.5)",
                    "1:20: parse error: expected type scalar in call to function \"histogram_quantile\", got instant vector",
                ),
                (
                    "x{a~\"b\"}",
                    "1:4: parse error: unexpected character inside braces: '~'",
                ),
                ("1 + (x", "1:7: parse error: unclosed left parenthesis"),
                (
                    "(1 and 2)",
                    "1:2: parse error: set operator \"and\" not allowed in binary scalar expression",
                ),
                (
                    "  1 and 2",
                    "1:3: parse error: set operator \"and\" not allowed in binary scalar expression",
                ),
                ("x[5m:1m:1m]", "1:8: parse error: unexpected colon ':'"),
                ("-", "1:2: parse error: unexpected end of input"),
                ("  x +", "1:6: parse error: unexpected end of input"),
                ("a\n+ (", "2:4: parse error: unclosed left parenthesis"),
            ] {
                assert_eq!(parse_expr(query).unwrap_err().0, want, "{query:?}");
            }
        }
    }
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
