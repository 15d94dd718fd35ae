//! The index writer and reader without a live peer: a committed index written by
//! promtool 2.42, round trips, matcher semantics against brute force, and errors.

mod index_common;

use ember_model::{Labels, MatchType, Matcher};
use ember_tsdb::index::{ChunkMeta, IndexError, IndexReader, IndexWriter, Postings};
use index_common::{brute_force, labels_of, symbols_of, write_index};

/// `promtool tsdb create-blocks-from openmetrics` (2.42) on the input described in
/// `index_testdata/README.md`.
const PROMTOOL_INDEX: &[u8] = include_bytes!("index_testdata/promtool-2.42.index");
const FIXTURE_START_MS: i64 = 1_699_999_260_000;
const FIXTURE_ZONES: [&str; 4] = ["ünïcødé-1", "zone \"quoted\"", "zone\\back", "z-last"];

fn labels(pairs: &[(&str, &str)]) -> Labels {
    Labels::from_pairs(pairs.iter().copied())
}

fn matcher(name: &str, kind: MatchType, value: &str) -> Matcher {
    Matcher::new(kind, name, value).expect("valid matcher")
}

/// The fixture's series and, for each, how many chunks it has.
fn fixture_series() -> Vec<(Labels, usize)> {
    let mut series = Vec::new();
    for i in 0..40 {
        let instance = format!("host-{i:02}");
        for method in ["GET", "POST"] {
            let n_chunks = if i % 13 == 0 && method == "GET" { 3 } else { 1 };
            let l = [
                ("__name__", "app_requests_total"),
                ("instance", &instance),
                ("method", method),
            ];
            series.push((labels(&l), n_chunks));
        }
        let job = if i % 2 == 0 { "node" } else { "prometheus" };
        let l = [("__name__", "up"), ("instance", &instance), ("job", job)];
        series.push((labels(&l), 1));
    }
    for zone in FIXTURE_ZONES {
        let l = [("__name__", "app_temperature_celsius"), ("zone", zone)];
        series.push((labels(&l), 1));
    }
    series.sort();
    series
}

#[test]
fn reads_promtool_index() {
    let reader = IndexReader::new(PROMTOOL_INDEX).expect("open promtool index");
    let expected = fixture_series();
    let refs: Vec<_> = reader.all_postings().expect("all postings").collect();
    assert_eq!(refs.len(), expected.len());

    let mut label_buf = Vec::new();
    let mut chunks = Vec::new();
    for (&r, (labels, n_chunks)) in refs.iter().zip(&expected) {
        let (got, got_chunks) = reader.series(r).expect("series");
        assert_eq!(&got, labels);
        assert_eq!(got_chunks.len(), *n_chunks, "{labels}");
        reader
            .series_into(r, &mut label_buf, &mut chunks)
            .expect("series into buffers");
        assert_eq!(chunks, got_chunks);
        assert_eq!(label_buf.len(), labels.len());
        for (&(n, v), l) in label_buf.iter().zip(labels.iter()) {
            assert_eq!((n, v), (l.name.as_str(), l.value.as_str()));
        }
    }

    // 300 samples every 10 s from the start, cut into three consecutive chunks.
    let (l, chunks) = reader.series(refs[0]).expect("first series");
    assert_eq!(l.get("instance"), Some("host-00"));
    assert_eq!(chunks[0].mint, FIXTURE_START_MS);
    assert_eq!(chunks[2].maxt, FIXTURE_START_MS + 2_990_000);
    for w in chunks.windows(2) {
        assert_eq!(w[1].mint, w[0].maxt + 10_000);
        assert!(w[0].chunk_ref < w[1].chunk_ref);
    }

    assert_eq!(
        reader.label_names(),
        ["__name__", "instance", "job", "method", "zone"]
    );
    let mut zones = FIXTURE_ZONES.to_vec();
    zones.sort();
    assert_eq!(reader.label_values("zone").expect("zones"), zones);
    assert_eq!(reader.label_values("instance").expect("values").len(), 40);
    assert_eq!(
        reader.label_values("nope").expect("values"),
        Vec::<&str>::new()
    );
    assert_eq!(reader.label_values("").expect("values"), Vec::<&str>::new());

    let symbols: Vec<String> = reader
        .symbols()
        .map(|s| s.expect("symbol").to_string())
        .collect();
    // Prometheus's symbols come from its in-memory postings, whose all-postings key adds
    // the empty string.
    let mut want_symbols = symbols_of(expected.iter().map(|(l, _)| l));
    want_symbols.insert(String::new());
    assert_eq!(symbols, want_symbols.into_iter().collect::<Vec<_>>());
    for (i, s) in symbols.iter().enumerate() {
        assert_eq!(reader.symbol(i as u32).expect("lookup"), s);
        assert_eq!(reader.symbol_ref(s).expect("reverse"), Some(i as u32));
    }
    assert_eq!(reader.symbol_ref("host-00x").expect("reverse"), None);
    assert!(reader.symbol(symbols.len() as u32).is_err());

    // Every postings list, including values beyond the first 32 of a name.
    for name in reader.label_names() {
        for value in reader.label_values(name).expect("values") {
            let got = labels_of(
                &reader,
                &reader
                    .postings_list(name, value)
                    .unwrap()
                    .collect::<Vec<_>>(),
            );
            let want: Vec<_> = expected
                .iter()
                .filter(|(l, _)| l.get(name) == Some(value))
                .map(|(l, _)| l.clone())
                .collect();
            assert_eq!(got, want, "{name}={value}");
        }
    }
}

