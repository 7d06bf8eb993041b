//! VPC Flow Logs delivered to S3 as text (FORMATS.md section 6): gzip objects whose first line
//! names the fields of the flow log's format, then one space-separated record per line.
//!
//! Choices where the spec leaves room:
//! - The table has one schema, the union of every known field (absent ones NULL), so objects of
//!   different custom formats land in one table. Each object's header maps fields by name, in
//!   any order and subset; a repeated header mid-object is honoured.
//! - Without a header the configured default applies: the v2 default format, or the fields given
//!   to [`VpcFlowFormat::with_fields`]. A line is a header when its first token is not a number
//!   or `-` and every token is a field-name word (`[a-z0-9_-]`); names may use `-` or `_`.
//! - Every data row must have exactly as many tokens as the header names (AWS writes `-` for an
//!   absent value); other rows are rejected with the field count. NODATA/SKIPDATA rows are kept.
//! - `start`/`end` (epoch seconds) become `start_time`/`end_time`; `region` becomes
//!   `record_region` (`region` is a partition key). Partitions use `start_time`. Records
//!   without one (custom formats without `start`, such as AWS's NAT gateway example, or `-`)
//!   keep a NULL `start_time` and go to the partition of the date in the object's key (the
//!   delivery folder), or Hive's NULL date when the key has none; they are never rejected.
//! - Fields newer than FORMATS.md's list (resource-id, encryption-status, tags, next-hop, seen in
//!   vectordotdev/vrl's vectors; names lightly verified) are kept as Utf8 columns. Unknown
//!   names are ignored.

use std::sync::{Arc, LazyLock};

use arrow_array::RecordBatch;
use arrow_array::builder::StringBuilder;
use arrow_schema::{ArrowError, Schema, SchemaRef};

use crate::columns::columns;
use crate::decode::{LineDecoder, LineKind, LineParser};
use crate::fields::{self, Reason};
use crate::raw::{RawLayout, RawSerde, RawTable, TypedColumn};
use crate::sample::{SampleObject, SamplePlan};
use crate::{Format, FormatInfo, Framing, LogFormat, ObjectDecoder, Partitioning, Route};

mod sample;

/// Header token of every known field, in column order (a slot each).
const FIELDS: [&str; 54] = [
    "version",
    "account-id",
    "interface-id",
    "srcaddr",
    "dstaddr",
    "srcport",
    "dstport",
    "protocol",
    "packets",
    "bytes",
    "start",
    "end",
    "action",
    "log-status",
    "vpc-id",
    "subnet-id",
    "instance-id",
    "tcp-flags",
    "type",
    "pkt-srcaddr",
    "pkt-dstaddr",
    "region",
    "az-id",
    "sublocation-type",
    "sublocation-id",
    "pkt-src-aws-service",
    "pkt-dst-aws-service",
    "flow-direction",
    "traffic-path",
    "ecs-cluster-arn",
    "ecs-cluster-name",
    "ecs-container-instance-arn",
    "ecs-container-instance-id",
    "ecs-container-id",
    "ecs-second-container-id",
    "ecs-service-name",
    "ecs-task-definition-arn",
    "ecs-task-arn",
    "ecs-task-id",
    "reject-reason",
    "resource-id",
    "encryption-status",
    "instance-tag",
    "instance-tag-2",
    "interface-tag",
    "interface-tag-2",
    "asg-tag",
    "asg-tag-2",
    "interface-type",
    "next-hop-interface-id",
    "next-hop-subnet-id",
    "next-hop-az-id",
    "next-hop-vpc-id",
    "next-hop-interface-type",
];

/// The v2 default format, used for objects without a header.
const DEFAULT_FORMAT: &str = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status";

