//! Swap devices (swap_info_struct) and the swap cache (swapper_space).
//!
//! Each device has a slot map of use counts (swap_map) and, per slot, the content stamp that was
//! written there. Slot 0 holds the swap header and is never handed out. A slot's count is the
//! number of swap PTEs that name it plus one while the page is in the swap cache, as in 2.6.16
//! (get_swap_page starts it at 1 for the cache; swap_duplicate adds one per PTE).

use crate::error::{errno, Error, Result};
use crate::host::{bounded_u32, to_usize};
use crate::pagetable::pte;
use serde::{Deserialize, Serialize};

/// Largest number of swap devices (MAX_SWAPFILES is 32 in 2.6.16; type 31 is kept for migration
/// entries here, as 2.6.18 carves SWP_MIGRATION types out of the top).
pub const MAX_SWAPFILES: usize = 31;

/// A swap entry: (type, offset), packed as type << 58 | offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SwpEntry(pub u64);

impl SwpEntry {
    pub fn new(swp_type: u32, offset: u64) -> SwpEntry {
        SwpEntry((u64::from(swp_type) << 58) | offset)
    }
    pub fn swp_type(self) -> u32 {
        (self.0 >> 58) as u32
    }
    pub fn offset(self) -> u64 {
        self.0 & ((1 << 58) - 1)
    }
    /// pte_to_swp_entry() (include/linux/swapops.h): the entry a swap PTE names.
    #[inline]
    pub fn from_pte(p: u64) -> SwpEntry {
        SwpEntry::new(pte::swp_type(p), pte::swp_offset(p))
    }
    /// swp_entry_to_pte(): the swap PTE that names this entry.
    #[inline]
    pub fn to_pte(self) -> u64 {
        pte::mk_swap(self.swp_type(), self.offset())
    }
}

/// Slots per lazily allocated piece of a swap map: 16 clusters of SWAPFILE_CLUSTER (256, 2.6.16
/// mm/swapfile.c). A device keeps one pointer per piece, so even a device of 2^32 slots costs
/// 8 MiB until it is used, where the kernel's swap_map is one byte per slot from swapon on.
pub const SWAP_CHUNK_SHIFT: u32 = 12;
const SWAP_CHUNK: usize = 1 << SWAP_CHUNK_SHIFT;

/// One piece of a device's slot map: the use count, the written content and the swap-cache
/// page (pfn + 1, 0 for none: the radix tree of swapper_space) of each slot. Dense, so the swap
/// cache costs no hashing on the swap-in and migration paths.
#[derive(Clone, Serialize, Deserialize)]
struct SwapChunk {
    #[serde(with = "crate::machine::snapshot::raw")]
    map: Box<[u16]>,
    #[serde(with = "crate::machine::snapshot::raw")]
    stamp: Box<[u32]>,
    #[serde(with = "crate::machine::snapshot::raw")]
    cache: Box<[u64]>,
}

#[derive(Clone, Serialize, Deserialize)]
pub struct SwapDevice {
    pub name: String,
    pub prio: i32,
    /// Number of slots including the header slot 0 (the device size in pages).
    pub pages: u64,
    /// The slot map in pieces of SWAP_CHUNK slots, each made on the first use of one of its
    /// slots: a piece never used holds only free slots (count 0) whose content nobody reads.
    chunks: Vec<Option<SwapChunk>>,
    /// Slots in use (count > 0), header excluded.
    pub inuse: u64,
    /// Where the next allocation scan starts (scan_swap_map's cluster_next).
    cursor: u64,
}

