//! Declares a format's columns once: the [`columns!`] macro generates the builder struct, the
//! Arrow fields and the batch assembly from one list, so schema and builders cannot drift apart.

use std::borrow::Cow;
use std::marker::PhantomData;
use std::sync::Arc;

use arrow_array::builder::{
    ArrayBuilder, BooleanBuilder, Float64Builder, Int32Builder, Int64Builder, ListBuilder,
    StringBuilder, StructBuilder, TimestampMicrosecondBuilder,
};
use arrow_schema::{DataType, Field, Fields, TimeUnit};

/// Bytes reserved per string value when a builder is (re)allocated.
const STRING_BYTES_PER_ROW: usize = 24;

/// An Arrow column type as a format declares it, with the builder that produces it.
pub(crate) trait ColumnKind {
    type Builder: ArrayBuilder;
    fn data_type() -> DataType;
    fn builder(rows: usize) -> Self::Builder;
}

pub(crate) struct Utf8;
pub(crate) struct Int32;
pub(crate) struct Int64;
pub(crate) struct Float64;
pub(crate) struct Boolean;
/// `Timestamp(Microsecond, "UTC")`, the one timestamp type agsl writes.
pub(crate) struct TimestampUtc;
/// `List<Utf8>` (items named `item`, nullable), e.g. WAF labels.
pub(crate) struct ListUtf8;

impl ColumnKind for Utf8 {
    type Builder = StringBuilder;
    fn data_type() -> DataType {
        DataType::Utf8
    }
    fn builder(rows: usize) -> StringBuilder {
        StringBuilder::with_capacity(rows, rows * STRING_BYTES_PER_ROW)
    }
}

impl ColumnKind for Int32 {
    type Builder = Int32Builder;
    fn data_type() -> DataType {
        DataType::Int32
    }
    fn builder(rows: usize) -> Int32Builder {
        Int32Builder::with_capacity(rows)
    }
}

impl ColumnKind for Int64 {
    type Builder = Int64Builder;
    fn data_type() -> DataType {
        DataType::Int64
    }
    fn builder(rows: usize) -> Int64Builder {
        Int64Builder::with_capacity(rows)
    }
}

impl ColumnKind for Float64 {
    type Builder = Float64Builder;
    fn data_type() -> DataType {
        DataType::Float64
    }
    fn builder(rows: usize) -> Float64Builder {
        Float64Builder::with_capacity(rows)
    }
}

impl ColumnKind for Boolean {
    type Builder = BooleanBuilder;
    fn data_type() -> DataType {
        DataType::Boolean
    }
    fn builder(rows: usize) -> BooleanBuilder {
        BooleanBuilder::with_capacity(rows)
    }
}

impl ColumnKind for TimestampUtc {
    type Builder = TimestampMicrosecondBuilder;
    fn data_type() -> DataType {
        DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
    }
    fn builder(rows: usize) -> TimestampMicrosecondBuilder {
        TimestampMicrosecondBuilder::with_capacity(rows).with_timezone("UTC")
    }
}

impl ColumnKind for ListUtf8 {
    type Builder = ListBuilder<StringBuilder>;
    fn data_type() -> DataType {
        DataType::List(Arc::new(Field::new("item", DataType::Utf8, true)))
    }
    fn builder(rows: usize) -> ListBuilder<StringBuilder> {
        ListBuilder::with_capacity(StringBuilder::new(), rows)
    }
}

/// Appends one `List<Utf8>` value: `None` is NULL, `Some(&[])` an empty list.
pub(crate) fn append_text_list(
    builder: &mut ListBuilder<StringBuilder>,
    items: Option<&[Cow<'_, str>]>,
) {
    match items {
        None => builder.append_null(),
        Some(items) => {
            for item in items {
                builder.values().append_value(item);
            }
            builder.append(true);
        }
    }
}

/// The member names of a struct whose members are all text, for [`TextStructList`].
pub(crate) trait TextStructMembers {
    const NAMES: &'static [&'static str];
}

/// `List<Struct<…>>` whose struct members are the nullable Utf8 fields `M::NAMES` (CloudTrail
/// `resources`, Route 53 Resolver `answers`); items named `item` and nullable, as Spark and
/// Athena read lists.
pub(crate) struct TextStructList<M>(PhantomData<M>);