columns! {
    pub(crate) struct VpcFlowColumns {
        version: Int32 = "version",
        account_id: Utf8 = "account_id",
        interface_id: Utf8 = "interface_id",
        srcaddr: Utf8 = "srcaddr",
        dstaddr: Utf8 = "dstaddr",
        srcport: Int32 = "srcport",
        dstport: Int32 = "dstport",
        protocol: Int32 = "protocol",
        packets: Int64 = "packets",
        bytes: Int64 = "bytes",
        start_time: TimestampUtc = "start_time",
        end_time: TimestampUtc = "end_time",
        action: Utf8 = "action",
        log_status: Utf8 = "log_status",
        vpc_id: Utf8 = "vpc_id",
        subnet_id: Utf8 = "subnet_id",
        instance_id: Utf8 = "instance_id",
        tcp_flags: Int32 = "tcp_flags",
        kind: Utf8 = "type",
        pkt_srcaddr: Utf8 = "pkt_srcaddr",
        pkt_dstaddr: Utf8 = "pkt_dstaddr",
        record_region: Utf8 = "record_region",
        az_id: Utf8 = "az_id",
        sublocation_type: Utf8 = "sublocation_type",
        sublocation_id: Utf8 = "sublocation_id",
        pkt_src_aws_service: Utf8 = "pkt_src_aws_service",
        pkt_dst_aws_service: Utf8 = "pkt_dst_aws_service",
        flow_direction: Utf8 = "flow_direction",
        traffic_path: Int32 = "traffic_path",
        ecs_cluster_arn: Utf8 = "ecs_cluster_arn",
        ecs_cluster_name: Utf8 = "ecs_cluster_name",
        ecs_container_instance_arn: Utf8 = "ecs_container_instance_arn",
        ecs_container_instance_id: Utf8 = "ecs_container_instance_id",
        ecs_container_id: Utf8 = "ecs_container_id",
        ecs_second_container_id: Utf8 = "ecs_second_container_id",
        ecs_service_name: Utf8 = "ecs_service_name",
        ecs_task_definition_arn: Utf8 = "ecs_task_definition_arn",
        ecs_task_arn: Utf8 = "ecs_task_arn",
        ecs_task_id: Utf8 = "ecs_task_id",
        reject_reason: Utf8 = "reject_reason",
        resource_id: Utf8 = "resource_id",
        encryption_status: Utf8 = "encryption_status",
        instance_tag: Utf8 = "instance_tag",
        instance_tag_2: Utf8 = "instance_tag_2",
        interface_tag: Utf8 = "interface_tag",
        interface_tag_2: Utf8 = "interface_tag_2",
        asg_tag: Utf8 = "asg_tag",
        asg_tag_2: Utf8 = "asg_tag_2",
        interface_type: Utf8 = "interface_type",
        next_hop_interface_id: Utf8 = "next_hop_interface_id",
        next_hop_subnet_id: Utf8 = "next_hop_subnet_id",
        next_hop_az_id: Utf8 = "next_hop_az_id",
        next_hop_vpc_id: Utf8 = "next_hop_vpc_id",
        next_hop_interface_type: Utf8 = "next_hop_interface_type",
    }
}

static SCHEMA: LazyLock<SchemaRef> =
    LazyLock::new(|| Arc::new(Schema::new(VpcFlowColumns::fields())));

/// The fields of an object's lines, from its header or the configured default.
#[derive(Debug)]
struct FieldLayout {
    /// Position -> slot in [`FIELDS`] (`None`: a field agsl does not know).
    slots: Vec<Option<usize>>,
    /// Bit `slot` for every slot some position fills.
    present: u64,
}

type Layout = Arc<FieldLayout>;

const _: () = assert!(FIELDS.len() <= 64, "a layout's slots are the bits of a u64");

/// Bit `slot` for every Utf8 column. A text column the layout leaves out is NULL on every line,
/// and is filled in one step when the batch ends or the layout changes, not a row at a time: a
/// v2 default line fills 6 of the 44 text columns.
static TEXT_SLOTS: LazyLock<u64> = LazyLock::new(|| {
    VpcFlowColumns::fields()
        .iter()
        .enumerate()
        .filter(|(_, field)| field.data_type() == &arrow_schema::DataType::Utf8)
        .fold(0, |mask, (slot, _)| mask | 1 << slot)
});

/// A field name in a format string that agsl does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown VPC flow log field `{0}`")]
pub struct UnknownVpcField(pub String);