/// Feeding the promtool index's own content back through our writer reproduces it.
#[test]
fn rewrites_promtool_index_byte_for_byte() {
    assert_eq!(rewrite(PROMTOOL_INDEX), PROMTOOL_INDEX);
}

/// Reads every symbol and series of `index` and writes them again.
fn rewrite(index: &[u8]) -> Vec<u8> {
    let reader = IndexReader::new(index).expect("open index");
    let mut writer = IndexWriter::new(Vec::new()).expect("start index");
    writer
        .add_symbols(reader.symbols().map(|s| s.expect("symbol")))
        .expect("symbols");
    for r in reader.all_postings().expect("all postings") {
        let (labels, chunks) = reader.series(r).expect("series");
        assert_eq!(writer.add_series(&labels, &chunks).expect("series"), r);
    }
    writer.finish().expect("finish")
}

#[test]
fn matchers_on_promtool_index() {
    let reader = IndexReader::new(PROMTOOL_INDEX).expect("open promtool index");
    let all: Vec<Labels> = fixture_series().into_iter().map(|(l, _)| l).collect();
    let queries: Vec<Vec<Matcher>> = vec![
        vec![matcher("__name__", MatchType::Equal, "up")],
        vec![matcher("job", MatchType::NotEqual, "node")],
        vec![matcher(
            "__name__",
            MatchType::Regex,
            "up|app_temperature_celsius",
        )],
        vec![matcher("instance", MatchType::Regex, "host-3.*")],
        vec![matcher("instance", MatchType::Regex, "host-(1|2)[05]")],
        vec![matcher("zone", MatchType::Regex, "zone.*")],
        vec![matcher("zone", MatchType::NotRegex, "zone.*")],
        vec![
            matcher("__name__", MatchType::Equal, "app_requests_total"),
            matcher("instance", MatchType::NotRegex, "host-0.*|host-1.*"),
            matcher("method", MatchType::NotEqual, "GET"),
        ],
        vec![matcher("job", MatchType::Equal, "")],
        vec![matcher("job", MatchType::NotEqual, "")],
    ];
    for q in queries {
        let got = labels_of(&reader, &reader.postings_for_matchers(&q).expect("select"));
        assert_eq!(got, brute_force(&all, &q), "{q:?}");
    }
}

