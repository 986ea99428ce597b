//! A cpuset hierarchy (kernel/cpuset.c; kernel/cgroup/cpuset.c in 6.x, legacy/v1 hierarchy).
//!
//! Cpusets are kept in a tree keyed by path ("/", "/a", "/a/b"). The root holds every online
//! memory node and CPU. The rules are those of writing the `cpus`, `mems` and `memory_migrate`
//! files, mkdir and rmdir, per generation:
//!
//! * 2.6 (V5 base 2.6.14-rc5-mm1 and 2.6.16; text checked in 2.6.18): a written mask is silently
//!   trimmed to the online nodes/CPUs; an empty result is ENOSPC; then validate_change().
//! * modern (cgroup v1 cpuset): a mask naming a node/CPU outside the root's is EINVAL; an empty
//!   mask is allowed unless tasks are attached (ENOSPC from validate_change()).
//! * every generation: a child must stay a subset of its parent (EACCES) and every child of a
//!   changed cpuset must stay a subset of it (EBUSY).
//!
//! Not modelled: cpu_exclusive / mem_exclusive (and the EINVAL of overlapping exclusive
//! siblings), spread flags, notify_on_release, cgroup v2 effective masks, hotplug.
//!
//! Task membership lives in the Machine (it stores each task's cpuset path); operations that
//! depend on attached tasks take the caller's count.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::bitmap_text::format_list;
use crate::error::{errno, Error, Result};
use crate::nodemask::NodeMask;
use crate::semantics::Semantics;

/// A CPU mask: the same fixed-capacity bitmap as a nodemask (cpumask_t), capacity = NR_CPUS.
pub type CpuMask = NodeMask;

/// One cpuset.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cpuset {
    pub path: String,
    /// mems_allowed.
    pub mems: NodeMask,
    /// cpus_allowed.
    pub cpus: CpuMask,
    /// CS_MEMORY_MIGRATE: move a task's pages when it is attached or when `mems` changes.
    pub memory_migrate: bool,
    /// None for the root.
    pub parent: Option<String>,
    /// Child paths in creation order.
    pub children: Vec<String>,
}

/// What a successful change of `mems` did, for the Machine to act on as update_nodemask() does:
/// rebind the mempolicies of every task in the cpuset (mpol_rebind_mm / mpol_rebind_task) and, if
/// `memory_migrate`, migrate their pages from `old` to `new` with MPOL_MF_MOVE_ALL
/// (cpuset_migrate_mm()).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemsChange {
    pub path: String,
    pub old: NodeMask,
    pub new: NodeMask,
    pub memory_migrate: bool,
}

/// The cpuset hierarchy of one machine.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Cpusets {
    semantics: Semantics,
    online_mems: NodeMask,
    online_cpus: CpuMask,
    sets: BTreeMap<String, Cpuset>,
}

/// Checks a cpuset path: "/" or "/" followed by '/'-separated non-empty components, none of
/// them "." or "..". A bad path is a simulator error (ValueError), not an errno.
pub fn validate_path(path: &str) -> Result<()> {
    if path == "/" {
        return Ok(());
    }
    let Some(rest) = path.strip_prefix('/') else {
        return Err(Error::value(format!("cpuset path {path:?} must start with '/'")));
    };
    for comp in rest.split('/') {
        if comp.is_empty() {
            return Err(Error::value(format!("cpuset path {path:?} has an empty component")));
        }
        if comp == "." || comp == ".." {
            return Err(Error::value(format!("cpuset path {path:?} may not contain {comp:?}")));
        }
        if comp.contains('\0') {
            return Err(Error::value(format!("cpuset path {path:?} contains a NUL byte")));
        }
    }
    Ok(())
}

/// The parent path of a validated non-root path.
fn parent_of(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &path[..i],
    }
}

fn list(m: &NodeMask) -> String {
    let s = format_list(m);
    if s.is_empty() {
        "(none)".to_string()
    } else {
        s
    }
}

/// Which mask a write targets, for messages and the per-file rules.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Which {
    Mems,
    Cpus,
}

impl Which {
    fn file(self) -> &'static str {
        match self {
            Which::Mems => "mems",
            Which::Cpus => "cpus",
        }
    }
    fn get(self, cs: &Cpuset) -> &NodeMask {
        match self {
            Which::Mems => &cs.mems,
            Which::Cpus => &cs.cpus,
        }
    }
}

