//! NUMA topology: nodes, their memory and CPUs, SLIT distances, node states, zonelists.

use crate::arch::ArchProfile;
use crate::error::{Error, Result};
use crate::host::bounded_u32;
use crate::mempolicy::{build_all_zonelists_interruptible, NumaTopology};
use crate::nodemask::NodeMask;
use crate::semantics::Semantics;
use serde::{Deserialize, Serialize};

/// One node as the user describes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeSpec {
    pub nid: u32,
    pub mem_bytes: u64,
    /// Global CPU numbers on this node (may be empty: a CPU-less memory node).
    pub cpus: Vec<u32>,
}

/// LOCAL_DISTANCE and REMOTE_DISTANCE (include/linux/topology.h).
pub const LOCAL_DISTANCE: u32 = 10;
pub const REMOTE_DISTANCE: u32 = 20;

/// The checked node list of [`Topology::sorted_nodes`].
struct SortedNodes {
    /// The index in `specs` of each node, in nid order.
    order: Vec<usize>,
    /// nid -> index into `nodes`.
    index: Vec<Option<usize>>,
    /// The nodes sorted by nid.
    nodes: Vec<NodeSpec>,
}

/// A CPU number no node lists (a hole in cpu_present_mask).
pub const NO_CPU: u32 = u32::MAX;
/// CPU numbers are below this (the kernel's NR_CPUS is at most 8192).
pub const MAX_CPU_ID: u32 = 1 << 16;

#[derive(Clone, Serialize, Deserialize)]
pub struct Topology {
    /// Nodes sorted by nid.
    pub nodes: Vec<NodeSpec>,
    /// nid -> index into `nodes`.
    index: Vec<Option<usize>>,
    /// SLIT, by node index.
    dist: Vec<Vec<u32>>,
    cpu_node: Vec<u32>,
    /// node_possible_map / node_online_map: every configured node (no hotplug modelled).
    pub possible: NodeMask,
    pub online: NodeMask,
    /// N_MEMORY (N_HIGH_MEMORY in 2.6.2x): nodes with memory.
    pub n_memory: NodeMask,
    /// N_CPU: nodes with CPUs.
    pub n_cpu: NodeMask,
    /// Per node id: nodes with memory in fallback order (the node's zonelist).
    pub zonelists: Vec<Vec<u32>>,
}

impl Topology {
    /// The topology of the user's node list, built in boot's order: the nodes (as the SRAT
    /// lists them), the cpu -> node map, the SLIT, the node states, then the zonelists.
    pub fn new(
        arch: &ArchProfile,
        sem: Semantics,
        specs: &[NodeSpec],
        dist: Option<&[Vec<u32>]>,
    ) -> Result<Topology> {
        let max = arch.max_numnodes();
        let SortedNodes { order, index, nodes } = Self::sorted_nodes(arch, specs)?;
        let cpu_node = Self::cpu_to_node_map(&nodes)?;
        let dist = Self::slit(specs, &order, dist)?;
        // The node states (node_states[], include/linux/nodemask.h).
        let nids = nodes.iter().map(|n| i64::from(n.nid));
        let possible = NodeMask::from_nodes(nids, max)?;
        let online = possible.clone();
        let n_memory = NodeMask::from_nodes(
            nodes.iter().filter(|n| n.mem_bytes > 0).map(|n| i64::from(n.nid)),
            max,
        )?;
        let n_cpu = NodeMask::from_nodes(
            nodes.iter().filter(|n| !n.cpus.is_empty()).map(|n| i64::from(n.nid)),
            max,
        )?;
        let mut t = Topology {
            nodes,
            index,
            dist,
            cpu_node,
            possible,
            online,
            n_memory,
            n_cpu,
            zonelists: Vec::new(),
        };
        // build_all_zonelists() of the machine's generation (mempolicy.rs has the details).
        let dist = |a: u32, b: u32| t.distance(a, b).unwrap_or(REMOTE_DISTANCE);
        let nt = NumaTopology {
            possible: &t.possible,
            online: &t.online,
            with_memory: &t.n_memory,
            with_cpus: &t.n_cpu,
            distance: &dist,
            max_numnodes: max,
        };
        let zl = build_all_zonelists_interruptible(sem, &nt)?;
        t.zonelists = zl;
        Ok(t)
    }

    /// The nodes as firmware would list them (the SRAT's memory affinity entries), checked: at
    /// least one, at most MAX_NUMNODES, each nid below MAX_NUMNODES and listed once, memory in
    /// whole pages.
    fn sorted_nodes(arch: &ArchProfile, specs: &[NodeSpec]) -> Result<SortedNodes> {
        let max = arch.max_numnodes();
        if specs.is_empty() {
            return Err(Error::value("a machine needs at least one node"));
        }
        if specs.len() as u64 > u64::from(max) {
            return Err(Error::value(format!(
                "{} nodes requested but {} supports at most MAX_NUMNODES = {max} \
                 (use arch(...).with_nodes_shift(n) for a bigger kernel)",
                specs.len(),
                arch.name
            )));
        }
        let mut order: Vec<usize> = (0..specs.len()).collect();
        order.sort_by_key(|&i| specs[i].nid);
        let mut index = vec![None; max as usize];
        let mut nodes = Vec::with_capacity(specs.len());
        for (k, &i) in order.iter().enumerate() {
            let s = &specs[i];
            if s.nid >= max {
                return Err(Error::value(format!(
                    "node {} is out of range: {} has MAX_NUMNODES = {max} (node ids 0..{})",
                    s.nid,
                    arch.name,
                    max - 1
                )));
            }
            if index[s.nid as usize].is_some() {
                return Err(Error::value(format!("node {} is listed twice", s.nid)));
            }
            if s.mem_bytes % arch.page_size() != 0 {
                return Err(Error::value(format!(
                    "node {}: memory {} bytes is not a multiple of the page size {}",
                    s.nid,
                    s.mem_bytes,
                    arch.page_size()
                )));
            }
            index[s.nid as usize] = Some(k);
            nodes.push(s.clone());
        }
        Ok(SortedNodes { order, index, nodes })
    }

