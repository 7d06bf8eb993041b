//! Typed cell accessors for the formats' unit tests: one value of a named column, `None` when
//! NULL. The plain names read row 0; the `_at` forms take a row.

use arrow_array::cast::AsArray;
use arrow_array::types::{
    ArrowPrimitiveType, Float64Type, Int32Type, Int64Type, TimestampMicrosecondType,
};
use arrow_array::{Array, RecordBatch};

fn primitive<T: ArrowPrimitiveType>(
    b: &RecordBatch,
    column: &str,
    row: usize,
) -> Option<T::Native> {
    let a = b.column_by_name(column).expect(column).as_primitive::<T>();
    a.is_valid(row).then(|| a.value(row))
}

pub(crate) fn text_at(b: &RecordBatch, column: &str, row: usize) -> Option<String> {
    let a = b.column_by_name(column).expect(column).as_string::<i32>();
    a.is_valid(row).then(|| a.value(row).to_owned())
}

pub(crate) fn int32_at(b: &RecordBatch, column: &str, row: usize) -> Option<i32> {
    primitive::<Int32Type>(b, column, row)
}

pub(crate) fn int64_at(b: &RecordBatch, column: &str, row: usize) -> Option<i64> {
    primitive::<Int64Type>(b, column, row)
}

pub(crate) fn micros_at(b: &RecordBatch, column: &str, row: usize) -> Option<i64> {
    primitive::<TimestampMicrosecondType>(b, column, row)
}

pub(crate) fn text(b: &RecordBatch, column: &str) -> Option<String> {
    text_at(b, column, 0)
}

pub(crate) fn int32(b: &RecordBatch, column: &str) -> Option<i32> {
    int32_at(b, column, 0)
}

pub(crate) fn int64(b: &RecordBatch, column: &str) -> Option<i64> {
    int64_at(b, column, 0)
}

pub(crate) fn float64(b: &RecordBatch, column: &str) -> Option<f64> {
    primitive::<Float64Type>(b, column, 0)
}

pub(crate) fn micros(b: &RecordBatch, column: &str) -> Option<i64> {
    micros_at(b, column, 0)
}

pub(crate) fn boolean(b: &RecordBatch, column: &str) -> Option<bool> {
    let a = b.column_by_name(column).expect(column).as_boolean();
    a.is_valid(0).then(|| a.value(0))
}
