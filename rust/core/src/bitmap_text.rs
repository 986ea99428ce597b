//! The kernel's text forms of a bitmap: list ("0-3,5") and hex ("00000000,0000000f"), printed and
//! parsed exactly as lib/bitmap.c (lib/bitmap-str.c since 6.x) and lib/vsprintf.c do.
//!
//! Parsing mirrors the *modern* parsers (bitmap_parselist() with region groups, `N` and `all`;
//! bitmap_parse() that reads chunks from the end), quirks included, and fails with the kernel's
//! errno: EINVAL, ERANGE or EOVERFLOW, checked in the kernel's order. Input is a byte string that
//! ends at its length, at a NUL or at a newline, like the kernel's NUL-terminated buffers.

use std::fmt::Write;

use crate::error::{errno, Error, Result};
use crate::nodemask::NodeMask;

/// Chunk width of the hex format (CHUNKSZ in lib/bitmap.c and lib/vsprintf.c).
const CHUNKSZ: u32 = 32;

/// `%*pbl` (bitmap_list_string(), 6.x; bitmap_scnlistprintf(), 2.6.18): ranges "a-b" and single
/// numbers, comma separated, ascending; the empty mask prints as "".
pub fn format_list(mask: &NodeMask) -> String {
    let mut out = String::with_capacity(16);
    let mut cur = mask.first();
    while let Some(rbot) = cur {
        let rtop = mask.next_zero_from(rbot).map_or(mask.nbits() - 1, |z| z - 1);
        if !out.is_empty() {
            out.push(',');
        }
        if rbot == rtop {
            let _ = write!(out, "{rbot}");
        } else {
            let _ = write!(out, "{rbot}-{rtop}");
        }
        cur = rtop.checked_add(1).and_then(|s| mask.next_from(s));
    }
    out
}

/// `%*pb` (bitmap_string(), 6.x; bitmap_scnprintf(), 2.6.18): 32-bit chunks in lower-case hex,
/// most significant first, comma separated and zero padded; the top chunk has
/// ceil((nbits mod 32) / 4) digits when nbits is not a multiple of 32.
pub fn format_hex(mask: &NodeMask) -> String {
    let nbits = mask.nbits();
    let nchunks = nbits.div_ceil(CHUNKSZ) as usize;
    let mut out = String::with_capacity(nchunks * 9);
    let mut chunksz = match nbits % CHUNKSZ {
        0 => CHUNKSZ,
        r => r,
    };
    for i in (0..nchunks).rev() {
        let chunkmask = u32::MAX >> (CHUNKSZ - chunksz); // chunksz is 1..=32
        let val = mask.word32(i) & chunkmask;
        if i + 1 != nchunks {
            out.push(',');
        }
        let width = chunksz.div_ceil(4) as usize;
        let _ = write!(out, "{val:0width$x}");
        chunksz = CHUNKSZ;
    }
    out
}

/// isspace() of the kernel's lib/ctype.c: \t \n \v \f \r, space, and 0xA0 (Latin-1 NBSP).
#[inline]
fn isspace(c: u8) -> bool {
    matches!(c, b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | b' ' | 0xa0)
}

/// end_of_str(): NUL or newline ends the string.
#[inline]
fn end_of_str(c: u8) -> bool {
    c == 0 || c == b'\n'
}

/// __end_of_region(): whitespace or a comma separates regions.
#[inline]
fn end_of_region_sep(c: u8) -> bool {
    isspace(c) || c == b','
}

/// end_of_region().
#[inline]
fn end_of_region(c: u8) -> bool {
    end_of_region_sep(c) || end_of_str(c)
}

/// The byte at `i`, or NUL past the end (the kernel's terminator).
#[inline]
fn at(s: &[u8], i: usize) -> u8 {
    s.get(i).copied().unwrap_or(0)
}

/// Shows the input and the offending position in an error detail.
fn show(s: &[u8], i: usize) -> String {
    let text = String::from_utf8_lossy(s);
    let tok = match s.get(i) {
        Some(&c) if c.is_ascii_graphic() || c == b' ' => format!("{:?}", c as char),
        Some(&c) => format!("byte {c:#04x}"),
        None => "the end of the string".to_string(),
    };
    format!("{tok} at offset {i} of {text:?}")
}

