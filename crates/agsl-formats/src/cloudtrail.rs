//! CloudTrail log files (FORMATS.md section 5): each gzip object is one JSON document
//! `{"Records":[{event}, ...]}`; one row per record.
//!
//! Choices where the spec leaves room:
//! - Column names are the seed's and Athena's lower-cased camelCase (`eventtime`); the
//!   arbitrary-JSON fields are kept as compact raw JSON text under `json_*` names, in the key
//!   order received (re-runs are byte-identical); JSON `null` is SQL NULL.
//! - Extras not in the seed: `useridentity_type/arn/accountid/principalid/accesskeyid/username/
//!   invokedby` extracted from `userIdentity`, and `json_other`, an object of every top-level key
//!   agsl does not know, so nothing is lost when AWS adds fields.
//! - `resources` is `List<Struct<arn, accountid, type>>` like the seed; `accountId` and the
//!   `accountid` spelling seen in real data both fill `accountid`.
//! - A text column receiving a number, boolean or object keeps its JSON text (`errorCode` 200).
//! - Rejects: a record without a valid `eventTime`, or with a non-boolean `readOnly`, is rejected
//!   with its raw JSON; `line_number` is the record's 1-based position in `Records`. An object
//!   that is not valid JSON, or has no `Records` array, is one reject (its first 1 MiB kept);
//!   digest files are skipped by key, and by content when they get here.
//! - Objects over 32 MiB (decompressed) are streamed record by record instead of parsed in
//!   memory: memory stays bounded on any object. There, a document that breaks off keeps the
//!   records before the damage as rows, and the object gets one reject saying where it broke.

use std::borrow::Cow;
use std::io::{BufRead, Read};
use std::sync::{Arc, LazyLock};

use arrow_array::RecordBatch;
use arrow_schema::{ArrowError, Schema, SchemaRef};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::columns::{TextStructList, TextStructMembers, columns};
use crate::decode::{DecodeCounts, DecodeError, DecodeOutput, MAX_LINE_BYTES, Reject};
use crate::json::{self, Members};
use crate::raw::{RawLayout, RawSerde, RawTable, TypedColumn};
use crate::sample::{SampleObject, SamplePlan};
use crate::{Format, FormatInfo, Framing, LogFormat, ObjectDecoder, Partitioning, Route, fields};

mod sample;

/// The top-level record keys agsl maps to columns (a slot each).
const KEYS: [&str; 31] = [
    "eventVersion",
    "userIdentity",
    "eventTime",
    "eventSource",
    "eventName",
    "awsRegion",
    "sourceIPAddress",
    "userAgent",
    "requestParameters",
    "responseElements",
    "additionalEventData",
    "requestID",
    "eventID",
    "eventType",
    "recipientAccountId",
    "errorCode",
    "errorMessage",
    "apiVersion",
    "vpcEndpointId",
    "readOnly",
    "resources",
    "managementEvent",
    "eventCategory",
    "sharedEventID",
    "serviceEventDetails",
    "vpcEndpointAccountId",
    "tlsDetails",
    "sessionCredentialFromConsole",
    "edgeDeviceDetails",
    "addendum",
    "insightDetails",
];

/// The members of one `resources` item, as the seed named them.
pub(crate) struct ResourceMembers;

impl TextStructMembers for ResourceMembers {
    const NAMES: &'static [&'static str] = &["arn", "accountid", "type"];
}

