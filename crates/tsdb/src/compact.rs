//! Writing blocks: from the head's oldest chunk range (and, later, from merged blocks).
//!
//! A block is written under `<ulid>.tmp-for-creation`, fsynced, then renamed into place,
//! so a crash leaves either a whole block or a temporary directory deleted at start-up.

use crate::TsdbError;
use crate::chunkenc::Encoding;
use crate::chunks::ChunkWriter;
use crate::head::ClosedChunk;
use crate::index::{ChunkMeta, IndexWriter};
use crate::meta::{BlockCompaction, BlockMeta, BlockStats};
use ember_model::{Labels, Timestamp};
use std::collections::BTreeSet;
use std::path::Path;

/// The suffix of a block directory still being written.
pub(crate) const TMP_SUFFIX: &str = ".tmp-for-creation";

/// Writes `series` (sorted by labels, chunks inside `[mint, maxt)`) as a level-1 block in
/// `db_dir` and returns its metadata.
pub(crate) fn write_block(
    db_dir: &Path,
    mint: Timestamp,
    maxt: Timestamp,
    series: &[(Labels, Vec<ClosedChunk>)],
) -> Result<BlockMeta, TsdbError> {
    let id = ulid::Ulid::generate().to_string();
    let tmp = db_dir.join(format!("{id}{TMP_SUFFIX}"));
    let io = |e: std::io::Error| TsdbError::Io {
        path: tmp.clone(),
        source: e,
    };
    std::fs::create_dir_all(tmp.join("chunks")).map_err(io)?;
    let mut stats = BlockStats::default();

    let mut chunk_writer =
        ChunkWriter::create(tmp.join("chunks")).map_err(|e| TsdbError::block(&tmp, e))?;
    let mut metas: Vec<Vec<ChunkMeta>> = Vec::with_capacity(series.len());
    for (_, chunks) in series {
        let mut series_metas = Vec::with_capacity(chunks.len());
        for c in chunks {
            let chunk_ref = chunk_writer
                .write_chunk(Encoding::Xor, &c.bytes)
                .map_err(|e| TsdbError::block(&tmp, e))?;
            series_metas.push(ChunkMeta {
                mint: c.mint,
                maxt: c.maxt,
                chunk_ref: chunk_ref.0,
            });
            stats.num_chunks += 1;
            stats.num_samples += u64::from(u16::from_be_bytes([c.bytes[0], c.bytes[1]]));
        }
        metas.push(series_metas);
    }
    chunk_writer
        .finish()
        .map_err(|e| TsdbError::block(&tmp, e))?;

    // Prometheus's symbol tables include the empty string; keep ours identical.
    let mut symbols: BTreeSet<&str> = BTreeSet::from([""]);
    for (labels, _) in series {
        for l in labels.iter() {
            symbols.insert(&l.name);
            symbols.insert(&l.value);
        }
    }
    let mut index =
        IndexWriter::create(tmp.join("index")).map_err(|e| TsdbError::block(&tmp, e))?;
    index
        .add_symbols(symbols)
        .map_err(|e| TsdbError::block(&tmp, e))?;
    for ((labels, _), series_metas) in series.iter().zip(&metas) {
        index
            .add_series(labels, series_metas)
            .map_err(|e| TsdbError::block(&tmp, e))?;
        stats.num_series += 1;
    }
    index.finish_sync().map_err(|e| TsdbError::block(&tmp, e))?;

    let meta = BlockMeta {
        ulid: id.clone(),
        min_time: mint,
        max_time: maxt,
        stats,
        compaction: BlockCompaction {
            level: 1,
            sources: vec![id.clone()],
            ..Default::default()
        },
        version: 1,
        extra: Default::default(),
    };
    crate::tombstones::write_tombstones(&tmp, &crate::tombstones::Tombstones::new()).map_err(io)?;
    meta.write(&tmp).map_err(io)?;
    let dest = db_dir.join(&id);
    std::fs::rename(&tmp, &dest).map_err(io)?;
    std::fs::File::open(db_dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| TsdbError::Io {
            path: db_dir.to_path_buf(),
            source: e,
        })?;
    Ok(meta)
}