impl SwapDevice {
    fn new(name: &str, pages: u64, prio: i32) -> Result<SwapDevice> {
        let n = pages.div_ceil(SWAP_CHUNK as u64);
        let mut chunks = Vec::new();
        // sys_swapon vmalloc()s the swap_map and fails with ENOMEM when it cannot.
        usize::try_from(n).ok().and_then(|n| chunks.try_reserve_exact(n).ok()).ok_or_else(
            || {
                Error::os(
                    errno::ENOMEM,
                    format!("swapon {name}: no memory for the slot map of {pages} pages"),
                )
            },
        )?;
        chunks.resize_with(to_usize(n), || None);
        Ok(SwapDevice { name: name.to_string(), prio, pages, chunks, inuse: 0, cursor: 1 })
    }
    /// Usable slots (the header page is not one).
    pub fn slots(&self) -> u64 {
        self.pages.saturating_sub(1)
    }
    /// swap_map count of a slot (0 for a slot of a piece never used).
    #[inline]
    pub fn count(&self, offset: u64) -> u16 {
        match &self.chunks[to_usize(offset >> SWAP_CHUNK_SHIFT)] {
            Some(c) => c.map[to_usize(offset) & (SWAP_CHUNK - 1)],
            None => 0,
        }
    }
    /// The piece holding `offset`, made if this is its first use.
    #[inline]
    fn chunk_mut(&mut self, offset: u64) -> &mut SwapChunk {
        self.chunks[to_usize(offset >> SWAP_CHUNK_SHIFT)].get_or_insert_with(Self::new_chunk)
    }
    #[cold]
    fn new_chunk() -> SwapChunk {
        SwapChunk {
            map: vec![0; SWAP_CHUNK].into_boxed_slice(),
            stamp: vec![0; SWAP_CHUNK].into_boxed_slice(),
            cache: vec![0; SWAP_CHUNK].into_boxed_slice(),
        }
    }
    /// The count of a slot in use (its piece exists), for swap_duplicate and swap_free.
    #[inline]
    fn count_in_use(&mut self, offset: u64) -> Option<&mut u16> {
        let c = self.chunks[to_usize(offset >> SWAP_CHUNK_SHIFT)].as_mut()?;
        Some(&mut c.map[to_usize(offset) & (SWAP_CHUNK - 1)])
    }
    /// Whether any slot in [lo, hi) lies in a piece of the map that was ever made (a piece
    /// never made holds only free slots).
    pub fn has_pieces_in(&self, lo: u64, hi: u64) -> bool {
        if lo >= hi {
            return false;
        }
        let (a, b) = (to_usize(lo >> SWAP_CHUNK_SHIFT), to_usize((hi - 1) >> SWAP_CHUNK_SHIFT));
        self.chunks
            .get(a..=b.min(self.chunks.len().saturating_sub(1)))
            .is_some_and(|c| c.iter().any(Option::is_some))
    }
    fn stamp(&self, offset: u64) -> u32 {
        match &self.chunks[to_usize(offset >> SWAP_CHUNK_SHIFT)] {
            Some(c) => c.stamp[to_usize(offset) & (SWAP_CHUNK - 1)],
            None => 0,
        }
    }
    /// The swap-cache page of a slot, pfn + 1 (0: none).
    #[inline]
    fn cached(&self, offset: u64) -> u64 {
        match self.chunks.get(to_usize(offset >> SWAP_CHUNK_SHIFT)) {
            Some(Some(c)) => c.cache[to_usize(offset) & (SWAP_CHUNK - 1)],
            _ => 0,
        }
    }
    /// Every (offset, pfn) of the swap cache on this device, in offset order.
    fn cached_pages(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.chunks.iter().enumerate().filter_map(|(k, c)| c.as_ref().map(|c| (k, c))).flat_map(
            |(k, c)| {
                c.cache
                    .iter()
                    .enumerate()
                    .filter(|(_, &p)| p != 0)
                    .map(move |(i, &p)| (((k << SWAP_CHUNK_SHIFT) + i) as u64, p - 1))
            },
        )
    }
    /// Every slot in use with its count, in offset order (only the pieces ever used are read).
    fn used(&self) -> impl Iterator<Item = (u64, u16)> + '_ {
        self.chunks.iter().enumerate().filter_map(|(k, c)| c.as_ref().map(|c| (k, c))).flat_map(
            |(k, c)| {
                c.map
                    .iter()
                    .enumerate()
                    .filter(|(_, &n)| n > 0)
                    .map(move |(i, &n)| (((k << SWAP_CHUNK_SHIFT) + i) as u64, n))
            },
        )
    }
}

