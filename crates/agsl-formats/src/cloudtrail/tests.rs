//! Per-field CloudTrail tests. Expected values from FORMATS.md section 5 (the AWS ConsoleLogin
//! example) and the oddities MANIFEST.md lists.

use arrow_array::cast::AsArray;
use arrow_array::types::TimestampMicrosecondType;
use arrow_array::{Array, RecordBatch};

use crate::test_support::{boolean, text};
use crate::{CloudtrailFormat, Decoded, LogFormat, Route};

const CONSOLE_LOGIN: &str = r#"{"eventVersion":"1.05","userIdentity":{"type":"IAMUser","principalId":"AIDACKCEVSQ6C2EXAMPLE","arn":"arn:aws:iam::111122223333:user/JohnDoe","accountId":"111122223333","userName":"JohnDoe"},"eventTime":"2014-07-16T15:49:27Z","eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","awsRegion":"us-east-2","sourceIPAddress":"192.0.2.110","userAgent":"Mozilla/5.0 (Windows NT 6.1; WOW64; rv:24.0) Gecko/20100101 Firefox/24.0","requestParameters":null,"responseElements":{"ConsoleLogin":"Success"},"additionalEventData":{"MobileVersion":"No","LoginTo":"https://console.aws.amazon.com/s3/","MFAUsed":"No"},"eventID":"3fcfb182-98f8-4744-bd45-10aEXAMPLE"}"#;

fn decode(json: &str) -> Decoded {
    Decoded::from_bytes(&CloudtrailFormat, json.as_bytes(), 64).expect("decodes")
}

fn wrap(records: &[&str]) -> String {
    format!("{{\"Records\":[{}]}}", records.join(","))
}

fn one(record: &str) -> RecordBatch {
    let d = decode(&wrap(&[record]));
    assert!(d.rejects.is_empty(), "rejected: {:?}", d.rejects);
    assert_eq!(d.rows(), 1);
    d.batches.into_iter().next().unwrap()
}

