//! Typed read-only records of the machine's state: what the Python layer shows as frozen
//! records (`Task.info()`, `Task.vmas()`, `Machine.swap_info()`, ...) and what a system call's
//! checks read ([`SyscallAccess`]). Each is built in one call, under one lock, so it is a
//! consistent snapshot.

use super::mm::VmaKind;
use super::{FileId, Machine, Pid, VmFlags};
use crate::cred::{migrate_uid_rule, ptrace_may_access_read_realcreds};
use crate::error::{Error, Result};
use crate::nodemask::NodeMask;

/// One task's identity, credentials, CPU, cpuset and policy (task_struct + cred).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskInfo {
    pub pid: Pid,
    pub tgid: Pid,
    pub comm: String,
    /// False for a kernel thread.
    pub has_mm: bool,
    pub uid: u32,
    pub euid: u32,
    pub suid: u32,
    pub fsuid: u32,
    pub gid: u32,
    pub egid: u32,
    pub sgid: u32,
    pub fsgid: u32,
    /// Names of the effective capabilities ("CAP_SYS_NICE", ...), ascending.
    pub cap_effective: Vec<&'static str>,
    pub cap_permitted: Vec<&'static str>,
    /// CapEff as /proc/PID/status prints it in 6.x (16 hex digits).
    pub cap_effective_hex: String,
    pub dumpable: bool,
    pub cpu: u32,
    /// numa_node_id() of the task's CPU.
    pub node: u32,
    pub cpuset: String,
    /// The task policy as numa_maps prints it.
    pub policy: String,
    pub mems_allowed: NodeMask,
    /// "native", or "i386" for a 32-bit program on an x86_64 kernel.
    pub abi: &'static str,
}

/// One VMA as /proc/PID/maps and numa_maps describe it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VmaInfo {
    pub start: u64,
    pub end: u64,
    /// Names of the vm_flags set ("read", "write", "shared", "locked", ...).
    pub flags: Vec<&'static str>,
    pub file: Option<String>,
    pub pgoff: u64,
    /// "heap", "stack" or "".
    pub kind: &'static str,
    pub policy: String,
}

/// A file or shmem object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileInfo {
    pub id: FileId,
    pub path: String,
    pub pages: u64,
    pub cached_pages: u64,
    pub shmem: bool,
}

/// The mm counters (get_mm_counter) and the page-table memory of an address space.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MmCounters {
    pub rss_anon: u64,
    pub rss_file: u64,
    pub swap_ents: u64,
    pub pagetable_bytes: u64,
}

/// Where an address space's heap, stack and mmap area start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MmLayout {
    pub start_brk: u64,
    pub brk: u64,
    pub start_stack: u64,
    pub mmap_base: u64,
}

/// A node as configured: its memory and CPUs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeInfo {
    pub nid: u32,
    pub memory_bytes: u64,
    pub cpus: Vec<u32>,
}

/// The kernel's node states (node_states[]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeStates {
    pub possible: NodeMask,
    pub online: NodeMask,
    /// N_MEMORY (N_HIGH_MEMORY in 2.6.2x).
    pub has_memory: NodeMask,
    pub has_cpu: NodeMask,
}

/// Pages of one node with memory: total and free.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NodeUsage {
    pub nid: u32,
    pub total: u64,
    pub free: u64,
    pub used: u64,
}

/// One node's numastat counters (/sys/devices/system/node/nodeN/numastat), in pages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NodeNumaStat {
    pub nid: u32,
    pub numa_hit: u64,
    pub numa_miss: u64,
    pub numa_foreign: u64,
    pub interleave_hit: u64,
    pub local_node: u64,
    pub other_node: u64,
}

/// One swap device, as /proc/swaps lists it (sizes in pages).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SwapDeviceInfo {
    pub name: String,
    pub priority: i32,
    pub pages: u64,
    pub used: u64,
}

/// A cpuset's settings and place in the hierarchy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CpusetInfo {
    pub path: String,
    pub mems: NodeMask,
    pub cpus: NodeMask,
    pub memory_migrate: bool,
    pub parent: Option<String>,
    pub children: Vec<String>,
}

