//! Helpers shared by the core's unit tests.

/// xorshift64*: deterministic test randomness without a dependency.
pub(crate) struct Rng(pub u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// A value in 0..n.
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    /// A value in 0..n, as a u32.
    pub(crate) fn below_u32(&mut self, n: u32) -> u32 {
        u32::try_from(self.below(u64::from(n))).expect("below n fits n's type")
    }
}

/// An x86_64 machine of the given semantics with one node per entry of `node_pages` (that many
/// 4 KiB pages each, CPUs 2n and 2n+1) and `swap_pages` of swap.
pub(crate) fn x86_machine(
    sem: crate::Semantics,
    node_pages: &[u64],
    swap_pages: u64,
) -> crate::machine::Machine {
    use crate::machine::{Config, Machine, NodeSpec};
    let specs = (0u32..)
        .zip(node_pages)
        .map(|(n, &pages)| NodeSpec {
            nid: n,
            mem_bytes: pages * 4096,
            cpus: vec![2 * n, 2 * n + 1],
        })
        .collect();
    Machine::new(Config {
        arch: crate::ArchProfile::builtin("x86_64").expect("built-in arch"),
        semantics: sem,
        nodes: specs,
        distances: None,
        swap_bytes: swap_pages * 4096,
        page_cluster: 3,
        costs: crate::costs::CostModel::default(),
        kernel: None,
    })
    .expect("a valid test machine")
}

/// A private anonymous read-write mapping of `pages` 4 KiB pages for task `pid`.
pub(crate) fn anon(m: &mut crate::machine::Machine, pid: crate::machine::Pid, pages: u64) -> u64 {
    use crate::machine::mm::{mapf, prot};
    let rw = prot::READ | prot::WRITE;
    m.mmap(pid, None, pages * 4096, rw, mapf::PRIVATE | mapf::ANONYMOUS, None, 0)
        .expect("an anonymous test mapping")
}
