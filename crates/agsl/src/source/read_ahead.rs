//! Decompresses on a helper thread while the worker parses and encodes, so even a single large
//! object keeps both cores busy. Chunks travel through a small bounded channel (bounded memory)
//! and their buffers are sent back for reuse.

use std::io::{self, BufRead, Read};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use super::spare_buffers;

/// Bytes per chunk handed from the decompressing thread to the reader.
pub const CHUNK_BYTES: usize = 256 * 1024;
/// Chunks in flight: bounds the memory to `(CHUNKS_IN_FLIGHT + 2) * CHUNK_BYTES` per object
/// read in [`Filled`] chunks.
const CHUNKS_IN_FLIGHT: usize = 4;

/// A `BufRead` over bytes produced by another thread reading `inner`.
pub struct ReadAhead {
    chunks: Receiver<io::Result<Vec<u8>>>,
    recycle: SyncSender<Vec<u8>>,
    current: Vec<u8>,
    position: usize,
    done: bool,
    /// Returns the CPU time it used, charged to the reader's thread when it is dropped.
    thread: Option<JoinHandle<std::time::Duration>>,
}

/// What a read-ahead thread reads from: chunk by chunk, into buffers handed back for reuse.
pub trait Chunks: Send + 'static {
    /// Replaces `buffer`'s content with the next bytes: empty at the end. Bytes read before an
    /// error stay in `buffer`, and the error is returned after them.
    fn next_chunk(&mut self, buffer: &mut Vec<u8>) -> Option<io::Error>;
}

/// Any reader, read in chunks of [`CHUNK_BYTES`].
pub struct Filled<R>(pub R);

impl<R: Read + Send + 'static> Chunks for Filled<R> {
    fn next_chunk(&mut self, buffer: &mut Vec<u8>) -> Option<io::Error> {
        buffer.resize(CHUNK_BYTES, 0);
        let (filled, error) = fill(&mut self.0, buffer);
        buffer.truncate(filled);
        error
    }
}

impl ReadAhead {
    pub fn new<R: Read + Send + 'static>(inner: R) -> io::Result<Self> {
        Self::from_chunks(Filled(inner))
    }

    pub fn from_chunks(mut inner: impl Chunks) -> io::Result<Self> {
        let (send_chunk, chunks) = sync_channel::<io::Result<Vec<u8>>>(CHUNKS_IN_FLIGHT);
        let (recycle, recycled) = sync_channel::<Vec<u8>>(CHUNKS_IN_FLIGHT + 2);
        let thread = std::thread::Builder::new()
            .name("agsl-read-ahead".into())
            .spawn(move || {
                produce(&mut inner, &send_chunk, &recycled);
                crate::cpu::thread_cpu()
            })?;
        Ok(Self {
            chunks,
            recycle,
            current: Vec::new(),
            position: 0,
            done: false,
            thread: Some(thread),
        })
    }
}

/// The read-ahead thread's work: chunks from `inner` until its end, an error, or the reader
/// hanging up.
fn produce(
    inner: &mut impl Chunks,
    send_chunk: &SyncSender<io::Result<Vec<u8>>>,
    recycled: &Receiver<Vec<u8>>,
) {
    loop {
        let mut chunk = recycled.try_recv().unwrap_or_default();
        let error = inner.next_chunk(&mut chunk);
        let filled = chunk.len();
        // Bytes read before an error are delivered first, then the error. A failed
        // send means the reader hung up: the object is abandoned, stop reading it.
        if filled > 0 && send_chunk.send(Ok(chunk)).is_err() {
            return;
        }
        if let Some(error) = error {
            let _ = send_chunk.send(Err(error));
            return;
        }
        if filled == 0 {
            let _ = send_chunk.send(Ok(Vec::new()));
            return;
        }
    }
}

/// Reads until `buf` is full, the input ends or reading fails; returns the bytes read and the
/// error, if one stopped it.
pub fn fill(inner: &mut impl Read, buf: &mut [u8]) -> (usize, Option<io::Error>) {
    let mut filled = 0;
    while filled < buf.len() {
        match inner.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return (filled, Some(e)),
        }
    }
    (filled, None)
}

impl Read for ReadAhead {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(buf.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for ReadAhead {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        while self.position >= self.current.len() && !self.done {
            match self.chunks.recv() {
                Ok(Ok(chunk)) if chunk.is_empty() => self.done = true,
                Ok(Ok(chunk)) => {
                    let used = std::mem::replace(&mut self.current, chunk);
                    let _ = self.recycle.try_send(used);
                    self.position = 0;
                }
                Ok(Err(error)) => {
                    self.done = true;
                    return Err(error);
                }
                Err(_) => {
                    self.done = true;
                    return Err(io::Error::other("the read-ahead thread stopped"));
                }
            }
        }
        Ok(&self.current[self.position.min(self.current.len())..])
    }

    fn consume(&mut self, amount: usize) {
        self.position += amount;
    }
}

impl Drop for ReadAhead {
    fn drop(&mut self) {
        // Unblock the producer (its sends fail once `chunks` is gone), then wait for it.
        let (_, empty) = sync_channel(0);
        drop(std::mem::replace(&mut self.chunks, empty));
        // A whole inflated object arrives as one large chunk: its buffer serves the next one.
        spare_buffers::keep(std::mem::take(&mut self.current));
        if let Some(thread) = self.thread.take()
            && let Ok(used) = thread.join()
        {
            crate::cpu::charge_helper(used);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_everything_in_order() {
        let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        let mut out = Vec::new();
        ReadAhead::new(io::Cursor::new(data.clone()))
            .unwrap()
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, data);
    }

    #[test]
    fn errors_arrive_after_the_good_bytes() {
        let failing = io::Cursor::new(vec![7u8; 10]).chain(FailingReader);
        let mut reader = ReadAhead::new(failing).unwrap();
        let mut out = Vec::new();
        let error = reader.read_to_end(&mut out).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidData);
        assert_eq!(out, vec![7u8; 10]);
    }

    #[test]
    fn dropping_early_stops_the_thread() {
        let endless = io::repeat(1);
        let mut reader = ReadAhead::new(endless).unwrap();
        assert!(!reader.fill_buf().unwrap().is_empty());
        drop(reader);
    }

    struct FailingReader;

    impl Read for FailingReader {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            Err(io::Error::new(io::ErrorKind::InvalidData, "corrupt"))
        }
    }
}
