//! Integration tests of the parsers: the shared conformance corpus and property tests.

mod alb_conn_corpus;
mod alb_corpus;
mod cloudfront_corpus;
mod cloudfront_v2_corpus;
mod cloudtrail_corpus;
mod digest;
mod elb_corpus;
mod hostile;
mod nlb_corpus;
mod output_refusals;
mod properties;
mod route53_corpus;
mod s3_access_corpus;
mod vpc_flow_corpus;
mod waf_corpus;

use std::path::PathBuf;

use agsl_formats::{Decoded, LogFormat};
use arrow_array::Array;
use arrow_array::cast::AsArray;
use arrow_array::types::{Int32Type, Int64Type};

/// `../shared/corpus` beside the repository. Missing corpus is a failure, never a skip.
pub fn corpus_dir(format: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpus")
        .join(format);
    assert!(dir.is_dir(), "corpus folder {} is missing", dir.display());
    dir
}

/// Decodes one corpus file and checks the line accounting every decode must satisfy.
pub fn decode_corpus(format: &dyn LogFormat, folder: &str, file: &str) -> Decoded {
    let bytes = std::fs::read(corpus_dir(folder).join(file)).expect("corpus file reads");
    let decoded = Decoded::from_bytes(format, &bytes, 4).expect("decodes");
    let c = decoded.counts;
    assert_eq!(
        c.rows + c.rejects,
        c.lines,
        "{file}: rows + rejects = lines"
    );
    assert_eq!(decoded.rows() as u64, c.rows, "{file}");
    assert_eq!(decoded.rejects.len() as u64, c.rejects, "{file}");
    decoded
}

/// The corpus files (`*.log`) of a folder, sorted.
pub fn corpus_files(folder: &str) -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(corpus_dir(folder))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".log"))
        .collect();
    files.sort();
    files
}

pub fn strings(decoded: &Decoded, column: &str) -> Vec<Option<String>> {
    decoded
        .batches
        .iter()
        .flat_map(|b| {
            let a = b.column_by_name(column).unwrap().as_string::<i32>().clone();
            (0..a.len()).map(move |i| a.is_valid(i).then(|| a.value(i).to_owned()))
        })
        .collect()
}

pub fn ints(decoded: &Decoded, column: &str) -> Vec<Option<i64>> {
    decoded
        .batches
        .iter()
        .flat_map(|b| {
            let col = b.column_by_name(column).unwrap();
            let values: Vec<Option<i64>> = match col.data_type() {
                arrow_schema::DataType::Int32 => {
                    let a = col.as_primitive::<Int32Type>();
                    (0..a.len())
                        .map(|i| a.is_valid(i).then(|| i64::from(a.value(i))))
                        .collect()
                }
                _ => {
                    let a = col.as_primitive::<Int64Type>();
                    (0..a.len())
                        .map(|i| a.is_valid(i).then(|| a.value(i)))
                        .collect()
                }
            };
            values
        })
        .collect()
}

/// The length of each row's list in `column`; `None` for a NULL list.
pub fn list_lengths(decoded: &Decoded, column: &str) -> Vec<Option<usize>> {
    decoded
        .batches
        .iter()
        .flat_map(|b| {
            let a = b.column_by_name(column).unwrap().as_list::<i32>().clone();
            (0..a.len()).map(move |i| a.is_valid(i).then(|| a.value_length(i) as usize))
        })
        .collect()
}
