//! Memory policies (mm/mempolicy.c): validation per generation, where an allocation goes,
//! interleave arithmetic, zonelist (fallback) order, rebinding after a cpuset change,
//! get_mempolicy() and the numa_maps policy text.
//!
//! Generations:
//! * V5 = 2.6.14-rc5-mm1 (the base of the "Swap Migration V5" posting);
//! * 2.6.16 (text checked in 2.6.18 where noted; the 2.6.14 texts differ only where noted);
//! * modern = the 6.x text of `torvalds/linux` mm/mempolicy.c (spec tag TL, ~v6.0).
//!
//! Everything here is a pure function of its arguments: the Machine owns tasks, VMAs and frames
//! and calls in with the task's cpuset mems, the machine's node states and the cached zonelists.

use crate::bitmap_text::format_list;
use crate::error::{errno, Error, Result};
use crate::nodemask::NodeMask;
use crate::semantics::Semantics;
use serde::{Deserialize, Serialize};

// ----- Modes (include/uapi/linux/mempolicy.h) -----
pub const MPOL_DEFAULT: u16 = 0;
pub const MPOL_PREFERRED: u16 = 1;
pub const MPOL_BIND: u16 = 2;
pub const MPOL_INTERLEAVE: u16 = 3;
/// Modern only (2.6.26+).
pub const MPOL_LOCAL: u16 = 4;
/// Modern only (5.15+).
pub const MPOL_PREFERRED_MANY: u16 = 5;
/// 2.6.x `MPOL_MAX` (= MPOL_INTERLEAVE): the syscalls reject `mode > MPOL_MAX`.
pub const MPOL_MAX_2_6: u16 = MPOL_INTERLEAVE;
/// Modern `MPOL_MAX` (end of the enum, TL text): sanitize_mpol_flags() rejects `mode >= MPOL_MAX`.
pub const MPOL_MAX_MODERN: u16 = 6;

// ----- Mode flags, or-ed into the mode argument (modern only, 2.6.26+) -----
pub const MPOL_F_STATIC_NODES: u16 = 1 << 15;
pub const MPOL_F_RELATIVE_NODES: u16 = 1 << 14;
/// 5.12+; only with MPOL_BIND in the TL text.
pub const MPOL_F_NUMA_BALANCING: u16 = 1 << 13;
/// MPOL_MODE_FLAGS.
pub const MPOL_MODE_FLAGS: u16 =
    MPOL_F_STATIC_NODES | MPOL_F_RELATIVE_NODES | MPOL_F_NUMA_BALANCING;

// ----- Internal policy flags (modern include/uapi/linux/mempolicy.h) -----
pub const MPOL_F_SHARED: u16 = 1 << 0;
/// "Migrate On protnone Reference Fault" enabled for this policy.
pub const MPOL_F_MOF: u16 = 1 << 3;
/// Migrate towards the referencing node (set with MPOL_F_NUMA_BALANCING).
pub const MPOL_F_MORON: u16 = 1 << 4;

// ----- get_mempolicy() flags -----
pub const MPOL_F_NODE: u64 = 1 << 0;
pub const MPOL_F_ADDR: u64 = 1 << 1;
/// 2.6.24+ (so: modern only here).
pub const MPOL_F_MEMS_ALLOWED: u64 = 1 << 2;

// ----- mbind() flags (user) -----
pub const MPOL_MF_STRICT: u32 = 1 << 0;
pub const MPOL_MF_MOVE: u32 = 1 << 1;
pub const MPOL_MF_MOVE_ALL: u32 = 1 << 2;
/// The user flags do_mbind() accepts in every generation here (MPOL_MF_VALID in 6.x; the V5
/// posting added MOVE and MOVE_ALL to 2.6.14's STRICT).
pub const MPOL_MF_VALID: u32 = MPOL_MF_STRICT | MPOL_MF_MOVE | MPOL_MF_MOVE_ALL;

/// Internal mbind/check_range flags of each generation (spec §2.1.3).
pub mod mf_internal {
    /// V5 posting, 2.6.14-rc5-mm1 include/linux/mempolicy.h.
    pub mod v5 {
        pub const MPOL_MF_DISCONTIG_OK: u32 = 1 << 20;
    }
    /// 2.6.16(-mm1) .. 2.6.18 mm/mempolicy.c (STATS came with the 2006-03 numa_maps update).
    pub mod linux2616 {
        pub const MPOL_MF_INTERNAL: u32 = 1 << 3;
        pub const MPOL_MF_DISCONTIG_OK: u32 = MPOL_MF_INTERNAL;
        pub const MPOL_MF_INVERT: u32 = MPOL_MF_INTERNAL << 1;
        pub const MPOL_MF_STATS: u32 = MPOL_MF_INTERNAL << 2;
    }
    /// 6.x (TL).
    pub mod modern {
        pub const MPOL_MF_LAZY: u32 = 1 << 3;
        pub const MPOL_MF_INTERNAL: u32 = 1 << 4;
        pub const MPOL_MF_DISCONTIG_OK: u32 = MPOL_MF_INTERNAL;
        pub const MPOL_MF_INVERT: u32 = MPOL_MF_INTERNAL << 1;
    }
}

/// PENALTY_FOR_NODE_WITH_CPUS, mm/page_alloc.c (2.6 and 6.x).
pub const PENALTY_FOR_NODE_WITH_CPUS: i64 = 1;

/// The kernel's name of a mode for messages (policy_modes[] of 6.x, "prefer (many)" included).
pub fn mode_name(mode: u16) -> &'static str {
    match mode {
        MPOL_DEFAULT => "default",
        MPOL_PREFERRED => "prefer",
        MPOL_BIND => "bind",
        MPOL_INTERLEAVE => "interleave",
        MPOL_LOCAL => "local",
        MPOL_PREFERRED_MANY => "prefer (many)",
        _ => "unknown",
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

fn einval(detail: impl Into<String>) -> Error {
    Error::os(errno::EINVAL, detail)
}

/// Splits and range-checks the `mode` argument of set_mempolicy()/mbind(); returns
/// (mode, mode flags). Call it where the syscall does: set_mempolicy checks the mode before
/// get_nodes() in every generation; mbind checks it before get_nodes() in 6.x
/// (kernel_mbind()) but after it in 2.6 (do_mbind()).
///
/// * 2.6 (sys_set_mempolicy(): `mode < 0 || mode > MPOL_MAX`; do_mbind(): unsigned
///   `mode > MPOL_MAX`): EINVAL outside 0..=3. There are no mode flags: a flag bit makes the mode
///   too large.
/// * modern (sanitize_mpol_flags()): the value is taken as a C `int`; flags = mode &
///   MPOL_MODE_FLAGS, the rest must be < MPOL_MAX; STATIC with RELATIVE is EINVAL; NUMA_BALANCING
///   needs MPOL_BIND.
pub fn sanitize_mode(sem: Semantics, mode_arg: i64) -> Result<(u16, u16)> {
    if sem != Semantics::Modern {
        return match u16::try_from(mode_arg) {
            Ok(mode) if mode <= MPOL_MAX_2_6 => Ok((mode, 0)),
            _ => Err(einval(format!(
                "mode {mode_arg} is not a valid policy (MPOL_MAX is {MPOL_MAX_2_6} in {sem}; mode \
                 flags do not exist before 2.6.26)"
            ))),
        };
    }
    // int lmode = mode: the kernel keeps the low 32 bits; its masks below see them unsigned.
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "the C int conversion of sanitize_mpol_flags() is the point"
    )]
    let m = mode_arg as u32;
    let flags = u16::try_from(m & u32::from(MPOL_MODE_FLAGS)).expect("MPOL_MODE_FLAGS is a u16");
    let mode = m & !u32::from(MPOL_MODE_FLAGS);
    let Some(mode) = u16::try_from(mode).ok().filter(|&mode| mode < MPOL_MAX_MODERN) else {
        return Err(einval(format!(
            "mode {mode_arg:#x}: policy {mode} is not below MPOL_MAX ({MPOL_MAX_MODERN})"
        )));
    };
    check_mode_flags(mode, flags)?;
    Ok((mode, flags))
}

/// The flag rules of sanitize_mpol_flags() (6.x).
fn check_mode_flags(mode: u16, flags: u16) -> Result<()> {
    if flags & !MPOL_MODE_FLAGS != 0 {
        return Err(Error::value(format!(
            "mode flags {flags:#x} contain bits outside MPOL_MODE_FLAGS ({MPOL_MODE_FLAGS:#x})"
        )));
    }
    if flags & MPOL_F_STATIC_NODES != 0 && flags & MPOL_F_RELATIVE_NODES != 0 {
        return Err(einval("MPOL_F_STATIC_NODES and MPOL_F_RELATIVE_NODES are mutually exclusive"));
    }
    if flags & MPOL_F_NUMA_BALANCING != 0 && mode != MPOL_BIND {
        return Err(einval(format!(
            "MPOL_F_NUMA_BALANCING needs MPOL_BIND, not {}",
            mode_name(mode)
        )));
    }
    Ok(())
}

/// Which system call is installing a policy; 2.6 checks set_mempolicy() nodes against the
/// cpuset (contextualize_policy()) but mbind() nodes only against the online map.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PolicyCall {
    SetMempolicy,
    Mbind,
}

impl PolicyCall {
    fn name(self) -> &'static str {
        match self {
            PolicyCall::SetMempolicy => "set_mempolicy",
            PolicyCall::Mbind => "mbind",
        }
    }
}

/// What policy validation needs to know about the calling task and the machine.
#[derive(Clone, Copy, Debug)]
pub struct PolicyCtx<'a> {
    pub semantics: Semantics,
    pub call: PolicyCall,
    /// The calling task's mems_allowed (cpuset_current_mems_allowed): its cpuset's effective
    /// mems, see Cpusets::effective_mems.
    pub mems_allowed: &'a NodeMask,
    /// node_online_map.
    pub online: &'a NodeMask,
    /// Nodes with memory (node_states[N_MEMORY]; in 2.6 the nodes with present pages).
    pub with_memory: &'a NodeMask,
}

/// A memory policy (struct mempolicy). The default policy (the kernel's NULL pointer or
/// &default_policy) is a value with `mode == MPOL_DEFAULT` and empty masks.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Mempolicy {
    pub mode: u16,
    /// Mode flags (STATIC/RELATIVE/NUMA_BALANCING) and internal flags (MOF/MORON); 0 in 2.6.
    pub flags: u16,
    /// The policy's nodes (pol->nodes in 6.x; v.nodes, the bind zonelist's nodes or
    /// v.preferred_node in 2.6). 2.6 PREFERRED with no node (v.preferred_node == -1, "local
    /// allocation") is the empty mask. 2.6 BIND keeps only nodes with memory, as its zonelist.
    pub nodes: NodeMask,
    /// The union `w` of 6.x: the user's nodemask when `flags & MPOL_MODE_FLAGS` (STATIC/RELATIVE,
    /// and NUMA_BALANCING too, as mpol_store_user_nodemask() tests all three), else the cpuset
    /// mems the policy was made in (w.cpuset_mems_allowed; 2.6.16's pol->cpuset_mems_allowed).
    /// One field because the kernel's rebinding writes through the union, quirks included.
    pub w: NodeMask,
}

