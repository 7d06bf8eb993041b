//! Structure-aware fuzzing of every parser and of the whole pipeline (`scripts/fuzz`).
//!
//! Valid lines from each format's sample generator are mutated field by field (a field replaced
//! by a hostile token, dropped, doubled, swapped with another, split by an inserted separator),
//! byte by byte (flips, insertions, truncation) and replaced by random bytes. Every input must
//! decode without a panic and account for every line (`rows + rejects == lines`). Every
//! `--object-every` inputs, a small object of mutated lines (gzip or plain) is converted by the
//! pipeline into a local target, whose summary must account for every line too.
//!
//! Usage: `cargo run --release -p agsl --example fuzz -- [--seconds N] [--seed S]
//! [--formats alb,elb] [--object-every K]`. It prints lines tried per format and exits non-zero
//! on the first failure, saving the input under `target/fuzz-failures/`.

use std::io::Write;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::time::{Duration, Instant};

use agsl::{ConvertJob, Format, Progress, convert};
use agsl_formats::sample::{SamplePlan, objects};
use agsl_formats::{Decoded, Framing};

/// Tokens an attacker or a broken producer puts into a field.
const HOSTILE: &[&str] = &[
    "",
    "-",
    "\"",
    "\"\"",
    "\" \"",
    "\\",
    "\\\"",
    "\t",
    " ",
    "  ",
    "[",
    "]",
    "{",
    "}",
    "null",
    "0",
    "-1",
    "99999999999999999999",
    "1e999",
    "NaN",
    "2024-13-45T25:61:61Z",
    "é",
    "\u{feff}",
    "\u{0}",
    "%00",
    "::",
    "[::1]:80",
    "1.2.3.4:99999",
    "\"-\"",
    "- - -",
    "{\"a\":",
    "]}",
];

/// A small deterministic generator (xorshift64*), so a failure is reproduced by its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// The separator between a format's fields on the wire (JSON records: between members).
fn separator(format: Format) -> u8 {
    match format.info().framing {
        Framing::Lines { field_separator } => field_separator,
        Framing::RecordsArray | Framing::JsonLines => b',',
    }
}

/// One mutation of `line`, chosen by `rng`.
fn mutate(line: &[u8], format: Format, rng: &mut Rng) -> Vec<u8> {
    let sep = separator(format);
    let mut fields: Vec<Vec<u8>> = line.split(|&b| b == sep).map(<[u8]>::to_vec).collect();
    let pick = |rng: &mut Rng, len: usize| rng.below(len);
    match rng.below(10) {
        0..=2 => {
            let i = pick(rng, fields.len());
            fields[i] = HOSTILE[rng.below(HOSTILE.len())].as_bytes().to_vec();
        }
        3 => {
            let i = pick(rng, fields.len());
            fields.remove(i);
        }
        4 => {
            let i = pick(rng, fields.len());
            let copy = fields[i].clone();
            fields.insert(i, copy);
        }
        5 => {
            let (i, j) = (pick(rng, fields.len()), pick(rng, fields.len()));
            fields.swap(i, j);
        }
        6 => {
            // A hostile token inside a field, where free text lives.
            let i = pick(rng, fields.len());
            let at = rng.below(fields[i].len() + 1);
            let token = HOSTILE[rng.below(HOSTILE.len())].as_bytes();
            fields[i].splice(at..at, token.iter().copied());
        }
        7 => {
            let mut bytes = fields.join(&sep);
            for _ in 0..=rng.below(4) {
                let at = rng.below(bytes.len().max(1));
                if let Some(b) = bytes.get_mut(at) {
                    *b = (rng.next() & 0xff) as u8;
                }
            }
            return bytes;
        }
        8 => {
            let mut bytes = fields.join(&sep);
            bytes.truncate(rng.below(bytes.len() + 1));
            return bytes;
        }
        _ => {
            let len = rng.below(300);
            return (0..len).map(|_| (rng.next() & 0xff) as u8).collect();
        }
    }
    fields.join(&sep)
}

/// Valid lines (or records) of `format` to mutate, and a key AWS would deliver them under.
fn pool(format: Format, seed: u64) -> (Vec<Vec<u8>>, String) {
    let plan = SamplePlan {
        seed,
        objects: 4,
        lines_per_object: 200,
        bad_line_every: None,
        ..SamplePlan::default()
    };
    let mut lines = Vec::new();
    let mut key = String::new();
    for object in objects(format, plan) {
        key = object.key;
        match format.info().framing {
            Framing::RecordsArray => {
                let value: serde_json::Value =
                    serde_json::from_slice(&object.body).expect("generated JSON");
                for record in value["Records"].as_array().into_iter().flatten() {
                    lines.push(serde_json::to_vec(record).expect("a record serializes"));
                }
            }
            Framing::Lines { .. } | Framing::JsonLines => lines.extend(
                object
                    .body
                    .split(|&b| b == b'\n')
                    .filter(|l| !l.is_empty())
                    .map(<[u8]>::to_vec),
            ),
        }
    }
    (lines, key)
}

/// The object text for `lines` (a records array wraps them in `Records`).
fn object(format: Format, lines: &[Vec<u8>]) -> Vec<u8> {
    match format.info().framing {
        Framing::RecordsArray => {
            let mut body = b"{\"Records\":[".to_vec();
            body.extend(lines.join(&b","[..]));
            body.extend(b"]}");
            body
        }
        Framing::Lines { .. } | Framing::JsonLines => lines.join(&b"\n"[..]),
    }
}

