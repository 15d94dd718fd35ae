//! `/api/v1/parse_query` (Prometheus 3's experimental endpoint for its UI's tree view): the
//! parsed query as a JSON tree of nodes tagged by `type`.
//!
//! Node shapes follow Prometheus 3's documented output. Go encodes its maps with sorted
//! keys, so every object here is built in key order.

use crate::api::{ErrorType, error, success};
use crate::params::Params;
use crate::query::format_value;
use axum::body::Bytes;
use axum::extract::RawQuery;
use axum::response::Response;
use ember_model::{METRIC_NAME, MatchType, Matcher};
use ember_promql::ast::{
    Aggregate, AggregateOp, At, Binary, BinaryOp, Cardinality, Expr, Grouping, Matching, ValueType,
    VectorSelector,
};
use serde_json::{Map, Value, json};

pub(crate) async fn parse_query(RawQuery(q): RawQuery, body: Bytes) -> Response {
    let p = Params::parse(q.as_deref().unwrap_or(""), &body);
    match ember_promql::parse_expr(p.get("query").unwrap_or("")) {
        Ok(expr) => success(node(&expr)),
        Err(e) => error(
            ErrorType::BadData,
            format!("invalid parameter \"query\": {e}"),
        ),
    }
}

/// An object from key/value pairs given in sorted key order.
fn object<const N: usize>(pairs: [(&str, Value); N]) -> Value {
    debug_assert!(
        pairs.windows(2).all(|w| w[0].0 < w[1].0),
        "keys out of order"
    );
    Value::Object(
        pairs
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect::<Map<_, _>>(),
    )
}

fn node(expr: &Expr) -> Value {
    match expr {
        Expr::Number(v) => object([
            ("type", json!("numberLiteral")),
            ("val", json!(format_value(*v))),
        ]),
        Expr::String(s) => object([("type", json!("stringLiteral")), ("val", json!(s))]),
        Expr::Paren(e) => object([("expr", node(e)), ("type", json!("parenExpr"))]),
        Expr::Negate(e) => object([
            ("expr", node(e)),
            ("op", json!("-")),
            ("type", json!("unaryExpr")),
        ]),
        Expr::Vector(sel) => {
            let (timestamp, start_or_end) = at_json(sel.at);
            object([
                ("matchers", matchers_json(sel)),
                ("name", json!(sel.name.as_deref().unwrap_or(""))),
                ("offset", json!(sel.offset_ms)),
                ("startOrEnd", start_or_end),
                ("timestamp", timestamp),
                ("type", json!("vectorSelector")),
            ])
        }
        Expr::Matrix(m) => {
            let sel = &m.selector;
            let (timestamp, start_or_end) = at_json(sel.at);
            object([
                ("matchers", matchers_json(sel)),
                ("name", json!(sel.name.as_deref().unwrap_or(""))),
                ("offset", json!(sel.offset_ms)),
                ("range", json!(m.range_ms)),
                ("startOrEnd", start_or_end),
                ("timestamp", timestamp),
                ("type", json!("matrixSelector")),
            ])
        }
        Expr::Subquery(sq) => {
            let (timestamp, start_or_end) = at_json(sq.at);
            object([
                ("expr", node(&sq.expr)),
                ("offset", json!(sq.offset_ms)),
                ("range", json!(sq.range_ms)),
                ("startOrEnd", start_or_end),
                ("step", json!(sq.step_ms.unwrap_or(0))),
                ("timestamp", timestamp),
                ("type", json!("subquery")),
            ])
        }
        Expr::Call(c) => object([
            ("args", Value::Array(c.args.iter().map(node).collect())),
            (
                "func",
                object([
                    (
                        "argTypes",
                        c.arg_types.iter().map(|t| type_name(*t)).collect(),
                    ),
                    ("name", json!(c.name)),
                    ("returnType", json!(type_name(c.return_type))),
                    ("variadic", json!(c.variadic)),
                ]),
            ),
            ("type", json!("call")),
        ]),
        Expr::Aggregate(a) => aggregation(a),
        Expr::Binary(b) => binary(b),
    }
}

