//! Writes the crate's generated sample logs to a folder in the layout AWS delivers them
//! (gzip objects under `AWSLogs/...`), for the demo, tests and benchmarks.

use std::fs;
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;

use agsl_formats::Format;
use agsl_formats::sample::{SampleFacts, SampleObject, SamplePlan, objects};
use flate2::Compression;
use flate2::write::GzEncoder;

use crate::error::{Error, Result, SinkError};

/// What was written: counts, sizes and the generator's facts about the lines.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WrittenSample {
    pub objects: u64,
    /// Uncompressed bytes.
    pub bytes: u64,
    /// Bytes on disk (gzip where AWS compresses).
    pub stored_bytes: u64,
    pub facts: SampleFacts,
}

/// Generates `plan` for `format` under `dir`, compressed as AWS delivers it, using every core
/// (gzip is the slow part).
pub fn write_sample(format: Format, plan: SamplePlan, dir: &Path) -> Result<WrittenSample> {
    let generated = Mutex::new(objects(format, plan));
    let workers = std::thread::available_parallelism().map_or(2, usize::from);
    let results: Vec<Result<WrittenSample>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut written = WrittenSample::default();
                    loop {
                        let next = generated.lock().map(|mut g| g.next());
                        let Ok(Some(object)) = next else { break };
                        write_object(dir, &object, &mut written)?;
                    }
                    Ok(written)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(Error::Internal("sample writer panicked".into())))
            })
            .collect()
    });
    let mut total = WrittenSample::default();
    for result in results {
        let part = result?;
        total.objects += part.objects;
        total.bytes += part.bytes;
        total.stored_bytes += part.stored_bytes;
        total.facts.add(&part.facts);
    }
    Ok(total)
}

/// The bytes of `object` as AWS stores it: gzip where AWS compresses, plain otherwise.
pub fn stored(object: &SampleObject) -> std::io::Result<Vec<u8>> {
    if !object.compressed {
        return Ok(object.body.clone());
    }
    let mut encoder = GzEncoder::new(
        Vec::with_capacity(object.body.len() / 8),
        Compression::new(6),
    );
    encoder.write_all(&object.body)?;
    encoder.finish()
}

fn write_object(dir: &Path, object: &SampleObject, written: &mut WrittenSample) -> Result<()> {
    let path = dir.join(&object.key);
    let io = |e| SinkError::io(&path, e);
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(io)?;
    }
    let stored = stored(object).map_err(io)?;
    fs::write(&path, &stored).map_err(io)?;
    written.objects += 1;
    written.bytes += object.body.len() as u64;
    written.stored_bytes += stored.len() as u64;
    written.facts.add(&object.facts);
    Ok(())
}