impl Cpusets {
    /// A hierarchy with only the root, which holds `online_mems` (node_online_map in 2.6,
    /// node_states[N_MEMORY] in 6.x) and `online_cpus`.
    pub fn new(semantics: Semantics, online_mems: NodeMask, online_cpus: CpuMask) -> Result<Self> {
        if online_mems.is_empty() {
            return Err(Error::value("a machine needs at least one online memory node"));
        }
        if online_cpus.is_empty() {
            return Err(Error::value("a machine needs at least one online CPU"));
        }
        let root = Cpuset {
            path: "/".to_string(),
            mems: online_mems.clone(),
            cpus: online_cpus.clone(),
            memory_migrate: false,
            parent: None,
            children: Vec::new(),
        };
        let mut sets = BTreeMap::new();
        sets.insert("/".to_string(), root);
        Ok(Cpusets { semantics, online_mems, online_cpus, sets })
    }

    pub fn semantics(&self) -> Semantics {
        self.semantics
    }

    /// The cpuset at `path`; ENOENT if there is none.
    pub fn lookup(&self, path: &str) -> Result<&Cpuset> {
        validate_path(path)?;
        self.sets.get(path).ok_or_else(|| Error::os(errno::ENOENT, format!("no cpuset {path}")))
    }

    pub fn exists(&self, path: &str) -> bool {
        self.sets.contains_key(path)
    }