/// A region of bitmap_parselist(): start-end:off/group_len (struct region in lib/bitmap-str.c).
#[derive(Debug, Clone, Copy)]
struct Region {
    start: u32,
    off: u32,
    group_len: u32,
    end: u32,
}

/// bitmap_getnum(): `N` (the last bit) or a decimal number that fits an unsigned int.
/// Returns the number and the index after it.
fn getnum(s: &[u8], i: usize, lastbit: u32, what: &str) -> Result<(u32, usize)> {
    if at(s, i) == b'N' {
        return Ok((lastbit, i + 1));
    }
    // _parse_integer(str, 10, &n): decimal digits, with an overflow flag past u64.
    let (mut n, mut j, mut overflow) = (0u64, i, false);
    while at(s, j).is_ascii_digit() {
        let d = u64::from(at(s, j) - b'0');
        if let Some(v) = n.checked_mul(10).and_then(|v| v.checked_add(d)) {
            n = v;
        } else {
            overflow = true;
            n = n.wrapping_mul(10).wrapping_add(d);
        }
        j += 1;
    }
    if j == i {
        return Err(Error::os(
            errno::EINVAL,
            format!("bitmap_parselist: expected a number for {what}, found {}", show(s, i)),
        ));
    }
    match u32::try_from(n) {
        Ok(n) if !overflow => Ok((n, j)),
        _ => {
            let digits = String::from_utf8_lossy(&s[i..j]);
            Err(Error::os(
                errno::EOVERFLOW,
                format!("bitmap_parselist: {what} {digits} does not fit an unsigned int"),
            ))
        }
    }
}

fn expected(s: &[u8], i: usize, what: &str) -> Error {
    Error::os(errno::EINVAL, format!("bitmap_parselist: expected {what}, found {}", show(s, i)))
}

/// bitmap_parse_region(): parses one region at `i`; returns it and where to continue
/// (None when the region ended the string).
fn parse_region(s: &[u8], i: usize, lastbit: u32) -> Result<(Region, Option<usize>)> {
    let mut r = Region { start: 0, off: 0, group_len: 0, end: 0 };
    let mut i = i;
    let pattern_or_end;
    if at(s, i).eq_ignore_ascii_case(&b'a')
        && at(s, i + 1).eq_ignore_ascii_case(&b'l')
        && at(s, i + 2).eq_ignore_ascii_case(&b'l')
    {
        // strncasecmp(str, "all", 3)
        r.start = 0;
        r.end = lastbit;
        i += 3;
        pattern_or_end = true;
    } else {
        let (start, j) = getnum(s, i, lastbit, "a region start")?;
        r.start = start;
        i = j;
        if end_of_region(at(s, i)) {
            // no_end
            r.end = r.start;
            pattern_or_end = false;
        } else {
            if at(s, i) != b'-' {
                return Err(expected(s, i, "'-', ',' or the end of the region"));
            }
            let (end, j) = getnum(s, i + 1, lastbit, "a range end")?;
            r.end = end;
            i = j;
            pattern_or_end = true;
        }
    }
    if pattern_or_end && !end_of_region(at(s, i)) {
        // check_pattern: "range:used_size/group_size"
        if at(s, i) != b':' {
            return Err(expected(s, i, "':' or the end of the region"));
        }
        let (off, j) = getnum(s, i + 1, lastbit, "a group's used size")?;
        r.off = off;
        i = j;
        if at(s, i) != b'/' {
            return Err(expected(s, i, "'/'"));
        }
        let (group_len, j) = getnum(s, i + 1, lastbit, "a group size")?;
        r.group_len = group_len;
        // The kernel returns the pointer after the group size without checking what follows.
        return Ok((r, Some(j)));
    }
    // no_pattern (unsigned arithmetic: end 4294967295 wraps group_len to 0 -> EINVAL later)
    r.off = r.end.wrapping_add(1);
    r.group_len = r.end.wrapping_add(1);
    Ok((r, if end_of_str(at(s, i)) { None } else { Some(i) }))
}