columns! {
    pub(crate) struct CloudtrailColumns {
        eventversion: Utf8 = "eventversion",
        json_useridentity: Utf8 = "json_useridentity",
        useridentity_type: Utf8 = "useridentity_type",
        useridentity_arn: Utf8 = "useridentity_arn",
        useridentity_accountid: Utf8 = "useridentity_accountid",
        useridentity_principalid: Utf8 = "useridentity_principalid",
        useridentity_accesskeyid: Utf8 = "useridentity_accesskeyid",
        useridentity_username: Utf8 = "useridentity_username",
        useridentity_invokedby: Utf8 = "useridentity_invokedby",
        eventtime: TimestampUtc = "eventtime",
        eventsource: Utf8 = "eventsource",
        eventname: Utf8 = "eventname",
        awsregion: Utf8 = "awsregion",
        sourceipaddress: Utf8 = "sourceipaddress",
        useragent: Utf8 = "useragent",
        json_requestparameters: Utf8 = "json_requestparameters",
        json_responseelements: Utf8 = "json_responseelements",
        json_additionaleventdata: Utf8 = "json_additionaleventdata",
        requestid: Utf8 = "requestid",
        eventid: Utf8 = "eventid",
        eventtype: Utf8 = "eventtype",
        recipientaccountid: Utf8 = "recipientaccountid",
        errorcode: Utf8 = "errorcode",
        errormessage: Utf8 = "errormessage",
        apiversion: Utf8 = "apiversion",
        vpcendpointid: Utf8 = "vpcendpointid",
        readonly: Boolean = "readonly",
        resources: TextStructList<ResourceMembers> = "resources",
        managementevent: Boolean = "managementevent",
        eventcategory: Utf8 = "eventcategory",
        sharedeventid: Utf8 = "sharedeventid",
        json_serviceeventdetails: Utf8 = "json_serviceeventdetails",
        vpcendpointaccountid: Utf8 = "vpcendpointaccountid",
        json_tlsdetails: Utf8 = "json_tlsdetails",
        sessioncredentialfromconsole: Utf8 = "sessioncredentialfromconsole",
        json_edgedevicedetails: Utf8 = "json_edgedevicedetails",
        json_addendum: Utf8 = "json_addendum",
        json_insightdetails: Utf8 = "json_insightdetails",
        json_other: Utf8 = "json_other",
    }
}

static SCHEMA: LazyLock<SchemaRef> =
    LazyLock::new(|| Arc::new(Schema::new(CloudtrailColumns::fields())));

/// The raw table's columns, as AWS's Athena DDL for the CloudTrail SerDe types them.
const RAW_COLUMNS: &[TypedColumn] = &[
    ("eventversion", "string"),
    (
        "useridentity",
        "struct<type:string,principalid:string,arn:string,accountid:string,invokedby:string,accesskeyid:string,username:string,sessioncontext:struct<attributes:struct<mfaauthenticated:string,creationdate:string>,sessionissuer:struct<type:string,principalid:string,arn:string,accountid:string,username:string>,sourceidentity:string>>",
    ),
    ("eventtime", "string"),
    ("eventsource", "string"),
    ("eventname", "string"),
    ("awsregion", "string"),
    ("sourceipaddress", "string"),
    ("useragent", "string"),
    ("errorcode", "string"),
    ("errormessage", "string"),
    ("requestparameters", "string"),
    ("responseelements", "string"),
    ("additionaleventdata", "string"),
    ("requestid", "string"),
    ("eventid", "string"),
    (
        "resources",
        "array<struct<arn:string,accountid:string,type:string>>",
    ),
    ("eventtype", "string"),
    ("apiversion", "string"),
    ("readonly", "string"),
    ("recipientaccountid", "string"),
    ("serviceeventdetails", "string"),
    ("sharedeventid", "string"),
    ("vpcendpointid", "string"),
    ("vpcendpointaccountid", "string"),
    ("eventcategory", "string"),
    (
        "tlsdetails",
        "struct<tlsversion:string,ciphersuite:string,clientprovidedhostheader:string>",
    ),
];

/// The format's static facts: names, corpus, framing, event time, partitions, special columns.
const INFO: FormatInfo = FormatInfo {
    keyword: "cloudtrail",
    table_name: "cloudtrail",
    title: "CloudTrail log files",
    corpus_folder: "cloudtrail",
    framing: Framing::RecordsArray,
    bytes_sent_column: None,
    event_time_column: "eventtime",
    partitioning: Partitioning::RegionDate,
    unique_columns: &["eventid", "requestid", "sharedeventid"],
    free_text_columns: &[
        "json_useridentity",
        "sourceipaddress",
        "useragent",
        "json_requestparameters",
        "json_responseelements",
        "json_additionaleventdata",
        "requestid",
        "eventid",
        "errormessage",
        "sharedeventid",
        "json_serviceeventdetails",
        "json_tlsdetails",
        "json_edgedevicedetails",
        "json_addendum",
        "json_insightdetails",
        "json_other",
    ],
    summary_column: "eventname",
    batch_rows: 8192,
    aws_folders: &["CloudTrail", "CloudTrail-Digest", "CloudTrail-Insight"],
};

/// The CloudTrail log format (`cloudtrail`).
#[derive(Debug, Clone, Copy, Default)]
pub struct CloudtrailFormat;

