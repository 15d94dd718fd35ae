//! Prometheus remote write (1.0) and, later, remote read.
//!
//! - [`prompb`] holds the wire messages as hand-written prost structs (no protoc, no build
//!   script), field numbers as in `prompb/types.proto` and `prompb/remote.proto`.
//! - [`receive_write`] decodes a snappy-compressed `WriteRequest` and appends it as one
//!   transaction: either every sample is committed or none is.
//!
//! Invariant: this is the only crate that knows protobuf and snappy.
#![deny(missing_docs)]

pub mod prompb;
mod receive;

pub use receive::{ReceiveError, decode_write_request, receive_write};
