//! Inflates a gzip object that fits in memory with libdeflate, in one call per member: faster
//! than streaming zlib-rs on the same bytes (BENCHMARKS.md has the numbers), since a
//! whole-buffer inflater needs no window copies and no state saved between calls. Objects too large for the caps below, and
//! every object libdeflate does not decode to its end, are read by the streaming zlib-rs decoder
//! from the start instead, so damaged, truncated and oddly framed objects behave exactly as they
//! do when streamed (rows before the damage are kept, the damage becomes a reject).
//!
//! Invariant: the bytes this reader yields are the bytes the streaming decoder would yield, or
//! an error where it would fail; a store's read error is returned as it is, never as damage.

use std::io::{self, BufRead, Cursor, Read};

use super::read_ahead::{Chunks, Filled};
use super::spare_buffers;

use flate2::bufread::MultiGzDecoder;
use libdeflate_sys::{
    libdeflate_alloc_decompressor, libdeflate_decompressor, libdeflate_free_decompressor,
    libdeflate_gzip_decompress_ex, libdeflate_result_LIBDEFLATE_INSUFFICIENT_SPACE,
    libdeflate_result_LIBDEFLATE_SUCCESS,
};

/// Compressed objects up to this size are read whole (larger ones are streamed).
pub const WHOLE_STORED_BYTES: u64 = 8 << 20;
/// Decompressed bytes held at once: objects that inflate to more are streamed. The buffer is
/// memory a worker holds beside its batches (and beside the copy that decoders of whole JSON
/// documents make), so it stays small; ALB and CloudFront objects mostly fit.
pub const WHOLE_INFLATED_BYTES: usize = 16 << 20;

/// A gzip object's decompressed bytes for a [`ReadAhead`](super::read_ahead::ReadAhead)
/// thread: inflated whole and handed over as one chunk (no copy), or streamed in chunks.
pub struct WholeGzip<R> {
    state: State<R>,
}

/// The streaming decoder over the bytes read so far, then the rest of the object.
type Streamed<R> = Filled<MultiGzDecoder<io::Chain<Cursor<Vec<u8>>, R>>>;

enum State<R> {
    /// Not read yet.
    Unread(R),
    /// Inflated whole, not handed over yet.
    Inflated(Vec<u8>),
    /// Too large or not decodable by libdeflate: the streaming decoder over the stored bytes.
    Streaming(Box<Streamed<R>>),
    /// Handed over, or a read of the stored bytes failed (the error was returned).
    Finished,
}

impl<R: BufRead> WholeGzip<R> {
    /// `stored` must start with the gzip magic bytes (the caller has looked).
    pub fn new(stored: R) -> Self {
        Self {
            state: State::Unread(stored),
        }
    }

    /// Reads the stored bytes (whole, if they are small enough) and inflates them if it can.
    fn inflate(stored: R) -> io::Result<State<R>> {
        let mut head = Vec::new();
        let mut limited = stored.take(WHOLE_STORED_BYTES + 1);
        limited.read_to_end(&mut head)?;
        let stored = limited.into_inner();
        let whole = head.len() as u64 <= WHOLE_STORED_BYTES;
        Ok(match whole.then(|| inflate_members(&head)).flatten() {
            Some(inflated) => State::Inflated(inflated),
            None => State::Streaming(Box::new(Filled(MultiGzDecoder::new(
                Cursor::new(head).chain(stored),
            )))),
        })
    }
}

impl<R: BufRead + Send + 'static> Chunks for WholeGzip<R> {
    fn next_chunk(&mut self, buffer: &mut Vec<u8>) -> Option<io::Error> {
        let state = match std::mem::replace(&mut self.state, State::Finished) {
            State::Unread(stored) => match Self::inflate(stored) {
                Ok(state) => state,
                Err(error) => {
                    buffer.clear();
                    return Some(error);
                }
            },
            state => state,
        };
        match state {
            State::Inflated(inflated) => {
                *buffer = inflated;
                None
            }
            State::Streaming(mut decoder) => {
                let error = decoder.next_chunk(buffer);
                self.state = State::Streaming(decoder);
                error
            }
            State::Unread(_) | State::Finished => {
                buffer.clear();
                None
            }
        }
    }
}