/// bitmap_check_region(): EINVAL for a malformed region, then ERANGE past the capacity.
fn check_region(r: &Region, nbits: u32, s: &[u8], at_: usize) -> Result<()> {
    let text = String::from_utf8_lossy(s);
    if r.start > r.end || r.group_len == 0 || r.off > r.group_len {
        let why = if r.start > r.end {
            format!("range start {} is above its end {}", r.start, r.end)
        } else if r.group_len == 0 {
            "group size 0".to_string()
        } else {
            format!("used size {} exceeds group size {}", r.off, r.group_len)
        };
        return Err(Error::os(
            errno::EINVAL,
            format!("bitmap_parselist: {why} in the region at offset {at_} of {text:?}"),
        ));
    }
    if r.end >= nbits {
        return Err(Error::os(
            errno::ERANGE,
            format!(
                "bitmap_parselist: bit {} (region at offset {at_} of {text:?}) is beyond a mask of \
                 {nbits} bits",
                r.end
            ),
        ));
    }
    Ok(())
}

/// bitmap_set_region(): sets `off` bits at the start of every `group_len` bits in start..=end.
fn set_region(r: &Region, mask: &mut NodeMask) {
    let mut start = r.start;
    while start <= r.end {
        mask.set_range(start, (r.end - start + 1).min(r.off));
        // unsigned int arithmetic, as in the kernel
        start = start.wrapping_add(r.group_len);
    }
}

/// bitmap_parselist() (lib/bitmap-str.c, 6.x): comma- or whitespace-separated regions, each a
/// number, a range "a-b", or "all", optionally followed by ":used/group" ("0-1023:2/256" is
/// 0,1,256,257,512,513,768,769); `N` stands for the last bit (nbits-1). Parsing stops at the end,
/// at NUL, or at a newline right after a region.
///
/// Errors: EINVAL (bad character or region), ERANGE (a bit beyond nbits), EOVERFLOW (a number
/// that does not fit an unsigned int).
pub fn parse_list(text: &[u8], nbits: u32) -> Result<NodeMask> {
    let mut mask = NodeMask::empty(nbits)?;
    let lastbit = nbits - 1;
    let mut pos = Some(0usize);
    while let Some(mut i) = pos {
        // bitmap_find_region(): commas and whitespace may lead a region
        while end_of_region_sep(at(text, i)) {
            i += 1;
        }
        if end_of_str(at(text, i)) {
            return Ok(mask);
        }
        let (r, next) = parse_region(text, i, lastbit)?;
        check_region(&r, nbits, text, i)?;
        set_region(&r, &mut mask);
        pos = next;
    }
    Ok(mask)
}

/// hex_to_bin().
#[inline]
fn hex_to_bin(c: u8) -> Option<u32> {
    (c as char).to_digit(16)
}