impl LogFormat for CloudtrailFormat {
    fn info(&self) -> &'static FormatInfo {
        &INFO
    }

    fn format(&self) -> Format {
        Format::Cloudtrail
    }

    fn schema(&self) -> SchemaRef {
        SCHEMA.clone()
    }

    /// `AWSLogs/<account>/CloudTrail…/`: trails, digests and Insights.
    fn claims_key(&self, key: &str) -> bool {
        key.contains("CloudTrail")
    }

    /// `..._CloudTrail_<region>_<time>_<id>.json.gz`; digests and Insights are siblings to skip.
    fn route(&self, key: &str) -> Route {
        let file = key.rsplit('/').next().unwrap_or(key);
        if key.contains("CloudTrail-Digest/") || file.contains("_CloudTrail-Digest_") {
            Route::Skip("CloudTrail digest")
        } else if key.contains("CloudTrail-Insight/") {
            Route::Skip("CloudTrail Insights")
        } else if file.ends_with(".json.gz") || file.ends_with(".json") {
            Route::Convert
        } else {
            Route::Skip("not a CloudTrail log object name")
        }
    }

    /// A JSON document holding `Records` (`{"Records":[…`), or a document pretty-printed from
    /// a lone `{`; other JSON objects are other formats' records.
    fn claims_first_line(&self, line: &str) -> bool {
        line.starts_with('{') && (line.contains("\"Records\"") || line == "{")
    }

    fn region_from_key(&self, key: &str) -> Option<String> {
        fields::region_in_key(key, "CloudTrail")
    }

    fn decoder(&self, batch_size: usize) -> Box<dyn ObjectDecoder> {
        Box::new(CloudtrailDecoder::new(batch_size, IN_MEMORY_BYTES))
    }

    /// AWS's CloudTrail SerDe, over the region/date delivery folders.
    fn raw_table(&self) -> RawTable {
        RawTable {
            serde: RawSerde::Custom {
                classification: "cloudtrail",
                input_format: "com.amazon.emr.cloudtrail.CloudTrailInputFormat",
                serde_library: "com.amazon.emr.hive.serde.CloudTrailSerde",
                columns: RAW_COLUMNS,
            },
            layout: RawLayout::RegionDateFolders,
        }
    }

    fn sample(&self, plan: SamplePlan) -> Box<dyn Iterator<Item = SampleObject> + Send> {
        Box::new(sample::objects(plan))
    }
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(rename = "Records", borrow)]
    records: Option<Vec<&'a RawValue>>,
    #[serde(rename = "digestStartTime")]
    digest_start_time: Option<&'a RawValue>,
}

/// Documents up to this size are parsed in memory (fastest); larger ones are streamed record by
/// record, so memory stays bounded whatever an object holds (AWS writes files of a few MB; a
/// hostile or concatenated one may be gigabytes, or a gzip bomb).
const IN_MEMORY_BYTES: usize = 32 << 20;

pub(crate) struct CloudtrailDecoder {
    columns: CloudtrailColumns,
    batch_size: usize,
    in_memory_bytes: usize,
}

/// One `resources` entry.
type Resource<'a> = [Option<Cow<'a, str>>; 3];

/// The checked values of one record, before anything is appended.
struct Record<'a> {
    slots: [Option<&'a RawValue>; KEYS.len()],
    identity: [Option<Cow<'a, str>>; 7],
    eventtime: i64,
    readonly: Option<bool>,
    managementevent: Option<bool>,
    resources: Option<Vec<Resource<'a>>>,
    other: Option<String>,
}

impl<'a> Record<'a> {
    fn parse(members: &'a Members<'a>) -> Result<Self, Cow<'static, str>> {
        let mut slots: [Option<&RawValue>; KEYS.len()] = [None; KEYS.len()];
        let mut other = Vec::new();
        for (key, value) in &members.0 {
            match KEYS.iter().position(|k| k == key) {
                Some(slot) => slots[slot] = Some(*value),
                None => other.push((key.clone(), *value)),
            }
        }
        let eventtime = match slots[2].and_then(json::text) {
            Some(time) => crate::time::parse_iso8601_utc(&time)
                .ok_or_else(|| format!("invalid timestamp `{time}` in column `eventtime`"))?,
            None => return Err("missing timestamp in column `eventtime`".into()),
        };
        let boolean = |slot: usize, column: &str| -> Result<Option<bool>, Cow<'static, str>> {
            slots[slot].map_or(Ok(None), |raw| {
                json::boolean(raw)
                    .map_err(|v| format!("invalid boolean `{v}` in column `{column}`").into())
            })
        };
        Ok(Self {
            identity: identity(slots[1])?,
            eventtime,
            readonly: boolean(19, "readonly")?,
            managementevent: boolean(21, "managementevent")?,
            resources: resources(slots[20])?,
            other: json::other_members(&other, "", &[]),
            slots,
        })
    }
}