impl Mempolicy {
    /// The default policy (mpol_new() returns NULL for MPOL_DEFAULT).
    pub fn default_policy(nbits: u32) -> Result<Mempolicy> {
        Ok(Mempolicy {
            mode: MPOL_DEFAULT,
            flags: 0,
            nodes: NodeMask::empty(nbits)?,
            w: NodeMask::empty(nbits)?,
        })
    }

    pub fn is_default(&self) -> bool {
        self.mode == MPOL_DEFAULT
    }

    /// Builds the policy set_mempolicy()/mbind() would install from (mode, mode flags) as
    /// returned by [`sanitize_mode`] and the nodes read by get_nodes(). Errors are EINVAL naming
    /// the problem (a DEFAULT policy is returned as [`Mempolicy::default_policy`]).
    ///
    /// 2.6 (contextualize_policy() + mpol_check_policy() + mpol_new()):
    /// * set_mempolicy only: V5 (2.6.14-rc5-mm1) silently drops nodes outside the task's
    ///   mems_allowed (cpuset_restrict_to_mems_allowed()); 2.6.16 fails with EINVAL instead
    ///   (cpuset_nodes_subset_current_mems_allowed(), Paul Jackson 2005-11). mbind is not checked
    ///   against the cpuset.
    /// * DEFAULT needs no nodes, BIND and INTERLEAVE need some; all nodes must be online.
    /// * PREFERRED takes the first node; none = local allocation. BIND keeps the nodes with
    ///   memory (bind_zonelist() skips empty zones).
    ///
    /// modern (mpol_new() + mpol_set_nodemask()):
    /// * DEFAULT with nodes: EINVAL. PREFERRED without nodes becomes LOCAL (EINVAL with
    ///   STATIC/RELATIVE); LOCAL with nodes or STATIC/RELATIVE: EINVAL; other modes need nodes.
    /// * the nodes are intersected with the task's mems_allowed ∩ N_MEMORY (RELATIVE: folded
    ///   onto it); an empty result is EINVAL. PREFERRED keeps the first node.
    pub fn new(ctx: &PolicyCtx, mode: u16, flags: u16, nodes: &NodeMask) -> Result<Mempolicy> {
        let nbits = nodes.nbits();
        for (what, m) in [
            ("mems_allowed", ctx.mems_allowed),
            ("online", ctx.online),
            ("with_memory", ctx.with_memory),
        ] {
            if m.nbits() != nbits {
                return Err(Error::value(format!(
                    "{what} has {} bits but the policy nodes have {nbits}",
                    m.nbits()
                )));
            }
        }
        match ctx.semantics {
            Semantics::Modern => Self::new_modern(ctx, mode, flags, nodes),
            _ => Self::new_2_6(ctx, mode, flags, nodes),
        }
    }

    fn new_2_6(ctx: &PolicyCtx, mode: u16, flags: u16, nodes: &NodeMask) -> Result<Mempolicy> {
        let call = ctx.call.name();
        let sem = ctx.semantics;
        if flags != 0 || mode > MPOL_MAX_2_6 {
            return Err(einval(format!(
                "{call}: mode {mode} flags {flags:#x} is not a valid policy in {sem} (MPOL_MAX \
                 is {MPOL_MAX_2_6}; no mode flags before 2.6.26)"
            )));
        }
        let mut nodes = nodes.clone();
        if ctx.call == PolicyCall::SetMempolicy {
            if sem == Semantics::V5 {
                // contextualize_policy(), 2.6.14-rc5-mm1: "Ignore nodes not set in
                // current->mems_allowed"
                nodes = nodes.and(ctx.mems_allowed)?;
            } else {
                // contextualize_policy(), 2.6.16: cpuset_nodes_subset_current_mems_allowed()
                let outside = nodes.andnot(ctx.mems_allowed)?;
                if !outside.is_empty() {
                    return Err(einval(format!(
                        "{call}: nodes {} are not in the task's cpuset mems_allowed {}",
                        list(&outside),
                        list(ctx.mems_allowed)
                    )));
                }
            }
        }
        // mpol_check_policy(), 2.6.14 .. 2.6.18
        match mode {
            MPOL_DEFAULT if !nodes.is_empty() => {
                return Err(einval(format!(
                    "{call}: MPOL_DEFAULT takes no nodes, got {}",
                    list(&nodes)
                )));
            }
            MPOL_BIND | MPOL_INTERLEAVE if nodes.is_empty() => {
                return Err(einval(format!("{call}: {} needs at least one node", mode_name(mode))));
            }
            _ => {}
        }
        let offline = nodes.andnot(ctx.online)?;
        if !offline.is_empty() {
            return Err(einval(format!("{call}: nodes {} are not online", list(&offline))));
        }
        // mpol_new(), 2.6.14 .. 2.6.18
        let nodes = match mode {
            MPOL_DEFAULT => return Mempolicy::default_policy(nodes.nbits()),
            MPOL_PREFERRED => {
                let mut p = NodeMask::empty(nodes.nbits())?;
                if let Some(first) = nodes.first() {
                    p.set(first);
                }
                p
            }
            MPOL_BIND => nodes.and(ctx.with_memory)?,
            _ => nodes, // MPOL_INTERLEAVE
        };
        // 2.6.16: policy->cpuset_mems_allowed = cpuset_mems_allowed(current)
        Ok(Mempolicy { mode, flags: 0, nodes, w: ctx.mems_allowed.clone() })
    }

    fn new_modern(ctx: &PolicyCtx, mode: u16, flags: u16, nodes: &NodeMask) -> Result<Mempolicy> {
        let call = ctx.call.name();
        if mode >= MPOL_MAX_MODERN {
            return Err(einval(format!("{call}: policy {mode} is not below MPOL_MAX")));
        }
        check_mode_flags(mode, flags)?;
        let static_or_relative = flags & (MPOL_F_STATIC_NODES | MPOL_F_RELATIVE_NODES) != 0;
        // mpol_new(), 6.x
        if mode == MPOL_DEFAULT {
            if !nodes.is_empty() {
                return Err(einval(format!(
                    "{call}: MPOL_DEFAULT takes no nodes, got {}",
                    list(nodes)
                )));
            }
            return Mempolicy::default_policy(nodes.nbits());
        }
        let mut mode = mode;
        if mode == MPOL_PREFERRED {
            if nodes.is_empty() {
                if static_or_relative {
                    return Err(einval(format!(
                        "{call}: MPOL_PREFERRED without nodes (local allocation) cannot take \
                         MPOL_F_STATIC_NODES or MPOL_F_RELATIVE_NODES"
                    )));
                }
                mode = MPOL_LOCAL;
            }
        } else if mode == MPOL_LOCAL {
            if !nodes.is_empty() || static_or_relative {
                return Err(einval(format!(
                    "{call}: MPOL_LOCAL takes no nodes and no STATIC/RELATIVE flag (nodes {})",
                    list(nodes)
                )));
            }
        } else if nodes.is_empty() {
            return Err(einval(format!("{call}: {} needs at least one node", mode_name(mode))));
        }
        let mut flags = flags;
        if flags & MPOL_F_NUMA_BALANCING != 0 {
            flags |= MPOL_F_MOF | MPOL_F_MORON; // sanitize_mpol_flags()
        }
        let nbits = nodes.nbits();
        let mut pol =
            Mempolicy { mode, flags, nodes: NodeMask::empty(nbits)?, w: NodeMask::empty(nbits)? };
        if mode == MPOL_LOCAL {
            return Ok(pol); // mpol_set_nodemask(): no remapping for local
        }
        // mpol_set_nodemask(), 6.x
        let mask1 = ctx.mems_allowed.and(ctx.with_memory)?;
        let mask2 = if flags & MPOL_F_RELATIVE_NODES != 0 {
            relative_nodemask(nodes, &mask1)?
        } else {
            nodes.and(&mask1)?
        };
        pol.w = if flags & MPOL_MODE_FLAGS != 0 { nodes.clone() } else { ctx.mems_allowed.clone() };
        if mask2.is_empty() {
            // mpol_new_nodemask() / mpol_new_preferred()
            return Err(einval(format!(
                "{call}: none of the nodes {} is in the task's cpuset mems_allowed with memory {}",
                list(nodes),
                list(&mask1)
            )));
        }
        pol.nodes = if mode == MPOL_PREFERRED {
            let mut p = NodeMask::empty(nbits)?;
            p.set(mask2.first().expect("non-empty"));
            p
        } else {
            mask2
        };
        Ok(pol)
    }

    /// Where the next allocation under this policy goes: mirrors alloc_page_vma() (fault with a
    /// VMA, `ctx.vma` set) and alloc_pages_current() / alloc_pages() (no VMA) with
    /// zonelist_policy() (2.6) or policy_node() + policy_nodemask() (6.x). Call it on the
    /// effective policy (the VMA's unless it is default, else the task's: get_vma_policy()).
    /// Advances `il` for task interleaving (no VMA).
    pub fn target(
        &self,
        sem: Semantics,
        ctx: &AllocCtx,
        il: &mut InterleaveCursor,
    ) -> Result<Placement> {
        let nbits = self.nodes.nbits();
        if ctx.mems_allowed.nbits() != nbits {
            return Err(Error::value("mems_allowed and policy nodes differ in capacity"));
        }
        if ctx.local_node >= nbits {
            return Err(Error::value(format!(
                "local node {} is outside the {nbits}-node masks",
                ctx.local_node
            )));
        }
        let simple = |preferred: u32| Placement {
            preferred,
            allowed: None,
            bind_order: None,
            then_any: false,
            interleave: false,
        };
        if self.mode == MPOL_INTERLEAVE {
            // interleave_nid(): VMA offset if there is a VMA, else the task's round robin
            let nid = match &ctx.vma {
                Some(v) => offset_il_node(&self.nodes, interleave_offset(v)?, ctx.local_node),
                None => il.next(sem, &self.nodes),
            };
            if nid >= nbits {
                return Err(Error::invariant(
                    "policy",
                    format!("interleave policy with no nodes gave node {nid}"),
                ));
            }
            return Ok(Placement { interleave: true, ..simple(nid) });
        }
        let local = ctx.local_node;
        Ok(match sem {
            Semantics::Modern => match self.mode {
                // policy_node(): first node of the preferred mask
                MPOL_PREFERRED => simple(self.nodes.first().unwrap_or(local)),
                // policy_nodemask(): the nodes, if they intersect the cpuset
                // (cpuset_nodemask_valid_mems_allowed()); walked from the local node's zonelist
                MPOL_BIND => Placement {
                    allowed: self.nodes.intersects(ctx.mems_allowed)?.then(|| self.nodes.clone()),
                    ..simple(local)
                },
                // alloc_pages_preferred_many(): the nodes first, then anywhere
                MPOL_PREFERRED_MANY => {
                    Placement { allowed: Some(self.nodes.clone()), then_any: true, ..simple(local) }
                }
                _ => simple(local), // MPOL_LOCAL, default (preferred_node_policy[local])
            },
            _ => match self.mode {
                // zonelist_policy(): v.preferred_node, -1 = numa_node_id()
                MPOL_PREFERRED => simple(self.nodes.first().unwrap_or(local)),
                // zonelist_policy(): the bind zonelist (nodes in ascending order, built by
                // bind_zonelist()) if cpuset_zonelist_valid_mems_allowed(), else FALL THROUGH to
                // the local node's zonelist
                MPOL_BIND if self.nodes.intersects(ctx.mems_allowed)? => {
                    Placement { bind_order: Some(self.nodes.iter().collect()), ..simple(local) }
                }
                _ => simple(local),
            },
        })
    }

