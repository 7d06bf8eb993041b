"""The peer baseline of scripts/bench: DuckDB reads the same log objects, types the columns a
user would type, and writes zstd Parquet partitioned by day, all in one COPY statement.

Usage: python duckdb_peer.py <service> <file with NUL-separated object paths> <output folder>
Prints one JSON line: {"rows": N}.
"""

import gzip
import json
import sys

import duckdb

ALB = [
    ("type", "VARCHAR"), ("time", "TIMESTAMPTZ"), ("elb", "VARCHAR"), ("client", "VARCHAR"),
    ("target", "VARCHAR"), ("request_processing_time", "DOUBLE"),
    ("target_processing_time", "DOUBLE"), ("response_processing_time", "DOUBLE"),
    ("elb_status_code", "INTEGER"), ("target_status_code", "INTEGER"),
    ("received_bytes", "BIGINT"), ("sent_bytes", "BIGINT"), ("request", "VARCHAR"),
    ("user_agent", "VARCHAR"), ("ssl_cipher", "VARCHAR"), ("ssl_protocol", "VARCHAR"),
    ("target_group_arn", "VARCHAR"), ("trace_id", "VARCHAR"), ("domain_name", "VARCHAR"),
    ("chosen_cert_arn", "VARCHAR"), ("matched_rule_priority", "INTEGER"),
    ("request_creation_time", "TIMESTAMPTZ"), ("actions_executed", "VARCHAR"),
    ("redirect_url", "VARCHAR"), ("error_reason", "VARCHAR"), ("target_list", "VARCHAR"),
    ("target_status_list", "VARCHAR"), ("classification", "VARCHAR"),
    ("classification_reason", "VARCHAR"), ("conn_trace_id", "VARCHAR"),
    ("transformed_host", "VARCHAR"), ("transformed_uri", "VARCHAR"),
    ("request_transform_status", "VARCHAR"),
]
ELB = [
    ("time", "TIMESTAMPTZ"), ("elb", "VARCHAR"), ("client", "VARCHAR"), ("backend", "VARCHAR"),
    ("request_processing_time", "DOUBLE"), ("backend_processing_time", "DOUBLE"),
    ("response_processing_time", "DOUBLE"), ("elb_status_code", "INTEGER"),
    ("backend_status_code", "INTEGER"), ("received_bytes", "BIGINT"), ("sent_bytes", "BIGINT"),
    ("request", "VARCHAR"), ("user_agent", "VARCHAR"), ("ssl_cipher", "VARCHAR"),
    ("ssl_protocol", "VARCHAR"),
]
CLOUDFRONT = [
    ("date", "DATE"), ("time_of_day", "TIME"), ("location", "VARCHAR"), ("bytes", "BIGINT"),
    ("request_ip", "VARCHAR"), ("method", "VARCHAR"), ("host", "VARCHAR"), ("uri", "VARCHAR"),
    ("status", "INTEGER"), ("referrer", "VARCHAR"), ("user_agent", "VARCHAR"),
    ("query_string", "VARCHAR"), ("cookie", "VARCHAR"), ("result_type", "VARCHAR"),
    ("request_id", "VARCHAR"), ("host_header", "VARCHAR"), ("request_protocol", "VARCHAR"),
    ("request_bytes", "BIGINT"), ("time_taken", "DOUBLE"), ("xforwarded_for", "VARCHAR"),
    ("ssl_protocol", "VARCHAR"), ("ssl_cipher", "VARCHAR"), ("response_result_type", "VARCHAR"),
    ("http_version", "VARCHAR"), ("fle_status", "VARCHAR"), ("fle_encrypted_fields", "VARCHAR"),
    ("c_port", "INTEGER"), ("time_to_first_byte", "DOUBLE"),
    ("x_edge_detailed_result_type", "VARCHAR"), ("sc_content_type", "VARCHAR"),
    ("sc_content_len", "BIGINT"), ("sc_range_start", "BIGINT"), ("sc_range_end", "BIGINT"),
]
S3_ACCESS = [
    ("bucket_owner", "VARCHAR"), ("bucket", "VARCHAR"), ("time_part", "VARCHAR"),
    ("offset_part", "VARCHAR"), ("remote_ip", "VARCHAR"), ("requester", "VARCHAR"),
    ("request_id", "VARCHAR"), ("operation", "VARCHAR"), ("key", "VARCHAR"),
    ("request_uri", "VARCHAR"), ("http_status", "INTEGER"), ("error_code", "VARCHAR"),
    ("bytes_sent", "BIGINT"), ("object_size", "BIGINT"), ("total_time", "BIGINT"),
    ("turn_around_time", "BIGINT"), ("referrer", "VARCHAR"), ("user_agent", "VARCHAR"),
    ("version_id", "VARCHAR"), ("host_id", "VARCHAR"), ("signature_version", "VARCHAR"),
    ("cipher_suite", "VARCHAR"), ("authentication_type", "VARCHAR"), ("host_header", "VARCHAR"),
    ("tls_version", "VARCHAR"), ("access_point_arn", "VARCHAR"), ("acl_required", "VARCHAR"),
    ("source_region", "VARCHAR"),
]
NLB = [
    ("type", "VARCHAR"), ("version", "VARCHAR"), ("time", "TIMESTAMP"), ("elb", "VARCHAR"),
    ("listener", "VARCHAR"), ("client", "VARCHAR"), ("destination", "VARCHAR"),
    ("connection_time", "BIGINT"), ("tls_handshake_time", "BIGINT"),
    ("received_bytes", "BIGINT"), ("sent_bytes", "BIGINT"), ("incoming_tls_alert", "INTEGER"),
    ("chosen_cert_arn", "VARCHAR"), ("chosen_cert_serial", "VARCHAR"), ("tls_cipher", "VARCHAR"),
    ("tls_protocol_version", "VARCHAR"), ("tls_named_group", "VARCHAR"),
    ("domain_name", "VARCHAR"), ("alpn_fe_protocol", "VARCHAR"), ("alpn_be_protocol", "VARCHAR"),
    ("alpn_client_preference_list", "VARCHAR"), ("tls_connection_creation_time", "TIMESTAMP"),
]
ALB_CONN = [
    ("time", "TIMESTAMPTZ"), ("client_ip", "VARCHAR"), ("client_port", "INTEGER"),
    ("listener_port", "INTEGER"), ("tls_protocol", "VARCHAR"), ("tls_cipher", "VARCHAR"),
    ("tls_handshake_latency", "DOUBLE"), ("leaf_client_cert_subject", "VARCHAR"),
    ("leaf_client_cert_validity", "VARCHAR"), ("leaf_client_cert_serial_number", "VARCHAR"),
    ("tls_verify_status", "VARCHAR"), ("conn_trace_id", "VARCHAR"),
]
# CloudFront v2: (wire name in JSON and W3C, column, type); Parquet columns carry the column
# name (`cs_referer` with one r there).
CLOUDFRONT_V2 = [
    ("date", "date", "VARCHAR"), ("time", "time", "VARCHAR"),
    ("x-edge-location", "x_edge_location", "VARCHAR"), ("sc-bytes", "sc_bytes", "BIGINT"),
    ("c-ip", "c_ip", "VARCHAR"), ("cs-method", "cs_method", "VARCHAR"),
    ("cs(Host)", "cs_host", "VARCHAR"), ("cs-uri-stem", "cs_uri_stem", "VARCHAR"),
    ("sc-status", "sc_status", "INTEGER"), ("cs(Referer)", "cs_referrer", "VARCHAR"),
    ("cs(User-Agent)", "cs_user_agent", "VARCHAR"), ("cs-uri-query", "cs_uri_query", "VARCHAR"),
    ("cs(Cookie)", "cs_cookie", "VARCHAR"), ("x-edge-result-type", "x_edge_result_type", "VARCHAR"),
    ("x-edge-request-id", "x_edge_request_id", "VARCHAR"),
    ("x-host-header", "x_host_header", "VARCHAR"), ("cs-protocol", "cs_protocol", "VARCHAR"),
    ("cs-bytes", "cs_bytes", "BIGINT"), ("time-taken", "time_taken", "DOUBLE"),
    ("x-forwarded-for", "x_forwarded_for", "VARCHAR"), ("ssl-protocol", "ssl_protocol", "VARCHAR"),
    ("ssl-cipher", "ssl_cipher", "VARCHAR"),
    ("x-edge-response-result-type", "x_edge_response_result_type", "VARCHAR"),
    ("cs-protocol-version", "cs_protocol_version", "VARCHAR"), ("fle-status", "fle_status", "VARCHAR"),
    ("fle-encrypted-fields", "fle_encrypted_fields", "INTEGER"), ("c-port", "c_port", "INTEGER"),
    ("time-to-first-byte", "time_to_first_byte", "DOUBLE"),
    ("x-edge-detailed-result-type", "x_edge_detailed_result_type", "VARCHAR"),
    ("sc-content-type", "sc_content_type", "VARCHAR"), ("sc-content-len", "sc_content_len", "BIGINT"),
    ("sc-range-start", "sc_range_start", "BIGINT"), ("sc-range-end", "sc_range_end", "BIGINT"),
    ("timestamp(ms)", "timestamp_ms", "BIGINT"), ("c-country", "c_country", "VARCHAR"),
    ("asn", "asn", "BIGINT"), ("origin-fbl", "origin_fbl", "DOUBLE"),
    ("origin-lbl", "origin_lbl", "DOUBLE"),
    ("cache-behavior-path-pattern", "cache_behavior_path_pattern", "VARCHAR"),
]
VPC_TYPES = {
    "version": "INTEGER", "srcport": "INTEGER", "dstport": "INTEGER", "protocol": "INTEGER",
    "packets": "BIGINT", "bytes": "BIGINT", "start": "BIGINT", "end": "BIGINT",
    "tcp-flags": "INTEGER",
}


