//! `meta.json`: a block's identity, time range, statistics and compaction lineage, in
//! Prometheus's layout (version 1).

use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::Path;

/// Counts stored in a block.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockStats {
    /// Samples in the block.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub num_samples: u64,
    /// Series in the block.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub num_series: u64,
    /// Chunks in the block.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub num_chunks: u64,
    /// Tombstones in the block.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub num_tombstones: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Where a block came from.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BlockCompaction {
    /// 1 for blocks cut from the head, +1 per compaction.
    pub level: u32,
    /// ULIDs of the level-1 blocks this block contains.
    #[serde(default)]
    pub sources: Vec<String>,
    /// The blocks merged into this one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parents: Vec<BlockDesc>,
    /// Set when compaction found a block unusable.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub failed: bool,
    /// Set when the block is being deleted after compaction.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deletable: bool,
}

/// A parent block reference.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockDesc {
    /// The parent's ULID.
    pub ulid: String,
    /// Its minimum time (inclusive).
    pub min_time: i64,
    /// Its maximum time (exclusive).
    pub max_time: i64,
}

/// The contents of `meta.json`. Unknown fields (e.g. Thanos's `thanos` section) survive a
/// read-modify-write through `extra`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockMeta {
    /// The block's ULID.
    pub ulid: String,
    /// Minimum sample time, inclusive.
    pub min_time: i64,
    /// Maximum sample time, exclusive.
    pub max_time: i64,
    /// Counts.
    #[serde(default)]
    pub stats: BlockStats,
    /// Lineage.
    #[serde(default)]
    pub compaction: BlockCompaction,
    /// Format version (1).
    pub version: u32,
    /// Fields Ember does not interpret.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl BlockMeta {
    /// Reads `<dir>/meta.json`.
    pub fn read(dir: &Path) -> std::io::Result<BlockMeta> {
        let bytes = std::fs::read(dir.join("meta.json"))?;
        serde_json::from_slice(&bytes).map_err(|e| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("{}: {e}", dir.join("meta.json").display()),
            )
        })
    }

    /// Writes `<dir>/meta.json` atomically (temporary file, fsync, rename), indented as
    /// Prometheus writes it.
    pub fn write(&self, dir: &Path) -> std::io::Result<()> {
        let tmp = dir.join("meta.json.tmp");
        let mut f = std::fs::File::create(&tmp)?;
        let json = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        f.write_all(&json)?;
        f.sync_all()?;
        std::fs::rename(&tmp, dir.join("meta.json"))?;
        std::fs::File::open(dir)?.sync_all()
    }
}