    /// Moves the policy to a cpuset's new mems: mirrors mpol_rebind_policy() (2.6.16/2.6.18 text;
    /// 6.x mpol_rebind_nodemask()/mpol_rebind_preferred()). V5 (2.6.14) has no rebinding: no-op.
    ///
    /// 2.6.16: nothing if `newmask` equals the recorded cpuset mems; INTERLEAVE and BIND nodes
    /// are remapped (nodes_remap(old cpuset mems -> new)), BIND keeping nodes with memory;
    /// PREFERRED's node is node_remap()ed. (The kernel also "remaps" current->il_next, but after
    /// updating the old mask, which makes that an identity map; nothing to do.)
    ///
    /// 6.x: LOCAL and DEFAULT unchanged; BIND/INTERLEAVE: STATIC = user nodes ∩ new, RELATIVE =
    /// user nodes folded onto new, else remapped from w to new (w := new); an empty result
    /// becomes `newmask`. PREFERRED and PREFERRED_MANY keep their nodes and only set w := new.
    pub fn rebind(
        &mut self,
        sem: Semantics,
        newmask: &NodeMask,
        with_memory: &NodeMask,
    ) -> Result<()> {
        match sem {
            Semantics::V5 => Ok(()),
            Semantics::Linux2616 => {
                if self.is_default() || &self.w == newmask {
                    return Ok(());
                }
                match self.mode {
                    MPOL_INTERLEAVE => self.nodes = self.nodes.remap(&self.w, newmask)?,
                    MPOL_BIND => {
                        self.nodes = self.nodes.remap(&self.w, newmask)?.and(with_memory)?;
                    }
                    MPOL_PREFERRED => {
                        if let Some(p) = self.nodes.first() {
                            let q = NodeMask::bitremap(p, &self.w, newmask)?;
                            self.nodes = NodeMask::empty(self.nodes.nbits())?;
                            self.nodes.set(q);
                        }
                    }
                    _ => {}
                }
                self.w = newmask.clone();
                Ok(())
            }
            Semantics::Modern => {
                let store_user = self.flags & MPOL_MODE_FLAGS != 0;
                if self.is_default()
                    || self.mode == MPOL_LOCAL
                    || (!store_user && &self.w == newmask)
                {
                    return Ok(());
                }
                match self.mode {
                    MPOL_BIND | MPOL_INTERLEAVE => {
                        let tmp = if self.flags & MPOL_F_STATIC_NODES != 0 {
                            self.w.and(newmask)?
                        } else if self.flags & MPOL_F_RELATIVE_NODES != 0 {
                            relative_nodemask(&self.w, newmask)?
                        } else {
                            let t = self.nodes.remap(&self.w, newmask)?;
                            self.w = newmask.clone();
                            t
                        };
                        self.nodes = if tmp.is_empty() { newmask.clone() } else { tmp };
                    }
                    _ => self.w = newmask.clone(), // PREFERRED, PREFERRED_MANY
                }
                Ok(())
            }
        }
    }

    /// The `*policy` value get_mempolicy() reports without MPOL_F_NODE: the mode (2.6); the
    /// mode or-ed with the mode flags, internal flags masked off (6.x). 0 for the default policy.
    pub fn get_mode_value(&self, sem: Semantics) -> i32 {
        if self.is_default() {
            return i32::from(MPOL_DEFAULT);
        }
        match sem {
            Semantics::Modern => i32::from(self.mode | (self.flags & MPOL_MODE_FLAGS)),
            _ => i32::from(self.mode),
        }
    }

    /// The nodemask get_mempolicy() reports: get_zonemask() in 2.6 (PREFERRED local = every
    /// online node, "or use current node instead of online map?"); in 6.x the user's nodemask
    /// for STATIC/RELATIVE (mpol_store_user_nodemask()), else get_policy_nodemask() (LOCAL and
    /// default: empty).
    pub fn get_nodemask(&self, sem: Semantics, online: &NodeMask) -> Result<NodeMask> {
        let nbits = self.nodes.nbits();
        if self.is_default() {
            return NodeMask::empty(nbits);
        }
        Ok(match sem {
            Semantics::Modern => {
                if self.flags & MPOL_MODE_FLAGS != 0 {
                    self.w.clone()
                } else if self.mode == MPOL_LOCAL {
                    NodeMask::empty(nbits)?
                } else {
                    self.nodes.clone()
                }
            }
            _ => {
                if self.mode == MPOL_PREFERRED && self.nodes.is_empty() {
                    online.clone()
                } else {
                    self.nodes.clone()
                }
            }
        })
    }

    /// get_mempolicy(MPOL_F_NODE) without MPOL_F_ADDR on the task's own policy: the node the
    /// next task-interleaved allocation will use (2.6: il_next; 6.x: next_node_in(il_prev)).
    /// EINVAL unless the policy is INTERLEAVE (do_get_mempolicy()).
    pub fn get_interleave_node(&self, sem: Semantics, il: &InterleaveCursor) -> Result<u32> {
        if self.mode != MPOL_INTERLEAVE {
            return Err(einval(format!(
                "get_mempolicy(MPOL_F_NODE) without MPOL_F_ADDR needs an interleave task policy, \
                 the task's policy is {}",
                mode_name(self.mode)
            )));
        }
        Ok(il.peek(sem, &self.nodes))
    }

    /// The policy text of /proc/PID/numa_maps (mpol_to_str()).
    /// 2.6: "default", "prefer", "bind" or "interleave", then "=<nodelist>" if the node set is
    /// not empty (a local PREFERRED prints "prefer").
    /// 6.x: "default", "prefer", "bind", "interleave", "local" or "prefer (many)"; "=static" or
    /// "=relative" for those flags; then ":<nodelist>" if non-empty. A policy with MPOL_F_MORON
    /// (NUMA balancing) prints as "default", as the kernel does.
    pub fn mpol_to_str(&self, sem: Semantics) -> String {
        if sem != Semantics::Modern {
            let mut s = mode_name(self.mode).to_string();
            if !self.is_default() && !self.nodes.is_empty() {
                s.push('=');
                s.push_str(&format_list(&self.nodes));
            }
            return s;
        }
        if self.is_default() || self.flags & MPOL_F_MORON != 0 {
            return "default".to_string();
        }
        let mut s = mode_name(self.mode).to_string();
        if self.flags & MPOL_MODE_FLAGS != 0 {
            s.push('=');
            if self.flags & MPOL_F_STATIC_NODES != 0 {
                s.push_str("static");
            } else if self.flags & MPOL_F_RELATIVE_NODES != 0 {
                s.push_str("relative");
            }
        }
        if self.mode != MPOL_LOCAL && !self.nodes.is_empty() {
            s.push(':');
            s.push_str(&format_list(&self.nodes));
        }
        s
    }
}

/// mpol_relative_nodemask() (6.x): fold `orig` to weight(rel) bits, then map it onto `rel`.
/// An empty `rel` gives the empty mask (the kernel would divide by zero; it never gets here).
fn relative_nodemask(orig: &NodeMask, rel: &NodeMask) -> Result<NodeMask> {
    let w = rel.weight();
    if w == 0 {
        return NodeMask::empty(orig.nbits());
    }
    orig.fold(w)?.onto(rel)
}

// ----- Interleaving -----

/// Where a faulting address sits in its VMA, for VMA interleaving.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct VmaOffset {
    /// vma->vm_pgoff (in small pages).
    pub vm_pgoff: u64,
    pub vm_start: u64,
    pub addr: u64,
    /// PAGE_SHIFT for normal pages, the huge page shift for hugetlb (6.x also PAGE_SHIFT+order).
    pub shift: u32,
    pub page_shift: u32,
}

/// interleave_nid()'s offset (2.6.18 / 6.x; 2.6.14 computes the same for small pages):
/// `(vm_pgoff >> (shift - PAGE_SHIFT)) + ((addr - vm_start) >> shift)`, in unsigned long
/// arithmetic.
pub fn interleave_offset(v: &VmaOffset) -> Result<u64> {
    let Some(d) = v.shift.checked_sub(v.page_shift).filter(|_| v.shift < 64) else {
        return Err(Error::value(format!(
            "interleave shift {} must be at least PAGE_SHIFT {} and below 64",
            v.shift, v.page_shift
        )));
    };
    Ok((v.vm_pgoff >> d).wrapping_add(v.addr.wrapping_sub(v.vm_start) >> v.shift))
}

/// offset_il_node() (2.6.14 .. 6.x): the `(unsigned int)off % weight`-th node of `nodes`
/// (0-based). Note the truncation of the offset to 32 bits before the modulo. An empty mask
/// gives `local_node` (6.x; 2.6 would divide by zero and never gets here).
pub fn offset_il_node(nodes: &NodeMask, off: u64, local_node: u32) -> u32 {
    let nnodes = nodes.weight();
    if nnodes == 0 {
        return local_node;
    }
    #[expect(clippy::cast_possible_truncation, reason = "(unsigned int)off, as the kernel does")]
    let target = (off as u32) % nnodes;
    nodes.nth(target).expect("target < weight")
}

/// next_node_in(): the next set node after `n`, wrapping to the first; nbits if none.
fn next_node_in(n: u32, nodes: &NodeMask) -> u32 {
    nodes.next(n).or_else(|| nodes.first()).unwrap_or(nodes.nbits())
}

/// A task's interleave position for task (non-VMA) interleaving: task->il_next in 2.6 (the node
/// the next allocation uses), task->il_prev in 6.x (the node the last one used). Zero for a new
/// task (init_task); fork copies it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct InterleaveCursor {
    pub raw: u32,
}

