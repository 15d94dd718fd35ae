//! Bytes on disk: directory sizes and the samples held by TSDB blocks.

use std::io;
use std::path::Path;

/// Apparent size of every file under `dir`, skipping directories named `skip`.
pub fn dir_bytes(dir: &Path, skip: Option<&str>) -> io::Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        if kind.is_dir() {
            if skip.is_some_and(|s| entry.file_name() == s) {
                continue;
            }
            total += dir_bytes(&entry.path(), skip)?;
        } else if kind.is_file() {
            total += entry.metadata()?.len();
        }
    }
    Ok(total)
}

/// The size of a set of blocks and the samples they hold.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Blocks {
    pub count: usize,
    pub bytes: u64,
    pub samples: u64,
}

/// `stats.numSamples` from a block's `meta.json`.
pub fn parse_num_samples(meta_json: &str) -> Option<u64> {
    let meta: serde_json::Value = serde_json::from_str(meta_json).ok()?;
    meta.get("stats")?.get("numSamples")?.as_u64()
}

/// Every block (a directory with a `meta.json`) directly under `dir`.
pub fn blocks(dir: &Path) -> io::Result<Blocks> {
    let mut blocks = Blocks::default();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let Ok(meta) = std::fs::read_to_string(path.join("meta.json")) else {
            continue;
        };
        let samples = parse_num_samples(&meta).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: no stats.numSamples", path.display()),
            )
        })?;
        blocks.count += 1;
        blocks.samples += samples;
        blocks.bytes += dir_bytes(&path, None)?;
    }
    Ok(blocks)
}

#[cfg(test)]
mod tests {
    use super::*;

    const META: &str = r#"{"ulid":"01M88E7H8V5Q5VW1XG3XM8KK82","minTime":1,"maxTime":2,
        "stats":{"numSamples":2790,"numSeries":93,"numChunks":93},
        "compaction":{"level":1,"sources":["01M88E7H8V5Q5VW1XG3XM8KK82"]},"version":1}"#;

    #[test]
    fn sums_blocks_and_directories() {
        let dir = tempfile::tempdir().unwrap();
        let block = dir.path().join("01M88E7H8V5Q5VW1XG3XM8KK82");
        std::fs::create_dir_all(block.join("chunks")).unwrap();
        std::fs::write(block.join("meta.json"), META).unwrap();
        std::fs::write(block.join("index"), vec![0u8; 1000]).unwrap();
        std::fs::write(block.join("chunks/000001"), vec![0u8; 5000]).unwrap();
        std::fs::create_dir_all(dir.path().join("wal")).unwrap();
        std::fs::write(dir.path().join("wal/00000000"), vec![0u8; 300]).unwrap();

        let found = blocks(dir.path()).unwrap();
        assert_eq!(found.count, 1);
        assert_eq!(found.samples, 2790);
        assert_eq!(found.bytes, 6000 + META.len() as u64);
        let all = dir_bytes(dir.path(), None).unwrap();
        assert_eq!(all, found.bytes + 300);
        assert_eq!(dir_bytes(dir.path(), Some("wal")).unwrap(), found.bytes);
    }

    #[test]
    fn num_samples_needs_stats() {
        assert_eq!(parse_num_samples(META), Some(2790));
        assert_eq!(parse_num_samples(r#"{"ulid":"x"}"#), None);
    }
}
