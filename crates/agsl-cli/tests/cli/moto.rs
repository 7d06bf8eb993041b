//! The moto server (PyPI `moto[server]`, installed by `scripts/test` into a venv) on a free
//! port of 127.0.0.1, speaking the real S3 wire protocol; stopped when dropped. One per test.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub struct Moto {
    child: Child,
    port: u16,
}

impl Moto {
    /// Starts moto and points this process's AWS settings (inherited by the binaries the test
    /// runs) at it, with dummy credentials.
    pub fn start() -> Self {
        let server = std::env::var("AGSL_MOTO_SERVER").expect(
            "AGSL_MOTO_SERVER must name the moto_server program; ./scripts/test installs moto and sets it",
        );
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(&server)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start `{server}`: {e}"));
        let endpoint = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "moto did not start on {endpoint}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        // SAFETY: nextest runs each test in its own process, and these are set before the test
        // starts any thread that reads the environment.
        unsafe {
            std::env::set_var("AWS_ACCESS_KEY_ID", "testing");
            std::env::set_var("AWS_SECRET_ACCESS_KEY", "testing");
            std::env::set_var("AWS_REGION", "us-east-1");
            std::env::set_var("AWS_ENDPOINT_URL", &endpoint);
            std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
            std::env::remove_var("AWS_PROFILE");
        }
        Self { child, port }
    }

    /// Creates a bucket (moto does not check signatures, so a bare HTTP PUT does).
    pub fn create_bucket(&self, name: &str) {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        write!(
            stream,
            "PUT /{name} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.port
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    }

    /// The server-side encryption S3 reports for each object of `bucket`: key name to
    /// (`ServerSideEncryption`, `SSEKMSKeyId`), read by boto3 (installed with moto) with signed
    /// `HEAD` requests, as moto (like S3) refuses unsigned ones for SSE-KMS objects.
    pub fn encryption(&self, bucket: &str) -> BTreeMap<String, (Option<String>, Option<String>)> {
        const SCRIPT: &str = r#"
import json, sys, boto3
s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1")
found = {}
for page in s3.get_paginator("list_objects_v2").paginate(Bucket=sys.argv[2]):
    for item in page.get("Contents", []):
        head = s3.head_object(Bucket=sys.argv[2], Key=item["Key"])
        found[item["Key"]] = [head.get("ServerSideEncryption"), head.get("SSEKMSKeyId")]
print(json.dumps(found))
"#;
        let output = self.boto3(SCRIPT, &[bucket]);
        serde_json::from_slice(&output).expect("the script prints JSON")
    }

    /// Runs a Python `script` with boto3 (installed with moto); `sys.argv[1]` is the endpoint,
    /// `args` follow. Returns its stdout; a failing script fails the test.
    pub fn boto3(&self, script: &str, args: &[&str]) -> Vec<u8> {
        let server = std::env::var("AGSL_MOTO_SERVER").unwrap();
        let python = std::path::Path::new(&server).with_file_name("python");
        let endpoint = format!("http://127.0.0.1:{}", self.port);
        let output = Command::new(&python)
            .args(["-c", script, &endpoint])
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        output.stdout
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A TCP proxy in front of moto that answers its first `failures` connections with
/// `503 Slow Down`, as S3 does under load, and passes the rest through.
pub struct FlakyProxy {
    pub endpoint: String,
    injected: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl FlakyProxy {
    pub fn start(moto: &Moto, failures: u64) -> Self {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicU64, Ordering};
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let injected = Arc::new(AtomicU64::new(0));
        let counter = injected.clone();
        let upstream = moto.port;
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                if counter.load(Ordering::Relaxed) < failures {
                    counter.fetch_add(1, Ordering::Relaxed);
                    refuse(client);
                    continue;
                }
                let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else {
                    continue;
                };
                let (mut client_in, mut server_out) =
                    (client.try_clone().unwrap(), server.try_clone().unwrap());
                std::thread::spawn(move || std::io::copy(&mut client_in, &mut server_out));
                let (mut server_in, mut client_out) = (server, client);
                std::thread::spawn(move || std::io::copy(&mut server_in, &mut client_out));
            }
        });
        Self { endpoint, injected }
    }

    pub fn injected(&self) -> u64 {
        self.injected.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// Reads the request head and answers 503 with S3's throttling error.
fn refuse(client: TcpStream) {
    answer(
        client,
        "503 Slow Down",
        "SlowDown",
        "Please reduce your request rate.",
    );
}

/// Reads the request head and answers with `status` and an S3 error document; returns the head.
fn answer(mut client: TcpStream, status: &str, code: &str, message: &str) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && client.read(&mut byte).unwrap_or(0) == 1 {
        head.push(byte[0]);
    }
    let body = format!("<Error><Code>{code}</Code><Message>{message}</Message></Error>");
    let _ = write!(
        client,
        "HTTP/1.1 {status}\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    String::from_utf8_lossy(&head).into_owned()
}

/// An S3 endpoint on 127.0.0.1 that answers every request with one S3 error (access denied,
/// an expired token), as S3 does when the credentials or the policy do not allow a request.
pub struct RefusingS3 {
    pub endpoint: String,
    /// The heads of the requests answered so far.
    heads: Arc<Mutex<Vec<String>>>,
}

impl RefusingS3 {
    pub fn start(status: &'static str, code: &'static str, message: &'static str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let heads = Arc::new(Mutex::new(Vec::new()));
        let answered = heads.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let head = answer(client, status, code, message);
                answered.lock().unwrap().push(head);
            }
        });
        Self { endpoint, heads }
    }

    /// The access key ids that signed the requests answered so far (SigV4's `Credential=`),
    /// in order; taken, so the next call sees only later requests.
    pub fn signing_keys(&self) -> Vec<String> {
        let heads = std::mem::take(&mut *self.heads.lock().unwrap());
        heads
            .iter()
            .filter_map(|head| {
                let credential = head.split("Credential=").nth(1)?;
                Some(credential.split('/').next()?.to_owned())
            })
            .collect()
    }
}