impl InterleaveCursor {
    /// do_set_mempolicy() with an interleave policy: il_next = first_node(nodes) (2.6) /
    /// il_prev = MAX_NUMNODES - 1 (6.x). Other policies leave it alone.
    pub fn on_set_mempolicy(&mut self, sem: Semantics, pol: &Mempolicy) {
        if pol.mode != MPOL_INTERLEAVE {
            return;
        }
        let nbits = pol.nodes.nbits();
        self.raw = match sem {
            Semantics::Modern => nbits - 1,
            _ => pol.nodes.first().unwrap_or(nbits),
        };
    }

    /// interleave_nodes(): the node for this allocation, advancing the cursor.
    /// 2.6: returns il_next and moves it to the next node (wrapping). 6.x: returns and records
    /// next_node_in(il_prev).
    pub fn next(&mut self, sem: Semantics, nodes: &NodeMask) -> u32 {
        let nbits = nodes.nbits();
        if sem == Semantics::Modern {
            let next = next_node_in(self.raw, nodes);
            if next < nbits {
                self.raw = next;
            }
            next
        } else {
            let nid = self.raw;
            self.raw = next_node_in(nid, nodes);
            nid
        }
    }

    /// The node [`InterleaveCursor::next`] would return, without moving.
    pub fn peek(&self, sem: Semantics, nodes: &NodeMask) -> u32 {
        match sem {
            Semantics::Modern => next_node_in(self.raw, nodes),
            _ => self.raw,
        }
    }
}

// ----- Where an allocation goes -----

/// The allocating context.
#[derive(Clone, Copy, Debug)]
pub struct AllocCtx<'a> {
    /// numa_node_id(): the node of the CPU the task runs on.
    pub local_node: u32,
    /// The task's mems_allowed (cpuset): no page is ever taken outside it.
    pub mems_allowed: &'a NodeMask,
    /// Some for a page fault (alloc_page_vma), None for alloc_pages_current()/alloc_pages().
    pub vma: Option<VmaOffset>,
}

/// The outcome of a policy decision, before looking at free memory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Placement {
    /// The node whose zonelist is walked (and the interleave target).
    pub preferred: u32,
    /// Only these nodes (6.x BIND nodemask, PREFERRED_MANY first pass); None = any node.
    pub allowed: Option<NodeMask>,
    /// 2.6 BIND: the policy's own zonelist, nodes in ascending id order (bind_zonelist()
    /// ignores distance), used instead of `preferred`'s zonelist.
    pub bind_order: Option<Vec<u32>>,
    /// PREFERRED_MANY: if the allowed nodes fail, walk `preferred`'s zonelist unrestricted.
    pub then_any: bool,
    /// alloc_page_interleave(): NUMA_INTERLEAVE_HIT counts when the page lands on `preferred`.
    pub interleave: bool,
}

impl Placement {
    /// The nodes to try, in order, as __alloc_pages() walks them: the bind zonelist or the
    /// zonelist of `preferred` (`zonelists[preferred]`, see [`build_all_zonelists`]), keeping
    /// nodes in `allowed` and in the cpuset's `mems_allowed` (cpuset_zone_allowed(), hardwall:
    /// user pages never leave the cpuset); then, for PREFERRED_MANY, the rest of the zonelist.
    pub fn node_order(&self, zonelists: &[Vec<u32>], mems_allowed: &NodeMask) -> Vec<u32> {
        let zl: &[u32] = zonelists.get(self.preferred as usize).map_or(&[], Vec::as_slice);
        let base = self.bind_order.as_deref().unwrap_or(zl);
        let mut out: Vec<u32> = base
            .iter()
            .copied()
            .filter(|&n| mems_allowed.test(n) && self.allowed.as_ref().is_none_or(|a| a.test(n)))
            .collect();
        if self.then_any {
            for &n in zl {
                if mems_allowed.test(n) && !out.contains(&n) {
                    out.push(n);
                }
            }
        }
        out
    }
}

// ----- get_mempolicy() -----

/// What a get_mempolicy() call asks for, once its flags are checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GetMempolicyQuery {
    /// MPOL_F_MEMS_ALLOWED (6.x): `*policy = 0`, nodemask = the task's mems_allowed.
    MemsAllowed,
    /// The policy: the task's (`addr` None) or the VMA's at `addr` (no VMA -> EFAULT; a VMA
    /// without policy reports MPOL_DEFAULT, no fallback to the task policy).
    Policy { addr: Option<u64> },
    /// MPOL_F_NODE: with `addr`, the node of the page there (faulted in first: lookup_node());
    /// without, [`Mempolicy::get_interleave_node`] of the task policy.
    Node { addr: Option<u64> },
}

/// The flag checks of do_get_mempolicy() in order (2.6.14 .. 2.6.18 and 6.x): unknown flag bits
/// are EINVAL (MPOL_F_MEMS_ALLOWED is unknown before 2.6.24); MEMS_ALLOWED with NODE or ADDR is
/// EINVAL; without MPOL_F_ADDR a non-zero `addr` is EINVAL. The VMA lookup for MPOL_F_ADDR
/// (EFAULT) comes right after, in the caller.
pub fn decode_get_mempolicy(sem: Semantics, flags: u64, addr: u64) -> Result<GetMempolicyQuery> {
    let valid = match sem {
        Semantics::Modern => MPOL_F_NODE | MPOL_F_ADDR | MPOL_F_MEMS_ALLOWED,
        _ => MPOL_F_NODE | MPOL_F_ADDR,
    };
    if flags & !valid != 0 {
        return Err(einval(format!(
            "get_mempolicy: flags {flags:#x} contain unknown bits {:#x} in {sem}",
            flags & !valid
        )));
    }
    if flags & MPOL_F_MEMS_ALLOWED != 0 {
        if flags & (MPOL_F_NODE | MPOL_F_ADDR) != 0 {
            return Err(einval(
                "get_mempolicy: MPOL_F_MEMS_ALLOWED cannot be combined with MPOL_F_NODE or \
                 MPOL_F_ADDR",
            ));
        }
        return Ok(GetMempolicyQuery::MemsAllowed);
    }
    let addr = if flags & MPOL_F_ADDR != 0 {
        Some(addr)
    } else if addr != 0 {
        return Err(einval(format!("get_mempolicy: addr {addr:#x} given without MPOL_F_ADDR")));
    } else {
        None
    };
    Ok(if flags & MPOL_F_NODE != 0 {
        GetMempolicyQuery::Node { addr }
    } else {
        GetMempolicyQuery::Policy { addr }
    })
}

/// sys_get_mempolicy()'s first check: with a nodemask pointer, `maxnode` below MAX_NUMNODES
/// (2.6) / nr_node_ids (6.x) is EINVAL.
pub fn check_get_mempolicy_maxnode(
    sem: Semantics,
    nmask_given: bool,
    maxnode: u64,
    max_numnodes: u32,
    nr_node_ids: u32,
) -> Result<()> {
    let min = if sem == Semantics::Modern { nr_node_ids } else { max_numnodes };
    if nmask_given && maxnode < u64::from(min) {
        return Err(einval(format!(
            "get_mempolicy: maxnode {maxnode} is below {} ({min})",
            if sem == Semantics::Modern { "nr_node_ids" } else { "MAX_NUMNODES" }
        )));
    }
    Ok(())
}

// ----- Zonelists (mm/page_alloc.c build_zonelists / find_next_best_node) -----

/// The machine facts the fallback order depends on.
#[derive(Clone, Copy)]
pub struct NumaTopology<'a> {
    /// node_possible_map: 6.x builds a list for every possible node (each build moves node_load).
    pub possible: &'a NodeMask,
    /// node_online_map: 2.6 builds lists for, and considers, online nodes.
    pub online: &'a NodeMask,
    /// Nodes with memory (N_MEMORY / nodes with present zones): the only nodes in a zonelist.
    pub with_memory: &'a NodeMask,
    /// Nodes with CPUs (node_to_cpumask() not empty): PENALTY_FOR_NODE_WITH_CPUS.
    pub with_cpus: &'a NodeMask,
    /// node_distance(from, to) (SLIT; 10 local, 20 remote without one).
    pub distance: &'a dyn Fn(u32, u32) -> u32,
    /// MAX_NUMNODES of the kernel build.
    pub max_numnodes: u32,
}

/// The fallback node order of every node, indexed by node id (an empty list for nodes that get
/// none): what `NODE_DATA(nid)->node_zonelists` holds, reduced to nodes. Built in node order
/// with one shared node_load[] array, as build_all_zonelists() does, so equidistant nodes
/// take turns being first ("round-robin").
///
/// Per generation (find_next_best_node() + build_zonelists()):
/// * V5 (2.6.14): candidates n = (local + i) % num_online_nodes() for each online node i, so
///   ties go to the first node after the local one; nodes beyond a hole in the online map are
///   never reached (the kernel crashed on such maps; here an offline n is skipped).
/// * 2.6.16 (Linus' "handle holes" fix of 2006-02, believed to be in 2.6.16-rc4): candidates
///   are the online nodes in id order, with +1 for nodes below the local one.
/// * both: value = (distance + penalties) * (num_online_nodes() * MAX_NUMNODES) + node_load[n];
///   the first node of each new distance group gets node_load += load, where load counts down
///   from num_online_nodes() per node placed. Memoryless nodes are placed too (they move the
///   bookkeeping) but have no zones.
/// * 6.x: candidates are the N_MEMORY nodes in id order, +1 below local, value = (...) *
///   MAX_NUMNODES + node_load[n], node_load += 1 per new distance group, node_load zeroed per
///   rebuild, lists built for every possible node.
pub fn build_all_zonelists(sem: Semantics, topo: &NumaTopology) -> Vec<Vec<u32>> {
    build_all_zonelists_with(sem, topo, || Ok(())).expect("nothing interrupts it")
}

/// [`build_all_zonelists`], stopping with `Interrupted` between two nodes' lists if the user
/// asks (see [`crate::interrupt`]): a 1024-node machine builds 1024 lists.
pub fn build_all_zonelists_interruptible(
    sem: Semantics,
    topo: &NumaTopology,
) -> Result<Vec<Vec<u32>>> {
    build_all_zonelists_with(sem, topo, crate::interrupt::check)
}

/// The fallback order of one node as [`build_all_zonelists`] computes it (it builds every
/// node's list, since node_load carries over). Empty if `preferred` gets no list.
pub fn zonelist(sem: Semantics, preferred: u32, topo: &NumaTopology) -> Vec<u32> {
    build_all_zonelists(sem, topo).into_iter().nth(preferred as usize).unwrap_or_default()
}