/// The target side of a [`SyscallAccess`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetAccess {
    pub pid: Pid,
    pub uid: u32,
    pub suid: u32,
    /// False for a kernel thread (get_task_mm() == NULL).
    pub has_mm: bool,
    /// cpuset_mems_allowed(task).
    pub mems_allowed: NodeMask,
    /// The sys_migrate_pages uid rule between caller and target (without any capability).
    pub uid_rule: bool,
    /// Why ptrace_may_access(PTRACE_MODE_READ_REALCREDS) refuses, or None if it allows.
    pub ptrace_denied: Option<String>,
}

/// Everything the permission checks of one memory-policy system call read, in one snapshot.
/// `epoch` is the machine's [`Machine::epoch`] when it was taken: the checked request carries
/// it, and the core refuses the work (`Stale`) if credentials, cpusets or tasks changed since,
/// so the checks and the work are atomic with respect to other threads (a seqlock).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyscallAccess {
    pub epoch: u64,
    pub caller: Pid,
    pub caller_uid: u32,
    pub caller_euid: u32,
    /// Names of the caller's effective capabilities.
    pub caller_caps: Vec<&'static str>,
    pub caller_mems_allowed: NodeMask,
    /// The caller's ABI ("native" or "i386"): how the kernel reads its arguments.
    pub caller_abi: &'static str,
    /// None if no task has the pid asked for (ESRCH).
    pub target: Option<TargetAccess>,
}

/// The name of an ABI as the Python layer spells it.
pub fn abi_name(abi: crate::usermask::CallerAbi) -> &'static str {
    match abi {
        crate::usermask::CallerAbi::Native => "native",
        crate::usermask::CallerAbi::Compat32 => "i386",
    }
}

/// An ABI from its name: "native", or "i386" for a 32-bit program on an x86_64 kernel.
pub fn abi_from_name(name: &str) -> Result<crate::usermask::CallerAbi> {
    match name {
        "native" => Ok(crate::usermask::CallerAbi::Native),
        "i386" => Ok(crate::usermask::CallerAbi::Compat32),
        _ => Err(Error::value(format!("unknown abi {name:?}; expected \"native\" or \"i386\""))),
    }
}

impl Machine {
    /// A new value of [`Machine::epoch`]: called by every change a system call's checks read
    /// (tasks appearing or exiting, credentials, capabilities, dumpable, cpusets).
    #[inline]
    pub(crate) fn bump_epoch(&mut self) {
        self.epoch = self.epoch.wrapping_add(1);
    }

    /// Refuses a checked request whose snapshot is out of date.
    pub fn expect_epoch(&self, epoch: u64) -> Result<()> {
        if epoch != self.epoch {
            return Err(Error::stale(format!(
                "the checks ran on machine state {epoch}, which is now {}",
                self.epoch
            )));
        }
        Ok(())
    }

    /// Runs the work of a system call whose checks ran on the snapshot of `epoch`
    /// ([`Machine::syscall_access`]): `Stale` if the machine changed since, so that checks and
    /// work are one atomic step for every other thread (the binding holds the machine lock
    /// across this call).
    pub fn checked<R>(
        &mut self,
        epoch: u64,
        work: impl FnOnce(&mut Self) -> Result<R>,
    ) -> Result<R> {
        self.expect_epoch(epoch)?;
        work(self)
    }

    pub fn task_info(&self, pid: Pid) -> Result<TaskInfo> {
        let t = self.task(pid)?;
        let c = &t.cred;
        Ok(TaskInfo {
            pid: t.pid,
            tgid: t.tgid,
            comm: t.comm.clone(),
            has_mm: t.mm.is_some(),
            uid: c.uid,
            euid: c.euid,
            suid: c.suid,
            fsuid: c.fsuid,
            gid: c.gid,
            egid: c.egid,
            sgid: c.sgid,
            fsgid: c.fsgid,
            cap_effective: c.cap_effective.names(),
            cap_permitted: c.cap_permitted.names(),
            cap_effective_hex: c.cap_effective.to_hex(),
            dumpable: c.dumpable,
            cpu: t.cpu,
            node: self.topo.cpu_to_node(t.cpu),
            cpuset: t.cpuset.clone(),
            policy: self.policy_text(t.policy.as_ref()),
            mems_allowed: self.mems_allowed(pid)?,
            abi: abi_name(t.abi),
        })
    }