/// The raw table's columns for the default (version 2) format, typed as AWS's Athena DDL types
/// them; a custom format's fields take these types where named here, `string` otherwise.
const RAW_COLUMNS: &[TypedColumn] = &[
    ("version", "int"),
    ("account_id", "string"),
    ("interface_id", "string"),
    ("srcaddr", "string"),
    ("dstaddr", "string"),
    ("srcport", "int"),
    ("dstport", "int"),
    ("protocol", "bigint"),
    ("packets", "bigint"),
    ("bytes", "bigint"),
    ("start", "bigint"),
    ("end", "bigint"),
    ("action", "string"),
    ("log_status", "string"),
];

/// The format's static facts: names, corpus, framing, event time, partitions, special columns.
const INFO: FormatInfo = FormatInfo {
    keyword: "vpc_flow",
    table_name: "vpcflow",
    title: "VPC Flow Logs (text)",
    corpus_folder: "vpcflow",
    framing: Framing::Lines {
        field_separator: b' ',
    },
    bytes_sent_column: Some("bytes"),
    event_time_column: "start_time",
    partitioning: Partitioning::RegionDate,
    unique_columns: &[],
    free_text_columns: &["srcaddr", "dstaddr", "pkt_srcaddr", "pkt_dstaddr"],
    summary_column: "protocol",
    batch_rows: 8192,
    aws_folders: &["vpcflowlogs"],
};

/// The VPC Flow Logs format (`vpc_flow`).
#[derive(Debug, Clone)]
pub struct VpcFlowFormat {
    default_layout: Layout,
}

impl Default for VpcFlowFormat {
    fn default() -> Self {
        Self {
            default_layout: Arc::new(layout(DEFAULT_FORMAT)),
        }
    }
}

impl VpcFlowFormat {
    /// Objects without a header line use this format string (`version interface-id ...`)
    /// instead of the v2 default. Every name must be known.
    pub fn with_fields(format: &str) -> Result<Self, UnknownVpcField> {
        if let Some(unknown) = format.split_whitespace().find(|name| slot(name).is_none()) {
            return Err(UnknownVpcField(unknown.to_owned()));
        }
        Ok(Self {
            default_layout: Arc::new(layout(format)),
        })
    }
}

fn slot(name: &str) -> Option<usize> {
    let name = name.replace('_', "-");
    FIELDS.iter().position(|f| *f == name)
}

fn layout(format: &str) -> FieldLayout {
    let slots: Vec<Option<usize>> = format.split_whitespace().map(slot).collect();
    let present = slots
        .iter()
        .flatten()
        .fold(0, |mask, &slot| mask | 1 << slot);
    FieldLayout { slots, present }
}

/// A header names fields; data starts with a number (`version`, an account id, ...) or `-`.
fn is_header(line: &str) -> bool {
    let first = line.split(' ').next().unwrap_or_default();
    !first.is_empty()
        && first != "-"
        && !first.bytes().all(|b| b.is_ascii_digit())
        && line.split(' ').all(|token| {
            !token.is_empty()
                && token
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        })
}

