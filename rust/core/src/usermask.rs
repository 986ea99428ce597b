//! User-space node bitmaps: get_nodes() (mm/mempolicy.c), which turns the `(nmask, maxnode)` pair
//! of mbind / set_mempolicy / migrate_pages into a nodemask_t, and its inverse for building test
//! input ([`to_user`]).
//!
//! The user pointer is modelled by [`UserBuf`]: NULL, an unreadable pointer, or readable memory of
//! exactly the given words (reading past their end faults). Spec §1 (shared/spec) holds the rules;
//! each branch below names the kernel text it mirrors.

use crate::arch::ArchProfile;
use crate::error::{errno, Error, Result};
use crate::host::to_usize;
use crate::nodemask::NodeMask;
use crate::semantics::Semantics;
use serde::{Deserialize, Serialize};

/// A user pointer to an array of `unsigned long`, as a syscall sees it.
#[derive(Clone, Copy, Debug)]
pub enum UserBuf<'a> {
    /// A NULL pointer.
    Null,
    /// A non-NULL pointer whose memory cannot be read (every access faults).
    Fault,
    /// Readable memory holding exactly these 32-bit words (a 32-bit arch's unsigned longs).
    Words32(&'a [u32]),
    /// Readable memory holding exactly these 64-bit words.
    Words64(&'a [u64]),
}

/// The ABI of the task making the call: a native task, or a 32-bit task on a 64-bit kernel
/// (an IA-32 program on x86_64), whose `unsigned long` is 32 bits wide.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum CallerAbi {
    #[default]
    Native,
    /// A 32-bit caller on a 64-bit kernel. 2.6.16 (and V5) read its mask with the native
    /// get_nodes(): 64-bit words, two of its 32-bit words each (x86_64's ia32 table points at
    /// sys_mbind/sys_set_mempolicy/sys_migrate_pages; research Q11). 6.x reads it with
    /// compat_get_bitmap() (get_bitmap(): `if (in_compat_syscall())`).
    Compat32,
}

/// The words a C program would pass, in the arch's `unsigned long` width.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UserWords {
    Words32(Vec<u32>),
    Words64(Vec<u64>),
}

impl UserBuf<'_> {
    fn describe(&self) -> String {
        match self {
            UserBuf::Null => "NULL".into(),
            UserBuf::Fault => "an unreadable pointer (numasim.FAULT)".into(),
            UserBuf::Words32(w) => format!("a buffer of {} 32-bit words", w.len()),
            UserBuf::Words64(w) => format!("a buffer of {} 64-bit words", w.len()),
        }
    }

    fn len(&self) -> u64 {
        match self {
            UserBuf::Null | UserBuf::Fault => 0,
            UserBuf::Words32(w) => w.len() as u64,
            UserBuf::Words64(w) => w.len() as u64,
        }
    }

    /// The words of the buffer must be the arch's unsigned long; anything else is a simulator
    /// usage error, not a kernel one.
    fn check_width(&self, arch: &ArchProfile) -> Result<()> {
        let width = match self {
            UserBuf::Words32(_) => 32,
            UserBuf::Words64(_) => 64,
            UserBuf::Null | UserBuf::Fault => return Ok(()),
        };
        if width != arch.bits_per_long {
            return Err(Error::type_(format!(
                "{} reads {}-bit unsigned longs (numpy.uint{}); got an array of uint{width}",
                arch.name, arch.bits_per_long, arch.bits_per_long
            )));
        }
        Ok(())
    }

    /// The 32-bit word `k` of a 32-bit caller's buffer (compat reads).
    fn read32(&self, k: u64) -> Option<u64> {
        match self {
            UserBuf::Words32(w) => {
                usize::try_from(k).ok().and_then(|k| w.get(k)).map(|&x| u64::from(x))
            }
            _ => None,
        }
    }

    /// get_user() of word `k` (or the part of a copy_from_user that touches it).
    fn read(&self, k: u64, what: &str) -> Result<u64> {
        let word = match self {
            UserBuf::Words32(w) => {
                usize::try_from(k).ok().and_then(|k| w.get(k)).map(|&x| u64::from(x))
            }
            UserBuf::Words64(w) => usize::try_from(k).ok().and_then(|k| w.get(k)).copied(),
            UserBuf::Null | UserBuf::Fault => None,
        };
        word.ok_or_else(|| {
            Error::os(
                errno::EFAULT,
                format!(
                    "get_nodes: {what} reads word {k} of the user mask, but it is {}",
                    self.describe()
                ),
            )
        })
    }

    /// copy_from_user() of words `0..n` (fails as a whole if any word is unreadable).
    fn copy(&self, n: u64) -> Result<Vec<u64>> {
        if n > 0 && self.len() < n {
            return Err(Error::os(
                errno::EFAULT,
                format!(
                    "get_nodes: copy_from_user of words 0..{n} of the user mask, but it is {}",
                    self.describe()
                ),
            ));
        }
        (0..n).map(|k| self.read(k, "the copy")).collect()
    }
}