def columns(spec):
    return "{" + ", ".join(f"'{name}': '{kind}'" for name, kind in spec) + "}"


def text_source(files, spec, delimiter, extra="", quote='"'):
    return (
        f"read_csv({files}, delim='{delimiter}', quote='{quote}', escape='\\', header=false, "
        f"nullstr='-', columns={columns(spec)}, auto_detect=false{extra})"
    )


def query(service, files):
    """The SELECT producing typed rows plus the `event_time` they are partitioned by."""
    if service == "alb":
        return f"SELECT *, time AS event_time FROM {text_source(files, ALB, ' ')}"
    if service == "elb":
        return f"SELECT *, time AS event_time FROM {text_source(files, ELB, ' ')}"
    if service == "alb_conn":
        source = text_source(files, ALB_CONN, ' ', ", null_padding=true, strict_mode=false")
        return f"SELECT *, time AS event_time FROM {source}"
    if service == "nlb":
        # Nothing is quoted on the wire: field 21 holds `"h2","http/1.1"` as one token.
        source = text_source(files, NLB, ' ', quote="").replace("escape='\\'", "escape=''")
        return f"SELECT *, time::TIMESTAMPTZ AS event_time FROM {source}"
    if service == "cloudfront":
        source = text_source(files, CLOUDFRONT, '\\t', ", comment='#'", quote="")
        return f"SELECT *, (date + time_of_day)::TIMESTAMPTZ AS event_time FROM {source}"
    if service == "s3_access":
        source = text_source(files, S3_ACCESS, ' ', ", null_padding=true, strict_mode=false")
        return (
            "SELECT * EXCLUDE (time_part, offset_part), "
            "strptime(time_part || ' ' || offset_part, '[%d/%b/%Y:%H:%M:%S %z]') AS event_time "
            f"FROM {source}"
        )
    if service == "vpc_flow":
        types = "{" + ", ".join(f"'{k}': '{v}'" for k, v in VPC_TYPES.items()) + "}"
        source = (
            f"read_csv({files}, delim=' ', header=true, union_by_name=true, nullstr='-', "
            f"types={types})"
        )
        return f"SELECT *, to_timestamp(start) AS event_time FROM {source}"
    if service == "cloudtrail":
        fields = ", ".join(
            f"json_extract_string(r, '$.{name}') AS {name.lower()}"
            for name in [
                "eventVersion", "eventSource", "eventName", "awsRegion", "sourceIPAddress",
                "userAgent", "errorCode", "errorMessage", "requestID", "eventID", "eventType",
                "apiVersion", "readOnly", "recipientAccountId", "sharedEventID", "vpcEndpointId",
                "eventCategory", "managementEvent",
            ]
        )
        nested = ", ".join(
            f"json_extract(r, '$.{name}') AS json_{name.lower()}"
            for name in [
                "userIdentity", "requestParameters", "responseElements", "additionalEventData",
                "resources", "serviceEventDetails", "tlsDetails",
            ]
        )
        return (
            f"SELECT (json_extract_string(r, '$.eventTime'))::TIMESTAMPTZ AS event_time, {fields}, "
            f"{nested} FROM (SELECT unnest(Records) AS r FROM read_json({files}, "
            "columns={'Records': 'JSON[]'}, maximum_object_size=1073741824))"
        )
    if service == "waf":
        columns = {
            "timestamp": "BIGINT", "formatVersion": "INTEGER", "webaclId": "VARCHAR",
            "terminatingRuleId": "VARCHAR", "terminatingRuleType": "VARCHAR", "action": "VARCHAR",
            "terminatingRuleMatchDetails": "JSON", "httpSourceName": "VARCHAR",
            "httpSourceId": "VARCHAR", "ruleGroupList": "JSON", "rateBasedRuleList": "JSON",
            "nonTerminatingMatchingRules": "JSON", "requestHeadersInserted": "JSON",
            "responseCodeSent": "INTEGER", "httpRequest": "JSON", "labels": "JSON",
        }
        spec = "{" + ", ".join(f"'{k}': '{v}'" for k, v in columns.items()) + "}"
        request = ", ".join(
            f"json_extract_string(httpRequest, '$.{name}') AS {column}"
            for name, column in [
                ("clientIp", "client_ip"), ("country", "country"), ("uri", "uri"), ("args", "args"),
                ("httpVersion", "http_version"), ("httpMethod", "http_method"),
                ("requestId", "request_id"), ("host", "host"),
            ]
        )
        return (
            "SELECT make_timestamp(timestamp * 1000) AS event_time, formatVersion AS format_version, "
            "webaclId AS webacl_id, terminatingRuleId AS terminating_rule_id, "
            "terminatingRuleType AS terminating_rule_type, action, "
            "terminatingRuleMatchDetails AS json_terminating_rule_match_details, "
            "nullif(httpSourceName, '-') AS http_source_name, "
            "nullif(httpSourceId, '-') AS http_source_id, ruleGroupList AS json_rule_group_list, "
            "rateBasedRuleList AS json_rate_based_rule_list, "
            "nonTerminatingMatchingRules AS json_non_terminating_matching_rules, "
            "requestHeadersInserted AS json_request_headers_inserted, "
            "responseCodeSent AS response_code_sent, "
            f"{request}, json_extract(httpRequest, '$.headers') AS json_headers, "
            "json_extract_string(labels, '$[*].name') AS labels "
            f"FROM read_json({files}, format='newline_delimited', columns={spec}, "
            "maximum_object_size=16777216)"
        )
    if service == "route53_resolver":
        columns = {
            "version": "VARCHAR", "account_id": "VARCHAR", "region": "VARCHAR",
            "vpc_id": "VARCHAR", "query_timestamp": "TIMESTAMPTZ", "query_name": "VARCHAR",
            "query_type": "VARCHAR", "query_class": "VARCHAR", "rcode": "VARCHAR",
            "answers": 'STRUCT("Rdata" VARCHAR, "Type" VARCHAR, "Class" VARCHAR)[]',
            "srcaddr": "VARCHAR", "srcport": "VARCHAR", "transport": "VARCHAR",
            "srcids": "STRUCT(instance VARCHAR, resolver_endpoint VARCHAR, "
            "resolver_network_interface VARCHAR)",
            "firewall_rule_group_id": "VARCHAR", "firewall_rule_action": "VARCHAR",
            "firewall_domain_list_id": "VARCHAR",
        }
        spec = "{" + ", ".join(f"'{k}': '{v}'" for k, v in columns.items()) + "}"
        return (
            "SELECT query_timestamp AS event_time, version, account_id, region, vpc_id, "
            "query_timestamp, query_name, query_type, query_class, rcode, "
            "[{'rdata': a.Rdata, 'type': a.Type, 'class': a.Class} FOR a IN answers] AS answers, "
            "srcaddr, srcport::INTEGER AS srcport, transport, "
            "srcids.instance AS srcids_instance, srcids.resolver_endpoint AS srcids_resolver_endpoint, "
            "srcids.resolver_network_interface AS srcids_resolver_network_interface, "
            "firewall_rule_group_id, firewall_rule_action, firewall_domain_list_id "
            f"FROM read_json({files}, format='newline_delimited', columns={spec})"
        )
    if service == "cloudfront_v2":
        return cloudfront_v2(files)
    sys.exit(f"unknown service {service}")