impl LogFormat for VpcFlowFormat {
    fn info(&self) -> &'static FormatInfo {
        &INFO
    }

    fn format(&self) -> Format {
        Format::VpcFlow
    }

    fn schema(&self) -> SchemaRef {
        SCHEMA.clone()
    }

    fn claims_key(&self, key: &str) -> bool {
        key.contains("vpcflowlogs")
    }

    /// `..._vpcflowlogs_<region>_<flow-log-id>_<time>_<hash>.log.gz`; Parquet deliveries are
    /// already converted and skipped.
    fn route(&self, key: &str) -> Route {
        let file = key.rsplit('/').next().unwrap_or(key);
        if file.ends_with(".parquet") {
            Route::Skip("VPC flow log already delivered as Parquet")
        } else if file.ends_with(".log.gz") || file.ends_with(".log") {
            Route::Convert
        } else {
            Route::Skip("not a VPC flow log object name")
        }
    }

    /// A header (`version account-id …`, or a custom format's `…-id` fields), or a record
    /// starting with a number (the version, or an account id).
    fn claims_first_line(&self, line: &str) -> bool {
        let first = line.split(' ').next().unwrap_or_default();
        // A header's first field name (`version`, `account-id`, `interface-id`), or a version.
        let field_name = first
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        first == "version"
            || (field_name && first.contains("-id"))
            || (!first.is_empty() && first.bytes().all(|b| b.is_ascii_digit()))
    }

    /// The folder after `vpcflowlogs/`, a Hive-style `aws-region=` folder, or the file name.
    fn region_from_key(&self, key: &str) -> Option<String> {
        key.split('/')
            .find_map(|segment| segment.strip_prefix("aws-region="))
            .filter(|region| fields::looks_like_region(region))
            .map(str::to_owned)
            .or_else(|| fields::region_in_key(key, "vpcflowlogs"))
    }

    fn decoder(&self, batch_size: usize) -> Box<dyn ObjectDecoder> {
        Box::new(LineDecoder::new(
            VpcFlowLineParser {
                columns: VpcFlowColumns::new(batch_size),
                default_layout: self.default_layout.clone(),
                layout: self.default_layout.clone(),
            },
            batch_size,
        ))
    }

    /// Space-separated text after one header line, over the region/date delivery folders.
    fn raw_table(&self) -> RawTable {
        RawTable {
            serde: RawSerde::Delimited {
                separator: " ",
                header_lines: 1,
                columns: RAW_COLUMNS,
                header_names_columns: true,
            },
            layout: RawLayout::RegionDateFolders,
        }
    }

    fn sample(&self, plan: SamplePlan) -> Box<dyn Iterator<Item = SampleObject> + Send> {
        Box::new(sample::objects(plan))
    }
}

struct VpcFlowLineParser {
    columns: VpcFlowColumns,
    default_layout: Layout,
    layout: Layout,
}

/// The typed values of one line, checked before anything is appended.
struct VpcFlowRecord {
    version: Option<i32>,
    srcport: Option<i32>,
    dstport: Option<i32>,
    protocol: Option<i32>,
    packets: Option<i64>,
    bytes: Option<i64>,
    start_time: Option<i64>,
    end_time: Option<i64>,
    tcp_flags: Option<i32>,
    traffic_path: Option<i32>,
}

/// Epoch seconds as microseconds; seconds beyond what microseconds can hold are rejected.
fn epoch_seconds(value: &str, column: &'static str) -> Result<Option<i64>, Reason> {
    fields::int64(value, column)?
        .map(|seconds| {
            seconds
                .checked_mul(1_000_000)
                .ok_or_else(|| format!("epoch seconds `{value}` out of range in `{column}`").into())
        })
        .transpose()
}

impl VpcFlowRecord {
    fn parse(v: &[&str; FIELDS.len()]) -> Result<Self, Reason> {
        Ok(Self {
            version: fields::int32(v[0], "version")?,
            srcport: fields::int32(v[5], "srcport")?,
            dstport: fields::int32(v[6], "dstport")?,
            protocol: fields::int32(v[7], "protocol")?,
            packets: fields::int64(v[8], "packets")?,
            bytes: fields::int64(v[9], "bytes")?,
            start_time: epoch_seconds(v[10], "start_time")?,
            end_time: epoch_seconds(v[11], "end_time")?,
            tcp_flags: fields::int32(v[17], "tcp_flags")?,
            traffic_path: fields::int32(v[28], "traffic_path")?,
        })
    }
}

