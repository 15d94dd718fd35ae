//! Query answers in a comparable form, and their comparison point by point.
//!
//! Timestamps are kept relative to each system's run epoch, so answers of systems that ran
//! one after the other line up.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// A series' labels, sorted by name.
pub type Labels = BTreeMap<String, String>;

/// One query answer: each series' points as (ms since the epoch, value).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Answer {
    pub series: BTreeMap<Labels, Vec<(i64, f64)>>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
#[error("unexpected query answer: {0}")]
pub struct AnswerError(String);

fn bad(what: &str) -> AnswerError {
    AnswerError(what.to_string())
}

/// Parses a sample value as the HTTP API writes it (`"1.5"`, `"NaN"`, `"+Inf"`).
fn parse_value(v: &Value) -> Result<f64, AnswerError> {
    let text = v.as_str().ok_or_else(|| bad("value is not a string"))?;
    match text {
        "NaN" => Ok(f64::NAN),
        "+Inf" | "Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        _ => text.parse().map_err(|_| bad(&format!("value {text:?}"))),
    }
}

/// A `[unix_seconds, "value"]` pair as (ms since `epoch_ms`, value).
fn parse_point(v: &Value, epoch_ms: i64) -> Result<(i64, f64), AnswerError> {
    let pair = v
        .as_array()
        .filter(|a| a.len() == 2)
        .ok_or_else(|| bad("point"))?;
    let seconds = pair[0].as_f64().ok_or_else(|| bad("timestamp"))?;
    Ok((
        (seconds * 1000.0).round() as i64 - epoch_ms,
        parse_value(&pair[1])?,
    ))
}

fn parse_labels(v: Option<&Value>) -> Result<Labels, AnswerError> {
    let Some(map) = v.and_then(Value::as_object) else {
        return Ok(Labels::new());
    };
    map.iter()
        .map(|(k, v)| {
            let v = v.as_str().ok_or_else(|| bad("label value"))?;
            Ok((k.clone(), v.to_string()))
        })
        .collect()
}

impl Answer {
    /// Parses the `data` object of a `/api/v1/query(_range)` response.
    pub fn parse(data: &Value, epoch_ms: i64) -> Result<Answer, AnswerError> {
        let result = data.get("result").ok_or_else(|| bad("no result"))?;
        let mut answer = Answer::default();
        match data.get("resultType").and_then(Value::as_str) {
            Some("scalar" | "string") => {
                let point = parse_point(result, epoch_ms)?;
                answer.series.insert(Labels::new(), vec![point]);
            }
            Some(kind @ ("vector" | "matrix")) => {
                for s in result
                    .as_array()
                    .ok_or_else(|| bad("result is not a list"))?
                {
                    let labels = parse_labels(s.get("metric"))?;
                    let points = if kind == "vector" {
                        vec![parse_point(
                            s.get("value").ok_or_else(|| bad("no value"))?,
                            epoch_ms,
                        )?]
                    } else {
                        s.get("values")
                            .and_then(Value::as_array)
                            .ok_or_else(|| bad("no values"))?
                            .iter()
                            .map(|p| parse_point(p, epoch_ms))
                            .collect::<Result<_, _>>()?
                    };
                    answer.series.insert(labels, points);
                }
            }
            other => return Err(bad(&format!("result type {other:?}"))),
        }
        Ok(answer)
    }

    pub fn points(&self) -> usize {
        self.series.values().map(Vec::len).sum()
    }
}

/// How two answers to the same query differ.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// Series in both answers.
    pub common_series: usize,
    pub only_left: usize,
    pub only_right: usize,
    /// Points compared (in series present in both).
    pub points: usize,
    /// Points missing on one side or further apart than the tolerance.
    pub differing_points: usize,
    /// The largest relative difference among points present on both sides.
    pub max_relative_diff: f64,
    /// The first difference found, for the report.
    pub example: Option<String>,
}

impl Comparison {
    pub fn matches(&self) -> bool {
        self.only_left == 0 && self.only_right == 0 && self.differing_points == 0
    }
}

/// `|a - b|` relative to the larger magnitude; 0 for equal values (infinities, NaNs).
fn relative_diff(a: f64, b: f64) -> f64 {
    if a == b || (a.is_nan() && b.is_nan()) {
        return 0.0;
    }
    let scale = a.abs().max(b.abs());
    if scale == 0.0 || !scale.is_finite() {
        return f64::INFINITY;
    }
    (a - b).abs() / scale
}

fn describe(labels: &Labels) -> String {
    let inner: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
    format!("{{{}}}", inner.join(", "))
}

