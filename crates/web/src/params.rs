//! Request parameters as Prometheus's API reads them: query string and form body merged,
//! keys repeatable (`match[]`), times as Unix seconds or RFC 3339.

use ember_model::Timestamp;

/// The decoded parameters of one request.
pub(crate) struct Params(Vec<(String, String)>);

impl Params {
    /// Merges the URL query string with an `application/x-www-form-urlencoded` body.
    pub(crate) fn parse(query: &str, form_body: &[u8]) -> Self {
        let body = String::from_utf8_lossy(form_body);
        Params(form_pairs(query).chain(form_pairs(&body)).collect())
    }

    /// The first value of `key`.
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `key`, in order.
    pub(crate) fn all(&self, key: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// An optional time parameter, or `default` when absent or empty; errors are worded as
    /// Prometheus 3 words them.
    pub(crate) fn time_or(&self, key: &str, default: Timestamp) -> Result<Timestamp, String> {
        match self.get(key) {
            None | Some("") => Ok(default),
            Some(v) => parse_time(v).map_err(|e| {
                format!("invalid parameter {key:?}: invalid time value for '{key}': {e}")
            }),
        }
    }
}

/// The earliest and latest times the API accepts, as Prometheus's `MinTime`/`MaxTime`.
pub(crate) const MIN_TIME: Timestamp = -62_135_596_801_000 + 1;
pub(crate) const MAX_TIME: Timestamp = 253_402_300_799_000;

/// Unix seconds (fractional allowed) or RFC 3339, to milliseconds.
pub(crate) fn parse_time(s: &str) -> Result<Timestamp, String> {
    if let Ok(secs) = s.parse::<f64>() {
        if !secs.is_finite() {
            return Err(format!("cannot parse {s:?} to a valid timestamp"));
        }
        return Ok((secs * 1000.0).round() as Timestamp);
    }
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.timestamp_millis())
        .map_err(|_| format!("cannot parse {s:?} to a valid timestamp"))
}

fn form_pairs(query: &str) -> impl Iterator<Item = (String, String)> + '_ {
    query.split('&').filter(|p| !p.is_empty()).map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (percent_decode(k), percent_decode(v))
    })
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(hi), Some(lo)) => {
                    out.push((hi * 16 + lo) as u8);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_params_are_decoded() {
        let p = Params::parse(
            "match%5B%5D=%7Bjob%3D~%22.%2A%22%7D&match[]=up&x=1",
            b"match[]=b+c",
        );
        assert_eq!(p.all("match[]"), vec![r#"{job=~".*"}"#, "up", "b c"]);
        assert_eq!(p.get("x"), Some("1"));
    }

    #[test]
    fn times() {
        assert_eq!(parse_time("1.5").unwrap(), 1500);
        assert_eq!(
            parse_time("2023-11-14T22:13:20.72Z").unwrap(),
            1_700_000_000_720
        );
        assert!(parse_time("yesterday").is_err());
    }
}