/// The caller's memory as the kernel reads it: `unsigned long`s of the kernel's width, made of
/// two 32-bit words each (little-endian, low word first) for a 32-bit caller on a 64-bit kernel.
struct Mem<'a> {
    buf: &'a UserBuf<'a>,
    compat: bool,
}

impl Mem<'_> {
    fn fault(&self, what: &str, detail: &str) -> Error {
        Error::os(
            errno::EFAULT,
            format!(
                "get_nodes: {what} reads {detail} of the user mask, but it is {}",
                self.buf.describe()
            ),
        )
    }

    /// get_user() of the kernel's unsigned long `k`.
    fn read_long(&self, k: u64, what: &str) -> Result<u64> {
        if !self.compat {
            return self.buf.read(k, what);
        }
        // A 64-bit load at 32-bit index 2k: both halves must be readable.
        match (self.buf.read32(2 * k), self.buf.read32(2 * k + 1)) {
            (Some(lo), Some(hi)) => Ok(lo | hi << 32),
            _ => Err(self.fault(what, &format!("32-bit words {} and {}", 2 * k, 2 * k + 1))),
        }
    }

    /// copy_from_user() of the kernel's unsigned longs `0..n` (fails as a whole).
    fn copy_longs(&self, n: u64) -> Result<Vec<u64>> {
        if !self.compat {
            return self.buf.copy(n);
        }
        if n > 0 && self.buf.len() < 2 * n {
            return Err(self.fault("the copy", &format!("32-bit words 0..{}", 2 * n)));
        }
        (0..n).map(|k| self.read_long(k, "the copy")).collect()
    }

    /// compat_get_bitmap() (kernel/compat.c, 6.x): `nbits` bits from the kernel's unsigned long
    /// `first`, read as ALIGN(nbits, 32) / 32 32-bit words (access_ok() covers all of them),
    /// paired low word first into 64-bit words; an odd last word is zero-extended.
    fn compat_get_bitmap(&self, first: u64, nbits: u64, what: &str) -> Result<Vec<u64>> {
        let n32 = nbits.div_ceil(32);
        let start = 2 * first;
        if self.buf.len() < start + n32 {
            return Err(self.fault(what, &format!("32-bit words {start}..{}", start + n32)));
        }
        let word = |k: u64| self.buf.read32(k).unwrap_or(0);
        Ok((0..n32.div_ceil(2))
            .map(|i| {
                let lo = word(start + 2 * i);
                let hi = if 2 * i + 1 < n32 { word(start + 2 * i + 1) } else { 0 };
                lo | hi << 32
            })
            .collect())
    }
}

/// Reduces `maxnode` to the arch's `unsigned long`: on a 32-bit arch a C caller's value is taken
/// modulo 2**32, as the register the kernel reads holds only 32 bits.
fn as_ulong(v: u64, arch: &ArchProfile) -> u64 {
    if arch.bits_per_long == 32 {
        v & 0xffff_ffff
    } else {
        v
    }
}