/// Compares two answers series by series and point by point, with relative `tolerance`.
pub fn compare(left: &Answer, right: &Answer, tolerance: f64) -> Comparison {
    let mut c = Comparison::default();
    let note = |c: &mut Comparison, text: String| {
        c.example.get_or_insert(text);
    };
    for (labels, left_points) in &left.series {
        let Some(right_points) = right.series.get(labels) else {
            c.only_left += 1;
            note(
                &mut c,
                format!("{} only in the first answer", describe(labels)),
            );
            continue;
        };
        c.common_series += 1;
        let right_by_time: BTreeMap<i64, f64> = right_points.iter().copied().collect();
        let left_by_time: BTreeMap<i64, f64> = left_points.iter().copied().collect();
        for (t, a) in &left_by_time {
            c.points += 1;
            let Some(b) = right_by_time.get(t) else {
                c.differing_points += 1;
                note(
                    &mut c,
                    format!("{} at +{t} ms only in the first answer", describe(labels)),
                );
                continue;
            };
            let diff = relative_diff(*a, *b);
            if diff.is_finite() {
                c.max_relative_diff = c.max_relative_diff.max(diff);
            }
            if diff > tolerance {
                c.differing_points += 1;
                note(
                    &mut c,
                    format!("{} at +{t} ms: {a} vs {b}", describe(labels)),
                );
            }
        }
        for t in right_by_time
            .keys()
            .filter(|t| !left_by_time.contains_key(t))
        {
            c.points += 1;
            c.differing_points += 1;
            note(
                &mut c,
                format!("{} at +{t} ms only in the second answer", describe(labels)),
            );
        }
    }
    for labels in right
        .series
        .keys()
        .filter(|l| !left.series.contains_key(*l))
    {
        c.only_right += 1;
        note(
            &mut c,
            format!("{} only in the second answer", describe(labels)),
        );
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const EPOCH_MS: i64 = 1_700_000_000_000;

    fn vector(values: &[(&str, &str)]) -> Value {
        let result: Vec<Value> = values
            .iter()
            .map(|(instance, v)| json!({"metric": {"instance": instance}, "value": [1_700_000_060.0, v]}))
            .collect();
        json!({"resultType": "vector", "result": result})
    }

    #[test]
    fn parses_vectors_matrices_and_scalars_relative_to_the_epoch() {
        let v = Answer::parse(&vector(&[("a", "1.5"), ("b", "NaN")]), EPOCH_MS).unwrap();
        assert_eq!(v.series.len(), 2);
        let a = &v.series[&Labels::from([("instance".into(), "a".into())])];
        assert_eq!(a, &vec![(60_000, 1.5)]);
        let m = json!({"resultType": "matrix", "result": [
            {"metric": {}, "values": [[1_700_000_000.5, "+Inf"], [1_700_000_015.5, "-2"]]}]});
        let m = Answer::parse(&m, EPOCH_MS).unwrap();
        assert_eq!(
            m.series[&Labels::new()],
            vec![(500, f64::INFINITY), (15_500, -2.0)]
        );
        let s = json!({"resultType": "scalar", "result": [1_700_000_001, "3"]});
        assert_eq!(Answer::parse(&s, EPOCH_MS).unwrap().points(), 1);
        assert!(Answer::parse(&json!({"resultType": "vector"}), EPOCH_MS).is_err());
        let bad_value =
            json!({"resultType": "vector", "result": [{"metric": {}, "value": [1, "x"]}]});
        assert!(Answer::parse(&bad_value, EPOCH_MS).is_err());
    }

    #[test]
    fn equal_answers_match_within_tolerance() {
        let a = Answer::parse(
            &vector(&[("a", "1"), ("b", "NaN"), ("c", "+Inf")]),
            EPOCH_MS,
        )
        .unwrap();
        let b = Answer::parse(
            &vector(&[("a", "1.0000000001"), ("b", "NaN"), ("c", "+Inf")]),
            EPOCH_MS,
        )
        .unwrap();
        let c = compare(&a, &b, 1e-6);
        assert!(c.matches(), "{c:?}");
        assert_eq!((c.common_series, c.points), (3, 3));
        assert!(c.max_relative_diff > 0.0 && c.max_relative_diff < 1e-9);
    }

    #[test]
    fn differences_are_counted_and_described() {
        let a = Answer::parse(&vector(&[("a", "1"), ("b", "2"), ("c", "3")]), EPOCH_MS).unwrap();
        let b = Answer::parse(&vector(&[("a", "1.1"), ("b", "2"), ("d", "3")]), EPOCH_MS).unwrap();
        let c = compare(&a, &b, 1e-6);
        assert!(!c.matches());
        assert_eq!((c.only_left, c.only_right, c.differing_points), (1, 1, 1));
        assert!((c.max_relative_diff - 0.1 / 1.1).abs() < 1e-12);
        assert_eq!(
            c.example.as_deref(),
            Some("{instance=\"a\"} at +60000 ms: 1 vs 1.1")
        );
    }

    #[test]
    fn missing_points_in_a_range_differ() {
        let left = json!({"resultType": "matrix", "result": [
            {"metric": {}, "values": [[1_700_000_000, "1"], [1_700_000_015, "2"]]}]});
        let right = json!({"resultType": "matrix", "result": [
            {"metric": {}, "values": [[1_700_000_015, "2"], [1_700_000_030, "3"]]}]});
        let (l, r) = (
            Answer::parse(&left, EPOCH_MS).unwrap(),
            Answer::parse(&right, EPOCH_MS).unwrap(),
        );
        let c = compare(&l, &r, 1e-6);
        assert_eq!((c.points, c.differing_points), (3, 2));
    }
}
