//! Parse-only throughput: bytes of decompressed log text to Arrow record batches, per format.
//! Reports MB/s (criterion's byte throughput); rows/s = MB/s × rows per MB, printed at setup.

use std::hint::black_box;

use agsl_formats::sample::{SamplePlan, objects};
use agsl_formats::{Decoded, Format};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

/// Input replicated to at least this many bytes, so a run is not dominated by cache effects.
const INPUT_BYTES: usize = 8 * 1024 * 1024;

/// One generated object of at least [`INPUT_BYTES`] (one object, so whole-document formats such
/// as CloudTrail stay valid), sized from a small probe object's bytes per line.
fn input(format: Format) -> Vec<u8> {
    let probe_lines = 500;
    let plan = |lines| SamplePlan {
        objects: 1,
        lines_per_object: lines,
        ..SamplePlan::default()
    };
    let probe = objects(format, plan(probe_lines))
        .next()
        .expect("one object");
    let lines = INPUT_BYTES * probe_lines / probe.body.len() + 1;
    objects(format, plan(lines))
        .next()
        .expect("one object")
        .body
}

fn parse(c: &mut Criterion) {
    for format in Format::ALL {
        let parser = format.parser();
        let bytes = input(format);
        let decoded = Decoded::from_bytes(parser, &bytes, 8192).expect("decodes");
        assert_eq!(decoded.counts.rejects, 0, "generated input parses cleanly");
        assert_eq!(decoded.counts.rows, decoded.counts.lines);
        let rows = decoded.counts.rows;
        eprintln!(
            "{format}: {rows} rows in {:.1} MB ({:.0} rows per MB)",
            bytes.len() as f64 / 1e6,
            rows as f64 / (bytes.len() as f64 / 1e6)
        );
        let mut group = c.benchmark_group("parse");
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.sample_size(20);
        group.bench_function(format.keyword(), |b| {
            b.iter(|| {
                let decoded =
                    Decoded::from_bytes(parser, black_box(&bytes), 8192).expect("decodes");
                black_box(decoded.counts.rows)
            })
        });
        group.finish();
    }
}

criterion_group!(benches, parse);
criterion_main!(benches);
