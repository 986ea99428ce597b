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