impl<M: TextStructMembers> TextStructList<M> {
    fn members() -> Fields {
        M::NAMES
            .iter()
            .map(|name| Field::new(*name, DataType::Utf8, true))
            .collect()
    }

    fn item() -> Field {
        Field::new("item", DataType::Struct(Self::members()), true)
    }

    /// Appends one list value: `None` is NULL, `Some(&[])` an empty list; each item holds one
    /// value per member, in `M::NAMES` order.
    pub(crate) fn append<const N: usize>(
        builder: &mut ListBuilder<StructBuilder>,
        items: Option<&[[Option<Cow<'_, str>>; N]]>,
    ) {
        const { assert!(N > 0) };
        debug_assert_eq!(N, M::NAMES.len());
        let Some(items) = items else {
            builder.append_null();
            return;
        };
        let entries = builder.values();
        for item in items {
            for (member, value) in item.iter().enumerate() {
                entries
                    .field_builder::<StringBuilder>(member)
                    .expect("every member is declared Utf8")
                    .append_option(value.as_deref());
            }
            entries.append(true);
        }
        builder.append(true);
    }
}

impl<M: TextStructMembers> ColumnKind for TextStructList<M> {
    type Builder = ListBuilder<StructBuilder>;
    fn data_type() -> DataType {
        DataType::List(Arc::new(Self::item()))
    }
    fn builder(rows: usize) -> ListBuilder<StructBuilder> {
        ListBuilder::with_capacity(StructBuilder::from_fields(Self::members(), rows), rows)
            .with_field(Arc::new(Self::item()))
    }
}

/// `columns! { pub(crate) struct AlbColumns { kind: Utf8 = "type", ... } }` declares one builder
/// per column plus `fields()`, `new(rows)`, `len()` and `finish(schema)`. A kind is one of this
/// module's, with its parameter when it takes one (`answers: TextStructList<AnswerMembers> = "answers"`).
macro_rules! columns {
    ($(#[$meta:meta])* $vis:vis struct $name:ident {
        $($field:ident : $kind:ident $(<$param:ty>)? = $column:literal),+ $(,)?
    }) => {
        $(#[$meta])*
        $vis struct $name {
            capacity: usize,
            $(pub(crate) $field: <$crate::columns::$kind $(<$param>)? as $crate::columns::ColumnKind>::Builder,)+
        }

        impl $name {
            /// The Arrow fields, in declaration order, all nullable.
            pub(crate) fn fields() -> Vec<arrow_schema::Field> {
                vec![$(arrow_schema::Field::new(
                    $column,
                    <$crate::columns::$kind $(<$param>)? as $crate::columns::ColumnKind>::data_type(),
                    true,
                )),+]
            }

            pub(crate) fn new(capacity: usize) -> Self {
                Self {
                    capacity,
                    $($field: <$crate::columns::$kind $(<$param>)? as $crate::columns::ColumnKind>::builder(capacity),)+
                }
            }

            /// Every builder, in declaration order, for a format that fills a column whose
            /// values no line holds in one step (`append_nulls`) instead of row by row.
            #[allow(dead_code)] // only formats whose lines name their fields (VPC Flow) use it
            pub(crate) fn builders_mut(&mut self) -> Vec<&mut dyn arrow_array::builder::ArrayBuilder> {
                vec![$(&mut self.$field),+]
            }

            /// Rows appended since the last `finish`.
            pub(crate) fn len(&self) -> usize {
                use arrow_array::builder::ArrayBuilder as _;
                let lens = [$(self.$field.len()),+];
                lens[0]
            }

            /// Hands the buffered rows over as a batch and starts fresh, pre-sized builders.
            pub(crate) fn finish(
                &mut self,
                schema: &arrow_schema::SchemaRef,
            ) -> Result<arrow_array::RecordBatch, arrow_schema::ArrowError> {
                let columns: Vec<arrow_array::ArrayRef> = vec![$({
                    let mut fresh = <$crate::columns::$kind $(<$param>)? as $crate::columns::ColumnKind>::builder(self.capacity);
                    std::mem::swap(&mut self.$field, &mut fresh);
                    std::sync::Arc::new(fresh.finish()) as arrow_array::ArrayRef
                }),+];
                arrow_array::RecordBatch::try_new(schema.clone(), columns)
            }
        }
    };
}

pub(crate) use columns;