/// Frames per piece of the page_private table (the simulator's memory sections, 128 MiB).
const PRIVATE_SHIFT: u32 = 15;
const PRIVATE_CHUNK: usize = 1 << PRIVATE_SHIFT;

/// All swap devices plus the swap cache.
///
/// The swap cache is two dense tables (no hashing on the hot paths): entry -> page in the slot
/// map (swapper_space's radix tree) and page -> entry (page_private) in pieces of
/// PRIVATE_CHUNK frames made the first time a page of that range joins the swap cache.
#[derive(Default, Clone, Serialize, Deserialize)]
pub struct Swap {
    pub devices: Vec<SwapDevice>,
    /// page_private of swap-cache pages: the entry of each frame (0: not in the swap cache),
    /// in pieces indexed by pfn >> PRIVATE_SHIFT.
    private: Vec<Option<Box<[u64]>>>,
    /// Pages in the swap cache.
    cached: usize,
}

impl Swap {
    /// swapon: adds a device of `pages` pages (the first page is the header).
    pub fn add_device(&mut self, name: &str, pages: u64, prio: i32) -> Result<u32> {
        if self.devices.len() >= MAX_SWAPFILES {
            return Err(Error::os(
                errno::EPERM,
                format!("swapon {name}: already {MAX_SWAPFILES} swap devices"),
            ));
        }
        if pages < 2 {
            return Err(Error::os(
                errno::EINVAL,
                format!("swapon {name}: a swap area needs at least 2 pages, got {pages}"),
            ));
        }
        self.devices.push(SwapDevice::new(name, pages, prio)?);
        // At most MAX_SWAPFILES devices (checked above).
        Ok(bounded_u32(self.devices.len() - 1))
    }

    /// total_swap_pages.
    pub fn total_slots(&self) -> u64 {
        self.devices.iter().map(SwapDevice::slots).sum()
    }
    /// nr_swap_pages: free slots.
    pub fn free_slots(&self) -> u64 {
        self.devices.iter().map(|d| d.slots() - d.inuse).sum()
    }
    /// vm_swap_full(): more than half of swap is in use (mm/swap_state.c, 2.6.16).
    pub fn vm_swap_full(&self) -> bool {
        self.free_slots() * 2 < self.total_slots()
    }

    /// get_swap_page: one free slot, highest-priority device first, scanning from the device's
    /// cursor (scan_swap_map). The slot starts with count 1: the swap cache's reference.
    pub fn get_swap_page(&mut self) -> Option<SwpEntry> {
        // No allocation: this runs once per page swapped or migrated through the swap cache.
        let n = self.devices.len();
        if n == 1 {
            return Self::scan_swap_map(&mut self.devices[0], 0);
        }
        let mut order = [0u8; MAX_SWAPFILES];
        // MAX_SWAPFILES (31) entries: every one gets its own u8.
        for (i, o) in (0u8..).zip(&mut order[..n]) {
            *o = i;
        }
        if n > 1 {
            order[..n].sort_by_key(|&i| (-self.devices[i as usize].prio, i));
        }
        for &i in &order[..n] {
            if let Some(e) = Self::scan_swap_map(&mut self.devices[i as usize], u32::from(i)) {
                return Some(e);
            }
        }
        None
    }