fn build_all_zonelists_with(
    sem: Semantics,
    topo: &NumaTopology,
    check: impl Fn() -> Result<()>,
) -> Result<Vec<Vec<u32>>> {
    let nbits = topo.online.nbits();
    let mut lists = vec![Vec::new(); nbits as usize];
    let mut node_load = vec![0i64; nbits as usize];
    let builders: &NodeMask = if sem == Semantics::Modern { topo.possible } else { topo.online };
    // The candidates find_next_best_node() scans, in its scan order, built once: 2.6.16 scans
    // the online nodes and 6.x the N_MEMORY nodes in id order; V5 rotates per local node.
    let scan: Vec<u32> = match sem {
        Semantics::V5 | Semantics::Linux2616 => topo.online.iter().collect(),
        Semantics::Modern => topo.with_memory.iter().collect(),
    };
    let mut order = Vec::with_capacity(scan.len());
    let mut seen = vec![false; nbits as usize];
    for nid in builders {
        check()?;
        lists[nid as usize] =
            build_zonelist(sem, nid, topo, &scan, &mut node_load, &mut order, &mut seen);
    }
    Ok(lists)
}

/// build_zonelists() of one node: the nodes find_next_best_node() returns, one call after the
/// other, with node_load[] moved as they come.
///
/// find_next_best_node() returns the local node first, then the unused candidate of least
/// value, the first in scan order among equals (its test is `val < min_val`). A candidate's
/// value depends on node_load[] of that candidate only, and node_load[] changes only for the
/// node just returned, which is used from then on: so while one list is built the values of the
/// remaining candidates stay put, and the calls return the candidates sorted by (value, scan
/// position). One sort per node instead of one scan per pick: O(N log N) instead of O(N^2), so
/// O(N^2 log N) for the machine. `zonelists_equal_the_kernel_loop` checks the two agree.
fn build_zonelist(
    sem: Semantics,
    local: u32,
    topo: &NumaTopology,
    scan: &[u32],
    node_load: &mut [i64],
    order: &mut Vec<(i64, u32, u32)>,
    seen: &mut [bool],
) -> Vec<u32> {
    let num_online = topo.online.weight();
    if num_online == 0 {
        return Vec::new();
    }
    let max = i64::from(topo.max_numnodes);
    let scale = if sem == Semantics::Modern { max } else { i64::from(num_online) * max };
    // find_next_best_node(): distance, +1 below the local node (not in 2.6.14), +1 for a node
    // with CPUs, scaled, plus node_load[n].
    let value = |n: u32| -> i64 {
        let mut val = i64::from((topo.distance)(local, n));
        if sem != Semantics::V5 {
            val += i64::from(n < local); // "Penalize nodes under us"
        }
        if topo.with_cpus.test(n) {
            val += PENALTY_FOR_NODE_WITH_CPUS;
        }
        val * scale + node_load[n as usize]
    };
    order.clear();
    match sem {
        Semantics::V5 => {
            // find_next_best_node(), 2.6.14: candidates n = (local + i) % num_online_nodes()
            // for each online i, in that order; a candidate beyond a hole in the online map
            // (2.6.14 read its distance and crashed on such machines) is passed over, and one
            // met twice counts where it is met first.
            // scan holds one entry per online node: fewer than the mask's u32 capacity.
            for (pos, &i) in (0u32..).zip(scan.iter()) {
                let n = (local + i) % num_online;
                if n != local && topo.online.test(n) && !seen[n as usize] {
                    seen[n as usize] = true;
                    order.push((value(n), pos, n));
                }
            }
            for &(_, _, n) in order.iter() {
                seen[n as usize] = false;
            }
        }
        Semantics::Linux2616 | Semantics::Modern => {
            order.extend(scan.iter().filter(|&&n| n != local).map(|&n| (value(n), n, n)));
        }
    }
    order.sort_unstable();
    // build_zonelists(): "load = num_online_nodes()", node_load[node] += load for the first
    // node of each new distance group (6.x: += 1), load-- per node; only nodes with memory have
    // zones in the list.
    let mut out = Vec::with_capacity(order.len() + 1);
    let mut prev = local;
    let mut load = i64::from(num_online);
    for node in std::iter::once(local).chain(order.iter().map(|&(_, _, n)| n)) {
        if (topo.distance)(local, node) != (topo.distance)(local, prev) {
            node_load[node as usize] += if sem == Semantics::Modern { 1 } else { load };
        }
        prev = node;
        load -= 1;
        if topo.with_memory.test(node) {
            out.push(node);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::to_usize;
    use crate::testutil::Rng;

    const V5: Semantics = Semantics::V5;
    const OLD: Semantics = Semantics::Linux2616;
    const NEW: Semantics = Semantics::Modern;
    const NB: u32 = 8;

    fn m(nodes: &[i64]) -> NodeMask {
        NodeMask::from_nodes(nodes.iter().copied(), NB).unwrap()
    }
    fn v(mask: &NodeMask) -> Vec<u32> {
        mask.iter().collect()
    }
    fn errno_of<T: std::fmt::Debug>(r: Result<T>) -> i32 {
        r.unwrap_err().errno().expect("an errno")
    }

    struct World {
        mems: NodeMask,
        online: NodeMask,
        memory: NodeMask,
    }
    impl World {
        /// Online 0-3 with memory, the task's cpuset allows 0-1.
        fn std() -> World {
            World { mems: m(&[0, 1]), online: m(&[0, 1, 2, 3]), memory: m(&[0, 1, 2, 3]) }
        }
        fn ctx(&self, sem: Semantics, call: PolicyCall) -> PolicyCtx<'_> {
            PolicyCtx {
                semantics: sem,
                call,
                mems_allowed: &self.mems,
                online: &self.online,
                with_memory: &self.memory,
            }
        }
        fn pol(
            &self,
            sem: Semantics,
            call: PolicyCall,
            mode_arg: i64,
            nodes: &[i64],
        ) -> Result<Mempolicy> {
            let (mode, flags) = sanitize_mode(sem, mode_arg)?;
            Mempolicy::new(&self.ctx(sem, call), mode, flags, &m(nodes))
        }
    }

    #[test]
    fn constants() {
        assert_eq!(
            [MPOL_DEFAULT, MPOL_PREFERRED, MPOL_BIND, MPOL_INTERLEAVE, MPOL_LOCAL],
            [0, 1, 2, 3, 4]
        );
        assert_eq!(MPOL_PREFERRED_MANY, 5);
        assert_eq!(
            (MPOL_F_STATIC_NODES, MPOL_F_RELATIVE_NODES, MPOL_F_NUMA_BALANCING),
            (0x8000, 0x4000, 0x2000)
        );
        assert_eq!((MPOL_F_NODE, MPOL_F_ADDR, MPOL_F_MEMS_ALLOWED), (1, 2, 4));
        assert_eq!((MPOL_MF_STRICT, MPOL_MF_MOVE, MPOL_MF_MOVE_ALL), (1, 2, 4));
        assert_eq!(mf_internal::v5::MPOL_MF_DISCONTIG_OK, 1 << 20);
        assert_eq!(mf_internal::linux2616::MPOL_MF_DISCONTIG_OK, 8);
        assert_eq!(mf_internal::linux2616::MPOL_MF_INVERT, 16);
        assert_eq!(mf_internal::modern::MPOL_MF_DISCONTIG_OK, 16);
        assert_eq!(mf_internal::modern::MPOL_MF_INVERT, 32);
    }

    #[test]
    fn sanitize_mode_per_generation() {
        type Row = (i64, Option<(u16, u16)>, Option<(u16, u16)>);
        // (mode argument, 2.6 result, modern result); Err = EINVAL
        let s = i64::from(MPOL_F_STATIC_NODES);
        let r = i64::from(MPOL_F_RELATIVE_NODES);
        let nb = i64::from(MPOL_F_NUMA_BALANCING);
        let table: [Row; 11] = [
            (0, Some((0, 0)), Some((0, 0))),
            (3, Some((3, 0)), Some((3, 0))),
            (4, None, Some((4, 0))),
            (5, None, Some((5, 0))),
            (6, None, None),
            (-1, None, None),
            (2 | s, None, Some((2, 0x8000))),
            (3 | r, None, Some((3, 0x4000))),
            (2 | s | r, None, None),
            (2 | nb, None, Some((2, 0x2000))),
            (3 | nb, None, None),
        ];
        for (arg, old, new) in table {
            for sem in [V5, OLD] {
                assert_eq!(sanitize_mode(sem, arg).ok(), old, "{sem} {arg:#x}");
            }
            assert_eq!(sanitize_mode(NEW, arg).ok(), new, "modern {arg:#x}");
        }
        assert_eq!(errno_of(sanitize_mode(NEW, 9)), errno::EINVAL);
        // int truncation of the modern mode argument: 1 << 32 | 2 is mode 2
        assert_eq!(sanitize_mode(NEW, (1 << 32) | 2).unwrap(), (2, 0));
    }

    #[test]
    fn validation_2_6() {
        use PolicyCall::*;
        let w = World::std();
        // DEFAULT needs no nodes
        for sem in [V5, OLD] {
            assert!(w.pol(sem, SetMempolicy, 0, &[]).unwrap().is_default());
            assert_eq!(errno_of(w.pol(sem, Mbind, 0, &[1])), errno::EINVAL);
            // BIND/INTERLEAVE need nodes
            assert_eq!(errno_of(w.pol(sem, SetMempolicy, 2, &[])), errno::EINVAL);
            assert_eq!(errno_of(w.pol(sem, Mbind, 3, &[])), errno::EINVAL);
            // PREFERRED with no nodes = local
            let p = w.pol(sem, SetMempolicy, 1, &[]).unwrap();
            assert_eq!((p.mode, p.nodes.is_empty()), (MPOL_PREFERRED, true));
            // PREFERRED keeps the first node only
            let p = w.pol(sem, Mbind, 1, &[3, 2]).unwrap();
            assert_eq!(v(&p.nodes), vec![2]);
            // offline nodes: EINVAL (mbind is checked against online, not the cpuset)
            let e = w.pol(sem, Mbind, 2, &[1, 5]).unwrap_err();
            assert!(e.detail.contains("nodes 5 are not online"), "{}", e.detail);
            assert_eq!(v(&w.pol(sem, Mbind, 3, &[2, 3]).unwrap().nodes), vec![2, 3]);
            // LOCAL and PREFERRED_MANY do not exist
            assert_eq!(errno_of(w.pol(sem, SetMempolicy, 4, &[])), errno::EINVAL);
            let ctx = w.ctx(sem, SetMempolicy);
            assert_eq!(errno_of(Mempolicy::new(&ctx, 5, 0, &m(&[0]))), errno::EINVAL);
            assert_eq!(
                errno_of(Mempolicy::new(&ctx, 2, MPOL_F_STATIC_NODES, &m(&[0]))),
                errno::EINVAL
            );
        }
        // set_mempolicy nodes outside the cpuset: V5 trims, 2.6.16 refuses
        let p = w.pol(V5, SetMempolicy, 3, &[1, 2, 3]).unwrap();
        assert_eq!(v(&p.nodes), vec![1]);
        assert_eq!(errno_of(w.pol(V5, SetMempolicy, 2, &[2, 3])), errno::EINVAL); // trimmed empty
        assert!(w.pol(V5, SetMempolicy, 0, &[3]).unwrap().is_default()); // trimmed to no nodes
        let p = w.pol(V5, SetMempolicy, 1, &[3]).unwrap();
        assert!(p.nodes.is_empty(), "V5 PREFERRED trimmed to nothing is local");
        let e = w.pol(OLD, SetMempolicy, 3, &[1, 2, 3]).unwrap_err();
        assert_eq!(e.errno(), Some(errno::EINVAL));
        assert!(e.detail.contains("nodes 2-3 are not in the task's cpuset mems_allowed 0-1"));
        assert_eq!(errno_of(w.pol(OLD, SetMempolicy, 0, &[3])), errno::EINVAL);
        // BIND keeps only nodes with memory (bind_zonelist)
        let w2 = World { memory: m(&[0, 2]), ..World::std() };
        let p = w2.pol(OLD, Mbind, 2, &[1, 2]).unwrap();
        assert_eq!(v(&p.nodes), vec![2]);
        assert_eq!(p.w, m(&[0, 1]), "cpuset_mems_allowed recorded");
    }

    #[test]
    fn validation_modern() {
        use PolicyCall::*;
        let w = World::std();
        let s = i64::from(MPOL_F_STATIC_NODES);
        let r = i64::from(MPOL_F_RELATIVE_NODES);
        let nb = i64::from(MPOL_F_NUMA_BALANCING);
        for call in [SetMempolicy, Mbind] {
            assert!(w.pol(NEW, call, 0, &[]).unwrap().is_default());
            assert_eq!(errno_of(w.pol(NEW, call, 0, &[0])), errno::EINVAL);
            // PREFERRED without nodes becomes LOCAL, but not with STATIC/RELATIVE
            assert_eq!(w.pol(NEW, call, 1, &[]).unwrap().mode, MPOL_LOCAL);
            assert_eq!(errno_of(w.pol(NEW, call, 1 | s, &[])), errno::EINVAL);
            assert_eq!(errno_of(w.pol(NEW, call, 1 | r, &[])), errno::EINVAL);
            // LOCAL takes no nodes
            assert_eq!(w.pol(NEW, call, 4, &[]).unwrap().mode, MPOL_LOCAL);
            assert_eq!(errno_of(w.pol(NEW, call, 4, &[0])), errno::EINVAL);
            assert_eq!(errno_of(w.pol(NEW, call, 4 | s, &[])), errno::EINVAL);
            // others need nodes
            for mode in [2, 3, 5] {
                assert_eq!(errno_of(w.pol(NEW, call, mode, &[])), errno::EINVAL);
            }
            // silently trimmed to the cpuset (both calls), EINVAL when nothing is left
            assert_eq!(v(&w.pol(NEW, call, 3, &[1, 2, 3]).unwrap().nodes), vec![1]);
            let e = w.pol(NEW, call, 2, &[2, 3]).unwrap_err();
            assert!(e.detail.contains("none of the nodes 2-3"), "{}", e.detail);
            // PREFERRED keeps the first allowed node
            assert_eq!(v(&w.pol(NEW, call, 1, &[3, 1, 0]).unwrap().nodes), vec![0]);
            assert_eq!(v(&w.pol(NEW, call, 5, &[1, 3]).unwrap().nodes), vec![1]);
        }
        // STATIC keeps the user's mask in w; plain policies record the cpuset
        let p = w.pol(NEW, SetMempolicy, 2 | s, &[1, 3]).unwrap();
        assert_eq!((v(&p.nodes), v(&p.w)), (vec![1], vec![1, 3]));
        assert_eq!(p.get_mode_value(NEW), 2 | 0x8000);
        let p = w.pol(NEW, SetMempolicy, 2, &[1, 3]).unwrap();
        assert_eq!((v(&p.nodes), v(&p.w)), (vec![1], vec![0, 1]));
        // RELATIVE: nodes are ordinals into the cpuset ∩ N_MEMORY: {0,1} here
        let wide = World {
            mems: m(&[2, 3, 5]),
            online: m(&[0, 1, 2, 3, 4, 5]),
            memory: m(&[0, 1, 2, 3, 4, 5]),
        };
        let p = wide.pol(NEW, SetMempolicy, 3 | r, &[0, 2]).unwrap();
        assert_eq!(v(&p.nodes), vec![2, 5]);
        let p = wide.pol(NEW, SetMempolicy, 3 | r, &[4]).unwrap(); // 4 mod 3 = 1 -> node 3
        assert_eq!(v(&p.nodes), vec![3]);
        // NUMA balancing: BIND only, sets MOF|MORON
        let p = w.pol(NEW, Mbind, 2 | nb, &[0]).unwrap();
        assert_eq!(p.flags, MPOL_F_NUMA_BALANCING | MPOL_F_MOF | MPOL_F_MORON);
        assert_eq!(errno_of(w.pol(NEW, Mbind, 3 | nb, &[0])), errno::EINVAL);
        // nodes without memory do not count
        let w3 = World { memory: m(&[0]), ..World::std() };
        assert_eq!(v(&w3.pol(NEW, Mbind, 3, &[0, 1]).unwrap().nodes), vec![0]);
        assert_eq!(errno_of(w3.pol(NEW, Mbind, 3, &[1])), errno::EINVAL);
    }

    #[test]
    fn interleave_arithmetic() {
        let nodes = m(&[1, 3, 4, 6]);
        // (off, node): the (off mod 4)-th node
        for (off, want) in
            [(0, 1), (1, 3), (2, 4), (3, 6), (4, 1), (7, 6), (1 << 32, 1), ((1 << 32) + 5, 3)]
        {
            assert_eq!(offset_il_node(&nodes, off, 0), want, "off {off}");
        }
        // 2^32+3: (unsigned)off = 3 -> node 6; without truncation it would be (2^32+3) % 4 = 3 too,
        // so check a weight where truncation matters: 3 nodes, 2^32 % 3 = 1 but (u32)2^32 = 0
        let three = m(&[0, 2, 5]);
        assert_eq!(offset_il_node(&three, 1 << 32, 7), 0);
        assert_eq!(offset_il_node(&m(&[]), 9, 7), 7);
        // the offset: vm_pgoff + page index in the VMA
        let vo =
            VmaOffset { vm_pgoff: 10, vm_start: 0x10000, addr: 0x13000, shift: 12, page_shift: 12 };
        assert_eq!(interleave_offset(&vo).unwrap(), 13);
        // huge pages: vm_pgoff is in small pages and is shifted down
        let vo = VmaOffset {
            vm_pgoff: 1024,
            vm_start: 0x4000_0000,
            addr: 0x4060_0000,
            shift: 21,
            page_shift: 12,
        };
        assert_eq!(interleave_offset(&vo).unwrap(), 2 + 3);
        let bad = VmaOffset { shift: 11, ..vo };
        assert!(interleave_offset(&bad).is_err());
    }

    #[test]
    fn task_interleave_cursor() {
        let w = World { mems: m(&[0, 1, 2, 3]), ..World::std() };
        for sem in Semantics::ALL {
            let pol = w.pol(sem, PolicyCall::SetMempolicy, 3, &[1, 2, 3]).unwrap();
            let mut il = InterleaveCursor::default();
            il.on_set_mempolicy(sem, &pol);
            assert_eq!(pol.get_interleave_node(sem, &il).unwrap(), 1, "{sem}");
            let seq: Vec<u32> = (0..5).map(|_| il.next(sem, &pol.nodes)).collect();
            assert_eq!(seq, vec![1, 2, 3, 1, 2], "{sem}");
            assert_eq!(pol.get_interleave_node(sem, &il).unwrap(), 3, "{sem}");
            let raw = if sem == NEW { 2 } else { 3 };
            assert_eq!(il.raw, raw, "{sem}: il_prev vs il_next");
            let bind = w.pol(sem, PolicyCall::SetMempolicy, 2, &[1]).unwrap();
            assert_eq!(errno_of(bind.get_interleave_node(sem, &il)), errno::EINVAL);
        }
        // 2.6 returns il_next even if it is not (any more) in the mask; 6.x moves to the next one
        let nodes = m(&[1, 3]);
        let mut old = InterleaveCursor { raw: 2 };
        assert_eq!(old.next(OLD, &nodes), 2);
        assert_eq!(old.next(OLD, &nodes), 3);
        let mut new = InterleaveCursor { raw: 2 };
        assert_eq!(new.next(NEW, &nodes), 3);
        assert_eq!(new.next(NEW, &nodes), 1);
    }

    #[test]
    fn placement_per_mode() {
        let all = m(&[0, 1, 2, 3]);
        let w = World { mems: all.clone(), ..World::std() };
        let mut il = InterleaveCursor::default();
        let ctx = AllocCtx { local_node: 2, mems_allowed: &all, vma: None };
        // zonelists of the ring SLIT (see zonelists_modern_ring)
        let zl = vec![vec![0, 1, 3, 2], vec![1, 2, 0, 3], vec![2, 3, 1, 0], vec![3, 0, 2, 1]];
        for sem in Semantics::ALL {
            let d = Mempolicy::default_policy(NB).unwrap();
            let p = d.target(sem, &ctx, &mut il).unwrap();
            assert_eq!((p.preferred, p.node_order(&zl, &all)), (2, vec![2, 3, 1, 0]));
            let pref = w.pol(sem, PolicyCall::Mbind, 1, &[1]).unwrap();
            let p = pref.target(sem, &ctx, &mut il).unwrap();
            assert_eq!(p.node_order(&zl, &all), vec![1, 2, 0, 3], "{sem}");
            // the cpuset filters every walk
            assert_eq!(p.node_order(&zl, &m(&[0, 3])), vec![0, 3]);
            let local_pref = w.pol(sem, PolicyCall::Mbind, 1, &[]).unwrap();
            assert_eq!(local_pref.target(sem, &ctx, &mut il).unwrap().preferred, 2);
        }
        // BIND: 2.6 walks the bind nodes in id order, 6.x from the local node by distance
        let bind_old = w.pol(OLD, PolicyCall::Mbind, 2, &[0, 1, 3]).unwrap();
        let p = bind_old.target(OLD, &ctx, &mut il).unwrap();
        assert_eq!(p.node_order(&zl, &all), vec![0, 1, 3]);
        let bind_new = w.pol(NEW, PolicyCall::Mbind, 2, &[0, 1, 3]).unwrap();
        let p = bind_new.target(NEW, &ctx, &mut il).unwrap();
        assert_eq!(p.node_order(&zl, &all), vec![3, 1, 0]);
        // BIND nodes all outside the cpuset: fall back to the local default walk
        let cs = m(&[2]);
        let ctx2 = AllocCtx { mems_allowed: &cs, ..ctx };
        for (sem, pol) in [(OLD, &bind_old), (NEW, &bind_new)] {
            let p = pol.target(sem, &ctx2, &mut il).unwrap();
            assert_eq!((p.bind_order.clone(), p.allowed.clone()), (None, None), "{sem}");
            assert_eq!(p.node_order(&zl, &cs), vec![2]);
        }
        // PREFERRED_MANY: its nodes by distance first, then the rest
        let many = w.pol(NEW, PolicyCall::Mbind, 5, &[0, 1]).unwrap();
        let p = many.target(NEW, &ctx, &mut il).unwrap();
        assert_eq!(p.node_order(&zl, &all), vec![1, 0, 2, 3]);
        // INTERLEAVE with a VMA: offset based, zonelist of the interleave node
        let inter = w.pol(NEW, PolicyCall::Mbind, 3, &[0, 1, 3]).unwrap();
        let vma = VmaOffset { vm_pgoff: 0, vm_start: 0, addr: 0x2000, shift: 12, page_shift: 12 };
        let ctx3 = AllocCtx { vma: Some(vma), ..ctx };
        let before = il;
        let p = inter.target(NEW, &ctx3, &mut il).unwrap();
        assert_eq!((p.preferred, p.interleave), (3, true));
        assert_eq!(il, before, "VMA interleave does not move the task cursor");
        assert_eq!(p.node_order(&zl, &all), vec![3, 0, 2, 1]);
        // without a VMA: the task's round robin
        let mut il = InterleaveCursor::default();
        il.on_set_mempolicy(NEW, &inter);
        let got: Vec<u32> =
            (0..4).map(|_| inter.target(NEW, &ctx, &mut il).unwrap().preferred).collect();
        assert_eq!(got, vec![0, 1, 3, 0]);
    }

    #[test]
    fn numa_maps_text() {
        use PolicyCall::Mbind;
        let w = World { mems: m(&[0, 1, 2, 3]), ..World::std() };
        let s = i64::from(MPOL_F_STATIC_NODES);
        let r = i64::from(MPOL_F_RELATIVE_NODES);
        let nb = i64::from(MPOL_F_NUMA_BALANCING);
        let cases: [(Semantics, i64, &[i64], &str); 14] = [
            (OLD, 0, &[], "default"),
            (OLD, 1, &[2], "prefer=2"),
            (OLD, 1, &[], "prefer"),
            (OLD, 2, &[0, 1], "bind=0-1"),
            (OLD, 3, &[0, 1, 2, 3], "interleave=0-3"),
            (V5, 3, &[0, 2, 3], "interleave=0,2-3"),
            (NEW, 0, &[], "default"),
            (NEW, 1, &[2], "prefer:2"),
            (NEW, 1, &[], "local"),
            (NEW, 2, &[0, 1], "bind:0-1"),
            (NEW, 3 | s, &[0, 1, 3], "interleave=static:0-1,3"),
            (NEW, 3 | r, &[0, 1], "interleave=relative:0-1"),
            (NEW, 5, &[1, 2], "prefer (many):1-2"),
            (NEW, 2 | nb, &[0], "default"),
        ];
        for (sem, mode, nodes, want) in cases {
            let p = w.pol(sem, Mbind, mode, nodes).unwrap();
            assert_eq!(p.mpol_to_str(sem), want, "{sem} {mode:#x} {nodes:?}");
        }
    }

    #[test]
    fn get_mempolicy_flags() {
        use GetMempolicyQuery::*;
        for sem in Semantics::ALL {
            assert_eq!(decode_get_mempolicy(sem, 0, 0).unwrap(), Policy { addr: None });
            assert_eq!(
                decode_get_mempolicy(sem, 2, 0x1000).unwrap(),
                Policy { addr: Some(0x1000) }
            );
            assert_eq!(decode_get_mempolicy(sem, 3, 0x1000).unwrap(), Node { addr: Some(0x1000) });
            assert_eq!(decode_get_mempolicy(sem, 1, 0).unwrap(), Node { addr: None });
            assert_eq!(errno_of(decode_get_mempolicy(sem, 0, 0x1000)), errno::EINVAL);
            assert_eq!(errno_of(decode_get_mempolicy(sem, 8, 0)), errno::EINVAL);
        }
        assert_eq!(decode_get_mempolicy(NEW, 4, 0).unwrap(), MemsAllowed);
        assert_eq!(errno_of(decode_get_mempolicy(NEW, 5, 0)), errno::EINVAL);
        assert_eq!(errno_of(decode_get_mempolicy(NEW, 6, 0)), errno::EINVAL);
        for sem in [V5, OLD] {
            let e = decode_get_mempolicy(sem, 4, 0).unwrap_err();
            assert!(e.detail.contains("unknown bits 0x4"), "{}", e.detail);
        }
        assert_eq!(errno_of(check_get_mempolicy_maxnode(OLD, true, 63, 64, 4)), errno::EINVAL);
        check_get_mempolicy_maxnode(OLD, true, 64, 64, 4).unwrap();
        check_get_mempolicy_maxnode(OLD, false, 0, 64, 4).unwrap();
        check_get_mempolicy_maxnode(NEW, true, 4, 64, 4).unwrap();
        assert_eq!(errno_of(check_get_mempolicy_maxnode(NEW, true, 3, 64, 4)), errno::EINVAL);
    }

    #[test]
    fn get_mempolicy_values() {
        use PolicyCall::Mbind;
        let w = World { mems: m(&[0, 1, 2, 3]), ..World::std() };
        let online = m(&[0, 1, 2, 3]);
        // 2.6: local PREFERRED reports every online node
        let p = w.pol(OLD, Mbind, 1, &[]).unwrap();
        assert_eq!(
            (p.get_mode_value(OLD), p.get_nodemask(OLD, &online).unwrap()),
            (1, online.clone())
        );
        // 6.x: it is LOCAL with an empty mask
        let p = w.pol(NEW, Mbind, 1, &[]).unwrap();
        assert_eq!(p.get_mode_value(NEW), 4);
        assert!(p.get_nodemask(NEW, &online).unwrap().is_empty());
        // 6.x STATIC reports the user's nodes (not the trimmed ones)
        let w2 = World::std(); // cpuset 0-1
        let s = i64::from(MPOL_F_STATIC_NODES);
        let p = w2.pol(NEW, Mbind, 3 | s, &[1, 2]).unwrap();
        assert_eq!(v(&p.nodes), vec![1]);
        assert_eq!(v(&p.get_nodemask(NEW, &online).unwrap()), vec![1, 2]);
        assert_eq!(p.get_mode_value(NEW), 3 | 0x8000);
        let d = Mempolicy::default_policy(NB).unwrap();
        for sem in Semantics::ALL {
            assert_eq!(d.get_mode_value(sem), 0);
            assert!(d.get_nodemask(sem, &online).unwrap().is_empty());
        }
    }

    #[test]
    fn rebind_per_generation() {
        use PolicyCall::SetMempolicy;
        let w = World { mems: m(&[0, 1]), ..World::std() };
        let newmask = m(&[2, 3]);
        let mem = m(&[0, 1, 2, 3]);
        // V5: nothing
        let mut p = w.pol(V5, SetMempolicy, 3, &[0, 1]).unwrap();
        p.rebind(V5, &newmask, &mem).unwrap();
        assert_eq!(v(&p.nodes), vec![0, 1]);
        // 2.6.16: remapped, w updated; preferred node remapped
        let mut p = w.pol(OLD, SetMempolicy, 3, &[1]).unwrap();
        p.rebind(OLD, &newmask, &mem).unwrap();
        assert_eq!((v(&p.nodes), p.w.clone()), (vec![3], newmask.clone()));
        let mut p = w.pol(OLD, SetMempolicy, 1, &[1]).unwrap();
        p.rebind(OLD, &newmask, &mem).unwrap();
        assert_eq!(v(&p.nodes), vec![3]);
        let mut p = w.pol(OLD, SetMempolicy, 2, &[0, 1]).unwrap();
        p.rebind(OLD, &newmask, &m(&[0, 1, 3])).unwrap();
        assert_eq!(v(&p.nodes), vec![3], "bind keeps nodes with memory");
        // 6.x plain: remapped
        let mut p = w.pol(NEW, SetMempolicy, 3, &[0, 1]).unwrap();
        p.rebind(NEW, &newmask, &mem).unwrap();
        assert_eq!((v(&p.nodes), p.w.clone()), (vec![2, 3], newmask.clone()));
        // 6.x STATIC: user nodes ∩ new, empty -> new
        let s = i64::from(MPOL_F_STATIC_NODES);
        let r = i64::from(MPOL_F_RELATIVE_NODES);
        let mut p = w.pol(NEW, SetMempolicy, 3 | s, &[1, 3]).unwrap();
        assert_eq!(v(&p.nodes), vec![1]);
        p.rebind(NEW, &newmask, &mem).unwrap();
        assert_eq!(v(&p.nodes), vec![3]);
        p.rebind(NEW, &m(&[0]), &mem).unwrap();
        assert_eq!(v(&p.nodes), vec![0], "empty intersection falls back to the new mask");
        // 6.x RELATIVE: ordinals into the new mask
        let mut p = w.pol(NEW, SetMempolicy, 3 | r, &[1]).unwrap();
        assert_eq!(v(&p.nodes), vec![1]);
        p.rebind(NEW, &newmask, &mem).unwrap();
        assert_eq!(v(&p.nodes), vec![3]);
        // 6.x PREFERRED keeps its node
        let mut p = w.pol(NEW, SetMempolicy, 1, &[1]).unwrap();
        p.rebind(NEW, &newmask, &mem).unwrap();
        assert_eq!((v(&p.nodes), p.w.clone()), (vec![1], newmask.clone()));
        // LOCAL / DEFAULT untouched
        let mut p = w.pol(NEW, SetMempolicy, 4, &[]).unwrap();
        let before = p.clone();
        p.rebind(NEW, &newmask, &mem).unwrap();
        assert_eq!(p, before);
    }

    /// A ring of 4 nodes, every node with CPUs and memory.
    fn ring(a: u32, b: u32) -> u32 {
        const D: [[u32; 4]; 4] =
            [[10, 20, 30, 20], [20, 10, 20, 30], [30, 20, 10, 20], [20, 30, 20, 10]];
        D[a as usize][b as usize]
    }

    fn topo<'a>(
        online: &'a NodeMask,
        memory: &'a NodeMask,
        cpus: &'a NodeMask,
        d: &'a dyn Fn(u32, u32) -> u32,
    ) -> NumaTopology<'a> {
        NumaTopology {
            possible: online,
            online,
            with_memory: memory,
            with_cpus: cpus,
            distance: d,
            max_numnodes: NB,
        }
    }

    #[test]
    fn zonelists_ring() {
        let all = m(&[0, 1, 2, 3]);
        let t = topo(&all, &all, &all, &ring);
        // Worked by hand from find_next_best_node()/build_zonelists() of each generation.
        let want = [vec![0, 1, 3, 2], vec![1, 2, 0, 3], vec![2, 3, 1, 0], vec![3, 0, 2, 1]];
        for sem in [OLD, NEW] {
            let z = build_all_zonelists(sem, &t);
            assert_eq!(&z[..4], &want[..], "{sem}");
            assert!(z[4..].iter().all(Vec::is_empty));
            assert_eq!(zonelist(sem, 2, &t), want[2]);
        }
        // 2.6.14 has no "+1 below the local node" and scans from the local node: for node 1,
        // node 0 (value 21*32 + load 0) beats node 2 (21*32 + load 1 from node 0's build).
        let v5 = [vec![0, 1, 3, 2], vec![1, 0, 2, 3], vec![2, 3, 1, 0], vec![3, 2, 0, 1]];
        assert_eq!(&build_all_zonelists(V5, &t)[..4], &v5[..]);
    }

    #[test]
    fn zonelists_round_robin_flat() {
        // Equidistant nodes take turns being the first fallback.
        let all = m(&[0, 1, 2, 3]);
        let flat = |a: u32, b: u32| if a == b { 10 } else { 20 };
        let t = topo(&all, &all, &all, &flat);
        let want = [vec![0, 1, 2, 3], vec![1, 2, 3, 0], vec![2, 3, 0, 1], vec![3, 0, 1, 2]];
        for sem in Semantics::ALL {
            assert_eq!(&build_all_zonelists(sem, &t)[..4], &want[..], "{sem}");
        }
    }

    #[test]
    fn zonelists_memoryless_and_headless_nodes() {
        // 0, 1: CPUs + memory; 2: memory only (no CPU penalty); 3: CPUs only (no memory).
        const D: [[u32; 4]; 4] =
            [[10, 21, 17, 21], [21, 10, 21, 17], [17, 21, 10, 28], [21, 17, 28, 10]];
        let d = |a: u32, b: u32| D[a as usize][b as usize];
        let online = m(&[0, 1, 2, 3]);
        let memory = m(&[0, 1, 2]);
        let cpus = m(&[0, 1, 3]);
        let t = topo(&online, &memory, &cpus, &d);
        let want = [vec![0, 2, 1], vec![1, 2, 0], vec![2, 0, 1], vec![1, 0, 2]];
        for sem in Semantics::ALL {
            assert_eq!(&build_all_zonelists(sem, &t)[..4], &want[..], "{sem}");
        }
    }

    #[test]
    fn zonelists_hole_in_online_map() {
        // Online {0, 1, 3}: 2.6.14's rotated scan never reaches node 3 from nodes 0 and 1.
        let online = m(&[0, 1, 3]);
        let flat = |a: u32, b: u32| if a == b { 10 } else { 20 };
        let t = topo(&online, &online, &online, &flat);
        let z = build_all_zonelists(V5, &t);
        assert_eq!(
            (z[0].clone(), z[1].clone(), z[3].clone()),
            (vec![0, 1], vec![1], vec![3, 0, 1])
        );
        assert!(z[2].is_empty());
        for sem in [OLD, NEW] {
            let z = build_all_zonelists(sem, &t);
            assert_eq!(
                (z[0].clone(), z[1].clone(), z[3].clone()),
                (vec![0, 1, 3], vec![1, 3, 0], vec![3, 0, 1]),
                "{sem}"
            );
        }
    }

    #[test]
    fn zonelists_modern_builds_possible_nodes() {
        // A possible-but-offline node 4 (no memory, no CPUs) is built too in 6.x, moving node_load
        // for later nodes; its own list holds the memory nodes by distance.
        let online = m(&[0, 1]);
        let possible = m(&[0, 1, 4]);
        let flat = |a: u32, b: u32| if a == b { 10 } else { 20 };
        let t = NumaTopology { possible: &possible, ..topo(&online, &online, &online, &flat) };
        let z = build_all_zonelists(NEW, &t);
        assert_eq!(
            (z[0].clone(), z[1].clone(), z[4].clone()),
            (vec![0, 1], vec![1, 0], vec![0, 1])
        );
        assert!(build_all_zonelists(OLD, &t)[4].is_empty());
    }

    // ----- The zonelist build, checked against the kernel's loop -----

    /// build_all_zonelists() as the kernel loops it: find_next_best_node() scans every
    /// candidate for every pick (O(N^3) for the machine). The oracle for the sorted build.
    fn kernel_loop(sem: Semantics, topo: &NumaTopology) -> Vec<Vec<u32>> {
        let nbits = topo.online.nbits();
        let mut lists = vec![Vec::new(); nbits as usize];
        let mut node_load = vec![0i64; nbits as usize];
        let builders: &NodeMask =
            if sem == Semantics::Modern { topo.possible } else { topo.online };
        for nid in builders {
            lists[nid as usize] = loop_zonelist(sem, nid, topo, &mut node_load);
        }
        lists
    }

    fn loop_zonelist(
        sem: Semantics,
        local: u32,
        topo: &NumaTopology,
        node_load: &mut [i64],
    ) -> Vec<u32> {
        let nbits = topo.online.nbits();
        let num_online = i64::from(topo.online.weight());
        let mut used = vec![false; nbits as usize];
        let mut out = Vec::new();
        let mut prev = local;
        let mut load = num_online; // 2.6: "load = num_online_nodes()"
        while let Some(node) = loop_next_best_node(sem, local, &mut used, topo, node_load) {
            if (topo.distance)(local, node) != (topo.distance)(local, prev) {
                node_load[node as usize] += if sem == Semantics::Modern { 1 } else { load };
            }
            prev = node;
            load -= 1;
            if topo.with_memory.test(node) {
                out.push(node);
            }
        }
        out
    }

    fn loop_next_best_node(
        sem: Semantics,
        node: u32,
        used: &mut [bool],
        topo: &NumaTopology,
        node_load: &[i64],
    ) -> Option<u32> {
        let num_online = topo.online.weight();
        let max = i64::from(topo.max_numnodes);
        let scale = if sem == Semantics::Modern { max } else { i64::from(num_online) * max };
        let value = |n: u32, below_penalty: bool| -> i64 {
            let mut val = i64::from((topo.distance)(node, n));
            if below_penalty {
                val += i64::from(n < node); // "Penalize nodes under us"
            }
            if topo.with_cpus.test(n) {
                val += PENALTY_FOR_NODE_WITH_CPUS;
            }
            val * scale + node_load[n as usize]
        };
        let mut best: Option<(i64, u32)> = None;
        if sem == Semantics::V5 {
            // loop_next_best_node(), 2.6.14: rotated scan with the local check inside the loop
            if num_online == 0 {
                return None;
            }
            for i in topo.online {
                let n = (node + i) % num_online;
                if used[n as usize] {
                    continue;
                }
                // "Use the local node if we haven't already": checked for any unused
                // candidate, before anything is known about it.
                if !used[node as usize] {
                    best = Some((i64::MIN, node));
                    break;
                }
                // A candidate beyond a hole in the online map: 2.6.14 read its distance and
                // crashed on such machines; the simulator passes over it.
                if !topo.online.test(n) {
                    continue;
                }
                let v = value(n, false);
                if best.is_none_or(|(bv, _)| v < bv) {
                    best = Some((v, n));
                }
            }
        } else {
            // loop_next_best_node(), 2.6.16 (online nodes) / 6.x (N_MEMORY nodes)
            if !used[node as usize] {
                used[node as usize] = true;
                return Some(node);
            }
            let candidates = if sem == Semantics::Modern { topo.with_memory } else { topo.online };
            for n in candidates {
                if used[n as usize] {
                    continue;
                }
                let v = value(n, true);
                if best.is_none_or(|(bv, _)| v < bv) {
                    best = Some((v, n));
                }
            }
        }
        let (_, n) = best?;
        used[n as usize] = true;
        Some(n)
    }

    #[test]
    fn zonelists_equal_the_kernel_loop() {
        const MAX: u32 = 128;
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for round in 0..200 {
            let n = 1 + rng.below_u32(if round % 20 == 0 { 64 } else { 24 });
            // Node ids with holes now and then (V5's rotated scan misses nodes then).
            let ids: Vec<u32> = if rng.below(3) == 0 {
                let mut ids: Vec<u32> = (0..MAX).filter(|_| rng.below(3) == 0).collect();
                ids.truncate(n as usize);
                if ids.is_empty() {
                    ids.push(rng.below_u32(MAX));
                }
                ids
            } else {
                (0..n).collect()
            };
            let k = ids.len();
            // SLITs from a few values (many ties: the round-robin and tie rules matter) or
            // from the whole range, not always symmetric.
            let few = rng.below(2) == 0;
            let mut slit = vec![vec![10u32; k]; k];
            for (i, row) in slit.iter_mut().enumerate() {
                for (j, d) in row.iter_mut().enumerate() {
                    if i != j {
                        *d = if few {
                            [20, 20, 21, 30][to_usize(rng.below(4))]
                        } else {
                            11 + rng.below_u32(245)
                        };
                    }
                }
            }
            let idx = |nid: u32| ids.iter().position(|&x| x == nid);
            let dist = |a: u32, b: u32| match (idx(a), idx(b)) {
                (Some(i), Some(j)) => slit[i][j],
                _ => 20,
            };
            let pick = |rng: &mut Rng, p: u64| {
                let v: Vec<i64> =
                    ids.iter().filter(|_| rng.below(100) < p).map(|&x| i64::from(x)).collect();
                NodeMask::from_nodes(v, MAX).unwrap()
            };
            let online = NodeMask::from_nodes(ids.iter().map(|&x| i64::from(x)), MAX).unwrap();
            let mut memory = pick(&mut rng, 80);
            if memory.is_empty() {
                memory = online.clone();
            }
            let cpus = pick(&mut rng, 70);
            // 6.x also builds lists for possible but offline nodes.
            let extra: Vec<i64> = (0..MAX).filter(|_| rng.below(40) == 0).map(i64::from).collect();
            let possible = online.or(&NodeMask::from_nodes(extra, MAX).unwrap()).unwrap();
            let t = NumaTopology {
                possible: &possible,
                online: &online,
                with_memory: &memory,
                with_cpus: &cpus,
                distance: &dist,
                max_numnodes: MAX,
            };
            for sem in Semantics::ALL {
                assert_eq!(
                    build_all_zonelists(sem, &t),
                    kernel_loop(sem, &t),
                    "round {round} {sem}: nodes {ids:?}, SLIT {slit:?}"
                );
            }
        }
    }

    #[test]
    fn zonelists_stop_when_interrupted() {
        // The interruptible build asks between nodes (the global request is not used here:
        // other tests arm and check in parallel threads).
        let all = m(&[0, 1, 2, 3]);
        let t = topo(&all, &all, &all, &ring);
        let asked = std::cell::Cell::new(0);
        let stop = || {
            asked.set(asked.get() + 1);
            if asked.get() == 3 {
                return Err(Error::interrupted("stop"));
            }
            Ok(())
        };
        let e = build_all_zonelists_with(NEW, &t, stop).unwrap_err();
        assert_eq!((e.kind, asked.get()), (crate::error::ErrorKind::Interrupted, 3));
    }
}