fn fail(format: Format, input: &[u8], what: &str) -> ! {
    let dir = Path::new("target/fuzz-failures");
    let _ = std::fs::create_dir_all(dir);
    let path = dir.join(format!("{format}-{}.bin", std::process::id()));
    let _ = std::fs::write(&path, input);
    eprintln!("fuzz: {format}: {what}; input saved to {}", path.display());
    std::process::exit(1);
}

/// Decodes one input; fails on a panic or lines not accounted for.
fn check_decode(format: Format, input: &[u8]) {
    let parser = format.parser();
    let decoded = catch_unwind(AssertUnwindSafe(|| Decoded::from_bytes(parser, input, 7)));
    match decoded {
        Err(_) => fail(format, input, "the parser panicked"),
        Ok(Err(error)) => fail(format, input, &format!("in-memory decode failed: {error}")),
        Ok(Ok(d)) => {
            let c = d.counts;
            if c.rows + c.rejects != c.lines || d.rows() as u64 != c.rows {
                fail(format, input, &format!("lines not accounted for: {c:?}"));
            }
        }
    }
}

/// Converts one object of `body`, stored under `key`, through the pipeline; fails unless every
/// line is accounted for and the object was converted, not skipped.
fn check_pipeline(format: Format, key: &str, body: &[u8], gzip: bool, dir: &Path, n: u64) {
    let source = dir.join(format!("source-{n}"));
    let target = dir.join(format!("target-{n}"));
    let stored = body.to_vec();
    let stored = if gzip {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder
            .write_all(&stored)
            .and_then(|()| encoder.finish())
            .expect("gzip in memory")
    } else {
        stored
    };
    let path = source.join(key);
    std::fs::create_dir_all(path.parent().expect("a folder")).expect("temp folder");
    std::fs::write(&path, &stored).expect("temp file");
    let job = ConvertJob::new(format, &source, &target).with_workers(1);
    let summary = catch_unwind(AssertUnwindSafe(|| convert(&job, &Progress::default())));
    match summary {
        Err(_) => fail(format, body, "the pipeline panicked"),
        Ok(Err(error)) => fail(format, body, &format!("the pipeline failed: {error}")),
        Ok(Ok(s)) if s.rows + s.rejects + s.excluded != s.lines => fail(
            format,
            body,
            &format!("pipeline lines not accounted for: {s:?}"),
        ),
        Ok(Ok(s)) if s.objects != 1 => fail(
            format,
            body,
            &format!("the object was not converted: {s:?}"),
        ),
        Ok(Ok(_)) => {}
    }
    let _ = std::fs::remove_dir_all(&source);
    let _ = std::fs::remove_dir_all(&target);
}

fn main() {
    let mut seconds = 60u64;
    let mut seed = 0x5eed_u64;
    let mut object_every = 500u64;
    let mut formats: Vec<Format> = Format::ALL.to_vec();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args.next().unwrap_or_else(|| {
            eprintln!("error: {arg} needs a value");
            std::process::exit(2)
        });
        let number = || {
            value.parse::<u64>().unwrap_or_else(|_| {
                eprintln!("error: {arg} takes a whole number, not `{value}`");
                std::process::exit(2)
            })
        };
        match arg.as_str() {
            "--seconds" => seconds = number(),
            "--seed" => seed = number(),
            "--object-every" => object_every = number().max(1),
            "--formats" => {
                formats = value
                    .split(',')
                    .map(|f| {
                        f.parse().unwrap_or_else(|e| {
                            eprintln!("error: --formats: {e}");
                            std::process::exit(2)
                        })
                    })
                    .collect()
            }
            other => {
                eprintln!("error: unknown argument `{other}`");
                std::process::exit(2)
            }
        }
    }
    // A panic is a finding, reported by `fail`; keep the default hook's message short.
    std::panic::set_hook(Box::new(|info| eprintln!("panic: {info}")));
    let dir = tempfile::tempdir().expect("a temp folder");
    let budget = Duration::from_secs(seconds) / formats.len().max(1) as u32;
    println!(
        "fuzz: {seconds} s over {} formats, seed {seed}",
        formats.len()
    );
    for format in formats {
        let mut rng = Rng(seed ^ 0x9e37_79b9_7f4a_7c15);
        let (lines, key) = pool(format, seed);
        let started = Instant::now();
        let (mut tried, mut objects) = (0u64, 0u64);
        let mut batch: Vec<Vec<u8>> = Vec::new();
        while started.elapsed() < budget {
            let line = &lines[rng.below(lines.len())];
            let mut mutated = mutate(line, format, &mut rng);
            if rng.below(4) == 0 {
                mutated = mutate(&mutated, format, &mut rng);
            }
            check_decode(format, &object(format, std::slice::from_ref(&mutated)));
            tried += 1;
            batch.push(mutated);
            if tried % object_every == 0 {
                check_pipeline(
                    format,
                    &key,
                    &object(format, &batch),
                    rng.below(2) == 0,
                    dir.path(),
                    objects,
                );
                objects += 1;
                batch.clear();
            }
        }
        println!(
            "fuzz: {format}: {tried} mutated inputs decoded ({:.0}/s), {objects} objects through the pipeline, no panic, every line accounted for",
            tried as f64 / started.elapsed().as_secs_f64()
        );
    }
}