/// get_nodes(): the nodemask the kernel builds from a native caller's `(nmask, maxnode)` pair.
///
/// `maxnode` is the value passed to the syscall; only bits `0 ..= maxnode-2` are meant (the
/// documented off-by-one, spec §1.4). The result has capacity `arch.max_numnodes()`.
/// `V5` and `Linux2616` follow the 2.6.16 text (spec §1.1, §9.1); `Modern` follows 6.x (§1.2).
pub fn get_nodes(
    buf: &UserBuf<'_>,
    maxnode: u64,
    arch: &ArchProfile,
    semantics: Semantics,
) -> Result<NodeMask> {
    get_nodes_for(buf, maxnode, arch, semantics, CallerAbi::Native)
}

/// get_nodes() for a caller of the given ABI. A 32-bit caller on a 64-bit kernel passes 32-bit
/// words and a 32-bit maxnode (zero-extended by the ia32 entry); see [`CallerAbi::Compat32`] for
/// how each generation reads them.
pub fn get_nodes_for(
    buf: &UserBuf<'_>,
    maxnode: u64,
    arch: &ArchProfile,
    semantics: Semantics,
    abi: CallerAbi,
) -> Result<NodeMask> {
    let compat = abi == CallerAbi::Compat32;
    if compat {
        check_compat(buf, arch)?;
    } else {
        buf.check_width(arch)?;
    }
    let mem = Mem { buf, compat };
    let max_numnodes = arch.max_numnodes();
    let mut nodes = NodeMask::empty(max_numnodes)?; // nodes_clear(*nodes)
                                                    // The ia32 entry zero-extends the 32-bit register (a compat maxnode is below 2**32).
    let user_maxnode = if compat { maxnode & 0xffff_ffff } else { as_ulong(maxnode, arch) };
    // --maxnode (unsigned long: 0 wraps to ULONG_MAX)
    let maxnode = as_ulong(user_maxnode.wrapping_sub(1), arch);
    // if (maxnode == 0 || !nmask) return 0;  (both versions)
    if maxnode == 0 || matches!(buf, UserBuf::Null) {
        return Ok(nodes);
    }
    // if (maxnode > PAGE_SIZE*BITS_PER_BYTE) return -EINVAL;  (2.6.16 since "sys_mbind sanity
    // checking", and 6.x)
    let limit = arch.page_size() * 8;
    if maxnode > limit {
        let why = if user_maxnode == 0 {
            format!("maxnode 0 with a non-NULL mask wraps to ULONG_MAX ({maxnode:#x})")
        } else {
            format!("maxnode {user_maxnode} asks for {maxnode} bits")
        };
        return Err(Error::os(
            errno::EINVAL,
            format!("get_nodes: {why}, more than PAGE_SIZE*8 = {limit} bits"),
        ));
    }
    let words = match semantics {
        Semantics::V5 | Semantics::Linux2616 => get_nodes_2616(&mem, maxnode, arch)?,
        Semantics::Modern => get_nodes_modern(&mem, maxnode, arch)?,
    };
    // Bits >= MAX_NUMNODES that survive (inside the last supported word, spec §1.1.8) are stored
    // by the kernel but ignored by every nodes_* operation: the capacity drops them here.
    nodes = NodeMask::from_words_of(&words, arch.bits_per_long, max_numnodes)?;
    Ok(nodes)
}

impl NodeMask {
    /// Builds a mask from words of `bits_per_long` bits held in u64s.
    #[expect(
        clippy::cast_possible_truncation,
        reason = "a 32-bit arch's unsigned long is the low half of the u64 that holds it"
    )]
    fn from_words_of(words: &[u64], bits_per_long: u32, nbits: u32) -> Result<NodeMask> {
        if bits_per_long == 32 {
            let w32: Vec<u32> = words.iter().map(|&w| w as u32).collect();
            NodeMask::from_words32(&w32, nbits)
        } else {
            NodeMask::from_words(words, nbits)
        }
    }
}

fn ones(bits: u64) -> u64 {
    if bits >= 64 {
        !0
    } else {
        (1u64 << bits) - 1
    }
}