/// A synthetic set of series with optional labels, values that share prefixes, and more
/// than 32 values per name, written, read back and queried.
fn synthetic_series() -> Vec<(Labels, Vec<ChunkMeta>)> {
    let mut series = Vec::new();
    let mut chunk_ref = 8u64;
    for i in 0..600u64 {
        let mut pairs = vec![
            ("__name__".to_string(), format!("metric_{}", i % 7)),
            (
                "instance".to_string(),
                format!("10.0.{}.{}:9100", i % 3, i % 50),
            ),
        ];
        if i % 4 != 0 {
            pairs.push((
                "job".to_string(),
                ["api", "apiserver", "db", "dbx"][(i / 3) as usize % 4].to_string(),
            ));
        }
        if i % 5 == 0 {
            pairs.push((
                "env".to_string(),
                if i % 10 == 0 { "prod" } else { "dev" }.to_string(),
            ));
        }
        if i % 9 == 0 {
            pairs.push(("note".to_string(), format!("ü|{}.*\n", i % 4)));
        }
        let chunks: Vec<ChunkMeta> = (0..i % 4)
            .map(|k| {
                let c = ChunkMeta {
                    mint: -5_000 + (k as i64) * 1000,
                    maxt: -5_000 + (k as i64) * 1000 + 999 - (i as i64 % 3),
                    chunk_ref,
                };
                chunk_ref += 100 + k * 7;
                c
            })
            .collect();
        series.push((Labels::from_pairs(pairs), chunks));
    }
    series.sort_by(|a, b| a.0.cmp(&b.0));
    // Chunk refs must grow in series order, not in generation order.
    let mut chunk_ref = 8;
    for (_, chunks) in &mut series {
        for c in chunks {
            c.chunk_ref = chunk_ref;
            chunk_ref += 57;
        }
    }
    series
}

#[test]
fn round_trips_synthetic_series() {
    let mut series = synthetic_series();
    let index = write_index(&mut series);
    let reader = IndexReader::new(&index[..]).expect("open");
    let refs: Vec<_> = reader.all_postings().expect("all").collect();
    assert_eq!(refs.len(), series.len());
    for (r, (labels, chunks)) in refs.iter().zip(&series) {
        assert_eq!(
            &reader.series(*r).expect("series"),
            &(labels.clone(), chunks.clone())
        );
    }
    assert_eq!(
        reader.label_names(),
        ["__name__", "env", "instance", "job", "note"]
    );
    assert_eq!(
        reader.label_values("job").expect("job"),
        ["api", "apiserver", "db", "dbx"]
    );
    assert_eq!(rewrite(&index), index);

    // `postings` merges lists of several values, in any order, ignoring missing ones.
    let merged: Vec<_> = reader
        .postings("job", &["db", "api", "missing", "db"])
        .expect("postings")
        .collect();
    let want: Vec<_> = series
        .iter()
        .zip(&refs)
        .filter(|((l, _), _)| matches!(l.get("job"), Some("db" | "api")))
        .map(|(_, &r)| r)
        .collect();
    assert_eq!(merged, want);
    let api: Vec<_> = reader
        .postings_list("job", "api")
        .expect("postings")
        .collect();
    let mut p = reader.sorted_postings(reader.postings("job", &["api"]).expect("postings"));
    assert_eq!(p.seek(api[3] - 1), Some(api[3]));
    assert_eq!(p.collect::<Vec<_>>(), api[4..]);
}