    /// scan_swap_map(): the first free slot at or after the device's cursor, wrapping once to
    /// slot 1, looked for a piece of the map at a time (a piece never used is all free).
    fn scan_swap_map(d: &mut SwapDevice, swp_type: u32) -> Option<SwpEntry> {
        if d.inuse >= d.slots() {
            return None;
        }
        let n = d.pages;
        let mut off = if d.cursor >= n { 1 } else { d.cursor };
        // The common case first: the slot at the cursor is free (slots are handed out in order).
        let slot = &mut d.chunks[to_usize(off >> SWAP_CHUNK_SHIFT)]
            .get_or_insert_with(SwapDevice::new_chunk)
            .map[to_usize(off) & (SWAP_CHUNK - 1)];
        if *slot == 0 {
            *slot = 1;
            d.inuse += 1;
            d.cursor = off + 1;
            return Some(SwpEntry::new(swp_type, off));
        }
        // Slots still to look at: every one once, from the cursor round to just before it.
        let mut left = n - 1;
        while left > 0 {
            let k = to_usize(off >> SWAP_CHUNK_SHIFT);
            let base = (k as u64) << SWAP_CHUNK_SHIFT;
            let end = (base + SWAP_CHUNK as u64).min(n).min(off + left);
            let free = match &d.chunks[k] {
                None => Some(off),
                Some(c) => c.map[to_usize(off - base)..to_usize(end - base)]
                    .iter()
                    .position(|&x| x == 0)
                    .map(|i| off + i as u64),
            };
            if let Some(o) = free {
                d.chunk_mut(o).map[to_usize(o) & (SWAP_CHUNK - 1)] = 1;
                d.inuse += 1;
                d.cursor = o + 1;
                return Some(SwpEntry::new(swp_type, o));
            }
            left -= end - off;
            off = if end >= n { 1 } else { end };
        }
        None
    }

    fn dev(&self, e: SwpEntry) -> &SwapDevice {
        &self.devices[e.swp_type() as usize]
    }
    fn dev_mut(&mut self, e: SwpEntry) -> &mut SwapDevice {
        &mut self.devices[e.swp_type() as usize]
    }

    /// True if `e` names an allocated slot of an existing device.
    pub fn valid(&self, e: SwpEntry) -> bool {
        self.devices
            .get(e.swp_type() as usize)
            .is_some_and(|d| e.offset() > 0 && e.offset() < d.pages && d.count(e.offset()) > 0)
    }

    /// swap_map count of a slot.
    #[inline]
    pub fn count(&self, e: SwpEntry) -> u16 {
        self.dev(e).count(e.offset())
    }

    /// swap_duplicate: one more reference (a PTE now names the slot).
    #[inline]
    pub fn dup(&mut self, e: SwpEntry) {
        let c = self.dev_mut(e).count_in_use(e.offset());
        debug_assert!(c.as_ref().is_some_and(|c| **c > 0), "swap_duplicate of a free slot");
        if let Some(c) = c {
            *c += 1;
        }
    }

    /// swap_free: drops one reference; the slot is free again at zero.
    #[inline]
    pub fn put(&mut self, e: SwpEntry) {
        let d = self.dev_mut(e);
        let Some(c) = d.count_in_use(e.offset()).filter(|c| **c > 0) else {
            debug_assert!(false, "swap_free of a free slot");
            return;
        };
        *c -= 1;
        if *c == 0 {
            // The slot's old content is not cleared: nothing reads a free slot, and the next
            // swap_writepage() overwrites it.
            d.inuse -= 1;
        }
    }

    /// The content written to a slot.
    #[inline]
    pub fn stamp(&self, e: SwpEntry) -> u32 {
        self.dev(e).stamp(e.offset())
    }
    /// swap_writepage: the page's content reaches the slot.
    #[inline]
    pub fn write(&mut self, e: SwpEntry, stamp: u32) {
        let off = e.offset();
        self.dev_mut(e).chunk_mut(off).stamp[to_usize(off) & (SWAP_CHUNK - 1)] = stamp;
    }

