//! The reverse map (mm/rmap.c): from a frame to the PTEs that map it.
//!
//! An anonymous page records its anon_vma family and linear index: the walk visits each mm of
//! the family and looks at that index (page_referenced_anon / try_to_unmap_anon). A file page
//! records its file and offset: the walk visits each VMA of the file that covers the offset
//! (the i_mmap tree: try_to_unmap_file). No per-page side table is needed.

use super::{Machine, MmId};
use crate::machine::mm::VmFlags;
use crate::pagetable::pte;
use crate::phys::{mapping, pg};

/// One PTE that maps a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rmap {
    pub mm: MmId,
    pub lvpn: u64,
    /// vm_flags of the VMA holding it.
    pub vm_flags: u32,
}

impl Machine {
    /// Every PTE mapping `pfn`, found through the reverse map (not by scanning page tables).
    pub fn rmap_walk(&self, pfn: u64) -> Vec<Rmap> {
        let mut out = Vec::new();
        self.rmap_each(pfn, |r| out.push(r));
        out
    }

    /// Calls `f` for every PTE mapping `pfn`.
    pub fn rmap_each(&self, pfn: u64, mut f: impl FnMut(Rmap)) {
        let m = self.phys.mapping(pfn);
        let flags = self.phys.flags(pfn);
        match mapping::kind(m) {
            mapping::KIND_ANON if flags & pg::ANON != 0 || flags & pg::HUGE != 0 => {
                let lv = mapping::index(m);
                let addr = self.arch.vaddr_of(lv);
                for &mm in &self.families[mapping::id(m) as usize].mms {
                    let p = self.mm(mm).pt.get(lv);
                    if pte::is_present(p) && p & pte::SPECIAL == 0 && pte::pfn(p) == pfn {
                        let vm_flags = self.vma_at(mm, addr).map_or(0, |v| v.flags);
                        f(Rmap { mm, lvpn: lv, vm_flags });
                    }
                }
            }
            mapping::KIND_FILE => {
                let fid = mapping::id(m);
                let idx = mapping::index(m);
                let ps = self.arch.page_shift;
                let Some(Some(file)) = self.files.get(fid as usize) else { return };
                for &(mm, start) in &file.mappers {
                    let Some(v) = self.mm(mm).vmas.get(&start) else { continue };
                    let pages = (v.end - v.start) >> ps;
                    if idx < v.pgoff || idx >= v.pgoff + pages {
                        continue;
                    }
                    let addr = v.start + ((idx - v.pgoff) << ps);
                    let lv = self.arch.lvpn(addr);
                    let p = self.mm(mm).pt.get(lv);
                    if pte::is_present(p) && pte::pfn(p) == pfn {
                        f(Rmap { mm, lvpn: lv, vm_flags: v.flags });
                    }
                }
            }
            _ => {}
        }
    }

    /// True if any mapping of the page is in a VM_LOCKED area (try_to_unmap_one's SWAP_FAIL).
    pub fn mapped_in_locked_vma(&self, pfn: u64) -> bool {
        let mut locked = false;
        self.rmap_each(pfn, |r| locked |= r.vm_flags & VmFlags::LOCKED != 0);
        locked
    }
}