#[test]
fn matchers_agree_with_brute_force() {
    let mut series = synthetic_series();
    let index = write_index(&mut series);
    let reader = IndexReader::new(&index[..]).expect("open");
    let all: Vec<Labels> = series.into_iter().map(|(l, _)| l).collect();

    let names = ["__name__", "instance", "job", "env", "note", "absent", ""];
    let values = [
        "",
        "api",
        "apiserver",
        "db",
        "prod",
        "metric_3",
        "10.0.1.7:9100",
        "nope",
        "ü|1.*\n",
    ];
    let patterns = [
        "",
        ".*",
        ".+",
        "api|db",
        "api.*",
        "db.*",
        "metric_[0-3]",
        "10\\.0\\.1\\..*",
        "(prod|dev)",
        "a.*|",
        "ü\\|1.*",
        "x|y|api",
        "10.0.2.*",
        "metric_1|metric_2|missing",
    ];
    let mut single = Vec::new();
    for name in names {
        for v in values {
            single.push(matcher(name, MatchType::Equal, v));
            single.push(matcher(name, MatchType::NotEqual, v));
        }
        for p in patterns {
            single.push(matcher(name, MatchType::Regex, p));
            single.push(matcher(name, MatchType::NotRegex, p));
        }
    }
    let check = |q: &[Matcher]| {
        let got = labels_of(&reader, &reader.postings_for_matchers(q).expect("select"));
        assert_eq!(got, brute_force(&all, q), "{q:?}");
    };
    check(&[]);
    for m in &single {
        check(std::slice::from_ref(m));
    }
    // Pairs and triples picked deterministically from the singles.
    let n = single.len();
    for i in 0..n {
        check(&[single[i].clone(), single[(i * 7 + 3) % n].clone()]);
        check(&[
            single[i].clone(),
            single[(i * 13 + 5) % n].clone(),
            single[(i * 31 + 11) % n].clone(),
        ]);
    }
}

#[test]
fn empty_index() {
    let index = IndexWriter::new(Vec::new()).unwrap().finish().unwrap();
    let reader = IndexReader::new(&index[..]).expect("open");
    assert_eq!(reader.all_postings().unwrap().count(), 0);
    assert!(reader.label_names().is_empty());
    assert_eq!(reader.symbol_count(), 0);
    let q = [matcher("a", MatchType::NotEqual, "b")];
    assert!(reader.postings_for_matchers(&q).unwrap().is_empty());
    assert_eq!(rewrite(&index), index);
}

#[test]
fn file_writer_and_mmap_reader() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("index");
    let mut writer = IndexWriter::create(&path).unwrap();
    writer.add_symbols(["__name__", "a", "b"]).unwrap();
    let chunk = ChunkMeta {
        mint: 1,
        maxt: 2,
        chunk_ref: 8,
    };
    writer
        .add_series(&labels(&[("__name__", "a")]), &[chunk])
        .unwrap();
    writer
        .add_series(&labels(&[("__name__", "b")]), &[])
        .unwrap();
    writer.finish_sync().unwrap();
    let reader = IndexReader::open(&path).unwrap();
    let refs: Vec<_> = reader.all_postings().unwrap().collect();
    assert_eq!(
        reader.series(refs[0]).unwrap(),
        (labels(&[("__name__", "a")]), vec![chunk])
    );
    let q = [matcher("__name__", MatchType::Regex, "b")];
    assert_eq!(reader.postings_for_matchers(&q).unwrap(), [refs[1]]);
}