fn aggregation(a: &Aggregate) -> Value {
    let (labels, without) = match &a.grouping {
        Grouping::By(l) => (l, false),
        Grouping::Without(l) => (l, true),
    };
    object([
        ("expr", node(&a.expr)),
        ("grouping", json!(labels)),
        ("op", json!(aggregate_op(a.op))),
        ("param", a.param.as_deref().map_or(Value::Null, node)),
        ("type", json!("aggregation")),
        ("without", json!(without)),
    ])
}

fn binary(b: &Binary) -> Value {
    // Prometheus keeps vector matching only between two instant vectors.
    let vectors =
        b.lhs.value_type() == ValueType::Vector && b.rhs.value_type() == ValueType::Vector;
    let matching = if vectors {
        let (labels, on) = match &b.matching {
            Matching::On(l) => (l, true),
            Matching::Ignoring(l) => (l, false),
        };
        let (card, include): (&str, &[String]) = match &b.card {
            Cardinality::OneToOne => ("one-to-one", &[]),
            Cardinality::ManyToOne(l) => ("many-to-one", l),
            Cardinality::OneToMany(l) => ("one-to-many", l),
            Cardinality::ManyToMany => ("many-to-many", &[]),
        };
        object([
            ("card", json!(card)),
            ("include", json!(include)),
            ("labels", json!(labels)),
            ("on", json!(on)),
        ])
    } else {
        Value::Null
    };
    object([
        ("bool", json!(b.return_bool)),
        ("lhs", node(&b.lhs)),
        ("matching", matching),
        ("op", json!(binary_op(b.op))),
        ("rhs", node(&b.rhs)),
        ("type", json!("binaryExpr")),
    ])
}

/// The matchers as written, the metric name's last (Prometheus appends it).
fn matchers_json(sel: &VectorSelector) -> Value {
    let is_name = |m: &Matcher| {
        sel.name.as_deref() == Some(m.value.as_str())
            && m.name == METRIC_NAME
            && m.kind == MatchType::Equal
    };
    let name_matcher = sel.matchers.iter().position(is_name);
    let ordered = sel
        .matchers
        .iter()
        .enumerate()
        .filter(|(i, _)| Some(*i) != name_matcher)
        .map(|(_, m)| m)
        .chain(name_matcher.map(|i| &sel.matchers[i]));
    ordered
        .map(|m| {
            object([
                ("name", json!(m.name)),
                ("type", json!(m.kind.to_string())),
                ("value", json!(m.value)),
            ])
        })
        .collect()
}

/// `timestamp` (milliseconds) and `startOrEnd` of an `@` modifier.
fn at_json(at: Option<At>) -> (Value, Value) {
    match at {
        None => (Value::Null, Value::Null),
        Some(At::Timestamp(t)) => (json!(t), Value::Null),
        Some(At::Start) => (Value::Null, json!("start")),
        Some(At::End) => (Value::Null, json!("end")),
    }
}

fn type_name(t: ValueType) -> &'static str {
    match t {
        ValueType::Scalar => "scalar",
        ValueType::String => "string",
        ValueType::Vector => "vector",
        ValueType::Matrix => "matrix",
    }
}

fn aggregate_op(op: AggregateOp) -> &'static str {
    match op {
        AggregateOp::Sum => "sum",
        AggregateOp::Avg => "avg",
        AggregateOp::Min => "min",
        AggregateOp::Max => "max",
        AggregateOp::Count => "count",
        AggregateOp::Group => "group",
        AggregateOp::Stddev => "stddev",
        AggregateOp::Stdvar => "stdvar",
        AggregateOp::Topk => "topk",
        AggregateOp::Bottomk => "bottomk",
        AggregateOp::Quantile => "quantile",
        AggregateOp::CountValues => "count_values",
        AggregateOp::Limitk => "limitk",
        AggregateOp::LimitRatio => "limit_ratio",
    }
}