    /// The snapshot a system call's checks run on: `caller`'s credentials and mems, and the
    /// task `target` (pid 0 is the caller, as find_task_by_vpid(0) is never used: the syscalls
    /// take current for pid 0).
    pub fn syscall_access(&self, caller: Pid, target: Pid) -> Result<SyscallAccess> {
        let c = self.task(caller)?;
        let target = if target == 0 { caller } else { target };
        let t = match self.tasks.get(&target) {
            None => None,
            Some(t) => Some(TargetAccess {
                pid: t.pid,
                uid: t.cred.uid,
                suid: t.cred.suid,
                has_mm: t.mm.is_some(),
                mems_allowed: self.mems_allowed(t.pid)?,
                uid_rule: migrate_uid_rule(&c.cred, &t.cred),
                // A task without mm skips the dumpable test (__ptrace_may_access: "mm &&").
                ptrace_denied: ptrace_may_access_read_realcreds(
                    &c.cred,
                    &t.cred,
                    c.tgid == t.tgid,
                    t.mm.is_none() || t.cred.dumpable,
                )
                .err()
                .map(|e| e.detail),
            }),
        };
        Ok(SyscallAccess {
            epoch: self.epoch,
            caller,
            caller_uid: c.cred.uid,
            caller_euid: c.cred.euid,
            caller_caps: c.cred.cap_effective.names(),
            caller_mems_allowed: self.mems_allowed(caller)?,
            caller_abi: abi_name(c.abi),
            target: t,
        })
    }

    pub fn vma_infos(&self, pid: Pid) -> Result<Vec<VmaInfo>> {
        let mm = self.task_mm(pid)?;
        Ok(self
            .mm(mm)
            .vmas
            .values()
            .map(|v| VmaInfo {
                start: v.start,
                end: v.end,
                flags: VmFlags::NAMES
                    .iter()
                    .filter(|(b, _)| v.flags & b != 0)
                    .map(|&(_, n)| n)
                    .collect(),
                file: v.file.map(|f| self.file(f).path.clone()),
                pgoff: v.pgoff,
                kind: match v.kind {
                    VmaKind::Heap => "heap",
                    VmaKind::Stack => "stack",
                    VmaKind::Plain => "",
                },
                policy: self.policy_text(v.policy.as_ref()),
            })
            .collect())
    }

    pub fn file_info(&self, id: FileId) -> Result<FileInfo> {
        let f = self
            .files
            .get(id as usize)
            .and_then(Option::as_ref)
            .ok_or_else(|| Error::value(format!("no file with id {id} on this machine")))?;
        Ok(FileInfo {
            id: f.id,
            path: f.path.clone(),
            pages: f.pages,
            cached_pages: f.cache.iter().filter(|&&c| c != 0).count() as u64,
            shmem: f.shmem,
        })
    }

    pub fn mm_counters(&self, pid: Pid) -> Result<MmCounters> {
        let mm = self.mm(self.task_mm(pid)?);
        Ok(MmCounters {
            rss_anon: mm.rss_anon,
            rss_file: mm.rss_file,
            swap_ents: mm.swap_ents,
            pagetable_bytes: mm.pt.bytes(),
        })
    }

    pub fn mm_layout(&self, pid: Pid) -> Result<MmLayout> {
        let mm = self.mm(self.task_mm(pid)?);
        Ok(MmLayout {
            start_brk: mm.start_brk,
            brk: mm.brk,
            start_stack: mm.start_stack,
            mmap_base: mm.mmap_base,
        })
    }