/// `type, arn, accountId, principalId, accessKeyId, userName, invokedBy` of `userIdentity`.
fn identity(raw: Option<&RawValue>) -> Result<[Option<Cow<'_, str>>; 7], Cow<'static, str>> {
    const IDENTITY_KEYS: [&str; 7] = [
        "type",
        "arn",
        "accountId",
        "principalId",
        "accessKeyId",
        "userName",
        "invokedBy",
    ];
    let mut values: [Option<Cow<'_, str>>; 7] = Default::default();
    let Some(raw) = raw.filter(|r| r.get().starts_with('{')) else {
        return Ok(values);
    };
    let members: Members<'_> =
        serde_json::from_str(raw.get()).map_err(|e| format!("invalid `userIdentity`: {e}"))?;
    for (key, value) in members.0 {
        if let Some(slot) = IDENTITY_KEYS.iter().position(|k| *k == key) {
            values[slot] = json::text(value);
        }
    }
    Ok(values)
}

fn resources(raw: Option<&RawValue>) -> Result<Option<Vec<Resource<'_>>>, Cow<'static, str>> {
    let Some(raw) = raw.filter(|r| r.get() != "null") else {
        return Ok(None);
    };
    let items: Vec<Members<'_>> = serde_json::from_str(raw.get())
        .map_err(|e| format!("`resources` is not an array of objects: {e}"))?;
    Ok(Some(
        items
            .into_iter()
            .map(|item| {
                let mut resource: Resource<'_> = Default::default();
                for (key, value) in item.0 {
                    let slot = match key.as_ref() {
                        "ARN" | "arn" => 0,
                        "accountId" | "accountid" => 1,
                        "type" => 2,
                        _ => continue,
                    };
                    resource[slot] = json::text(value);
                }
                resource
            })
            .collect(),
    ))
}

impl CloudtrailDecoder {
    pub(crate) fn new(batch_size: usize, in_memory_bytes: usize) -> Self {
        Self {
            columns: CloudtrailColumns::new(batch_size),
            batch_size: batch_size.max(1),
            in_memory_bytes,
        }
    }

    fn append(&mut self, r: &Record<'_>) {
        let c = &mut self.columns;
        let text = |slot: usize| r.slots[slot].and_then(json::text);
        let raw = |slot: usize| r.slots[slot].and_then(json::raw);
        c.eventversion.append_option(text(0));
        c.json_useridentity.append_option(raw(1));
        c.useridentity_type.append_option(r.identity[0].as_deref());
        c.useridentity_arn.append_option(r.identity[1].as_deref());
        c.useridentity_accountid
            .append_option(r.identity[2].as_deref());
        c.useridentity_principalid
            .append_option(r.identity[3].as_deref());
        c.useridentity_accesskeyid
            .append_option(r.identity[4].as_deref());
        c.useridentity_username
            .append_option(r.identity[5].as_deref());
        c.useridentity_invokedby
            .append_option(r.identity[6].as_deref());
        c.eventtime.append_value(r.eventtime);
        c.eventsource.append_option(text(3));
        c.eventname.append_option(text(4));
        c.awsregion.append_option(text(5));
        c.sourceipaddress.append_option(text(6));
        c.useragent.append_option(text(7));
        c.json_requestparameters.append_option(raw(8));
        c.json_responseelements.append_option(raw(9));
        c.json_additionaleventdata.append_option(raw(10));
        c.requestid.append_option(text(11));
        c.eventid.append_option(text(12));
        c.eventtype.append_option(text(13));
        c.recipientaccountid.append_option(text(14));
        c.errorcode.append_option(text(15));
        c.errormessage.append_option(text(16));
        c.apiversion.append_option(text(17));
        c.vpcendpointid.append_option(text(18));
        c.readonly.append_option(r.readonly);
        c.managementevent.append_option(r.managementevent);
        c.eventcategory.append_option(text(22));
        c.sharedeventid.append_option(text(23));
        c.json_serviceeventdetails.append_option(raw(24));
        c.vpcendpointaccountid.append_option(text(25));
        c.json_tlsdetails.append_option(raw(26));
        c.sessioncredentialfromconsole.append_option(text(27));
        c.json_edgedevicedetails.append_option(raw(28));
        c.json_addendum.append_option(raw(29));
        c.json_insightdetails.append_option(raw(30));
        TextStructList::<ResourceMembers>::append(&mut c.resources, r.resources.as_deref());
        c.json_other.append_option(r.other.as_deref());
    }

    fn finish_batch(&mut self) -> Result<RecordBatch, ArrowError> {
        self.columns.finish(&SCHEMA)
    }

    fn records(
        &mut self,
        records: &[&RawValue],
        output: &mut dyn DecodeOutput,
        counts: &mut DecodeCounts,
    ) -> Result<(), DecodeError> {
        for (index, record) in records.iter().enumerate() {
            self.record(index as u64 + 1, record.get(), output, counts)?;
        }
        Ok(())
    }

    /// Decodes the `number`-th record (1-based) of `Records` into a row or a reject.
    fn record(
        &mut self,
        number: u64,
        record: &str,
        output: &mut dyn DecodeOutput,
        counts: &mut DecodeCounts,
    ) -> Result<(), DecodeError> {
        counts.lines += 1;
        let parsed = serde_json::from_str::<Members<'_>>(record)
            .map_err(|e| Cow::Owned(format!("record is not a JSON object: {e}")))
            .and_then(|members| Record::parse(&members).map(|r| self.append(&r)));
        match parsed {
            Ok(()) => {
                counts.rows += 1;
                if self.columns.len() >= self.batch_size {
                    output.batch(self.finish_batch()?)?;
                }
            }
            Err(reason) => {
                counts.rejects += 1;
                output.reject(Reject {
                    line: number,
                    reason,
                    raw: record.as_bytes(),
                })?;
            }
        }
        Ok(())
    }

    /// Emits the rows still buffered.
    fn flush(&mut self, output: &mut dyn DecodeOutput) -> Result<(), DecodeError> {
        if self.columns.len() > 0 {
            output.batch(self.finish_batch()?)?;
        }
        Ok(())
    }
}

/// One reject standing for a whole object that is not a CloudTrail log file.
pub(crate) fn reject_object(
    bytes: &[u8],
    reason: String,
    output: &mut dyn DecodeOutput,
    counts: &mut DecodeCounts,
) -> Result<(), DecodeError> {
    counts.lines += 1;
    counts.rejects += 1;
    output.reject(Reject {
        line: 1,
        reason: reason.into(),
        raw: &bytes[..bytes.len().min(MAX_LINE_BYTES)],
    })
}

impl ObjectDecoder for CloudtrailDecoder {
    fn decode(
        &mut self,
        input: &mut dyn BufRead,
        output: &mut dyn DecodeOutput,
        counts: &mut DecodeCounts,
    ) -> Result<(), DecodeError> {
        let mut bytes = Vec::new();
        (&mut *input)
            .take((self.in_memory_bytes as u64).saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(|source| DecodeError::Read { line: 0, source })?;
        if bytes.len() > self.in_memory_bytes {
            return stream::decode(self, bytes, input, output, counts);
        }
        counts.bytes += bytes.len() as u64;
        let text = match std::str::from_utf8(&bytes) {
            Ok(text) => text,
            Err(e) => {
                let reason = format!("object is not valid UTF-8 at byte {}", e.valid_up_to());
                return reject_object(&bytes, reason, output, counts);
            }
        };
        match serde_json::from_str::<Envelope<'_>>(text) {
            Err(e) => reject_object(
                &bytes,
                format!("object is not valid JSON: {e}"),
                output,
                counts,
            ),
            Ok(Envelope {
                records: Some(records),
                ..
            }) => {
                let result = self.records(&records, output, counts);
                self.flush(output)?;
                result
            }
            Ok(Envelope {
                digest_start_time: Some(_),
                ..
            }) => {
                counts.skipped_lines += 1;
                Ok(())
            }
            Ok(_) => reject_object(
                &bytes,
                "no `Records` array: not a CloudTrail log file".into(),
                output,
                counts,
            ),
        }
    }
}

mod stream;
#[cfg(test)]
mod tests;