#[test]
fn writer_rejects_invalid_input() {
    let mut w = IndexWriter::new(Vec::new()).unwrap();
    assert!(matches!(
        w.add_symbols(["b", "a"]),
        Err(IndexError::SymbolOutOfOrder { .. })
    ));

    let mut w = IndexWriter::new(Vec::new()).unwrap();
    assert!(matches!(
        w.add_symbols(["a", "a"]),
        Err(IndexError::SymbolOutOfOrder { .. })
    ));

    let mut w = IndexWriter::new(Vec::new()).unwrap();
    w.add_symbols(["a", "b", "c"]).unwrap();
    assert!(matches!(w.add_symbols(["d"]), Err(IndexError::Stage(_))));
    assert!(matches!(
        w.add_series(&labels(&[("a", "z")]), &[]),
        Err(IndexError::MissingSymbol(s)) if s == "z"
    ));
    assert!(matches!(
        w.add_series(&Labels::empty(), &[]),
        Err(IndexError::SeriesOutOfOrder { .. })
    ));
    w.add_series(&labels(&[("a", "c")]), &[]).unwrap();
    assert!(matches!(
        w.add_series(&labels(&[("a", "b")]), &[]),
        Err(IndexError::SeriesOutOfOrder { .. })
    ));
    assert!(matches!(
        w.add_series(&labels(&[("a", "c")]), &[]),
        Err(IndexError::SeriesOutOfOrder { .. })
    ));
    let chunk = |mint, maxt, chunk_ref| ChunkMeta {
        mint,
        maxt,
        chunk_ref,
    };
    for bad in [
        vec![chunk(5, 4, 8)],
        vec![chunk(0, 10, 8), chunk(10, 20, 16)],
        vec![chunk(0, 10, 16), chunk(11, 20, 8)],
    ] {
        assert!(matches!(
            w.add_series(&labels(&[("a", "c"), ("b", "c")]), &bad),
            Err(IndexError::InvalidChunks { .. })
        ));
    }
    w.add_series(&labels(&[("a", "c"), ("b", "c")]), &[chunk(0, 10, 100)])
        .unwrap();
    // Chunk refs may not go back across series either.
    assert!(matches!(
        w.add_series(&labels(&[("b", "a")]), &[chunk(0, 10, 99)]),
        Err(IndexError::InvalidChunks { .. })
    ));
    // A rejected series leaves no trace: the index is still valid.
    w.add_series(&labels(&[("b", "a")]), &[chunk(0, 10, 100)])
        .unwrap();
    let index = w.finish().unwrap();
    let reader = IndexReader::new(&index[..]).unwrap();
    assert_eq!(reader.all_postings().unwrap().count(), 3);
    assert_eq!(reader.label_values("a").unwrap(), ["c"]);
}

#[test]
fn reader_rejects_damaged_indexes() {
    assert!(matches!(
        IndexReader::new(&PROMTOOL_INDEX[..20]),
        Err(IndexError::Corrupt { .. })
    ));
    let mut bad = PROMTOOL_INDEX.to_vec();
    bad[0] = 0;
    assert!(matches!(
        IndexReader::new(&bad[..]),
        Err(IndexError::BadMagic(_))
    ));
    let mut bad = PROMTOOL_INDEX.to_vec();
    bad[4] = 1;
    assert!(matches!(
        IndexReader::new(&bad[..]),
        Err(IndexError::UnsupportedVersion(1))
    ));
    let mut bad = PROMTOOL_INDEX.to_vec();
    let last = bad.len() - 10;
    bad[last] ^= 0xff;
    assert!(matches!(
        IndexReader::new(&bad[..]),
        Err(IndexError::Checksum { .. })
    ));
    // A flipped bit in a symbol, in a series and in a postings list is caught on use.
    let reader = IndexReader::new(PROMTOOL_INDEX).unwrap();
    let first_series = reader.all_postings().unwrap().next().unwrap();
    let toc = *reader.toc();
    for (offset, section) in [
        (toc.symbols + 12, "symbols"),
        (first_series * 16 + 3, "series"),
        (toc.postings + 9, "postings"),
    ] {
        let mut bad = PROMTOOL_INDEX.to_vec();
        bad[offset as usize] ^= 0x10;
        let outcome = IndexReader::new(&bad[..]).and_then(|r| {
            let refs: Vec<_> = r.all_postings()?.collect();
            r.series(refs[0]).map(|_| ())
        });
        assert!(
            matches!(outcome, Err(IndexError::Checksum { section: s }) if s == section),
            "{section}: {outcome:?}"
        );
    }
    assert!(matches!(
        reader.series(1),
        Err(IndexError::InvalidSeriesRef(1))
    ));
}