    /// The configured nodes, ascending.
    pub fn node_infos(&self) -> Vec<NodeInfo> {
        self.topo
            .nodes
            .iter()
            .map(|n| NodeInfo { nid: n.nid, memory_bytes: n.mem_bytes, cpus: n.cpus.clone() })
            .collect()
    }

    pub fn node_states(&self) -> NodeStates {
        NodeStates {
            possible: self.topo.possible.clone(),
            online: self.topo.online.clone(),
            has_memory: self.topo.n_memory.clone(),
            has_cpu: self.topo.n_cpu.clone(),
        }
    }

    /// The numastat counters of every online node, by node id (node_read_numastat()).
    pub fn numastat(&self) -> Vec<NodeNumaStat> {
        self.topo
            .nodes
            .iter()
            .map(|n| {
                let s = self.numastat.get(n.nid as usize).copied().unwrap_or_default();
                NodeNumaStat {
                    nid: n.nid,
                    numa_hit: s.numa_hit,
                    numa_miss: s.numa_miss,
                    numa_foreign: s.numa_foreign,
                    interleave_hit: s.interleave_hit,
                    local_node: s.local_node,
                    other_node: s.other_node,
                }
            })
            .collect()
    }

    /// Pages per node with memory.
    pub fn node_usage(&self) -> Vec<NodeUsage> {
        self.phys
            .nodes
            .iter()
            .map(|n| NodeUsage {
                nid: n.nid,
                total: n.pages,
                free: n.nr_free(),
                used: n.pages - n.nr_free(),
            })
            .collect()
    }

    pub fn swap_devices(&self) -> Vec<SwapDeviceInfo> {
        self.swap
            .devices
            .iter()
            .map(|d| SwapDeviceInfo {
                name: d.name.clone(),
                priority: d.prio,
                pages: d.slots(),
                used: d.inuse,
            })
            .collect()
    }

    pub fn cpuset_info(&self, path: &str) -> Result<CpusetInfo> {
        let c = self.cpusets.lookup(path)?;
        Ok(CpusetInfo {
            path: c.path.clone(),
            mems: c.mems.clone(),
            cpus: c.cpus.clone(),
            memory_migrate: c.memory_migrate,
            parent: c.parent.clone(),
            children: c.children.clone(),
        })
    }

    /// The SLIT distance between two nodes.
    pub fn node_distance(&self, a: u32, b: u32) -> Result<u32> {
        self.topo.distance(a, b).ok_or_else(|| {
            Error::value(format!(
                "no distance between nodes {a} and {b}: one of them does not exist"
            ))
        })
    }

    /// The zonelist of a node: where allocations preferring it fall back, in order.
    pub fn zonelist_of(&self, nid: u32) -> Result<Vec<u32>> {
        if !self.topo.has_node(nid) {
            return Err(Error::value(format!("node {nid} does not exist on this machine")));
        }
        Ok(self.topo.zonelist(nid).to_vec())
    }

    /// The node of a CPU (cpu_to_node()).
    pub fn cpu_node(&self, cpu: u32) -> Result<u32> {
        self.check_cpu(cpu)?;
        Ok(self.topo.cpu_to_node(cpu))
    }

    /// capable(cap) for a task: is `cap` ("CAP_SYS_NICE", "sys_nice", 23) in its effective set?
    pub fn capable(&self, pid: Pid, cap: &str) -> Result<bool> {
        let n = crate::cred::cap_from_name(cap)?;
        Ok(self.task(pid)?.cred.capable(n))
    }

    /// The ABI of a task ("native" or "i386"): how the kernel reads its system calls' arguments.
    pub fn task_abi(&self, pid: Pid) -> Result<&'static str> {
        Ok(abi_name(self.task(pid)?.abi))
    }

    /// Pids of every task, ascending.
    pub fn pids(&self) -> Vec<Pid> {
        self.tasks.keys().copied().collect()
    }

    /// Capacity of CPU masks: NR_CPUS of this machine, rounded up to a multiple of 32 (the
    /// width /proc/PID/status prints Cpus_allowed with).
    pub fn cpumask_bits(&self) -> u32 {
        self.topo.nr_cpus().next_multiple_of(32)
    }
}
