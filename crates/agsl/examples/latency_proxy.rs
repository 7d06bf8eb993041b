//! A TCP proxy that delays every request by a fixed time, as S3's first-byte latency would, for
//! `scripts/bench --s3` (which starts it in front of its S3 server on 127.0.0.1).
//!
//! The first chunk of each request a client sends (its request line and headers arrive as
//! one) waits the delay before it is forwarded; the rest of the request (a PUT's body) and the
//! responses flow undelayed. A chunk starts a new request when the server has answered since
//! the client's last chunk (HTTP/1.1 without pipelining, which is what the S3 clients send).
//! Every connection has its own threads, so concurrent requests overlap their delays, as
//! against S3.
//!
//! Why not `scripts/latency_proxy.py`, which does the same: the proxy runs on the two cores
//! agsl is measured on, and real S3 spends none of them. Relaying the 47 MB ALB set, the Python
//! proxy spent 0.06 s of CPU per run and this one 0.03 s (BENCHMARKS.md, 2026-12-05).
//!
//! The first 64 KiB of each response are acknowledged at once (`TCP_QUICKACK`, armed again
//! after every read): s3s-fs writes a response's headers and its body in pieces (4 KiB reads
//! of the file) on sockets without `TCP_NODELAY`, so its kernel holds each small piece back
//! until the one before is acknowledged, which Linux delays by up to 40 ms. That added 25 ms or
//! more to every small GET, on top of the delay this proxy is asked for (BENCHMARKS.md,
//! 2026-12-06). Past the first 64 KiB the ACKs stay delayed: a large body then travels in
//! full segments, while acknowledging all of it at once made s3s-fs send 4 KiB segments, which
//! cost the server, the proxy and agsl CPU on the cores agsl is measured on.
//!
//! With `MB_PER_S`, each response is also relayed at most that fast, as one S3 connection
//! carries some 50 to 100 MB/s: the loopback does not, and the server and proxy here share two
//! cores, so without it any number of transfers in flight is as fast as one.
//!
//! Usage: `cargo run --release -p agsl --example latency_proxy -- LISTEN UPSTREAM [DELAY_MS
//! [MB_PER_S]]` (ports on 127.0.0.1; the delay defaults to 30 ms, the rate to unlimited).

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// Bytes relayed per read: HTTP bodies come in reads of up to this size.
const RELAY_BUFFER: usize = 256 * 1024;
/// The first bytes of each response are acknowledged at once: headers and small bodies.
const PROMPT_ACK_BYTES: usize = 64 * 1024;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let port = |i: usize| args.get(i).and_then(|a| a.parse::<u16>().ok());
    let (Some(listen), Some(upstream)) = (port(0), port(1)) else {
        eprintln!("usage: latency_proxy LISTEN UPSTREAM [DELAY_MS [MB_PER_S]]");
        return ExitCode::from(2);
    };
    let delay_ms = match args.get(2).map(|a| a.parse::<u64>()) {
        None => 30,
        Some(Ok(ms)) => ms,
        Some(Err(_)) => {
            eprintln!("error: DELAY_MS must be a whole number of milliseconds");
            return ExitCode::from(2);
        }
    };
    let listener = match TcpListener::bind(("127.0.0.1", listen)) {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("error: cannot listen on 127.0.0.1:{listen}: {error}");
            return ExitCode::FAILURE;
        }
    };
    let bytes_per_second = match args.get(3).map(|a| a.parse::<f64>()) {
        None => None,
        Some(Ok(rate)) if rate > 0.0 => Some(rate * 1e6),
        Some(_) => {
            eprintln!("error: MB_PER_S must be a positive number");
            return ExitCode::from(2);
        }
    };
    let delay = Duration::from_millis(delay_ms);
    for client in listener.incoming().flatten() {
        thread::spawn(move || relay(client, upstream, delay, bytes_per_second));
    }
    ExitCode::SUCCESS
}

/// Relays one client connection to the upstream server until either side closes it.
fn relay(client: TcpStream, upstream: u16, delay: Duration, bytes_per_second: Option<f64>) {
    let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else {
        return;
    };
    for stream in [&client, &server] {
        // Requests and responses are small writes that must not wait for an ACK.
        let _ = stream.set_nodelay(true);
    }
    let (Ok(client_reader), Ok(server_reader)) = (client.try_clone(), server.try_clone()) else {
        return;
    };
    // Set by every response chunk, taken by the next request chunk, which then waits.
    let answered = Arc::new(AtomicBool::new(true));
    let answering = answered.clone();
    // Set by every new request, taken by its response's first chunk.
    let requested = Arc::new(AtomicBool::new(false));
    let responding = requested.clone();
    let responses = thread::spawn(move || {
        let mut response_bytes = 0;
        let mut response_started = Instant::now();
        pipe(
            server_reader,
            client,
            |server, read| {
                if responding.swap(false, Ordering::AcqRel) {
                    response_bytes = 0;
                    response_started = Instant::now();
                }
                response_bytes += read;
                if response_bytes < PROMPT_ACK_BYTES {
                    acknowledge_at_once(server);
                }
                if let Some(rate) = bytes_per_second {
                    let due =
                        response_started + Duration::from_secs_f64(response_bytes as f64 / rate);
                    thread::sleep(due.saturating_duration_since(Instant::now()));
                }
            },
            || answering.store(true, Ordering::Release),
        )
    });
    pipe(
        client_reader,
        server,
        |_, _| {},
        || {
            if answered.swap(false, Ordering::AcqRel) {
                requested.store(true, Ordering::Release);
                thread::sleep(delay);
            }
        },
    );
    let _ = responses.join();
}

/// Copies `from` to `to`, calling `after_reading` with the length of each read and
/// `before_forwarding` before each chunk, then closes `to` for writing.
fn pipe(
    mut from: TcpStream,
    mut to: TcpStream,
    mut after_reading: impl FnMut(&TcpStream, usize),
    mut before_forwarding: impl FnMut(),
) {
    let mut buffer = vec![0; RELAY_BUFFER];
    loop {
        match from.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                after_reading(&from, n);
                before_forwarding();
                if to.write_all(&buffer[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}

/// Acknowledges what `stream` received at once, and the next few segments too, instead of
/// delaying the ACK; Linux returns to delayed ACKs by itself, hence after every read that
/// wants it.
#[cfg(target_os = "linux")]
fn acknowledge_at_once(stream: &TcpStream) {
    use std::os::fd::AsRawFd;
    let on: libc::c_int = 1;
    // SAFETY: a valid socket descriptor and a c_int option of the size given.
    unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_QUICKACK,
            (&raw const on).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
    }
}

/// Other systems have no `TCP_QUICKACK`; the benchmark runs on Linux.
#[cfg(not(target_os = "linux"))]
fn acknowledge_at_once(_stream: &TcpStream) {}