/// A 32-bit caller exists only on a 64-bit kernel, and passes 32-bit words.
fn check_compat(buf: &UserBuf<'_>, arch: &ArchProfile) -> Result<()> {
    if arch.bits_per_long != 64 {
        return Err(Error::value(format!(
            "a 32-bit caller on a 64-bit kernel: {} is not a 64-bit kernel",
            arch.name
        )));
    }
    if matches!(buf, UserBuf::Words64(_)) {
        return Err(Error::type_(
            "a 32-bit caller passes 32-bit unsigned longs (numpy.uint32), not uint64",
        ));
    }
    Ok(())
}

/// The body of get_nodes() after the size check, 2.6.16/2.6.18 text (spec §1.1.5-7).
fn get_nodes_2616(buf: &Mem<'_>, maxnode: u64, arch: &ArchProfile) -> Result<Vec<u64>> {
    let bpl = u64::from(arch.bits_per_long);
    let all = ones(bpl);
    let max_numnodes = u64::from(arch.max_numnodes());
    // nlongs = BITS_TO_LONGS(maxnode); endmask = low (maxnode % BITS_PER_LONG) bits, or all
    let mut nlongs = maxnode.div_ceil(bpl);
    let mut endmask = if maxnode % bpl == 0 { all } else { ones(maxnode % bpl) };
    let supported = max_numnodes.div_ceil(bpl); // BITS_TO_LONGS(MAX_NUMNODES)
    if nlongs > supported {
        // if (nlongs > PAGE_SIZE/sizeof(long)) return -EINVAL;  (redundant after the size check)
        if nlongs > arch.page_size() / u64::from(arch.bytes_per_long()) {
            return Err(Error::os(errno::EINVAL, "get_nodes: more than a page of words"));
        }
        // 2.6.16: the unsupported words, one get_user() each, lowest index first
        for k in supported..nlongs {
            let t = buf.read_long(k, "the check of words beyond MAX_NUMNODES")?;
            let t = if k == nlongs - 1 { t & endmask } else { t };
            if t != 0 {
                let bit = k * bpl + u64::from(t.trailing_zeros());
                return Err(Error::os(
                    errno::EINVAL,
                    format!(
                        "get_nodes: bit {bit} is set, at or above MAX_NUMNODES {max_numnodes} of \
                         {} (2.6.16 rejects set bits in words beyond the nodemask)",
                        arch.name
                    ),
                ));
            }
        }
        nlongs = supported;
        endmask = all;
    }
    // 2.6.16: one copy_from_user of nlongs words, the last one ANDed with endmask
    let mut words = buf.copy_longs(nlongs)?;
    if let Some(last) = words.last_mut() {
        *last &= endmask;
    }
    Ok(words)
}

/// get_bitmap(), 6.x: copy BITS_TO_LONGS(maxnode) words from word `first`, masking the top one to
/// maxnode % BITS_PER_LONG bits.
fn get_bitmap(
    buf: &Mem<'_>,
    first: u64,
    maxnode: u64,
    arch: &ArchProfile,
    what: &str,
) -> Result<Vec<u64>> {
    let bpl = u64::from(arch.bits_per_long);
    let nlongs = maxnode.div_ceil(bpl);
    let mut words = if buf.compat {
        // if (in_compat_syscall()) ret = compat_get_bitmap(mask, nmask, maxnode);
        buf.compat_get_bitmap(first, maxnode, what)?
    } else if first == 0 {
        buf.buf.copy(nlongs)?
    } else {
        (first..first + nlongs).map(|k| buf.buf.read(k, what)).collect::<Result<Vec<_>>>()?
    };
    if maxnode % bpl != 0 {
        if let Some(last) = words.last_mut() {
            *last &= ones(maxnode % bpl);
        }
    }
    Ok(words)
}