#[test]
fn console_login_example() {
    let b = one(CONSOLE_LOGIN);
    assert_eq!(b.num_columns(), 39);
    assert_eq!(text(&b, "eventversion").as_deref(), Some("1.05"));
    let time = b
        .column_by_name("eventtime")
        .unwrap()
        .as_primitive::<TimestampMicrosecondType>();
    assert_eq!(time.value(0), 1_405_525_767_000_000);
    assert_eq!(text(&b, "eventname").as_deref(), Some("ConsoleLogin"));
    assert_eq!(text(&b, "useridentity_type").as_deref(), Some("IAMUser"));
    assert_eq!(
        text(&b, "useridentity_username").as_deref(),
        Some("JohnDoe")
    );
    assert_eq!(text(&b, "useridentity_accesskeyid"), None);
    assert!(
        text(&b, "json_useridentity")
            .unwrap()
            .starts_with(r#"{"type":"IAMUser","principalId""#)
    );
    assert_eq!(
        text(&b, "json_requestparameters"),
        None,
        "JSON null is SQL NULL"
    );
    assert_eq!(
        text(&b, "json_responseelements").as_deref(),
        Some(r#"{"ConsoleLogin":"Success"}"#)
    );
    assert_eq!(
        text(&b, "eventid").as_deref(),
        Some("3fcfb182-98f8-4744-bd45-10aEXAMPLE")
    );
    assert_eq!(text(&b, "eventtype"), None, "old records lack it");
    assert_eq!(boolean(&b, "readonly"), None);
    assert!(b.column_by_name("resources").unwrap().is_null(0));
    assert_eq!(text(&b, "json_other"), None);
}

#[test]
fn resources_booleans_and_unknown_keys() {
    let record = r#"{"eventTime":"2024-01-02T03:04:05Z","readOnly":true,"managementEvent":"false","errorCode":200,
        "resources":[{"ARN":"arn:aws:s3:::bucket/key","accountId":"111","type":"AWS::S3::Object"},{"accountid":"222","type":"AWS::S3::Bucket","ARN":"arn:aws:s3:::bucket"}],
        "inScopeOf":{"issuerType":"AWS::Lambda::Function"},"newKey2030":[1, 2]}"#;
    let b = one(record);
    assert_eq!(boolean(&b, "readonly"), Some(true));
    assert_eq!(boolean(&b, "managementevent"), Some(false));
    assert_eq!(
        text(&b, "errorcode").as_deref(),
        Some("200"),
        "numbers keep their JSON text"
    );
    assert_eq!(
        text(&b, "json_other").as_deref(),
        Some(r#"{"inScopeOf":{"issuerType":"AWS::Lambda::Function"},"newKey2030":[1,2]}"#)
    );
    let list = b.column_by_name("resources").unwrap().as_list::<i32>();
    let items = list.value(0);
    let items = items.as_struct();
    assert_eq!(items.len(), 2);
    assert_eq!(
        items
            .column_by_name("arn")
            .unwrap()
            .as_string::<i32>()
            .value(1),
        "arn:aws:s3:::bucket"
    );
    assert_eq!(
        items
            .column_by_name("accountid")
            .unwrap()
            .as_string::<i32>()
            .value(1),
        "222"
    );
    assert_eq!(
        items
            .column_by_name("type")
            .unwrap()
            .as_string::<i32>()
            .value(0),
        "AWS::S3::Object"
    );
}

#[test]
fn pretty_printed_json_is_stored_compact() {
    let pretty = "{\n  \"Records\" : [ {\n    \"eventTime\" : \"2024-01-02T03:04:05Z\",\n    \"requestParameters\" : {\n      \"bucketName\" : \"a b\",\n      \"n\" : [ 1, 2 ]\n    }\n  } ]\n}";
    let d = decode(pretty);
    let b = &d.batches[0];
    assert_eq!(
        text(b, "json_requestparameters").as_deref(),
        Some(r#"{"bucketName":"a b","n":[1,2]}"#)
    );
}

#[test]
fn records_and_objects_that_cannot_be_converted() {
    let d = decode(&wrap(&[
        CONSOLE_LOGIN,
        r#"{"eventName":"NoTime"}"#,
        r#"{"eventTime":"yesterday"}"#,
        "[1]",
        r#"{"eventTime":"2024-01-02T03:04:05Z","readOnly":"maybe"}"#,
    ]));
    assert_eq!((d.counts.rows, d.counts.rejects, d.counts.lines), (1, 4, 5));
    let reasons: Vec<&str> = d.rejects.iter().map(|r| r.reason.as_str()).collect();
    assert!(reasons[0].contains("missing timestamp"), "{reasons:?}");
    assert!(
        reasons[1].contains("invalid timestamp `yesterday`"),
        "{reasons:?}"
    );
    assert!(reasons[2].contains("not a JSON object"), "{reasons:?}");
    assert!(reasons[3].contains("`readonly`"), "{reasons:?}");
    assert_eq!(d.rejects[1].line, 3, "the record's position in Records");
    assert_eq!(d.rejects[1].raw, br#"{"eventTime":"yesterday"}"#);

    let broken = decode(r#"{"Records":[{"eventTime":"#);
    assert_eq!((broken.counts.rows, broken.counts.rejects), (0, 1));
    assert!(
        broken.rejects[0]
            .reason
            .starts_with("object is not valid JSON")
    );
    let envelope = decode(r#"{"messageType":"DATA_MESSAGE","logEvents":[]}"#);
    assert!(envelope.rejects[0].reason.contains("no `Records` array"));
    let digest =
        decode(r#"{"awsAccountId":"1","digestStartTime":"2020-09-11T19:00:00Z","logFiles":[]}"#);
    assert_eq!((digest.counts.lines, digest.counts.skipped_lines), (0, 1));
    let empty = decode(r#"{"Records": []}"#);
    assert_eq!((empty.counts.lines, empty.counts.rejects), (0, 0));
}

#[test]
fn routes_by_key() {
    let dir = "AWSLogs/123456789123/CloudTrail/us-west-2/2020/09/11/";
    assert_eq!(
        CloudtrailFormat.route(&format!(
            "{dir}123456789123_CloudTrail_us-west-2_20200911T1930Z_l2pGqVS53QcGdAkp.json.gz"
        )),
        Route::Convert
    );
    assert_eq!(
        CloudtrailFormat
            .region_from_key(&format!("{dir}x.json.gz"))
            .as_deref(),
        Some("us-west-2")
    );
    assert!(matches!(
        CloudtrailFormat.route("AWSLogs/1/CloudTrail-Digest/us-west-2/2020/09/11/x.json.gz"),
        Route::Skip(_)
    ));
    assert!(matches!(
        CloudtrailFormat.route("AWSLogs/1/CloudTrail-Insight/us-west-2/x.json.gz"),
        Route::Skip(_)
    ));
    assert!(matches!(CloudtrailFormat.route(dir), Route::Skip(_)));
    assert_eq!(
        CloudtrailFormat
            .region_from_key(
                "AWSLogs/o-abc123/123456789012/CloudTrail/eu-west-1/2024/01/01/x.json.gz"
            )
            .as_deref(),
        Some("eu-west-1")
    );
}

/// Decodes with a decoder that streams documents over `in_memory_bytes`.
fn decode_limited(bytes: &[u8], in_memory_bytes: usize) -> Decoded {
    use crate::decode::{DecodeCounts, ObjectDecoder};
    let mut decoded = Decoded::default();
    let mut counts = DecodeCounts::default();
    let mut input = bytes;
    super::CloudtrailDecoder::new(16, in_memory_bytes)
        .decode(&mut input, &mut decoded, &mut counts)
        .expect("in-memory input never fails");
    decoded.counts = counts;
    decoded
}

#[test]
fn streamed_documents_decode_exactly_as_in_memory_ones() {
    let plan = crate::sample::SamplePlan {
        objects: 6,
        lines_per_object: 150,
        bad_line_every: Some(37),
        ..crate::sample::SamplePlan::default()
    };
    let mut documents: Vec<Vec<u8>> = crate::sample::objects(crate::Format::Cloudtrail, plan)
        .map(|o| o.body)
        .collect();
    documents
        .push(wrap(&[CONSOLE_LOGIN, r#"{"eventTime":"bad"}"#, "17", CONSOLE_LOGIN]).into_bytes());
    documents.push(br#"{"digestStartTime":"2024-01-01T00:00:00Z","Records":null}"#.to_vec());
    documents.push(br#"{"not":"cloudtrail"}"#.to_vec());
    for document in &mut documents {
        // Every document is longer than the 64 bytes the streaming decoder keeps in memory.
        document.extend_from_slice(&[b' '; 64]);
        let whole = decode_limited(document, usize::MAX);
        let streamed = decode_limited(document, 64);
        assert!(whole.counts.lines > 0 || whole.counts.skipped_lines > 0);
        assert_eq!(streamed.counts, whole.counts);
        assert_eq!(streamed.batches, whole.batches);
        assert_eq!(streamed.rejects, whole.rejects);
    }
}

#[test]
fn a_streamed_document_that_breaks_off_keeps_the_records_before() {
    let complete = wrap(&[CONSOLE_LOGIN, CONSOLE_LOGIN, CONSOLE_LOGIN]);
    let broken = &complete[..complete.len() - 200];
    let d = decode_limited(broken.as_bytes(), 64);
    assert_eq!((d.counts.rows, d.counts.rejects, d.counts.lines), (2, 1, 3));
    assert!(
        d.rejects[0].reason.contains("after record 2"),
        "{:?}",
        d.rejects
    );
    assert_eq!(d.counts.bytes, broken.len() as u64);
    // In memory the same document is one reject: nothing of it is trusted.
    let whole = decode_limited(broken.as_bytes(), usize::MAX);
    assert_eq!((whole.counts.rows, whole.counts.rejects), (0, 1));
}
