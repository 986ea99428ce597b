//! What numasim requires of the machine it runs on, and the conversions that rely on it.
//!
//! numasim simulates machines of TiBs: frame numbers (pfn), swap offsets, file page indices and
//! page-table indices are `u64` and index Rust slices directly. On a 32-bit host those indices
//! would truncate silently, so the crate requires a 64-bit host and says so at compile time.
//! With that settled, every `u64 -> usize` conversion of a frame, slot or index goes through
//! [`to_usize`], which is then lossless, and the lint `cast_possible_truncation` stays on for
//! every other narrowing cast. (A `u64` narrowed by a constant mask first, such as
//! `(pfn & (SECTION_PAGES - 1)) as usize`, fits 32 bits anyway and stays a plain `as`.)

#[cfg(not(target_pointer_width = "64"))]
compile_error!(
    "numasim-core requires a 64-bit host: it indexes slices by 64-bit frame, swap-slot and \
     page-table numbers (a simulated TiB machine does not fit a 32-bit address space)"
);

/// A 64-bit frame, slot, page or page-table number as a slice index or length. Lossless: the
/// crate only builds where `usize` is 64 bits wide (see the `compile_error!` above).
#[inline]
#[allow(
    clippy::cast_possible_truncation,
    reason = "usize is 64 bits wide: the crate refuses to build on any other host"
)]
pub const fn to_usize(v: u64) -> usize {
    v as usize
}

/// `v` as u32, for an index or count that an invariant of the caller keeps below 2^32; the
/// caller names the bound (the size of a page table, of a node mask, MAX_SWAPFILES). Checked in
/// debug builds, which every test runs; a plain `as` in release builds, where this is hot.
#[inline]
#[allow(clippy::cast_possible_truncation, reason = "the caller's invariant, asserted above")]
pub fn bounded_u32(v: usize) -> u32 {
    debug_assert!(u32::try_from(v).is_ok(), "{v} does not fit u32");
    v as u32
}

/// `v` as u16, for an index or count that an invariant of the caller keeps below 2^16 (a page's
/// mapcount, a node's place among the machine's nodes). Checked in debug builds like
/// [`bounded_u32`].
#[inline]
#[allow(clippy::cast_possible_truncation, reason = "the caller's invariant, asserted above")]
pub fn bounded_u16(v: usize) -> u16 {
    debug_assert!(u16::try_from(v).is_ok(), "{v} does not fit u16");
    v as u16
}

/// A count of pages as the signed `long` a system call returns. Lossless: a count of pages is
/// below 2^52, since pfns have at most 52 bits (`PhysMem::new` refuses more). Checked in debug
/// builds.
#[inline]
#[allow(clippy::cast_possible_wrap, reason = "page counts are below 2^52, asserted above")]
pub fn count_i64(n: u64) -> i64 {
    debug_assert!(n < 1 << 52, "{n} pages");
    n as i64
}