    /// The cpu -> node map (cpu_to_node()), indexed by CPU number up to the highest
    /// (nr_cpu_ids): each CPU on exactly one node, at least one CPU. Numbers may have holes
    /// (CPUs offline or absent, as on real machines: cpu_present_mask is not contiguous);
    /// a hole maps to [`NO_CPU`].
    fn cpu_to_node_map(nodes: &[NodeSpec]) -> Result<Vec<u32>> {
        let Some(top) = nodes.iter().flat_map(|n| n.cpus.iter().copied()).max() else {
            return Err(Error::value("the machine needs at least one CPU"));
        };
        if top >= MAX_CPU_ID {
            // NR_CPUS is at most 8192 (x86_64 MAXSMP); the map is dense up to the highest id.
            return Err(Error::value(format!("cpu {top}: cpu numbers must be below {MAX_CPU_ID}")));
        }
        let mut cpu_node = vec![NO_CPU; top as usize + 1];
        for n in nodes {
            for &c in &n.cpus {
                if cpu_node[c as usize] != NO_CPU {
                    return Err(Error::value(format!(
                        "cpu {c} is listed on node {} and node {}: each cpu belongs to exactly \
                         one node",
                        cpu_node[c as usize], n.nid
                    )));
                }
                cpu_node[c as usize] = n.nid;
            }
        }
        Ok(cpu_node)
    }

    /// The SLIT (acpi_numa_slit_init() and slit_valid(), arch/x86_64/mm/srat.c) by node index
    /// in nid order: the user's matrix, given in the user's node order, reordered; without one,
    /// LOCAL_DISTANCE on the diagonal and REMOTE_DISTANCE elsewhere.
    fn slit(
        specs: &[NodeSpec],
        order: &[usize],
        dist: Option<&[Vec<u32>]>,
    ) -> Result<Vec<Vec<u32>>> {
        Ok(match dist {
            None => (0..order.len())
                .map(|i| {
                    (0..order.len())
                        .map(|j| if i == j { LOCAL_DISTANCE } else { REMOTE_DISTANCE })
                        .collect()
                })
                .collect(),
            Some(d) => {
                // The matrix is given in the user's node order; reorder it by nid.
                if d.len() != specs.len() || d.iter().any(|r| r.len() != specs.len()) {
                    return Err(Error::value(format!(
                        "distances must be a {n}x{n} matrix (one row and column per node)",
                        n = specs.len()
                    )));
                }
                let mut out = vec![vec![0; order.len()]; order.len()];
                for (a, &i) in order.iter().enumerate() {
                    // N^2 entries: 1M on a 1024-node machine.
                    crate::interrupt::check()?;
                    for (b, &j) in order.iter().enumerate() {
                        let v = d[i][j];
                        // slit_valid() (arch/x86_64/mm/srat.c): 10 on the diagonal only.
                        let ok = if i == j { v == LOCAL_DISTANCE } else { v > LOCAL_DISTANCE };
                        if !ok || v > 255 {
                            return Err(Error::value(format!(
                                "distance from node {} to node {} is {v}: SLIT entries are 10 \
                                 on the diagonal and 11..255 elsewhere",
                                specs[i].nid, specs[j].nid
                            )));
                        }
                        out[a][b] = v;
                    }
                }
                out
            }
        })
    }

    /// nr_cpu_ids: one more than the highest CPU number (holes included).
    pub fn nr_cpus(&self) -> u32 {
        bounded_u32(self.cpu_node.len()) // Topology::new() accepts ids below MAX_CPU_ID
    }
    /// cpu_present(): a CPU number that is not a hole.
    pub fn cpu_present(&self, cpu: u32) -> bool {
        self.cpu_node.get(cpu as usize).is_some_and(|&n| n != NO_CPU)
    }
    /// The present CPUs, ascending.
    pub fn present_cpus(&self) -> impl Iterator<Item = u32> + '_ {
        (0..self.nr_cpus()).filter(|&c| self.cpu_present(c))
    }
    pub fn cpu_to_node(&self, cpu: u32) -> u32 {
        self.cpu_node[cpu as usize]
    }
    pub fn node(&self, nid: u32) -> Option<&NodeSpec> {
        self.index.get(nid as usize).copied().flatten().map(|i| &self.nodes[i])
    }
    pub fn has_node(&self, nid: u32) -> bool {
        self.node(nid).is_some()
    }
    /// node_distance(a, b) from the SLIT.
    pub fn distance(&self, a: u32, b: u32) -> Option<u32> {
        let i = self.index.get(a as usize).copied().flatten()?;
        let j = self.index.get(b as usize).copied().flatten()?;
        Some(self.dist[i][j])
    }
    /// The fallback order for allocations preferring `nid`.
    pub fn zonelist(&self, nid: u32) -> &[u32] {
        self.zonelists.get(nid as usize).map_or(&[], Vec::as_slice)
    }
    /// The nodes cpusets are made of: node_online_map in 2.6 (V5, 2.6.16), N_MEMORY in 6.x.
    pub fn cpuset_nodes(&self, sem: Semantics) -> &NodeMask {
        if sem == Semantics::Modern {
            &self.n_memory
        } else {
            &self.online
        }
    }

    pub fn max_numnodes(&self) -> u32 {
        self.possible.nbits()
    }
}