/// bitmap_parse() (lib/bitmap-str.c, 6.x): hex digits in 32-bit chunks read from the end; commas
/// and whitespace separate chunks anywhere ("1,,5", ",44", "" and "1 2" are accepted). Parsing stops
/// at NUL or the first newline.
///
/// Errors: EINVAL for a character that is not a hex digit where a chunk is read; EOVERFLOW for a
/// chunk of more than 8 digits, for more chunks than the mask holds, or for a set bit at or above
/// nbits in the top chunk. As in the kernel, one non-hex character right after 8 digits is skipped
/// (bitmap_get_x32_reverse() steps over it), so "x0000000f" parses as 0xf.
pub fn parse_hex(text: &[u8], nbits: u32) -> Result<NodeMask> {
    NodeMask::empty(nbits)?;
    let len = text.iter().position(|&c| end_of_str(c)).unwrap_or(text.len());
    let s = &text[..len];
    let shown = String::from_utf8_lossy(text);
    let total32 = nbits.div_ceil(CHUNKSZ);
    let total = total32 as usize;
    let mut chunks_left = total;
    let mut chunks: smallvec::SmallVec<[u32; 32]> = smallvec::SmallVec::from_elem(0, total);
    // Characters not yet read: s[..left]. The kernel's `end` (int, -1 when all is read) is
    // left - 1; counting instead keeps the index unsigned.
    let mut left = len;
    let sep = |e: usize| end_of_region_sep(s[e]);
    for chunk in 0.. {
        // bitmap_find_region_reverse()
        while left > 0 && sep(left - 1) {
            left -= 1;
        }
        if left == 0 {
            break;
        }
        if chunks_left == 0 {
            return Err(Error::os(
                errno::EOVERFLOW,
                format!(
                    "bitmap_parse: more than {total} 32-bit chunks for {nbits} bits in {shown:?}"
                ),
            ));
        }
        chunks_left -= 1;
        let chunk_end = left - 1;
        // bitmap_get_x32_reverse()
        let mut val: u32 = 0;
        let mut done = false;
        for i in (0..CHUNKSZ).step_by(4) {
            left -= 1;
            let pos = left;
            let Some(d) = hex_to_bin(s[pos]) else {
                return Err(Error::os(
                    errno::EINVAL,
                    format!("bitmap_parse: not a hex digit: {}", show(text, pos)),
                ));
            };
            val |= d << i;
            if left == 0 || sep(left - 1) {
                done = true;
                break;
            }
        }
        if !done {
            // the last digit read was not the first character, so one is left
            left -= 1;
            let pos = left;
            if hex_to_bin(s[pos]).is_some() {
                return Err(Error::os(
                    errno::EOVERFLOW,
                    format!(
                        "bitmap_parse: more than 8 hex digits (32 bits) in the chunk ending at \
                         offset {chunk_end} of {shown:?}"
                    ),
                ));
            }
        }
        chunks[chunk] = val;
    }
    let unset_bit = (total - chunks_left) as u64 * u64::from(CHUNKSZ);
    if unset_bit >= u64::from(nbits) {
        // every chunk was given: bits between nbits and the chunk boundary must be clear
        let top = chunks[total - 1];
        let valid = nbits - (total32 - 1) * CHUNKSZ;
        if valid < CHUNKSZ && top >> valid != 0 {
            let bit = (total32 - 1) * CHUNKSZ + valid + (top >> valid).trailing_zeros();
            return Err(Error::os(
                errno::EOVERFLOW,
                format!("bitmap_parse: bit {bit} of {shown:?} is beyond a mask of {nbits} bits"),
            ));
        }
    }
    NodeMask::from_words32(&chunks, nbits)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nodes(m: &NodeMask) -> Vec<u32> {
        m.iter().collect()
    }
    fn list(s: &str, nbits: u32) -> Result<Vec<u32>> {
        parse_list(s.as_bytes(), nbits).map(|m| nodes(&m))
    }
    fn errno_of<T: std::fmt::Debug>(r: Result<T>) -> i32 {
        r.unwrap_err().errno().expect("an OS error")
    }

    #[test]
    fn hex_format_widths() {
        let m = NodeMask::from_nodes([0, 1, 2, 3], 64).unwrap();
        assert_eq!(format_hex(&m), "00000000,0000000f");
        assert_eq!(format_hex(&NodeMask::from_nodes([0, 1, 2, 3], 16).unwrap()), "000f");
        assert_eq!(format_hex(&NodeMask::from_nodes([0, 1, 2, 3], 8).unwrap()), "0f");
        assert_eq!(format_hex(&NodeMask::full(1).unwrap()), "1");
        assert_eq!(format_hex(&NodeMask::full(65).unwrap()), "1,ffffffff,ffffffff");
        assert_eq!(format_hex(&NodeMask::full(36).unwrap()), "f,ffffffff");
        assert_eq!(format_hex(&NodeMask::empty(1024).unwrap()).len(), 32 * 9 - 1);
    }

    #[test]
    fn list_format() {
        let m = NodeMask::from_nodes([0, 1, 2, 3, 5, 63, 64, 1023], 1024).unwrap();
        assert_eq!(format_list(&m), "0-3,5,63-64,1023");
        assert_eq!(format_list(&NodeMask::empty(8).unwrap()), "");
        assert_eq!(format_list(&NodeMask::full(65).unwrap()), "0-64");
    }

    #[test]
    fn parselist_grammar() {
        assert_eq!(list("0-3,5", 8).unwrap(), vec![0, 1, 2, 3, 5]);
        assert_eq!(list("", 8).unwrap(), Vec::<u32>::new());
        assert_eq!(list(" ,\t0 ,, 2\n7", 8).unwrap(), vec![0, 2]);
        assert_eq!(list("0-1023:2/256", 1024).unwrap(), vec![0, 1, 256, 257, 512, 513, 768, 769]);
        assert_eq!(list("N", 8).unwrap(), vec![7]);
        assert_eq!(list("ALL", 4).unwrap(), vec![0, 1, 2, 3]);
        assert_eq!(list("all:1/2", 6).unwrap(), vec![0, 2, 4]);
        assert_eq!(
            list("9-38:4/10", 64).unwrap(),
            (9..13).chain(19..23).chain(29..33).collect::<Vec<_>>()
        );
        assert_eq!(list("3-N", 6).unwrap(), vec![3, 4, 5]);
        assert_eq!(list("0-3\0garbage", 8).unwrap(), vec![0, 1, 2, 3]);
    }

    #[test]
    fn parselist_errors_in_kernel_order() {
        assert_eq!(errno_of(list("3-1", 8)), errno::EINVAL);
        assert_eq!(errno_of(list("x", 8)), errno::EINVAL);
        assert_eq!(errno_of(list("1-", 8)), errno::EINVAL);
        assert_eq!(errno_of(list("-1", 8)), errno::EINVAL);
        assert_eq!(errno_of(list("1 -2", 8)), errno::EINVAL);
        assert_eq!(errno_of(list("0-7:0/0", 8)), errno::EINVAL);
        assert_eq!(errno_of(list("0-7:3/2", 8)), errno::EINVAL);
        assert_eq!(errno_of(list("8", 8)), errno::ERANGE);
        assert_eq!(errno_of(list("4294967296", 8)), errno::EOVERFLOW);
        // EINVAL (start > end) is checked before ERANGE
        assert_eq!(errno_of(list("9-8", 8)), errno::EINVAL);
        // 4294967295 + 1 wraps group_len to 0: EINVAL, not ERANGE
        assert_eq!(errno_of(list("4294967295", 8)), errno::EINVAL);
        assert!(list("x", 8).unwrap_err().detail.contains("'x'"));
    }

    #[test]
    fn parse_hex_grammar() {
        let h = |s: &str, n| parse_hex(s.as_bytes(), n).map(|m| nodes(&m));
        assert_eq!(h("00000000,0000000f", 64).unwrap(), vec![0, 1, 2, 3]);
        assert_eq!(h("f", 64).unwrap(), vec![0, 1, 2, 3]);
        assert_eq!(h("", 64).unwrap(), Vec::<u32>::new());
        assert_eq!(h("1,,5", 64).unwrap(), vec![0, 2, 32]);
        assert_eq!(h("1 2", 64).unwrap(), vec![1, 32]);
        assert_eq!(h("1\nzzz", 64).unwrap(), vec![0]);
        assert_eq!(h("x0000000f", 32).unwrap(), vec![0, 1, 2, 3]);
        assert_eq!(errno_of(h("g", 64)), errno::EINVAL);
        assert_eq!(errno_of(h("100000000", 64)), errno::EOVERFLOW);
        assert_eq!(errno_of(h("1,0,0", 64)), errno::EOVERFLOW);
        assert_eq!(errno_of(h("1ffff", 16)), errno::EOVERFLOW);
        assert_eq!(h("ffff", 16).unwrap().len(), 16);
        assert_eq!(h("1,00000000", 33).unwrap(), vec![32]);
        assert_eq!(errno_of(h("2,00000000", 33)), errno::EOVERFLOW);
    }

    #[test]
    fn round_trips() {
        for nbits in [1u32, 8, 32, 64, 65, 1024] {
            let m =
                NodeMask::from_nodes((0..i64::from(nbits)).filter(|n| n % 3 != 1), nbits).unwrap();
            assert_eq!(parse_list(format_list(&m).as_bytes(), nbits).unwrap(), m);
            assert_eq!(parse_hex(format_hex(&m).as_bytes(), nbits).unwrap(), m);
        }
    }
}