impl LineParser for VpcFlowLineParser {
    fn parse_line(&mut self, line: &str) -> Result<LineKind, Reason> {
        if is_header(line) {
            self.set_layout(Arc::new(layout(line)));
            return Ok(LineKind::NotData);
        }
        let mut v = ["-"; FIELDS.len()];
        let mut count = 0;
        for token in fields::split_on(line, b' ') {
            if let Some(Some(slot)) = self.layout.slots.get(count) {
                v[*slot] = token;
            }
            count += 1;
        }
        let named = self.layout.slots.len();
        if count != named {
            return Err(format!("has {count} fields; the format names {named}").into());
        }
        let r = VpcFlowRecord::parse(&v)?;

        let c = &mut self.columns;
        let present = self.layout.present;
        // Text columns the layout leaves out are filled by `fill_absent_text`.
        let put = |builder: &mut StringBuilder, i: usize| {
            if present & 1 << i != 0 {
                builder.append_option(fields::text(v[i]));
            }
        };
        c.version.append_option(r.version);
        put(&mut c.account_id, 1);
        put(&mut c.interface_id, 2);
        put(&mut c.srcaddr, 3);
        put(&mut c.dstaddr, 4);
        c.srcport.append_option(r.srcport);
        c.dstport.append_option(r.dstport);
        c.protocol.append_option(r.protocol);
        c.packets.append_option(r.packets);
        c.bytes.append_option(r.bytes);
        c.start_time.append_option(r.start_time);
        c.end_time.append_option(r.end_time);
        put(&mut c.action, 12);
        put(&mut c.log_status, 13);
        put(&mut c.vpc_id, 14);
        put(&mut c.subnet_id, 15);
        put(&mut c.instance_id, 16);
        c.tcp_flags.append_option(r.tcp_flags);
        put(&mut c.kind, 18);
        put(&mut c.pkt_srcaddr, 19);
        put(&mut c.pkt_dstaddr, 20);
        put(&mut c.record_region, 21);
        put(&mut c.az_id, 22);
        put(&mut c.sublocation_type, 23);
        put(&mut c.sublocation_id, 24);
        put(&mut c.pkt_src_aws_service, 25);
        put(&mut c.pkt_dst_aws_service, 26);
        put(&mut c.flow_direction, 27);
        c.traffic_path.append_option(r.traffic_path);
        put(&mut c.ecs_cluster_arn, 29);
        put(&mut c.ecs_cluster_name, 30);
        put(&mut c.ecs_container_instance_arn, 31);
        put(&mut c.ecs_container_instance_id, 32);
        put(&mut c.ecs_container_id, 33);
        put(&mut c.ecs_second_container_id, 34);
        put(&mut c.ecs_service_name, 35);
        put(&mut c.ecs_task_definition_arn, 36);
        put(&mut c.ecs_task_arn, 37);
        put(&mut c.ecs_task_id, 38);
        put(&mut c.reject_reason, 39);
        put(&mut c.resource_id, 40);
        put(&mut c.encryption_status, 41);
        put(&mut c.instance_tag, 42);
        put(&mut c.instance_tag_2, 43);
        put(&mut c.interface_tag, 44);
        put(&mut c.interface_tag_2, 45);
        put(&mut c.asg_tag, 46);
        put(&mut c.asg_tag_2, 47);
        put(&mut c.interface_type, 48);
        put(&mut c.next_hop_interface_id, 49);
        put(&mut c.next_hop_subnet_id, 50);
        put(&mut c.next_hop_az_id, 51);
        put(&mut c.next_hop_vpc_id, 52);
        put(&mut c.next_hop_interface_type, 53);
        Ok(LineKind::Row)
    }

    fn buffered_rows(&self) -> usize {
        self.columns.len()
    }

    fn finish_batch(&mut self) -> Result<RecordBatch, ArrowError> {
        self.fill_absent_text();
        self.columns.finish(&SCHEMA)
    }

    fn start_object(&mut self) {
        self.set_layout(self.default_layout.clone());
    }
}

impl VpcFlowLineParser {
    /// Lines from here on have the fields of `layout`.
    fn set_layout(&mut self, layout: Layout) {
        self.fill_absent_text();
        self.layout = layout;
    }

    /// Brings the text columns the current layout leaves out up to the rows appended, as NULLs.
    fn fill_absent_text(&mut self) {
        let absent = *TEXT_SLOTS & !self.layout.present;
        let rows = self.columns.len();
        for (slot, builder) in self.columns.builders_mut().into_iter().enumerate() {
            if absent & 1 << slot != 0 {
                let missing = rows - builder.len();
                builder
                    .as_any_mut()
                    .downcast_mut::<StringBuilder>()
                    .expect("TEXT_SLOTS holds Utf8 columns only")
                    .append_nulls(missing);
            }
        }
    }
}

#[cfg(test)]
mod tests;
