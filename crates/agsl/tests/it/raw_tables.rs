//! The raw tables' Regex SerDe patterns against real lines: every line agsl's parser accepts
//! (the shared corpus and the generator) must match the pattern as a whole line, as Hive's
//! RegexSerDe requires, and the captured fields must be the ones the parser read.

use std::path::PathBuf;

use agsl::PartitionLayout;
use agsl::catalog::raw_table;
use agsl_formats::raw::RawSerde;
use agsl_formats::sample::{SamplePlan, objects};
use agsl_formats::{Decoded, Format};
use arrow_array::Array;
use arrow_array::cast::AsArray;

fn corpus_lines(folder: &str) -> Vec<(String, String)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpus")
        .join(folder);
    assert!(dir.is_dir(), "corpus folder {} is missing", dir.display());
    let mut lines = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    files.sort();
    for file in files {
        let text = String::from_utf8_lossy(&std::fs::read(&file).unwrap()).into_owned();
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        for (i, line) in text.lines().enumerate() {
            lines.push((format!("{name}:{}", i + 1), line.to_owned()));
        }
    }
    lines
}

fn sample_lines(format: Format) -> Vec<(String, String)> {
    let plan = SamplePlan {
        objects: 4,
        lines_per_object: 500,
        ..SamplePlan::default()
    };
    objects(format, plan)
        .flat_map(|o| {
            let text = String::from_utf8(o.body).unwrap();
            let key = o.key;
            text.lines()
                .enumerate()
                .map(|(i, l)| (format!("{key}:{}", i + 1), l.to_owned()))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The value the parser gave `column` for a one-line decode, as text (`None` for NULL).
fn parsed(decoded: &Decoded, column: &str) -> Option<String> {
    let array = decoded.batches[0].column_by_name(column).unwrap();
    if array.is_null(0) {
        return None;
    }
    Some(match array.data_type() {
        arrow_schema::DataType::Utf8 => array.as_string::<i32>().value(0).to_owned(),
        arrow_schema::DataType::Int32 => array
            .as_primitive::<arrow_array::types::Int32Type>()
            .value(0)
            .to_string(),
        arrow_schema::DataType::Int64 => array
            .as_primitive::<arrow_array::types::Int64Type>()
            .value(0)
            .to_string(),
        other => panic!("no text form for {other}"),
    })
}

/// The raw columns whose captured text the parser's value is compared with: those the
/// converted table has too, as text or integers (timestamps, floats and flags change form).
fn comparable_columns(format: Format) -> Vec<String> {
    let table = raw_table(format, PartitionLayout::Seed, "raw", "t", "s3://b/p", None);
    let schema = format.parser().schema();
    table
        .columns
        .iter()
        .filter(|c| {
            schema.field_with_name(&c.name).is_ok_and(|f| {
                matches!(
                    f.data_type(),
                    arrow_schema::DataType::Utf8
                        | arrow_schema::DataType::Int32
                        | arrow_schema::DataType::Int64
                )
            })
        })
        .map(|c| c.name.clone())
        .collect()
}

/// Checks every accepted line of `lines` against the raw table's pattern; returns how many.
fn check(format: Format, lines: &[(String, String)], columns: &[String]) -> usize {
    let table = raw_table(format, PartitionLayout::Seed, "raw", "t", "s3://b/p", None);
    let pattern = format!("^(?:{})$", table.storage.serde_parameters["input.regex"]);
    let regex = regex::Regex::new(&agsl_formats::raw::greedy_twin(&pattern)).unwrap();
    let parser = format.parser();
    let mut accepted = 0;
    for (place, line) in lines {
        let decoded = Decoded::from_bytes(parser, line.as_bytes(), 4).unwrap();
        if decoded.counts.rows != 1 {
            continue;
        }
        accepted += 1;
        let captures = regex
            .captures(line)
            .unwrap_or_else(|| panic!("{format} raw pattern does not match {place}: {line}"));
        for column in columns {
            // TCP listeners write the request as `"- - - "`, which the parser reads as three
            // NULLs and the pattern as verb `-`, URL `- -` and an empty protocol.
            if column.starts_with("request_") && line.contains(r#""- - - ""#) {
                continue;
            }
            let index = table
                .columns
                .iter()
                .position(|c| c.name == *column)
                .unwrap();
            let raw = captures
                .get(index + 1)
                .map(|m| m.as_str())
                .filter(|s| *s != "-" && !s.is_empty());
            let value = parsed(&decoded, column);
            assert_eq!(
                raw.map(str::to_owned),
                value,
                "{format} `{column}` at {place}: {line}"
            );
        }
    }
    accepted
}

/// Every format with a Regex SerDe raw table: its pattern, built from the format's one wire
/// layout, matches every line the parser accepts (corpus and generated), and captures the
/// value the parser read into each column the two tables share, so the parser's field
/// positions and the declared wire order cannot drift apart.
#[test]
fn regex_raw_tables_capture_what_the_parser_reads() {
    let regex_formats: Vec<Format> = Format::ALL
        .into_iter()
        .filter(|f| matches!(f.parser().raw_table().serde, RawSerde::Regex(_)))
        .collect();
    assert!(regex_formats.len() >= 3, "{regex_formats:?}");
    for format in regex_formats {
        let columns = comparable_columns(format);
        assert!(columns.len() >= 10, "{format}: {columns:?}");
        let corpus = corpus_lines(format.info().corpus_folder);
        // `check` panics on an accepted line the pattern misses; the smallest corpus (albconn)
        // holds three such lines.
        assert!(check(format, &corpus, &columns) >= 3, "{format}");
        assert_eq!(check(format, &sample_lines(format), &columns), 2000);
    }
}