/// Owns one libdeflate decompressor (a few KB of tables), freed on drop.
struct Decompressor(*mut libdeflate_decompressor);

impl Decompressor {
    fn new() -> Option<Self> {
        // SAFETY: allocating has no preconditions; a null pointer (out of memory) is checked.
        let raw = unsafe { libdeflate_alloc_decompressor() };
        (!raw.is_null()).then_some(Self(raw))
    }

    /// Inflates the gzip member at the start of `input` into `output`'s spare capacity:
    /// `Ok(Some(consumed))`, `Ok(None)` when the spare capacity is too small, `Err(())` when the
    /// member is not valid gzip.
    fn member(&mut self, input: &[u8], output: &mut Vec<u8>) -> Result<Option<usize>, ()> {
        let spare = output.spare_capacity_mut();
        let (mut consumed, mut produced) = (0usize, 0usize);
        // SAFETY: the decompressor is live (owned by self); `input` is readable for its length;
        // the output pointer and length are `output`'s spare capacity, which libdeflate only
        // writes to; both results are plain `usize` out-parameters.
        let result = unsafe {
            libdeflate_gzip_decompress_ex(
                self.0,
                input.as_ptr().cast(),
                input.len(),
                spare.as_mut_ptr().cast(),
                spare.len(),
                &mut consumed,
                &mut produced,
            )
        };
        #[allow(non_upper_case_globals)]
        match result {
            libdeflate_result_LIBDEFLATE_SUCCESS => {
                debug_assert!(produced <= spare.len() && consumed <= input.len());
                // SAFETY: on success libdeflate has initialised the first `produced` bytes of
                // the spare capacity (never more than it was given).
                unsafe { output.set_len(output.len() + produced) };
                Ok(Some(consumed))
            }
            libdeflate_result_LIBDEFLATE_INSUFFICIENT_SPACE => Ok(None),
            _ => Err(()),
        }
    }
}

impl Drop for Decompressor {
    fn drop(&mut self) {
        // SAFETY: the pointer came from `libdeflate_alloc_decompressor` and is freed once.
        unsafe { libdeflate_free_decompressor(self.0) }
    }
}

/// Every member of `input` inflated, or `None` when the object must be streamed instead: not
/// valid gzip to its last byte, or larger than [`WHOLE_INFLATED_BYTES`].
fn inflate_members(input: &[u8]) -> Option<Vec<u8>> {
    let mut decompressor = Decompressor::new()?;
    // The last member's trailer holds its size (mod 2^32): exact for the usual single member.
    let trailer_size = input
        .len()
        .checked_sub(4)
        .map(|at| u32::from_le_bytes(input[at..].try_into().expect("four bytes")) as usize)?;
    if trailer_size > WHOLE_INFLATED_BYTES {
        return None;
    }
    let mut output = spare_buffers::take();
    let mut capacity = trailer_size.clamp(64 << 10, WHOLE_INFLATED_BYTES);
    let mut rest = input;
    while !rest.is_empty() {
        output.reserve_exact(capacity.saturating_sub(output.len()));
        let Ok(member) = decompressor.member(rest, &mut output) else {
            spare_buffers::keep(output);
            return None;
        };
        match member {
            Some(consumed) => rest = &rest[consumed..],
            None if capacity < WHOLE_INFLATED_BYTES => {
                capacity = (capacity * 2).min(WHOLE_INFLATED_BYTES);
            }
            None => {
                spare_buffers::keep(output);
                return None;
            }
        }
    }
    Some(output)
}

#[cfg(test)]
mod tests {
    use super::super::gzip;
    use super::super::read_ahead::ReadAhead;
    use super::*;