def cloudfront_v2(files):
    """JSON, W3C and Parquet objects, each read by its reader, typed alike, unioned by name."""
    paths = json.loads(files.replace("'", '"'))
    by_output = {"json": [], "w3c": [], "parquet": []}
    w3c_fields = None
    for path in paths:
        if path.endswith(".parquet"):
            by_output["parquet"].append(path)
            continue
        with gzip.open(path, "rt") as f:
            first = f.readline()
        if first.startswith("{"):
            by_output["json"].append(path)
        else:
            by_output["w3c"].append(path)
            w3c_fields = first.removeprefix("#Fields:").split()

    def typed(source, present):
        exprs = []
        for wire, column, kind in CLOUDFRONT_V2:
            name = present.get(wire)
            if name is None:
                continue
            value = f"nullif({name}, '-')"
            exprs.append(f"{value} AS {column}" if kind == "VARCHAR" else f"TRY_CAST({value} AS {kind}) AS {column}")
        return f"SELECT {', '.join(exprs)} FROM {source}"

    def listed(group):
        return "[" + ", ".join(f"'{p}'" for p in group) + "]"

    selects = []
    if by_output["json"]:
        spec = "{" + ", ".join(f"'{wire}': 'VARCHAR'" for wire, _, _ in CLOUDFRONT_V2) + "}"
        source = f"read_json({listed(by_output['json'])}, format='newline_delimited', columns={spec})"
        selects.append(typed(source, {wire: f'"{wire}"' for wire, _, _ in CLOUDFRONT_V2}))
    if by_output["w3c"]:
        spec = "{" + ", ".join(f"'{wire}': 'VARCHAR'" for wire in w3c_fields) + "}"
        source = (
            f"read_csv({listed(by_output['w3c'])}, delim='\\t', quote='', escape='', "
            f"header=false, skip=1, columns={spec}, auto_detect=false)"
        )
        selects.append(typed(source, {wire: f'"{wire}"' for wire in w3c_fields}))
    if by_output["parquet"]:
        source = f"read_parquet({listed(by_output['parquet'])})"
        present = {wire: ("cs_referer" if column == "cs_referrer" else column) for wire, column, _ in CLOUDFRONT_V2}
        selects.append(typed(source, present))
    union = " UNION ALL BY NAME ".join(f"({select})" for select in selects)
    return (
        "SELECT coalesce(make_timestamp(timestamp_ms * 1000), "
        "(TRY_CAST(date AS DATE) + TRY_CAST(time AS TIME))::TIMESTAMPTZ) AS event_time, "
        f"* EXCLUDE (date, time, timestamp_ms) FROM ({union})"
    )


def main():
    service, list_file, output = sys.argv[1:4]
    paths = [p for p in open(list_file).read().split("\0") if p]
    files = "[" + ", ".join("'" + p.replace("'", "''") + "'" for p in paths) + "]"
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    rows = connection.execute(
        f"COPY (SELECT *, year(event_time) AS year, month(event_time) AS month, "
        f"day(event_time) AS day FROM ({query(service, files)})) TO '{output}' "
        "(FORMAT parquet, COMPRESSION zstd, PARTITION_BY (year, month, day), OVERWRITE_OR_IGNORE)"
    ).fetchone()[0]
    print(json.dumps({"rows": rows}))


if __name__ == "__main__":
    main()