/// The body of get_nodes() after the size check, 6.x text (torvalds/linux 000eca5d044d, with
/// "fix get_nodes out of bound access"; spec §1.2.2-3).
fn get_nodes_modern(buf: &Mem<'_>, mut maxnode: u64, arch: &ArchProfile) -> Result<Vec<u64>> {
    let bpl = u64::from(arch.bits_per_long);
    let max_numnodes = u64::from(arch.max_numnodes());
    // 6.x: check the unsupported part one word at a time, starting at the end
    while maxnode > max_numnodes {
        let bits = maxnode.min(bpl);
        let k = (maxnode - 1) / bpl;
        let mut t = get_bitmap(buf, k, bits, arch, "the check of bits beyond MAX_NUMNODES")?[0];
        if maxnode - bits >= max_numnodes {
            maxnode -= bits;
        } else {
            maxnode = max_numnodes;
            // t &= ~((1UL << (MAX_NUMNODES % BITS_PER_LONG)) - 1): drops the low bits of word k
            // as if they were below MAX_NUMNODES, even when word k is not the word holding
            // MAX_NUMNODES (possible only when MAX_NUMNODES % BITS_PER_LONG != 0, e.g. i386).
            t &= !ones(max_numnodes % bpl);
        }
        if t != 0 {
            let bit = k * bpl + u64::from(t.trailing_zeros());
            return Err(Error::os(
                errno::EINVAL,
                format!(
                    "get_nodes: bit {bit} is set, at or above MAX_NUMNODES {max_numnodes} of {} \
                     (6.x checks every word holding bits at or above it)",
                    arch.name
                ),
            ));
        }
    }
    // 6.x: return get_bitmap(nodes_addr(*nodes), nmask, maxnode);
    get_bitmap(buf, 0, maxnode, arch, "the copy")
}