    /// All cpuset paths, sorted.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.sets.keys().map(String::as_str)
    }

    /// Checks a mask written to `cpus` or `mems` of `cur` (which may be a cpuset being created)
    /// and returns the value the kernel would store, or None if nothing changes.
    /// Mirrors update_cpumask()/update_nodemask() + validate_change(), 2.6.18 and 6.x.
    fn trial_mask(
        &self,
        cur: &Cpuset,
        which: Which,
        requested: &NodeMask,
        ntasks: usize,
    ) -> Result<Option<NodeMask>> {
        let path = &cur.path;
        let file = which.file();
        let top = match which {
            Which::Mems => &self.online_mems,
            Which::Cpus => &self.online_cpus,
        };
        let is_root = cur.parent.is_none();
        let old = which.get(cur);
        let trial = if self.semantics == Semantics::Modern {
            // update_cpumask()/update_nodemask(), 6.x: the top cpuset is read-only
            if is_root {
                return Err(Error::os(
                    errno::EACCES,
                    format!("cpuset /: {file} of the top cpuset is read-only"),
                ));
            }
            let outside = requested.andnot(top)?;
            if !outside.is_empty() {
                return Err(Error::os(
                    errno::EINVAL,
                    format!(
                        "cpuset {path}: {file} {} are not in the top cpuset's {file} {}",
                        list(&outside),
                        list(top)
                    ),
                ));
            }
            if requested == old {
                return Ok(None);
            }
            requested.clone()
        } else {
            // update_cpumask(), 2.6.18: the top cpuset's cpus are read-only
            if is_root && which == Which::Cpus {
                return Err(Error::os(
                    errno::EACCES,
                    "cpuset /: cpus of the top cpuset is read-only",
                ));
            }
            // both, 2.6.18: silently trimmed to the online map
            let t = requested.and(top)?;
            // update_nodemask(), 2.6.18: "Too easy - nothing to do" comes before the empty test
            if which == Which::Mems && &t == old {
                return Ok(None);
            }
            if t.is_empty() {
                return Err(Error::os(
                    errno::ENOSPC,
                    format!(
                        "cpuset {path}: {file} {} has no online {}",
                        list(requested),
                        if which == Which::Mems { "node" } else { "CPU" }
                    ),
                ));
            }
            t
        };
        self.validate_change(cur, which, &trial, ntasks)?;
        Ok(Some(trial))
    }

    /// validate_change(), kernel/cpuset.c (2.6.18; 6.x adds the ENOSPC rule): children must stay
    /// subsets (EBUSY), the cpuset must stay a subset of its parent (EACCES), and (6.x) a cpuset
    /// with tasks may not lose all its CPUs or nodes (ENOSPC).
    fn validate_change(
        &self,
        cur: &Cpuset,
        which: Which,
        trial: &NodeMask,
        ntasks: usize,
    ) -> Result<()> {
        let file = which.file();
        for child in &cur.children {
            let c = &self.sets[child];
            let extra = which.get(c).andnot(trial)?;
            if !extra.is_empty() {
                return Err(Error::os(
                    errno::EBUSY,
                    format!(
                        "cpuset {}: child {child} still uses {file} {} outside the new {file} {}",
                        cur.path,
                        list(&extra),
                        list(trial)
                    ),
                ));
            }
        }
        let Some(parent) = &cur.parent else {
            return Ok(());
        };
        let p = &self.sets[parent];
        let extra = trial.andnot(which.get(p))?;
        if !extra.is_empty() {
            return Err(Error::os(
                errno::EACCES,
                format!(
                    "cpuset {}: {file} {} are not in the parent {parent}'s {file} {}",
                    cur.path,
                    list(&extra),
                    list(which.get(p))
                ),
            ));
        }
        if self.semantics == Semantics::Modern
            && ntasks > 0
            && !which.get(cur).is_empty()
            && trial.is_empty()
        {
            return Err(Error::os(
                errno::ENOSPC,
                format!("cpuset {}: {ntasks} attached task(s) need a non-empty {file}", cur.path),
            ));
        }
        Ok(())
    }

    /// mkdir of a cpuset followed by writing `cpus`, then `mems`, then `memory_migrate`; atomic
    /// (on an error nothing is created, where the kernel would leave the empty directory). An
    /// empty `cpus`/`mems` is not written, so the new cpuset keeps the empty mask of a fresh
    /// mkdir (cpuset_create(), 2.6.18; cpuset_css_alloc(), 6.x).
    ///
    /// Errors: ValueError for a bad path; EEXIST if it exists; ENOENT if the parent does not;
    /// then the write rules of [`Cpusets::update_cpus`] / [`Cpusets::update_mems`] (EACCES for
    /// nodes/CPUs outside the parent's, ENOSPC / EINVAL for ones outside the machine's);
    /// ENOENT for `memory_migrate` under V5 (the file appeared in 2.6.16). 2.6 quirk kept: `mems`
    /// naming only offline nodes trims to the fresh cpuset's empty mask, which update_nodemask()'s
    /// "nothing to do" test (before its ENOSPC test) accepts as a no-op.
    pub fn create(
        &mut self,
        path: &str,
        mems: &NodeMask,
        cpus: &CpuMask,
        memory_migrate: bool,
    ) -> Result<()> {
        validate_path(path)?;
        if self.sets.contains_key(path) {
            return Err(Error::os(errno::EEXIST, format!("cpuset {path} already exists")));
        }
        let parent = parent_of(path);
        if !self.sets.contains_key(parent) {
            return Err(Error::os(
                errno::ENOENT,
                format!("cannot create cpuset {path}: parent {parent} does not exist"),
            ));
        }
        self.check_capacity(mems, cpus)?;
        let mut cs = Cpuset {
            path: path.to_string(),
            mems: NodeMask::empty(self.online_mems.nbits())?,
            cpus: NodeMask::empty(self.online_cpus.nbits())?,
            memory_migrate: false,
            parent: Some(parent.to_string()),
            children: Vec::new(),
        };
        if !cpus.is_empty() {
            if let Some(t) = self.trial_mask(&cs, Which::Cpus, cpus, 0)? {
                cs.cpus = t;
            }
        }
        if !mems.is_empty() {
            if let Some(t) = self.trial_mask(&cs, Which::Mems, mems, 0)? {
                cs.mems = t;
            }
        }
        if memory_migrate {
            self.check_memory_migrate_file()?;
            cs.memory_migrate = true;
        }
        self.sets.get_mut(parent).expect("parent checked").children.push(path.to_string());
        self.sets.insert(path.to_string(), cs);
        Ok(())
    }

    fn check_capacity(&self, mems: &NodeMask, cpus: &CpuMask) -> Result<()> {
        if mems.nbits() != self.online_mems.nbits() {
            return Err(Error::value(format!(
                "mems mask has {} bits, the machine's node masks have {}",
                mems.nbits(),
                self.online_mems.nbits()
            )));
        }
        if cpus.nbits() != self.online_cpus.nbits() {
            return Err(Error::value(format!(
                "cpus mask has {} bits, the machine's CPU masks have {}",
                cpus.nbits(),
                self.online_cpus.nbits()
            )));
        }
        Ok(())
    }

    fn check_memory_migrate_file(&self) -> Result<()> {
        if self.semantics == Semantics::V5 {
            return Err(Error::os(
                errno::ENOENT,
                "cpuset file memory_migrate does not exist in 2.6.14 (added in 2.6.16)",
            ));
        }
        Ok(())
    }

    /// Writes `mems` (update_nodemask(), 2.6.18 / 6.x). `ntasks` = tasks attached to the cpuset.
    /// Returns what changed, or None if the stored mask is unchanged (the kernel's "Too easy -
    /// nothing to do"). Errors: ENOENT (no cpuset), ENOSPC (2.6: no online node named; 6.x: empty
    /// while tasks are attached), EINVAL (6.x: a node outside the top cpuset), EACCES (not within
    /// the parent; 6.x: writing the top cpuset), EBUSY (a child uses a node being removed).
    pub fn update_mems(
        &mut self,
        path: &str,
        mems: &NodeMask,
        ntasks: usize,
    ) -> Result<Option<MemsChange>> {
        let cur = self.lookup(path)?;
        self.check_capacity(mems, &self.online_cpus)?;
        let Some(t) = self.trial_mask(cur, Which::Mems, mems, ntasks)? else {
            return Ok(None);
        };
        let cs = self.sets.get_mut(path).expect("looked up");
        let old = std::mem::replace(&mut cs.mems, t.clone());
        Ok(Some(MemsChange {
            path: path.to_string(),
            old,
            new: t,
            memory_migrate: cs.memory_migrate,
        }))
    }

    /// Writes `cpus` (update_cpumask(), 2.6.18 / 6.x). Errors as [`Cpusets::update_mems`]; the top
    /// cpuset's cpus are read-only in every generation (EACCES).
    pub fn update_cpus(&mut self, path: &str, cpus: &CpuMask, ntasks: usize) -> Result<()> {
        let cur = self.lookup(path)?;
        self.check_capacity(&self.online_mems, cpus)?;
        if let Some(t) = self.trial_mask(cur, Which::Cpus, cpus, ntasks)? {
            self.sets.get_mut(path).expect("looked up").cpus = t;
        }
        Ok(())
    }

    /// Writes `memory_migrate` (update_flag(CS_MEMORY_MIGRATE), 2.6.16+). V5: ENOENT.
    pub fn set_memory_migrate(&mut self, path: &str, on: bool) -> Result<()> {
        self.lookup(path)?;
        self.check_memory_migrate_file()?;
        self.sets.get_mut(path).expect("looked up").memory_migrate = on;
        Ok(())
    }

    /// rmdir (cpuset_rmdir(), 2.6.18; cgroup_destroy_locked(), 6.x): EBUSY for the root, for a
    /// cpuset with attached tasks (`ntasks` > 0, checked first) or with children.
    pub fn remove(&mut self, path: &str, ntasks: usize) -> Result<()> {
        let cs = self.lookup(path)?;
        let Some(parent) = cs.parent.clone() else {
            return Err(Error::os(errno::EBUSY, "the top cpuset cannot be removed"));
        };
        if ntasks > 0 {
            return Err(Error::os(
                errno::EBUSY,
                format!("cpuset {path} still has {ntasks} attached task(s)"),
            ));
        }
        if !cs.children.is_empty() {
            return Err(Error::os(
                errno::EBUSY,
                format!("cpuset {path} still has child cpusets: {}", cs.children.join(", ")),
            ));
        }
        self.sets.remove(path);
        self.sets.get_mut(&parent).expect("parent exists").children.retain(|c| c != path);
        Ok(())
    }

    /// May a task be attached to `path`? ENOSPC if its cpus or mems are empty (attach_task(),
    /// 2.6.18; cpuset_can_attach(), 6.x v1). The euid rule is cred::cpuset_attach_permitted.
    pub fn attach_check(&self, path: &str) -> Result<()> {
        let cs = self.lookup(path)?;
        if cs.cpus.is_empty() || cs.mems.is_empty() {
            return Err(Error::os(
                errno::ENOSPC,
                format!(
                    "cannot attach a task to cpuset {path}: cpus {} / mems {} (both must be \
                     non-empty)",
                    list(&cs.cpus),
                    list(&cs.mems)
                ),
            ));
        }
        Ok(())
    }

    /// guarantee_online_mems() (2.6.18; 6.x with N_MEMORY): the nodes of the nearest cpuset at
    /// or above `path` whose mems intersect `online`, intersected with `online`; `online` itself
    /// if none does. This is a task's mems_allowed and cpuset_mems_allowed(task).
    pub fn effective_mems(&self, path: &str, online: &NodeMask) -> Result<NodeMask> {
        self.guarantee_online(path, online, Which::Mems)
    }

    /// guarantee_online_cpus() (2.6.18): the same walk for CPUs (the task's cpus_allowed).
    pub fn effective_cpus(&self, path: &str, online: &CpuMask) -> Result<CpuMask> {
        self.guarantee_online(path, online, Which::Cpus)
    }

    fn guarantee_online(&self, path: &str, online: &NodeMask, which: Which) -> Result<NodeMask> {
        let mut cs = Some(self.lookup(path)?);
        while let Some(c) = cs {
            if which.get(c).intersects(online)? {
                return which.get(c).and(online);
            }
            cs = c.parent.as_deref().map(|p| &self.sets[p]);
        }
        Ok(online.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NB: u32 = 8;

    fn m(nodes: &[i64]) -> NodeMask {
        NodeMask::from_nodes(nodes.iter().copied(), NB).unwrap()
    }
    fn sets(sem: Semantics) -> Cpusets {
        // 4 online nodes, 8 CPUs (capacity 8 for both).
        Cpusets::new(sem, m(&[0, 1, 2, 3]), m(&[0, 1, 2, 3, 4, 5, 6, 7])).unwrap()
    }
    fn errno_of<T: std::fmt::Debug>(r: Result<T>) -> i32 {
        r.unwrap_err().errno().expect("an errno")
    }

    #[test]
    fn paths() {
        for ok in ["/", "/a", "/a/b", "/x.y/z-1"] {
            validate_path(ok).unwrap();
        }
        for bad in ["", "a", "/a/", "//", "/a//b", "/a/./b", "/..", "a/b"] {
            let e = validate_path(bad).unwrap_err();
            assert_eq!(e.kind, crate::error::ErrorKind::Value, "{bad:?}");
        }
        assert_eq!(parent_of("/a"), "/");
        assert_eq!(parent_of("/a/b"), "/a");
    }

    #[test]
    fn create_lookup_remove() {
        for sem in Semantics::ALL {
            let mut s = sets(sem);
            s.create("/a", &m(&[0, 1]), &m(&[0, 1, 2, 3]), false).unwrap();
            s.create("/a/b", &m(&[1]), &m(&[2]), false).unwrap();
            let b = s.lookup("/a/b").unwrap();
            assert_eq!((b.mems.clone(), b.cpus.clone()), (m(&[1]), m(&[2])));
            assert_eq!(b.parent.as_deref(), Some("/a"));
            assert_eq!(s.lookup("/a").unwrap().children, vec!["/a/b".to_string()]);
            assert_eq!(s.paths().collect::<Vec<_>>(), vec!["/", "/a", "/a/b"]);
            assert_eq!(errno_of(s.lookup("/zz")), errno::ENOENT);
            assert_eq!(errno_of(s.create("/a", &m(&[0]), &m(&[0]), false)), errno::EEXIST);
            assert_eq!(errno_of(s.create("/", &m(&[0]), &m(&[0]), false)), errno::EEXIST);
            assert_eq!(errno_of(s.create("/q/r", &m(&[0]), &m(&[0]), false)), errno::ENOENT);
            // remove: children, tasks, root
            assert_eq!(errno_of(s.remove("/a", 0)), errno::EBUSY);
            assert_eq!(errno_of(s.remove("/a/b", 2)), errno::EBUSY);
            assert_eq!(errno_of(s.remove("/", 0)), errno::EBUSY);
            assert_eq!(errno_of(s.remove("/nope", 0)), errno::ENOENT);
            s.remove("/a/b", 0).unwrap();
            assert!(s.lookup("/a").unwrap().children.is_empty());
            s.remove("/a", 0).unwrap();
            assert_eq!(s.paths().count(), 1);
            // capacity mismatch is a simulator error
            let wide = NodeMask::from_nodes([0], 16).unwrap();
            let e = s.create("/w", &wide, &m(&[0]), false).unwrap_err();
            assert_eq!(e.kind, crate::error::ErrorKind::Value);
        }
    }

    #[test]
    fn child_must_be_subset_of_parent() {
        for sem in Semantics::ALL {
            let mut s = sets(sem);
            s.create("/a", &m(&[0, 1]), &m(&[0, 1]), false).unwrap();
            let e = s.create("/a/b", &m(&[1, 2]), &m(&[0]), false).unwrap_err();
            assert_eq!(e.errno(), Some(errno::EACCES), "{sem}");
            assert!(
                e.detail.contains("mems 2 are not in the parent /a's mems 0-1"),
                "{}",
                e.detail
            );
            let e = s.create("/a/b", &m(&[1]), &m(&[0, 5]), false).unwrap_err();
            assert_eq!(e.errno(), Some(errno::EACCES));
            assert!(e.detail.contains("cpus 5"), "{}", e.detail);
            assert!(!s.exists("/a/b"), "create is atomic");
            s.create("/a/c", &m(&[0]), &m(&[0]), false).unwrap();
            let e = s.update_mems("/a/c", &m(&[0, 3]), 0).unwrap_err();
            assert_eq!(e.errno(), Some(errno::EACCES));
            assert!(e.detail.contains("mems 3 are not in the parent /a's"), "{}", e.detail);
        }
    }

    #[test]
    fn offline_nodes_per_generation() {
        // 2.6: trimmed to the online map; nothing online -> ENOSPC.
        for sem in [Semantics::V5, Semantics::Linux2616] {
            let mut s = sets(sem);
            s.create("/a", &m(&[1, 6]), &m(&[0]), false).unwrap();
            assert_eq!(s.lookup("/a").unwrap().mems, m(&[1]));
            // Quirk of update_nodemask(): a fresh cpuset's mems are empty, and "6-7" trims to
            // empty too, so the "nothing to do" test (before the empty test) makes it a no-op.
            s.create("/b", &m(&[6, 7]), &m(&[0]), false).unwrap();
            assert!(s.lookup("/b").unwrap().mems.is_empty());
            let e = s.update_mems("/a", &m(&[6, 7]), 0).unwrap_err();
            assert_eq!(e.errno(), Some(errno::ENOSPC));
            assert!(e.detail.contains("6-7"), "{}", e.detail);
        }
        // modern: EINVAL naming the node outside the top cpuset.
        let mut s = sets(Semantics::Modern);
        let e = s.create("/a", &m(&[1, 6]), &m(&[0]), false).unwrap_err();
        assert_eq!(e.errno(), Some(errno::EINVAL));
        assert!(e.detail.contains("mems 6 are not in the top cpuset's mems 0-3"), "{}", e.detail);
        let e = s.create("/a", &m(&[1]), &m(&[0]), false);
        assert!(e.is_ok());
    }

    #[test]
    fn update_mems_rules() {
        for sem in Semantics::ALL {
            let mut s = sets(sem);
            s.create("/a", &m(&[0, 1, 2]), &m(&[0, 1]), sem != Semantics::V5).unwrap();
            s.create("/a/b", &m(&[2]), &m(&[1]), false).unwrap();
            // shrinking /a below its child's nodes: EBUSY naming the child
            let e = s.update_mems("/a", &m(&[0, 1]), 0).unwrap_err();
            assert_eq!(e.errno(), Some(errno::EBUSY), "{sem}");
            assert!(e.detail.contains("/a/b") && e.detail.contains("mems 2"), "{}", e.detail);
            // an allowed change reports old and new
            let ch = s.update_mems("/a", &m(&[1, 2]), 3).unwrap().unwrap();
            assert_eq!((ch.old, ch.new.clone()), (m(&[0, 1, 2]), m(&[1, 2])));
            assert_eq!(ch.memory_migrate, sem != Semantics::V5);
            assert_eq!(s.lookup("/a").unwrap().mems, m(&[1, 2]));
            // unchanged: None
            assert_eq!(s.update_mems("/a", &m(&[1, 2]), 3).unwrap(), None);
            // cpus: child must stay a subset; root cpus read-only
            assert_eq!(errno_of(s.update_cpus("/a", &m(&[0]), 0)), errno::EBUSY);
            s.update_cpus("/a", &m(&[1, 3]), 0).unwrap();
            assert_eq!(s.lookup("/a").unwrap().cpus, m(&[1, 3]));
            assert_eq!(errno_of(s.update_cpus("/", &m(&[0]), 0)), errno::EACCES);
        }
    }

    #[test]
    fn empty_mems_per_generation() {
        // 2.6.18 update_nodemask: empty -> ENOSPC always (but "" on an already-empty cpuset is a
        // no-op, the equality test comes first).
        for sem in [Semantics::V5, Semantics::Linux2616] {
            let mut s = sets(sem);
            s.create("/a", &m(&[0]), &m(&[0]), false).unwrap();
            assert_eq!(errno_of(s.update_mems("/a", &m(&[]), 0)), errno::ENOSPC);
            s.create("/e", &m(&[]), &m(&[]), false).unwrap();
            assert_eq!(s.update_mems("/e", &m(&[]), 0).unwrap(), None);
            assert_eq!(errno_of(s.update_cpus("/e", &m(&[]), 0)), errno::ENOSPC);
            // 2.6.18 lets the top cpuset's mems be written
            assert!(s.update_mems("/", &m(&[0, 1, 2]), 5).unwrap().is_some());
        }
        // modern: empty is fine without tasks, ENOSPC with tasks; top cpuset read-only.
        let mut s = sets(Semantics::Modern);
        s.create("/a", &m(&[0]), &m(&[0]), false).unwrap();
        let e = s.update_mems("/a", &m(&[]), 2).unwrap_err();
        assert_eq!(e.errno(), Some(errno::ENOSPC));
        assert!(e.detail.contains("2 attached task(s)"));
        assert_eq!(errno_of(s.update_cpus("/a", &m(&[]), 1)), errno::ENOSPC);
        assert!(s.update_mems("/a", &m(&[]), 0).unwrap().is_some());
        assert_eq!(errno_of(s.update_mems("/", &m(&[0]), 0)), errno::EACCES);
    }

    #[test]
    fn attach_and_memory_migrate() {
        for sem in Semantics::ALL {
            let mut s = sets(sem);
            s.create("/nomem", &m(&[]), &m(&[0]), false).unwrap();
            s.create("/nocpu", &m(&[0]), &m(&[]), false).unwrap();
            s.create("/ok", &m(&[0]), &m(&[0]), false).unwrap();
            assert_eq!(errno_of(s.attach_check("/nomem")), errno::ENOSPC);
            assert_eq!(errno_of(s.attach_check("/nocpu")), errno::ENOSPC);
            s.attach_check("/ok").unwrap();
            s.attach_check("/").unwrap();
            let r = s.set_memory_migrate("/ok", true);
            if sem == Semantics::V5 {
                assert_eq!(errno_of(r), errno::ENOENT);
                assert_eq!(errno_of(s.create("/mm", &m(&[0]), &m(&[0]), true)), errno::ENOENT);
            } else {
                r.unwrap();
                assert!(s.lookup("/ok").unwrap().memory_migrate);
            }
        }
    }

    #[test]
    fn guarantee_online_mems_walks_up() {
        let mut s = sets(Semantics::Linux2616);
        s.create("/a", &m(&[1, 2]), &m(&[0]), false).unwrap();
        s.create("/a/b", &m(&[2]), &m(&[0]), false).unwrap();
        let online = m(&[0, 1, 2, 3]);
        assert_eq!(s.effective_mems("/a/b", &online).unwrap(), m(&[2]));
        // node 2 goes offline: /a/b has none left, /a gives {1}
        let online = m(&[0, 1, 3]);
        assert_eq!(s.effective_mems("/a/b", &online).unwrap(), m(&[1]));
        // neither /a/b nor /a: the root
        let online = m(&[0, 3]);
        assert_eq!(s.effective_mems("/a/b", &online).unwrap(), m(&[0, 3]));
        // nothing anywhere: online itself
        let online = m(&[5]);
        assert_eq!(s.effective_mems("/a/b", &online).unwrap(), m(&[5]));
        assert_eq!(s.effective_cpus("/a", &m(&[0, 1])).unwrap(), m(&[0]));
        assert_eq!(errno_of(s.effective_mems("/zz", &online)), errno::ENOENT);
    }
}