    /// lookup_swap_cache.
    #[inline]
    pub fn lookup(&self, e: SwpEntry) -> Option<u64> {
        let p = self.devices.get(e.swp_type() as usize)?.cached(e.offset());
        (p != 0).then(|| p - 1)
    }
    /// The swap entry a swap-cache page caches (page_private).
    #[inline]
    pub fn entry_of(&self, pfn: u64) -> Option<SwpEntry> {
        let piece = self.private.get(to_usize(pfn >> PRIVATE_SHIFT))?.as_deref()?;
        let e = piece[to_usize(pfn) & (PRIVATE_CHUNK - 1)];
        (e != 0).then_some(SwpEntry(e))
    }
    #[inline]
    fn private_mut(&mut self, pfn: u64) -> &mut u64 {
        let k = to_usize(pfn >> PRIVATE_SHIFT);
        if k >= self.private.len() {
            self.private.resize_with(k + 1, || None);
        }
        let piece =
            self.private[k].get_or_insert_with(|| vec![0; PRIVATE_CHUNK].into_boxed_slice());
        &mut piece[to_usize(pfn) & (PRIVATE_CHUNK - 1)]
    }
    /// The cache slot of an entry whose slot is in use (its piece exists).
    #[inline]
    fn cache_slot(&mut self, e: SwpEntry) -> &mut u64 {
        let off = e.offset();
        &mut self.dev_mut(e).chunk_mut(off).cache[to_usize(off) & (SWAP_CHUNK - 1)]
    }
    /// add_to_swap_cache (the slot reference is the caller's).
    pub fn cache_insert(&mut self, e: SwpEntry, pfn: u64) {
        debug_assert_ne!(e.0, 0, "entry 0 is the header slot");
        let slot = self.cache_slot(e);
        let new = *slot == 0;
        *slot = pfn + 1;
        if new {
            self.cached += 1;
        }
        *self.private_mut(pfn) = e.0;
    }
    /// __delete_from_swap_cache; the caller drops the slot reference.
    pub fn cache_remove(&mut self, pfn: u64) -> Option<SwpEntry> {
        let e = self.entry_of(pfn)?;
        *self.private_mut(pfn) = 0;
        let slot = self.cache_slot(e);
        let was = *slot != 0;
        *slot = 0;
        if was {
            self.cached -= 1;
        }
        Some(e)
    }
    /// Moves a swap-cache entry to a new page (migrate_page's radix-tree slot replacement).
    pub fn cache_replace(&mut self, old_pfn: u64, new_pfn: u64) {
        if let Some(e) = self.entry_of(old_pfn) {
            *self.private_mut(old_pfn) = 0;
            *self.private_mut(new_pfn) = e.0;
            *self.cache_slot(e) = new_pfn + 1;
        }
    }
    /// Number of pages in the swap cache.
    pub fn cache_pages(&self) -> usize {
        self.cached
    }
    /// Every (entry, pfn) of the swap cache, for invariant checks.
    pub fn cache_iter(&self) -> impl Iterator<Item = (SwpEntry, u64)> + '_ {
        self.devices
            .iter()
            .zip(0u32..) // at most MAX_SWAPFILES devices
            .flat_map(|(d, t)| d.cached_pages().map(move |(o, p)| (SwpEntry::new(t, o), p)))
    }

    /// valid_swaphandles (mm/swapfile.c, 2.6.16): the aligned cluster of 2^page_cluster slots
    /// around `e` (slot 0 skipped), cut at the first slot not in use. Returns (first offset, n);
    /// n = 0 when page_cluster is 0 ("no readahead").
    pub fn readahead_cluster(&self, e: SwpEntry, page_cluster: u32) -> (u64, u64) {
        if page_cluster == 0 {
            return (e.offset(), 0);
        }
        let d = self.dev(e);
        let mut off = (e.offset() >> page_cluster) << page_cluster;
        let mut n = 1u64 << page_cluster;
        if off == 0 {
            off = 1;
            n -= 1;
        }
        let mut ok = 0;
        while ok < n && off + ok < d.pages && d.count(off + ok) > 0 {
            ok += 1;
        }
        (off, ok)
    }

    /// The swap devices' own bookkeeping, part of the "swap" area of `Machine::check()`: the
    /// header slot is never in use, each device's `inuse` (swap_info_struct.inuse_pages) counts
    /// its used slots, and the swap cache and page_private are inverse maps whose entries name
    /// slots in use (a cached slot holds the cache's reference). Interruptible.
    pub fn check(&self) -> Result<()> {
        use crate::machine::check::area::SWAP;
        for (t, d) in self.devices.iter().enumerate() {
            if d.chunks.len() as u64 != d.pages.div_ceil(SWAP_CHUNK as u64) {
                return Err(Error::invariant(
                    SWAP,
                    format!(
                        "swap device {t} ({}): {} map pieces for {} pages",
                        d.name,
                        d.chunks.len(),
                        d.pages
                    ),
                ));
            }
            if d.count(0) != 0 {
                return Err(Error::invariant(
                    SWAP,
                    format!("swap device {t} ({}): the header slot 0 is in use", d.name),
                ));
            }
            let mut used = 0u64;
            for (i, (off, _)) in d.used().enumerate() {
                if i % 0x8000 == 0 {
                    crate::interrupt::check()?;
                }
                if off >= d.pages {
                    return Err(Error::invariant(
                        SWAP,
                        format!(
                            "swap device {t} ({}): slot {off} beyond its {} pages",
                            d.name, d.pages
                        ),
                    ));
                }
                used += 1;
            }
            if used != d.inuse {
                return Err(Error::invariant(
                    SWAP,
                    format!(
                        "swap device {t} ({}): inuse {} but {used} slots have a count",
                        d.name, d.inuse
                    ),
                ));
            }
        }
        let mut cached = 0usize;
        for (e, pfn) in self.cache_iter() {
            if cached % 0x8000 == 0 {
                crate::interrupt::check()?;
            }
            cached += 1;
            if self.entry_of(pfn) != Some(e) || !self.valid(e) {
                return Err(Error::invariant(
                    SWAP,
                    format!(
                        "swap cache entry {}:{} -> pfn {pfn:#x}: the page names {} back, or the \
                         slot is not in use",
                        e.swp_type(),
                        e.offset(),
                        match self.entry_of(pfn) {
                            Some(b) => format!("{}:{}", b.swp_type(), b.offset()),
                            None => "no entry".into(),
                        }
                    ),
                ));
            }
        }
        if cached != self.cached {
            return Err(Error::invariant(
                SWAP,
                format!("the swap cache counts {} pages but holds {cached}", self.cached),
            ));
        }
        // Each cache entry has its page_private twin, so equal counts leave no stray one.
        let private = self.private.iter().flatten().map(|p| p.iter().filter(|&&e| e != 0).count());
        let private: usize = private.sum();
        if private != cached {
            return Err(Error::invariant(
                SWAP,
                format!(
                    "{private} pages name a swap entry (page_private) but the swap cache holds \
                     {cached}"
                ),
            ));
        }
        Ok(())
    }

    /// Every allocated slot with its count, for invariant checks.
    pub fn used_slots(&self) -> impl Iterator<Item = (SwpEntry, u16)> + '_ {
        self.devices
            .iter()
            .zip(0u32..) // at most MAX_SWAPFILES devices
            .flat_map(|(d, t)| d.used().map(move |(o, c)| (SwpEntry::new(t, o), c)))
    }
}