fn binary_op(op: BinaryOp) -> &'static str {
    match op {
        BinaryOp::Add => "+",
        BinaryOp::Sub => "-",
        BinaryOp::Mul => "*",
        BinaryOp::Div => "/",
        BinaryOp::Mod => "%",
        BinaryOp::Pow => "^",
        BinaryOp::Atan2 => "atan2",
        BinaryOp::Eq => "==",
        BinaryOp::Ne => "!=",
        BinaryOp::Gt => ">",
        BinaryOp::Lt => "<",
        BinaryOp::Ge => ">=",
        BinaryOp::Le => "<=",
        BinaryOp::And => "and",
        BinaryOp::Or => "or",
        BinaryOp::Unless => "unless",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(q: &str) -> Value {
        node(&ember_promql::parse_expr(q).unwrap())
    }

    /// The example of Prometheus's API documentation, `foo/bar`.
    #[test]
    fn documented_example() {
        let selector = |name: &str| {
            json!({
                "matchers": [{"name": "__name__", "type": "=", "value": name}],
                "name": name,
                "offset": 0,
                "startOrEnd": null,
                "timestamp": null,
                "type": "vectorSelector",
            })
        };
        let want = json!({
            "bool": false,
            "lhs": selector("foo"),
            "matching": {"card": "one-to-one", "include": [], "labels": [], "on": false},
            "op": "/",
            "rhs": selector("bar"),
            "type": "binaryExpr",
        });
        assert_eq!(tree("foo/bar"), want);
        // Keys come out sorted, as Go writes maps.
        assert_eq!(
            serde_json::to_string(&tree("foo/bar")).unwrap(),
            serde_json::to_string(&want).unwrap()
        );
    }

    #[test]
    fn node_kinds() {
        let t = tree(
            r#"sum without (a) (rate(x{b=~"c"}[5m] offset 1m @ 100)) > bool on (d) group_left (e) -max_over_time(y[1h:5m] @ end())"#,
        );
        assert_eq!(t["type"], "binaryExpr");
        assert_eq!(t["bool"], true);
        assert_eq!(
            t["matching"],
            json!({"card": "many-to-one", "include": ["e"], "labels": ["d"], "on": true})
        );
        let agg = &t["lhs"];
        assert_eq!(
            (&agg["op"], &agg["without"], &agg["grouping"], &agg["param"]),
            (&json!("sum"), &json!(true), &json!(["a"]), &Value::Null)
        );
        let call = &agg["expr"];
        assert_eq!(
            call["func"],
            json!({"argTypes": ["matrix"], "name": "rate", "returnType": "vector", "variadic": 0})
        );
        let m = &call["args"][0];
        assert_eq!(m["type"], "matrixSelector");
        assert_eq!(
            (&m["range"], &m["offset"], &m["timestamp"]),
            (&json!(300_000), &json!(60_000), &json!(100_000))
        );
        assert_eq!(
            m["matchers"],
            json!([
                {"name": "b", "type": "=~", "value": "c"},
                {"name": "__name__", "type": "=", "value": "x"},
            ])
        );
        let neg = &t["rhs"];
        assert_eq!(
            (&neg["type"], &neg["op"]),
            (&json!("unaryExpr"), &json!("-"))
        );
        let sq = &neg["expr"]["args"][0];
        assert_eq!(sq["type"], "subquery");
        assert_eq!(
            (&sq["range"], &sq["step"], &sq["startOrEnd"]),
            (&json!(3_600_000), &json!(300_000), &json!("end"))
        );
        // Scalars: no vector matching; numbers as Go formats them.
        let s = tree("(1 + 2.5) * -Inf");
        assert_eq!(s["matching"], Value::Null);
        assert_eq!(s["lhs"]["type"], "parenExpr");
        assert_eq!(
            s["lhs"]["expr"]["rhs"],
            json!({"type": "numberLiteral", "val": "2.5"})
        );
        assert_eq!(s["rhs"]["val"], "-Inf");
        let q = tree(r#"quantile(0.9, {__name__="x"})"#);
        assert_eq!(q["param"]["val"], "0.9");
        assert_eq!(q["expr"]["name"], "");
        assert_eq!(
            tree(r#"label_join(x, "a", ",", "b")"#)["func"]["variadic"],
            -1
        );
    }
}
