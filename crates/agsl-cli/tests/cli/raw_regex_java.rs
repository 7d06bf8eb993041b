//! The raw tables' Regex SerDe patterns in Java itself: Athena matches them with
//! `java.util.regex` on threads with a 1 MB stack. The pattern is taken from `agsl ddl` exactly
//! as Athena receives it (after Hive's string unescaping) and run by a small Java program
//! (`java/RawRegexCheck.java`, with the machine's JDK) over every corpus and generated line,
//! and over lines whose user agent and URL (NLB: server name; ALB connection logs: certificate
//! subject) are 8 KB long: no line may overflow the stack, every
//! line agsl accepts must match, and Java must capture what the `regex` crate captures (which
//! `agsl::it::raw_tables` checks against agsl's own parser).

use std::path::{Path, PathBuf};
use std::process::Command;

use agsl_formats::sample::{SamplePlan, objects};
use agsl_formats::{Decoded, Format};

use crate::ddl::parse_create;
use crate::{agsl, stderr};

/// The raw table's `input.regex` as `agsl ddl` prints it, unescaped as Hive reads it.
fn ddl_regex(format: Format, dir: &Path) -> String {
    let output = agsl(&[
        "ddl",
        "--service",
        &format.to_string(),
        "--source",
        dir.to_str().unwrap(),
        "--target",
        dir.join("no-table-yet").to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let sql = String::from_utf8(output.stdout).unwrap();
    let raw = sql
        .split("CREATE EXTERNAL TABLE IF NOT EXISTS ")
        .nth(1)
        .expect("the raw table comes first");
    let (_, _, _, properties, _) = parse_create(&format!("x {raw}"));
    properties
        .into_iter()
        .find(|(key, _)| key == "input.regex")
        .expect("a Regex SerDe table")
        .1
}

fn corpus_lines(folder: &str) -> Vec<String> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpus")
        .join(folder);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("corpus folder {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    files.sort();
    files
        .iter()
        .flat_map(|f| {
            String::from_utf8_lossy(&std::fs::read(f).unwrap())
                .lines()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect()
}

fn generated_lines(format: Format) -> Vec<String> {
    let plan = SamplePlan {
        objects: 4,
        lines_per_object: 500,
        ..SamplePlan::default()
    };
    objects(format, plan)
        .flat_map(|o| {
            String::from_utf8(o.body)
                .unwrap()
                .lines()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// About `bytes` of browser-like text; `escapes` adds `\"` (load balancers escape quotes).
fn long_text(bytes: usize, escapes: bool) -> String {
    let word = if escapes {
        r#"Mozilla/5.0 (X11; Linux x86_64) \"AppleWebKit\" 537.36 "#
    } else {
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    };
    word.repeat(bytes / word.len() + 1)
}

/// Lines with an 8 KB user agent and an 8 KB URL, and the user agent as written on the wire;
/// for the TLS logs, which carry neither, an 8 KB server name (NLB) or client certificate
/// subject (ALB connection logs).
fn long_lines(format: Format) -> Vec<(String, String)> {
    match format {
        Format::Nlb => {
            let name = format!("{}example.com", "a1b2c3d4-segment.".repeat(8 * 1024 / 17));
            let line = format!(
                r#"tls 2.0 2020-04-01T08:51:42 net/my-network-loadbalancer/c6e77e28c25b2234 g3d4b5e8bb8464cd 72.21.218.154:51341 172.100.100.185:443 5 2 98 246 - arn:aws:acm:us-east-2:671290407336:certificate/2a108f19 - ECDHE-RSA-AES128-SHA tlsv12 - {name} h2 h2 "h2","http/1.1" 2020-04-01T08:51:20"#
            );
            return vec![(line, name)];
        }
        Format::AlbConn => {
            let subject = long_text(8 * 1024, false).replace(' ', ",O=");
            let line = format!(
                r#"2024-10-04T17:05:15.514108Z 192.168.131.39 36280 443 TLSv1.2 ECDHE-RSA-AES128-GCM-SHA256 4.036 "CN={subject}" NotBefore=2023-09-21T22:43:21Z;NotAfter=2026-06-17T22:43:21Z FEF257372D5C14D4 Success TID_1c71a68d70587445"#
            );
            return vec![(line, format!("CN={subject}"))];
        }
        _ => {}
    }
    let escapes = format != Format::S3Access;
    let ua = long_text(8 * 1024, escapes);
    let url = format!("/search?q={}", long_text(8 * 1024, false).replace(' ', "+"));
    let line = match format {
        Format::Alb => format!(
            r#"https 2018-07-02T22:23:00.186641Z app/my-loadbalancer/50dc6c495c0c9188 192.168.131.39:2817 10.0.0.1:80 0.086 0.048 0.037 200 200 0 57 "GET https://www.example.com:443{url} HTTP/1.1" "{ua}" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067 "Root=1-58337281-1d84f3d73c47ec4e58577259" "www.example.com" "-" 1 2018-07-02T22:22:48.364000Z "forward" "-" "-" "10.0.0.1:80" "200" "-" "-" TID_1 "-" "-" "-""#
        ),
        Format::Elb => format!(
            r#"2015-05-13T23:39:43.945958Z my-loadbalancer 192.168.131.39:2817 10.0.0.1:80 0.000086 0.001048 0.001337 200 200 0 57 "GET https://www.example.com:443{url} HTTP/1.1" "{ua}" DHE-RSA-AES128-SHA TLSv1.2"#
        ),
        _ => format!(
            r#"79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be amzn-s3-demo-bucket1 [06/Feb/2019:00:00:38 +0000] 192.0.2.3 - 3E57427F3EXAMPLE REST.GET.OBJECT a.txt "GET {url} HTTP/1.1" 200 - 113 - 7 - "-" "{ua}" - s9lzHYrFp76ZVxRcpX9+5cjAnEH2ROuNkd2BHfIa6UkFVdtjf5mKR3/eTPFvsiP/XV/VLi31234= SigV4 ECDHE-RSA-AES128-GCM-SHA256 AuthHeader amzn-s3-demo-bucket1.s3.us-west-1.amazonaws.com TLSv1.2 - - us-east-1"#
        ),
    };
    let mut lines = vec![(line.clone(), ua.clone())];
    if escapes {
        // A user agent of nothing but escaped quotes: thousands of loop iterations.
        let quotes = r#"\""#.repeat(4000);
        lines.push((line.replace(&ua, &quotes), quotes));
    }
    lines
}

/// Runs the Java checker; one result per line: `Some(groups)` on a match, `None` on none.
fn java_matches(pattern: &str, lines: &[String], dir: &Path) -> Vec<Option<Vec<Option<String>>>> {
    let pattern_file = dir.join("pattern.txt");
    let lines_file = dir.join("lines.txt");
    std::fs::write(&pattern_file, pattern).unwrap();
    std::fs::write(&lines_file, lines.join("\n") + "\n").unwrap();
    let program =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/cli/java/RawRegexCheck.java");
    let output = Command::new("java")
        .arg(&program)
        .arg(&pattern_file)
        .arg(&lines_file)
        .output()
        .expect("`java` runs (scripts/test installs a JDK when it is missing)");
    assert!(output.status.success(), "{}", stderr(&output));
    let text = String::from_utf8(output.stdout).unwrap();
    let results: Vec<Option<Vec<Option<String>>>> = text
        .lines()
        .zip(lines)
        .map(|(result, line)| match result.split('\t').next() {
            Some("M") => Some(result.split('\t').skip(1).map(unescape).collect()),
            Some("N") => None,
            _ => panic!("java.util.regex overflowed its 1 MB stack ({result}) on: {line}"),
        })
        .collect();
    assert_eq!(results.len(), lines.len());
    results
}

fn unescape(value: &str) -> Option<String> {
    if value == "\\N" {
        return None;
    }
    let mut out = String::new();
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        match (c, c == '\\') {
            (_, true) => match chars.next() {
                Some('t') => out.push('\t'),
                Some('n') => out.push('\n'),
                Some(other) => out.push(other),
                None => {}
            },
            (c, false) => out.push(c),
        }
    }
    Some(out)
}

fn check(format: Format, folder: &str) {
    let dir = tempfile::tempdir().unwrap();
    let pattern = ddl_regex(format, dir.path());
    let long = long_lines(format);
    let mut lines = corpus_lines(folder);
    lines.extend(generated_lines(format));
    lines.extend(long.iter().map(|(line, _)| line.clone()));
    let java = java_matches(&pattern, &lines, dir.path());
    let rust = regex::Regex::new(&format!(
        "^(?:{})$",
        agsl_formats::raw::greedy_twin(&pattern)
    ))
    .unwrap();
    let parser = format.parser();
    let mut accepted = 0;
    for (line, java) in lines.iter().zip(&java) {
        let decoded = Decoded::from_bytes(parser, line.as_bytes(), 4).unwrap();
        if decoded.counts.rows != 1 {
            continue;
        }
        accepted += 1;
        let java = java
            .as_ref()
            .unwrap_or_else(|| panic!("{format}: Java does not match a line agsl accepts: {line}"));
        let captures = rust.captures(line).expect("the regex crate matches it");
        let rust: Vec<Option<String>> = captures
            .iter()
            .skip(1)
            .map(|m| m.map(|m| m.as_str().to_owned()))
            .collect();
        assert_eq!(
            java, &rust,
            "{format}: Java and Rust capture differently: {line}"
        );
    }
    assert!(accepted >= 2000, "{format}: {accepted}");
    // The 8 KB user agent comes back whole, as written on the wire.
    for ((line, ua), java) in long.iter().zip(&java[lines.len() - long.len()..]) {
        let groups = java.as_ref().unwrap_or_else(|| panic!("no match: {line}"));
        assert!(
            groups.iter().any(|g| g.as_deref() == Some(ua.as_str())),
            "{format}"
        );
    }
}

#[test]
fn alb_raw_regex_holds_in_java_on_8_kb_fields() {
    check(Format::Alb, "alb");
}

#[test]
fn elb_raw_regex_holds_in_java_on_8_kb_fields() {
    check(Format::Elb, "elb");
}

#[test]
fn s3_access_raw_regex_holds_in_java_on_8_kb_fields() {
    check(Format::S3Access, "s3access");
}

#[test]
fn nlb_raw_regex_holds_in_java_on_8_kb_fields() {
    check(Format::Nlb, "nlb");
}

#[test]
fn alb_conn_raw_regex_holds_in_java_on_8_kb_fields() {
    check(Format::AlbConn, "albconn");
}
