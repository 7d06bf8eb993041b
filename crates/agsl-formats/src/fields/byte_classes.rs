//! Where a line's spaces and its quotes or backslashes are, 64 bytes at a time, as bitmasks
//! (bit `i` for byte `i` of the block); for lines without quoting, where one delimiter byte is
//! ([`occurrences`]). The tokenizer takes each field's end from the masks
//! with one `trailing_zeros` instead of starting a byte search per field, which costs more than
//! the search itself on fields of a few bytes. On x86_64 the masks come from SSE2 compares
//! (part of every x86_64 CPU, so no detection at run time); elsewhere from a byte loop.

/// The classes of one block of at most 64 bytes; bits past the end of the line are clear.
#[derive(Clone, Copy, Default)]
pub(super) struct BlockClasses {
    pub(super) spaces: u64,
    /// `"` or `\`: where a quoted field may end or escape a byte.
    pub(super) quotes_or_escapes: u64,
    /// `"` alone, counted to find quotes outside the quoted fields.
    pub(super) quotes: u64,
}

/// Applies `f` to the block of `bytes` starting at `start`: 64 bytes of the line, or its last,
/// partial block padded with zero bytes. Returns `f`'s result and how many bytes of the block
/// are the line's.
#[inline]
fn on_block<T>(bytes: &[u8], start: usize, f: impl FnOnce(&[u8; 64]) -> T) -> (T, usize) {
    match bytes.get(start..start + 64) {
        Some(block) => (f(block.try_into().expect("64 bytes")), 64),
        None => {
            let mut padded = [0u8; 64];
            let tail = &bytes[start.min(bytes.len())..];
            padded[..tail.len()].copy_from_slice(tail);
            (f(&padded), tail.len())
        }
    }
}

/// The classes of the block of `bytes` starting at `start` (at most 64 bytes).
pub(super) fn classify(bytes: &[u8], start: usize) -> BlockClasses {
    // Zero bytes, the padding of a partial block, belong to no class.
    on_block(bytes, start, classify_block).0
}

/// Where `byte` occurs in the block of `bytes` starting at `start` (at most 64 bytes), for
/// lines without quoting (VPC Flow and NLB split at spaces, CloudFront at TABs); bits past the
/// end of the line are clear.
pub(super) fn occurrences(bytes: &[u8], start: usize, byte: u8) -> u64 {
    let (mask, len) = on_block(bytes, start, |block| occurrences_in_block(block, byte));
    // The padding would match a NUL `byte`.
    if len < 64 {
        mask & !(u64::MAX << len)
    } else {
        mask
    }
}

#[cfg(target_arch = "x86_64")]
fn occurrences_in_block(block: &[u8; 64], byte: u8) -> u64 {
    // SAFETY: SSE2 is part of the x86_64 baseline, so every x86_64 CPU has it.
    unsafe { occurrences_sse2(block, byte) }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse2")]
fn occurrences_sse2(block: &[u8; 64], byte: u8) -> u64 {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_set1_epi8,
    };
    let wanted = _mm_set1_epi8(byte as i8);
    let mut mask = 0u64;
    for (lane, chunk) in block.chunks_exact(16).enumerate() {
        // SAFETY: `chunk` is 16 readable bytes; the load has no alignment requirement.
        let v = unsafe { _mm_loadu_si128(chunk.as_ptr().cast::<__m128i>()) };
        mask |= u64::from(_mm_movemask_epi8(_mm_cmpeq_epi8(v, wanted)) as u16) << (lane * 16);
    }
    mask
}

#[cfg(not(target_arch = "x86_64"))]
fn occurrences_in_block(block: &[u8; 64], byte: u8) -> u64 {
    block
        .iter()
        .enumerate()
        .fold(0, |mask, (i, &b)| mask | u64::from(b == byte) << i)
}

#[cfg(target_arch = "x86_64")]
fn classify_block(block: &[u8; 64]) -> BlockClasses {
    // SAFETY: SSE2 is part of the x86_64 baseline, so every x86_64 CPU has it.
    unsafe { classify_sse2(block) }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse2")]
fn classify_sse2(block: &[u8; 64]) -> BlockClasses {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8,
    };
    let space = _mm_set1_epi8(b' ' as i8);
    let quote = _mm_set1_epi8(b'"' as i8);
    let escape = _mm_set1_epi8(b'\\' as i8);
    let mut classes = BlockClasses::default();
    for (lane, chunk) in block.chunks_exact(16).enumerate() {
        // SAFETY: `chunk` is 16 readable bytes; the load has no alignment requirement.
        let v = unsafe { _mm_loadu_si128(chunk.as_ptr().cast::<__m128i>()) };
        let spaces = _mm_movemask_epi8(_mm_cmpeq_epi8(v, space)) as u16;
        let quotes = _mm_cmpeq_epi8(v, quote);
        let specials = _mm_or_si128(quotes, _mm_cmpeq_epi8(v, escape));
        classes.spaces |= u64::from(spaces) << (lane * 16);
        classes.quotes_or_escapes |= u64::from(_mm_movemask_epi8(specials) as u16) << (lane * 16);
        classes.quotes |= u64::from(_mm_movemask_epi8(quotes) as u16) << (lane * 16);
    }
    classes
}

#[cfg(not(target_arch = "x86_64"))]
fn classify_block(block: &[u8; 64]) -> BlockClasses {
    let mut classes = BlockClasses::default();
    for (i, &b) in block.iter().enumerate() {
        classes.spaces |= u64::from(b == b' ') << i;
        classes.quotes_or_escapes |= u64::from(b == b'"' || b == b'\\') << i;
        classes.quotes |= u64::from(b == b'"') << i;
    }
    classes
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The byte loop every platform agrees with.
    fn expected(bytes: &[u8], start: usize) -> (u64, u64, u64) {
        let mut spaces = 0;
        let mut specials = 0;
        let mut quotes = 0;
        for (i, &b) in bytes.iter().skip(start).take(64).enumerate() {
            spaces |= u64::from(b == b' ') << i;
            specials |= u64::from(b == b'"' || b == b'\\') << i;
            quotes |= u64::from(b == b'"') << i;
        }
        (spaces, specials, quotes)
    }

    #[test]
    fn masks_match_a_byte_loop_for_full_and_partial_blocks() {
        let line: Vec<u8> = (0..200u32)
            .map(|i| b" \"\\a\0\xff"[(i * 7 + i / 3) as usize % 6])
            .collect();
        for len in [0, 1, 15, 16, 17, 63, 64, 65, 127, 128, 129, 200] {
            let bytes = &line[..len];
            for start in (0..len.max(1)).step_by(64) {
                let classes = classify(bytes, start);
                assert_eq!(occurrences(bytes, start, b' '), expected(bytes, start).0);
                let nuls = bytes[start..].iter().take(64).enumerate();
                let nuls = nuls.fold(0u64, |mask, (i, &b)| mask | u64::from(b == 0) << i);
                assert_eq!(occurrences(bytes, start, 0), nuls, "NULs, len {len}");
                assert_eq!(
                    (classes.spaces, classes.quotes_or_escapes, classes.quotes),
                    expected(bytes, start),
                    "len {len}, block at {start}"
                );
            }
        }
    }
}
