//! Integration tests of the agsl library: one test binary, a module per topic. Output is
//! always read back with the parquet crate's own reader.

mod catalog;
mod convert;
mod driver;
mod layout;
mod objects;
mod raw_tables;

use std::fs::File;
use std::path::Path;

use arrow_array::RecordBatch;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

/// Every batch of every committed file of the table at `root`.
pub fn read_table(root: &Path) -> Vec<RecordBatch> {
    agsl::sink::table_files(root)
        .expect("table lists")
        .into_iter()
        .flat_map(|path| read_file(&path))
        .collect()
}

pub fn read_file(path: &Path) -> Vec<RecordBatch> {
    let file = File::open(path).expect("parquet file opens");
    ParquetRecordBatchReaderBuilder::try_new(file)
        .expect("valid parquet")
        .build()
        .expect("reader builds")
        .map(|b| b.expect("batch reads"))
        .collect()
}

/// All files below `root` whose name satisfies `matches`.
pub fn files_named(root: &Path, matches: &dyn Fn(&str) -> bool) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(root).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() {
            found.extend(files_named(&entry.path(), matches));
        } else if matches(&entry.file_name().to_string_lossy()) {
            found.push(entry.path());
        }
    }
    found
}