/// A byte count for messages in binary units: "64 TiB", "about 16.0 TiB", "4095 bytes".
pub(crate) fn bytes_text(n: u64) -> String {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let Some(k) = (0..UNITS.len()).rev().find(|&k| n >> (10 * (k + 1)) > 0) else {
        return format!("{n} bytes");
    };
    let shift = 10 * (k + 1);
    if n & ((1u64 << shift) - 1) == 0 {
        format!("{} {}", n >> shift, UNITS[k])
    } else if k == 0 {
        format!("{n} bytes")
    } else {
        format!("about {:.1} {}", n as f64 / (1u64 << shift) as f64, UNITS[k])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_and_counts() {
        let mut s = Swap::default();
        s.add_device("sda2", 9, 0).unwrap();
        assert_eq!(s.total_slots(), 8);
        let e = s.get_swap_page().unwrap();
        assert_eq!(e.offset(), 1);
        s.dup(e);
        assert_eq!(s.count(e), 2);
        s.put(e);
        s.put(e);
        assert!(!s.valid(e));
        let all: Vec<_> = (0..8).map(|_| s.get_swap_page().unwrap()).collect();
        assert!(s.get_swap_page().is_none());
        assert!(s.vm_swap_full());
        assert_eq!(s.readahead_cluster(all[3], 3), (1, 7));
        assert_eq!(s.readahead_cluster(all[3], 0).1, 0, "page_cluster 0: no readahead");
    }

    #[test]
    fn slot_map_pieces_are_made_on_first_use() {
        let mut s = Swap::default();
        // 2^32 - 1 pages: 2^20 piece pointers, no piece yet.
        s.add_device("big", u64::from(u32::MAX), 0).unwrap();
        let d = &s.devices[0];
        assert_eq!((d.chunks.len(), d.chunks.iter().flatten().count()), (1 << 20, 0));
        assert_eq!((d.count(u64::from(u32::MAX) - 1), s.used_slots().count()), (0, 0));
        // The scan crosses from the first piece into the second.
        s.devices[0].cursor = SWAP_CHUNK as u64 - 1;
        let e1 = s.get_swap_page().unwrap();
        let e2 = s.get_swap_page().unwrap();
        assert_eq!((e1.offset(), e2.offset()), (SWAP_CHUNK as u64 - 1, SWAP_CHUNK as u64));
        s.write(e2, 42);
        s.dup(e2);
        assert_eq!((s.stamp(e2), s.count(e2), s.stamp(e1)), (42, 2, 0));
        assert_eq!(s.used_slots().collect::<Vec<_>>(), vec![(e1, 1), (e2, 2)]);
        assert_eq!(s.devices[0].chunks.iter().flatten().count(), 2);
        assert_eq!(s.readahead_cluster(e2, 3), (SWAP_CHUNK as u64, 1));
        s.put(e1);
        assert!(!s.valid(e1) && s.valid(e2));
        assert_eq!(s.devices[0].inuse, 1);
    }

    #[test]
    fn scan_wraps_once_to_slot_1() {
        let n = 2 * SWAP_CHUNK as u64 + 10;
        let mut s = Swap::default();
        s.add_device("a", n, 0).unwrap();
        let all: Vec<_> = (1..n).map(|_| s.get_swap_page().unwrap()).collect();
        assert_eq!(all.iter().map(|e| e.offset()).collect::<Vec<_>>(), (1..n).collect::<Vec<_>>());
        assert!(s.get_swap_page().is_none());
        // A slot freed behind the cursor (at the end of the device) is found after the wrap.
        s.put(all[SWAP_CHUNK + 3]);
        assert_eq!(s.get_swap_page().unwrap().offset(), SWAP_CHUNK as u64 + 4);
        s.put(all[0]);
        s.put(all[to_usize(n) - 2]);
        assert_eq!(s.get_swap_page().unwrap().offset(), n - 1, "from the cursor on first");
        assert_eq!(s.get_swap_page().unwrap().offset(), 1);
        assert!(s.get_swap_page().is_none());
    }

    #[test]
    fn cache() {
        let mut s = Swap::default();
        s.add_device("a", 100, 0).unwrap();
        let e = s.get_swap_page().unwrap();
        s.cache_insert(e, 77);
        assert_eq!(s.lookup(e), Some(77));
        s.cache_replace(77, 88);
        assert_eq!((s.lookup(e), s.entry_of(88), s.entry_of(77)), (Some(88), Some(e), None));
        assert_eq!(s.cache_remove(88), Some(e));
        assert_eq!(s.cache_pages(), 0);
    }
}
