//! One head series: its labels and its chunks (closed ones plus the open head chunk).

use crate::chunkenc::{XorChunk, XorIterator};
use crate::chunks::MappedChunkRef;
use crate::head::disk::ChunkDiskMapper;
use crate::head::postings::SeriesLabels;
use ember_model::Timestamp;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Prometheus aims for this many samples per chunk.
const SAMPLES_PER_CHUNK: usize = 120;

/// A closed chunk: immutable bytes shared with running queries.
#[derive(Clone)]
pub(crate) struct ClosedChunk {
    pub(crate) mint: Timestamp,
    pub(crate) maxt: Timestamp,
    pub(crate) bytes: Arc<[u8]>,
}

/// Where a closed chunk's bytes are.
#[derive(Clone)]
enum ChunkPlace {
    /// On the heap (heads without a data directory).
    Memory(Arc<[u8]>),
    /// In `chunks_head/`, memory-mapped.
    Disk(MappedChunkRef),
}

/// A closed chunk as a series keeps it: a few words when it lives on disk.
#[derive(Clone)]
pub(crate) struct StoredChunk {
    mint: Timestamp,
    maxt: Timestamp,
    place: ChunkPlace,
}

/// Where a series' closed chunks go and how its chunks are cut.
pub(crate) struct ChunkSink<'a> {
    pub(crate) disk: Option<&'a ChunkDiskMapper>,
    pub(crate) series_ref: u64,
    pub(crate) chunk_range: i64,
    /// Counts the chunks started.
    pub(crate) chunks_created: &'a AtomicU64,
}

/// The chunk being appended to.
pub(crate) struct OpenChunk {
    chunk: XorChunk,
    mint: Timestamp,
    maxt: Timestamp,
    /// When the chunk is cut regardless of its sample count, so chunks never span a
    /// chunk-range boundary and fill evenly (Prometheus's `nextAt`).
    next_at: Timestamp,
}

pub(crate) struct SeriesData {
    closed: Vec<StoredChunk>,
    pub(crate) open: Option<OpenChunk>,
    /// The newest sample, for out-of-order and duplicate checks.
    pub(crate) last: Option<(Timestamp, f64)>,
}

/// A series in the head.
pub(crate) struct MemSeries {
    pub(crate) series_ref: u64,
    /// Resolved through the head's postings, which own the strings.
    pub(crate) labels: SeriesLabels,
    pub(crate) data: Mutex<SeriesData>,
    /// Whether its Series record is in the WAL; set under the WAL lock, so the record
    /// always precedes the first Samples record that names the series.
    pub(crate) logged: AtomicBool,
}

impl MemSeries {
    pub(crate) fn new(series_ref: u64, labels: SeriesLabels, logged: bool) -> Self {
        MemSeries {
            series_ref,
            labels,
            data: Mutex::new(SeriesData {
                closed: Vec::new(),
                open: None,
                last: None,
            }),
            logged: AtomicBool::new(logged),
        }
    }
}

/// The end of the chunk-range window `t` falls into.
fn range_end(t: Timestamp, chunk_range: i64) -> Timestamp {
    (t.div_euclid(chunk_range) + 1) * chunk_range
}

/// Where to cut a chunk started at `start` that has reached `cur` with a quarter of its
/// target samples, so the rest of the window is split into evenly filled chunks.
fn even_chunk_end(start: Timestamp, cur: Timestamp, max: Timestamp) -> Timestamp {
    let n = (max - start) as f64 / ((cur - start + 1) as f64 * 4.0);
    if n <= 1.0 {
        max
    } else {
        start + ((max - start) as f64 / n.floor()) as i64
    }
}

impl SeriesData {
    /// Appends a sample already checked to be newer than `last`, closing the open chunk
    /// into `sink` when it is full or reaches its range boundary.
    pub(crate) fn append(&mut self, t: Timestamp, v: f64, sink: &ChunkSink<'_>) {
        let cut = match &self.open {
            None => true,
            Some(open) => t >= open.next_at || open.chunk.num_samples() >= SAMPLES_PER_CHUNK * 2,
        };
        if cut {
            self.close_open(sink);
            sink.chunks_created.fetch_add(1, Ordering::Relaxed);
            self.open = Some(OpenChunk {
                chunk: XorChunk::new(),
                mint: t,
                maxt: t,
                next_at: range_end(t, sink.chunk_range),
            });
        }
        let open = self.open.as_mut().expect("open chunk exists after cut");
        open.chunk.append(t, v);
        open.maxt = t;
        if open.chunk.num_samples() == SAMPLES_PER_CHUNK / 4 {
            open.next_at = even_chunk_end(open.mint, open.maxt, open.next_at);
        }
        self.last = Some((t, v));
    }

    fn close_open(&mut self, sink: &ChunkSink<'_>) {
        let Some(open) = self.open.take() else { return };
        let place = match sink
            .disk
            .map(|d| d.write(sink.series_ref, open.mint, open.maxt, open.chunk.bytes()))
        {
            Some(Ok(r)) => ChunkPlace::Disk(r),
            Some(Err(e)) => {
                tracing::warn!(err = %e, "writing a head chunk to disk failed; keeping it in memory");
                ChunkPlace::Memory(Arc::from(open.chunk.bytes()))
            }
            None => ChunkPlace::Memory(Arc::from(open.chunk.bytes())),
        };
        self.closed.push(StoredChunk {
            mint: open.mint,
            maxt: open.maxt,
            place,
        });
    }

