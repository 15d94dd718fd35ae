use crate::prompb::WriteRequest;
use ember_model::{Labels, LabelsBuilder};
use ember_storage::{AppendError, Appendable};
use prost::Message;

/// Largest decompressed request accepted, to bound memory per request.
const MAX_DECODED_BYTES: usize = 256 << 20;

/// Why a remote-write request was refused. Every variant maps to HTTP 400 except
/// [`ReceiveError::Storage`], which is a server error.
#[derive(Debug, thiserror::Error)]
pub enum ReceiveError {
    /// The body is not valid snappy block data.
    #[error("snappy decode error: {0}")]
    Snappy(String),
    /// The payload is not a valid `WriteRequest`.
    #[error("protobuf decode error: {0}")]
    Protobuf(String),
    /// A series or sample was refused; nothing of the request was stored.
    #[error("{0}")]
    Rejected(String),
    /// The storage failed.
    #[error("storage error: {0}")]
    Storage(String),
}

impl ReceiveError {
    /// True when the client sent something wrong (HTTP 400), false for server faults.
    pub fn is_client_error(&self) -> bool {
        !matches!(self, ReceiveError::Storage(_))
    }
}

/// Decodes a snappy-compressed, protobuf-encoded `WriteRequest`.
pub fn decode_write_request(body: &[u8]) -> Result<WriteRequest, ReceiveError> {
    let len = snap::raw::decompress_len(body).map_err(|e| ReceiveError::Snappy(e.to_string()))?;
    if len > MAX_DECODED_BYTES {
        return Err(ReceiveError::Snappy(format!(
            "decoded size {len} exceeds limit {MAX_DECODED_BYTES}"
        )));
    }
    let raw = snap::raw::Decoder::new()
        .decompress_vec(body)
        .map_err(|e| ReceiveError::Snappy(e.to_string()))?;
    WriteRequest::decode(raw.as_slice()).map_err(|e| ReceiveError::Protobuf(e.to_string()))
}

/// Decodes `body` and appends every sample in one transaction. On any refusal the whole
/// request is rolled back, so a bad request never leaves part of itself behind.
/// Returns the number of samples stored.
pub fn receive_write(storage: &dyn Appendable, body: &[u8]) -> Result<usize, ReceiveError> {
    let request = decode_write_request(body)?;
    let mut app = storage.appender();
    let mut n = 0;
    for ts in &request.timeseries {
        let labels = match series_labels(ts) {
            Ok(l) => l,
            Err(e) => {
                app.rollback();
                return Err(e);
            }
        };
        let mut series_ref = 0;
        for s in &ts.samples {
            match app.append(series_ref, &labels, s.timestamp, s.value) {
                Ok(r) => series_ref = r,
                Err(e) => {
                    app.rollback();
                    return Err(match e {
                        AppendError::Storage(m) => ReceiveError::Storage(m),
                        other => ReceiveError::Rejected(format!(
                            "{other} for series {labels} at timestamp {}",
                            s.timestamp
                        )),
                    });
                }
            }
            n += 1;
        }
    }
    app.commit()
        .map_err(|e| ReceiveError::Storage(e.to_string()))?;
    Ok(n)
}

fn series_labels(ts: &crate::prompb::TimeSeries) -> Result<Labels, ReceiveError> {
    let mut b = LabelsBuilder::default();
    for (i, l) in ts.labels.iter().enumerate() {
        if l.name.is_empty() {
            return Err(ReceiveError::Rejected(
                "invalid labels: empty label name".into(),
            ));
        }
        if ts.labels[..i].iter().any(|p| p.name == l.name) {
            return Err(ReceiveError::Rejected(format!(
                "invalid labels: duplicate label name {:?}",
                l.name
            )));
        }
        b.set(l.name.clone(), l.value.clone());
    }
    let labels = b.build();
    if labels.metric_name().is_none() {
        return Err(ReceiveError::Rejected(format!(
            "invalid labels: series {labels} has no metric name"
        )));
    }
    Ok(labels)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prompb::{Label, Sample, TimeSeries};
    use ember_storage::MemStorage;

    fn encode(req: &WriteRequest) -> Vec<u8> {
        snap::raw::Encoder::new()
            .compress_vec(&req.encode_to_vec())
            .unwrap()
    }

    fn series(name: &str, samples: &[(i64, f64)]) -> TimeSeries {
        TimeSeries {
            labels: vec![Label {
                name: "__name__".into(),
                value: name.into(),
            }],
            samples: samples
                .iter()
                .map(|&(timestamp, value)| Sample { value, timestamp })
                .collect(),
            exemplars: vec![],
        }
    }

    #[test]
    fn stores_every_sample() {
        let s = MemStorage::new();
        let req = WriteRequest {
            timeseries: vec![series("a", &[(1, 1.0), (2, 2.0)]), series("b", &[(1, 3.0)])],
            metadata: vec![],
        };
        assert_eq!(receive_write(&s, &encode(&req)).unwrap(), 3);
        assert_eq!(s.dump().len(), 2);
    }

    #[test]
    fn a_bad_sample_rolls_back_the_whole_request() {
        let s = MemStorage::new();
        let req = WriteRequest {
            timeseries: vec![series("a", &[(1, 1.0)]), series("b", &[(5, 1.0), (4, 1.0)])],
            metadata: vec![],
        };
        let err = receive_write(&s, &encode(&req)).unwrap_err();
        assert!(err.is_client_error());
        assert!(err.to_string().contains("out of order sample"), "{err}");
        assert_eq!(s.num_series(), 0);
    }

    #[test]
    fn malformed_bodies_are_client_errors() {
        let s = MemStorage::new();
        let e = receive_write(&s, b"not snappy at all").unwrap_err();
        assert!(
            matches!(e, ReceiveError::Snappy(_) | ReceiveError::Protobuf(_)),
            "{e}"
        );
        let garbage = snap::raw::Encoder::new()
            .compress_vec(&[0xff, 0xff, 0xff])
            .unwrap();
        assert!(matches!(
            receive_write(&s, &garbage).unwrap_err(),
            ReceiveError::Protobuf(_)
        ));
        let nameless = WriteRequest {
            timeseries: vec![TimeSeries {
                labels: vec![Label {
                    name: "job".into(),
                    value: "x".into(),
                }],
                samples: vec![Sample {
                    value: 1.0,
                    timestamp: 1,
                }],
                exemplars: vec![],
            }],
            metadata: vec![],
        };
        assert!(matches!(
            receive_write(&s, &encode(&nameless)).unwrap_err(),
            ReceiveError::Rejected(_)
        ));
    }
}