/// The user words a C program passes as `nmask` with this `maxnode` so that get_nodes() reads
/// exactly `mask`: BITS_TO_LONGS(maxnode - 1) words of the arch's width (none for maxnode <= 1).
///
/// Errors (ValueError): a set node the kernel would not read (node >= maxnode - 1: pass
/// maxnode >= node + 2), a node at or above the arch's MAX_NUMNODES, or a maxnode above
/// PAGE_SIZE*8 + 1 (the kernel would refuse it with EINVAL).
pub fn to_user(mask: &NodeMask, maxnode: u64, arch: &ArchProfile) -> Result<UserWords> {
    let limit = arch.page_size() * 8 + 1;
    if maxnode > limit {
        return Err(Error::value(format!(
            "maxnode {maxnode} is above what get_nodes() accepts on {} (PAGE_SIZE*8 + 1 = {limit})",
            arch.name
        )));
    }
    let bits = maxnode.saturating_sub(1); // the kernel reads bits 0 ..= maxnode-2
    if let Some(last) = mask.last() {
        if last >= arch.max_numnodes() {
            return Err(Error::value(format!(
                "node {last} is at or above MAX_NUMNODES {} of {}",
                arch.max_numnodes(),
                arch.name
            )));
        }
        if u64::from(last) >= bits {
            return Err(Error::value(format!(
                "node {last} is not read by the kernel with maxnode {maxnode} (it reads bits 0 to \
                 maxnode-2); pass maxnode >= {}",
                u64::from(last) + 2
            )));
        }
    }
    let nwords = to_usize(bits.div_ceil(u64::from(arch.bits_per_long)));
    Ok(if arch.bits_per_long == 32 {
        UserWords::Words32((0..nwords).map(|i| mask.word32(i)).collect())
    } else {
        UserWords::Words64((0..nwords).map(|i| mask.words().get(i).copied().unwrap_or(0)).collect())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arch(name: &str) -> ArchProfile {
        ArchProfile::builtin(name).unwrap()
    }
    fn nodes(r: Result<NodeMask>) -> Vec<u32> {
        r.unwrap().iter().collect()
    }
    fn errno_of(r: Result<NodeMask>) -> i32 {
        r.unwrap_err().errno().expect("an OS error")
    }
    const OLD: Semantics = Semantics::Linux2616;
    const NEW: Semantics = Semantics::Modern;

    fn compat(w: &[u32], maxnode: u64, sem: Semantics) -> Result<NodeMask> {
        get_nodes_for(&UserBuf::Words32(w), maxnode, &arch("x86_64"), sem, CallerAbi::Compat32)
    }

    /// A 32-bit caller on x86_64 at the word boundaries (research Q11's table): 6.x reads
    /// ceil(m/32) 32-bit words with compat_get_bitmap() and keeps bits 0..m-1; 2.6.16 reads
    /// ceil(m/64) 64-bit words, two 32-bit words each, so an odd-length array faults.
    #[test]
    fn compat_word_boundaries() {
        let all = [u32::MAX, u32::MAX];
        for (maxnode, kept) in [(31u64, 30u32), (32, 31), (33, 32), (63, 62), (64, 63), (65, 64)] {
            let want: Vec<u32> = (0..kept).collect();
            let need32 = (maxnode - 1).div_ceil(32);
            // 6.x: exactly the words compat_get_bitmap reads is enough; one fewer faults.
            let short = &all[..usize::try_from(need32).unwrap()];
            assert_eq!(nodes(compat(short, maxnode, NEW)), want, "6.x maxnode {maxnode}");
            let shorter = &all[..usize::try_from(need32 - 1).unwrap()];
            assert_eq!(errno_of(compat(shorter, maxnode, NEW)), errno::EFAULT, "{maxnode}");
            // 2.6.16: the native reader loads whole 64-bit words.
            assert_eq!(nodes(compat(&all, maxnode, OLD)), want, "2.6.16 maxnode {maxnode}");
            if need32 % 2 == 1 {
                assert_eq!(errno_of(compat(short, maxnode, OLD)), errno::EFAULT, "{maxnode}");
            }
        }
        // Low word first: node 32 is bit 0 of the second 32-bit word.
        for sem in [OLD, NEW] {
            assert_eq!(nodes(compat(&[0, 1], 65, sem)), vec![32]);
        }
        // maxnode is zero-extended from 32 bits: 2**32 + 3 is 3.
        assert_eq!(nodes(compat(&[0b111, 0], (1 << 32) + 3, NEW)), vec![0, 1]);
        // maxnode 0 with a pointer: --maxnode wraps to ULONG_MAX (64-bit) -> EINVAL.
        assert_eq!(errno_of(compat(&[1, 0], 0, NEW)), errno::EINVAL);
        // A 32-bit caller passes 32-bit words, and only on a 64-bit kernel.
        let e =
            get_nodes_for(&UserBuf::Words64(&[1]), 3, &arch("x86_64"), NEW, CallerAbi::Compat32);
        assert_eq!(e.unwrap_err().kind, crate::ErrorKind::Type);
        let e = get_nodes_for(&UserBuf::Words32(&[1]), 3, &arch("i386"), NEW, CallerAbi::Compat32);
        assert_eq!(e.unwrap_err().kind, crate::ErrorKind::Value);
    }

    #[test]
    fn off_by_one_and_empty_cases() {
        let x = arch("x86_64");
        let w = [0b1011u64];
        for sem in [Semantics::V5, OLD, NEW] {
            // maxnode 3 reads bits 0..=1 only
            assert_eq!(nodes(get_nodes(&UserBuf::Words64(&w), 3, &x, sem)), vec![0, 1]);
            assert_eq!(nodes(get_nodes(&UserBuf::Words64(&w), 5, &x, sem)), vec![0, 1, 3]);
            assert!(get_nodes(&UserBuf::Words64(&w), 1, &x, sem).unwrap().is_empty());
            assert!(get_nodes(&UserBuf::Null, 0, &x, sem).unwrap().is_empty());
            assert!(get_nodes(&UserBuf::Null, u64::MAX, &x, sem).unwrap().is_empty());
            assert!(get_nodes(&UserBuf::Fault, 1, &x, sem).unwrap().is_empty());
            assert_eq!(errno_of(get_nodes(&UserBuf::Words64(&w), 0, &x, sem)), errno::EINVAL);
            assert_eq!(errno_of(get_nodes(&UserBuf::Fault, 0, &x, sem)), errno::EINVAL);
            assert_eq!(errno_of(get_nodes(&UserBuf::Fault, 2, &x, sem)), errno::EFAULT);
            assert_eq!(errno_of(get_nodes(&UserBuf::Words64(&[]), 2, &x, sem)), errno::EFAULT);
            assert_eq!(errno_of(get_nodes(&UserBuf::Words64(&w), 32770, &x, sem)), errno::EINVAL);
            assert_eq!(errno_of(get_nodes(&UserBuf::Fault, 32769, &x, sem)), errno::EFAULT);
            assert_eq!(get_nodes(&UserBuf::Words64(&w), 3, &x, sem).unwrap().nbits(), 64);
        }
        assert_eq!(
            get_nodes(&UserBuf::Words32(&[1]), 3, &x, OLD).unwrap_err().kind,
            crate::ErrorKind::Type
        );
    }

    #[test]
    fn i386_maxnode_is_32_bit() {
        let i = arch("i386");
        let w = [0b11u32];
        // 2**32 + 3 is 3 in a 32-bit unsigned long
        assert_eq!(nodes(get_nodes(&UserBuf::Words32(&w), (1 << 32) + 3, &i, OLD)), vec![0, 1]);
        // 2**32 is 0: wraps to ULONG_MAX (0xffffffff) -> EINVAL
        assert_eq!(errno_of(get_nodes(&UserBuf::Words32(&w), 1 << 32, &i, OLD)), errno::EINVAL);
    }

    #[test]
    fn high_words_2616_vs_modern() {
        let x = arch("x86_64");
        // spec §1.2.3 example: maxnode 101 (100 bits), bit 110 set
        let w = [1u64, 1 << (110 - 64)];
        assert_eq!(nodes(get_nodes(&UserBuf::Words64(&w), 101, &x, OLD)), vec![0]);
        assert_eq!(errno_of(get_nodes(&UserBuf::Words64(&w), 101, &x, NEW)), errno::EINVAL);
        // bit 99 set: both reject
        let w = [1u64, 1 << (99 - 64)];
        assert_eq!(errno_of(get_nodes(&UserBuf::Words64(&w), 101, &x, OLD)), errno::EINVAL);
        assert_eq!(errno_of(get_nodes(&UserBuf::Words64(&w), 101, &x, NEW)), errno::EINVAL);
        // order: 2.6.16 reads high words low to high, so a set word 1 wins over a fault at word 2
        let w = [0u64, 1];
        assert_eq!(errno_of(get_nodes(&UserBuf::Words64(&w), 193, &x, OLD)), errno::EINVAL);
        // 6.x starts at the top word: the fault comes first
        assert_eq!(errno_of(get_nodes(&UserBuf::Words64(&w), 193, &x, NEW)), errno::EFAULT);
    }

    #[test]
    fn i386_bits_inside_last_supported_word() {
        let i = arch("i386"); // 32-bit words, MAX_NUMNODES 16
        let w = [1u32 | 1 << 20];
        // 2.6.16 §1.1.8: bit 20 is inside word 0, stored but ignored
        assert_eq!(nodes(get_nodes(&UserBuf::Words32(&w), 33, &i, OLD)), vec![0]);
        // 6.x §1.2.3(a): rejected
        assert_eq!(errno_of(get_nodes(&UserBuf::Words32(&w), 33, &i, NEW)), errno::EINVAL);
    }

    #[test]
    fn to_user_round_trip() {
        for name in ["i386", "x86_64", "ia64"] {
            let a = arch(name);
            let m = NodeMask::from_nodes([0, 3, i64::from(a.max_numnodes()) - 1], a.max_numnodes())
                .unwrap();
            let maxnode = u64::from(a.max_numnodes()) + 1;
            let words = to_user(&m, maxnode, &a).unwrap();
            let back = match &words {
                UserWords::Words32(w) => get_nodes(&UserBuf::Words32(w), maxnode, &a, OLD),
                UserWords::Words64(w) => get_nodes(&UserBuf::Words64(w), maxnode, &a, NEW),
            };
            assert_eq!(back.unwrap(), m);
        }
        let x = arch("x86_64");
        let m = NodeMask::from_nodes([5], 64).unwrap();
        let e = to_user(&m, 6, &x).unwrap_err();
        assert!(e.detail.contains("pass maxnode >= 7"), "{}", e.detail);
        assert_eq!(to_user(&m, 7, &x).unwrap(), UserWords::Words64(vec![1 << 5]));
        assert_eq!(
            to_user(&NodeMask::empty(64).unwrap(), 1, &x).unwrap(),
            UserWords::Words64(vec![])
        );
        assert!(to_user(&NodeMask::from_nodes([64], 128).unwrap(), 100, &x).is_err());
    }
}