    /// Chunks overlapping `[mint, maxt]` with their bytes (read from disk, the open one
    /// copied), for a query snapshot.
    pub(crate) fn snapshot(
        &self,
        mint: Timestamp,
        maxt: Timestamp,
        disk: Option<&ChunkDiskMapper>,
    ) -> Vec<ClosedChunk> {
        let mut out: Vec<ClosedChunk> = Vec::new();
        for c in self
            .closed
            .iter()
            .filter(|c| c.maxt >= mint && c.mint <= maxt)
        {
            let bytes = match (&c.place, disk) {
                (ChunkPlace::Memory(b), _) => b.clone(),
                (ChunkPlace::Disk(r), Some(d)) => match d.read(*r) {
                    Ok(b) => Arc::from(b),
                    Err(e) => {
                        tracing::error!(err = %e, "reading a head chunk from disk failed");
                        continue;
                    }
                },
                (ChunkPlace::Disk(_), None) => {
                    unreachable!("disk chunks exist only in heads with a disk mapper")
                }
            };
            out.push(ClosedChunk {
                mint: c.mint,
                maxt: c.maxt,
                bytes,
            });
        }
        if let Some(open) = self
            .open
            .as_ref()
            .filter(|o| o.maxt >= mint && o.mint <= maxt)
        {
            out.push(ClosedChunk {
                mint: open.mint,
                maxt: open.maxt,
                bytes: Arc::from(open.chunk.bytes()),
            });
        }
        out
    }

    /// Removes the samples in `[mint, maxt]`, re-encoding the chunks that held them.
    pub(crate) fn delete_range(&mut self, mint: Timestamp, maxt: Timestamp, sink: &ChunkSink<'_>) {
        let chunks = self.snapshot(i64::MIN, i64::MAX, sink.disk);
        let mut samples = Vec::new();
        decode_into(&chunks, i64::MIN, i64::MAX, &mut samples);
        let before = samples.len();
        samples.retain(|&(t, _)| t < mint || t > maxt);
        if samples.len() == before {
            return;
        }
        self.closed.clear();
        self.open = None;
        self.last = None;
        for (t, v) in samples {
            self.append(t, v, sink);
        }
    }

    /// Takes back closed chunks found in `chunks_head/` at start-up (in time order) and
    /// their newest sample; later WAL samples up to that one are then skipped.
    pub(crate) fn restore_mapped(
        &mut self,
        chunks: impl IntoIterator<Item = (Timestamp, Timestamp, MappedChunkRef)>,
        last: (Timestamp, f64),
    ) {
        self.closed
            .extend(chunks.into_iter().map(|(mint, maxt, r)| StoredChunk {
                mint,
                maxt,
                place: ChunkPlace::Disk(r),
            }));
        self.last = Some(last);
    }

    /// Drops chunks that end before `mint`; returns whether the series is now empty.
    pub(crate) fn truncate_before(&mut self, mint: Timestamp) -> bool {
        self.closed.retain(|c| c.maxt >= mint);
        if self.open.as_ref().is_some_and(|o| o.maxt < mint) {
            self.open = None;
        }
        self.closed.is_empty() && self.open.is_none()
    }

    /// The time range covered by the series' chunks.
    pub(crate) fn time_range(&self) -> Option<(Timestamp, Timestamp)> {
        let first = self
            .closed
            .first()
            .map(|c| c.mint)
            .or(self.open.as_ref().map(|o| o.mint))?;
        let last = self
            .open
            .as_ref()
            .map(|o| o.maxt)
            .or(self.closed.last().map(|c| c.maxt))?;
        Some((first, last))
    }

    /// Number of chunks, open one included.
    pub(crate) fn num_chunks(&self) -> usize {
        self.closed.len() + usize::from(self.open.is_some())
    }
}

/// Decodes the samples of `chunks` within `[mint, maxt]` into `out`.
pub(crate) fn decode_into(
    chunks: &[ClosedChunk],
    mint: Timestamp,
    maxt: Timestamp,
    out: &mut Vec<(Timestamp, f64)>,
) {
    for c in chunks {
        let mut it = XorIterator::new(&c.bytes);
        while let Some((t, v)) = it.next() {
            if t > maxt {
                break;
            }
            if t >= mint {
                out.push((t, v));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_are_cut_at_range_boundaries_and_fill_evenly() {
        let mut d = SeriesData {
            closed: Vec::new(),
            open: None,
            last: None,
        };
        let range = 2 * 3600 * 1000;
        let sink = ChunkSink {
            disk: None,
            series_ref: 1,
            chunk_range: range,
            chunks_created: &AtomicU64::new(0),
        };
        // 15s samples over 4h: chunks never straddle a 2h boundary, ~120 samples each.
        for i in 0..(4 * 240) {
            d.append(i * 15_000, i as f64, &sink);
        }
        let mut all = d.snapshot(i64::MIN, i64::MAX, None);
        assert!(
            all.iter().all(|c| c.mint / range == c.maxt / range),
            "no chunk spans a window"
        );
        assert_eq!(
            all.len(),
            8,
            "480 samples per 2h window split into 4 chunks of 120"
        );
        let mut samples = Vec::new();
        decode_into(&all, 0, i64::MAX, &mut samples);
        assert_eq!(samples.len(), 960);
        assert!(samples.windows(2).all(|w| w[0].0 < w[1].0));
        all.clear();
        assert!(!d.truncate_before(range));
        assert_eq!(d.time_range().unwrap().0, range);
    }
}
