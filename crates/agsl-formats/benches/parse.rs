//! Parse-only throughput: bytes of decompressed log text to Arrow record batches, per format.
//! Reports MB/s (criterion's byte throughput); rows/s = MB/s × rows per MB, printed at setup.

use std::hint::black_box;

use agsl_formats::sample::{SamplePlan, objects};
use agsl_formats::{Decoded, Format};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

/// Input replicated to at least this many bytes, so a run is not dominated by cache effects.
const INPUT_BYTES: usize = 8 * 1024 * 1024;

fn input(format: Format) -> Vec<u8> {
    let plan = SamplePlan {
        objects: 1,
        lines_per_object: 1_000,
        ..SamplePlan::default()
    };
    let mut bytes = Vec::with_capacity(INPUT_BYTES + 1024 * 1024);
    let mut seed = 0;
    while bytes.len() < INPUT_BYTES {
        let plan = SamplePlan {
            seed,
            ..plan.clone()
        };
        for object in objects(format, plan) {
            bytes.extend_from_slice(&object.body);
        }
        seed += 1;
    }
    bytes
}

fn parse(c: &mut Criterion) {
    for format in Format::ALL {
        let parser = format.parser();
        let bytes = input(format);
        let decoded = Decoded::from_bytes(parser.as_ref(), &bytes, 8192).expect("decodes");
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
                    Decoded::from_bytes(parser.as_ref(), black_box(&bytes), 8192).expect("decodes");
                black_box(decoded.counts.rows)
            })
        });
        group.finish();
    }
}

criterion_group!(benches, parse);
criterion_main!(benches);