    fn streamed(bytes: &[u8]) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        MultiGzDecoder::new(bytes)
            .read_to_end(&mut out)
            .map(|_| out)
    }

    fn read_whole(stored: impl BufRead + Send + 'static, out: &mut Vec<u8>) -> io::Result<usize> {
        ReadAhead::from_chunks(WholeGzip::new(stored))?.read_to_end(out)
    }

    fn whole(bytes: &[u8]) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        read_whole(Cursor::new(bytes.to_vec()), &mut out).map(|_| out)
    }

    fn lines(count: usize, seed: usize) -> Vec<u8> {
        (0..count)
            .map(|i| format!("line {} of {count}: {}\n", i, (i * 7919 + seed) % 1000))
            .collect::<String>()
            .into_bytes()
    }

    #[test]
    fn single_and_multiple_members_inflate_whole() {
        let one = gzip(&lines(5_000, 1));
        assert_eq!(inflate_members(&one).unwrap(), lines(5_000, 1));
        // Members larger than the first guess (the last member's size) grow the buffer.
        let mut three = gzip(&lines(50_000, 2));
        three.extend(gzip(b""));
        three.extend(gzip(&lines(3, 3)));
        let mut expected = lines(50_000, 2);
        expected.extend(lines(3, 3));
        assert_eq!(inflate_members(&three).unwrap(), expected);
        assert_eq!(whole(&three).unwrap(), expected);
    }

    #[test]
    fn damaged_objects_are_streamed_and_fail_as_the_stream_does() {
        let data = gzip(&lines(20_000, 4));
        let mut truncated = data.clone();
        truncated.truncate(data.len() / 2);
        let mut flipped = data.clone();
        let middle = flipped.len() / 2;
        flipped[middle] ^= 0x55;
        let mut trailing_garbage = data.clone();
        trailing_garbage.extend(b"not gzip");
        for damaged in [truncated, flipped, trailing_garbage] {
            assert!(inflate_members(&damaged).is_none());
            let (mut kept_whole, mut kept_streamed) = (Vec::new(), Vec::new());
            let whole_error = read_whole(Cursor::new(damaged.clone()), &mut kept_whole);
            let streamed_error = MultiGzDecoder::new(&damaged[..]).read_to_end(&mut kept_streamed);
            assert_eq!(
                kept_whole, kept_streamed,
                "the same bytes before the damage"
            );
            assert_eq!(
                whole_error.map_err(|e| e.kind()),
                streamed_error.map_err(|e| e.kind())
            );
        }
        assert_eq!(whole(&data).unwrap(), streamed(&data).unwrap());
    }

    #[test]
    fn objects_over_the_caps_are_streamed() {
        // Random-looking bytes barely compress, so the stored object exceeds the whole-read cap.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let noise: Vec<u8> = (0..WHOLE_STORED_BYTES as usize + 1024)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        let stored = gzip(&noise);
        assert!(stored.len() as u64 > WHOLE_STORED_BYTES);
        assert_eq!(whole(&stored).unwrap(), noise);
        // Zeros compress 1000:1: a small object that inflates past the in-memory cap.
        let zeros = vec![0u8; WHOLE_INFLATED_BYTES + 1];
        let bomb = gzip(&zeros);
        assert!(inflate_members(&bomb).is_none());
        assert_eq!(whole(&bomb).unwrap().len(), zeros.len());
        // The same behind a last member whose trailer promises a small object: the buffer grows
        // to the cap, then the object is streamed.
        let mut hidden = bomb.clone();
        hidden.extend(gzip(b"x\n"));
        assert!(inflate_members(&hidden).is_none());
        assert_eq!(whole(&hidden).unwrap().len(), zeros.len() + 2);
    }

    #[test]
    fn a_failing_store_is_an_error_not_damage() {
        struct Failing;
        impl Read for Failing {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::Error::new(io::ErrorKind::ConnectionReset, "reset"))
            }
        }
        let stored = io::BufReader::new(Cursor::new(gzip(b"a\n")).chain(Failing));
        let error = read_whole(stored, &mut Vec::new()).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::ConnectionReset);
    }
}
