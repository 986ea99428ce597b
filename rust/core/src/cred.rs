//! Task credentials and capabilities: the uid/gid fields of a task (struct cred in modern kernels,
//! fields of task_struct in 2.6), its capability sets (kernel_cap_t) and the set*id() rules of
//! kernel/sys.c with the capability fix-ups of security/commoncap.c.
//!
//! Every rule names the kernel function and version it mirrors. "2.6" below means the text of
//! 2.6.16 (kernel/sys.c with security_task_post_setuid(); the V5 base 2.6.14-rc5-mm1 has the same
//! rules), "modern" the 6.x text (__sys_setuid() and friends, commit_creds(), cap_task_fix_setuid()).
//!
//! Not modelled: user namespaces (every id lives in the init namespace, so `make_kuid()` fails only
//! for `(uid_t)-1`), RLIMIT_NPROC (set_user()'s EAGAIN), securebits other than KEEP_CAPS (the
//! `keep_caps` flag, prctl(PR_SET_KEEPCAPS)), ambient capabilities, LSM hooks, and the
//! `suid_dumpable` sysctl (taken as its default 0: a credential change makes the task
//! non-dumpable).

use serde::{Deserialize, Serialize};
use std::fmt;

use crate::error::{errno, Error, Result};
use crate::semantics::Semantics;

/// `(uid_t)-1` / `(gid_t)-1`: "leave unchanged" for setreuid/setresuid and friends.
pub const ID_UNCHANGED: u32 = u32::MAX;

// Capability numbers, include/uapi/linux/capability.h (0..=30 already in 2.6.16).
pub const CAP_CHOWN: u32 = 0;
pub const CAP_DAC_OVERRIDE: u32 = 1;
pub const CAP_DAC_READ_SEARCH: u32 = 2;
pub const CAP_FOWNER: u32 = 3;
pub const CAP_FSETID: u32 = 4;
pub const CAP_KILL: u32 = 5;
pub const CAP_SETGID: u32 = 6;
pub const CAP_SETUID: u32 = 7;
pub const CAP_SETPCAP: u32 = 8;
pub const CAP_LINUX_IMMUTABLE: u32 = 9;
pub const CAP_NET_BIND_SERVICE: u32 = 10;
pub const CAP_NET_BROADCAST: u32 = 11;
pub const CAP_NET_ADMIN: u32 = 12;
pub const CAP_NET_RAW: u32 = 13;
pub const CAP_IPC_LOCK: u32 = 14;
pub const CAP_IPC_OWNER: u32 = 15;
pub const CAP_SYS_MODULE: u32 = 16;
pub const CAP_SYS_RAWIO: u32 = 17;
pub const CAP_SYS_CHROOT: u32 = 18;
pub const CAP_SYS_PTRACE: u32 = 19;
pub const CAP_SYS_PACCT: u32 = 20;
pub const CAP_SYS_ADMIN: u32 = 21;
pub const CAP_SYS_BOOT: u32 = 22;
pub const CAP_SYS_NICE: u32 = 23;
pub const CAP_SYS_RESOURCE: u32 = 24;
pub const CAP_SYS_TIME: u32 = 25;
pub const CAP_SYS_TTY_CONFIG: u32 = 26;
pub const CAP_MKNOD: u32 = 27;
pub const CAP_LEASE: u32 = 28;
pub const CAP_AUDIT_WRITE: u32 = 29;
pub const CAP_AUDIT_CONTROL: u32 = 30;
pub const CAP_SETFCAP: u32 = 31;
pub const CAP_MAC_OVERRIDE: u32 = 32;
pub const CAP_MAC_ADMIN: u32 = 33;
pub const CAP_SYSLOG: u32 = 34;
pub const CAP_WAKE_ALARM: u32 = 35;
pub const CAP_BLOCK_SUSPEND: u32 = 36;
pub const CAP_AUDIT_READ: u32 = 37;
pub const CAP_PERFMON: u32 = 38;
pub const CAP_BPF: u32 = 39;
pub const CAP_CHECKPOINT_RESTORE: u32 = 40;
/// CAP_LAST_CAP of the modern header.
pub const CAP_LAST_CAP: u32 = CAP_CHECKPOINT_RESTORE;

/// Kernel names, indexed by capability number.
const CAP_NAMES: [&str; (CAP_LAST_CAP + 1) as usize] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// The kernel name of a capability ("CAP_SYS_NICE"), or None above CAP_LAST_CAP.
pub fn cap_name(cap: u32) -> Option<&'static str> {
    CAP_NAMES.get(cap as usize).copied()
}

/// A capability number from its name: "CAP_SYS_NICE", "cap_sys_nice", "sys_nice" and "SYS_NICE"
/// all give 23; a decimal number 0..=CAP_LAST_CAP is accepted too.
pub fn cap_from_name(name: &str) -> Result<u32> {
    let t = name.trim();
    if let Ok(n) = t.parse::<u32>() {
        if n <= CAP_LAST_CAP {
            return Ok(n);
        }
        return Err(Error::value(format!(
            "capability number {n} is out of range (0..={CAP_LAST_CAP})"
        )));
    }
    let up = t.to_ascii_uppercase();
    let full = if up.starts_with("CAP_") { up } else { format!("CAP_{up}") };
    (0..=CAP_LAST_CAP)
        .find(|&c| CAP_NAMES[c as usize] == full)
        .ok_or_else(|| Error::value(format!("unknown capability {name:?}")))
}

fn check_cap(cap: u32) -> Result<()> {
    if cap > CAP_LAST_CAP {
        return Err(Error::value(format!("capability {cap} is out of range (0..={CAP_LAST_CAP})")));
    }
    Ok(())
}

/// A capability set (kernel_cap_t): bit n is capability n. Only bits 0..=CAP_LAST_CAP are ever set.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CapSet(u64);

/// CAP_VALID_MASK.
const CAP_VALID_MASK: u64 = (1u64 << (CAP_LAST_CAP + 1)) - 1;

/// CAP_FS_MASK of 2.6 (include/linux/capability.h, 2.6.16): CHOWN, DAC_OVERRIDE, DAC_READ_SEARCH,
/// FOWNER, FSETID.
pub const CAP_FS_MASK_2_6: CapSet = CapSet(0x1f);
/// CAP_FS_SET of modern kernels: CAP_FS_MASK (CHOWN, MKNOD, DAC_OVERRIDE, DAC_READ_SEARCH, FOWNER,
/// FSETID, MAC_OVERRIDE) plus LINUX_IMMUTABLE.
pub const CAP_FS_SET_MODERN: CapSet = CapSet(
    1 << CAP_CHOWN
        | 1 << CAP_MKNOD
        | 1 << CAP_DAC_OVERRIDE
        | 1 << CAP_DAC_READ_SEARCH
        | 1 << CAP_FOWNER
        | 1 << CAP_FSETID
        | 1 << CAP_MAC_OVERRIDE
        | 1 << CAP_LINUX_IMMUTABLE,
);

impl CapSet {
    /// CAP_EMPTY_SET.
    pub const fn empty() -> CapSet {
        CapSet(0)
    }
    /// CAP_FULL_SET: every capability 0..=CAP_LAST_CAP.
    pub const fn full() -> CapSet {
        CapSet(CAP_VALID_MASK)
    }
    /// From raw bits; bits above CAP_LAST_CAP are an error naming them.
    pub fn from_bits(bits: u64) -> Result<CapSet> {
        if bits & !CAP_VALID_MASK != 0 {
            return Err(Error::value(format!(
                "capability bits {:#x} are above CAP_LAST_CAP ({CAP_LAST_CAP})",
                bits & !CAP_VALID_MASK
            )));
        }
        Ok(CapSet(bits))
    }
    /// The set of the given capability numbers.
    pub fn of(caps: &[u32]) -> Result<CapSet> {
        let mut s = CapSet::empty();
        for &c in caps {
            s.insert(c)?;
        }
        Ok(s)
    }
    pub const fn bits(self) -> u64 {
        self.0
    }
    /// cap_raised().
    pub fn contains(self, cap: u32) -> bool {
        cap <= CAP_LAST_CAP && self.0 >> cap & 1 == 1
    }
    /// cap_raise().
    pub fn insert(&mut self, cap: u32) -> Result<()> {
        check_cap(cap)?;
        self.0 |= 1 << cap;
        Ok(())
    }
    /// cap_lower().
    pub fn remove(&mut self, cap: u32) -> Result<()> {
        check_cap(cap)?;
        self.0 &= !(1 << cap);
        Ok(())
    }
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }
    /// cap_combine().
    #[must_use]
    pub const fn union(self, other: CapSet) -> CapSet {
        CapSet(self.0 | other.0)
    }
    /// cap_intersect().
    #[must_use]
    pub const fn intersect(self, other: CapSet) -> CapSet {
        CapSet(self.0 & other.0)
    }
    /// cap_drop(): the capabilities of self not in other.
    #[must_use]
    pub const fn without(self, other: CapSet) -> CapSet {
        CapSet(self.0 & !other.0)
    }
    /// cap_issubset().
    pub const fn is_subset(self, other: CapSet) -> bool {
        self.0 & !other.0 == 0
    }
    /// Capability numbers in ascending order.
    pub fn iter(self) -> impl Iterator<Item = u32> {
        (0..=CAP_LAST_CAP).filter(move |&c| self.contains(c))
    }
    /// Kernel names in ascending order.
    pub fn names(self) -> Vec<&'static str> {
        self.iter().map(|c| CAP_NAMES[c as usize]).collect()
    }
    /// The /proc/PID/status form of CapInh/CapPrm/CapEff: 16 lower-case hex digits.
    pub fn to_hex(self) -> String {
        format!("{:016x}", self.0)
    }
    /// Parses names or numbers separated by commas, '|' or white space ("CAP_SYS_NICE,sys_admin",
    /// "7 23"); "all"/"full" is every capability and ""/"none" the empty set.
    pub fn parse(text: &str) -> Result<CapSet> {
        let t = text.trim();
        match t.to_ascii_lowercase().as_str() {
            "" | "none" => return Ok(CapSet::empty()),
            "all" | "full" => return Ok(CapSet::full()),
            _ => {}
        }
        let mut s = CapSet::empty();
        for tok in t.split(|c: char| c == ',' || c == '|' || c.is_whitespace()) {
            if !tok.is_empty() {
                s.insert(cap_from_name(tok)?)?;
            }
        }
        Ok(s)
    }
}

impl fmt::Display for CapSet {
    /// Names joined by ","; the empty set prints "none".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("none");
        }
        f.write_str(&self.names().join(","))
    }
}

impl fmt::Debug for CapSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CapSet({:#x}: {})", self.0, self)
    }
}

/// Which set*id() family call a change came from (LSM_SETID_ID / _RE / _RES / _FS): decides the
/// capability fix-up of cap_task_fix_setuid().
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SetIdKind {
    Uid,
    Fs,
    Gid,
}

/// A task's credentials.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Cred {
    pub uid: u32,
    pub euid: u32,
    pub suid: u32,
    pub fsuid: u32,
    pub gid: u32,
    pub egid: u32,
    pub sgid: u32,
    pub fsgid: u32,
    pub cap_effective: CapSet,
    pub cap_permitted: CapSet,
    pub cap_inheritable: CapSet,
    /// prctl(PR_SET_KEEPCAPS): 2.6 `current->keep_capabilities`, modern SECURE_KEEP_CAPS.
    pub keep_caps: bool,
    /// mm->dumpable == SUID_DUMP_USER. The kernel keeps it in the mm (shared by threads); the
    /// simulator keeps it with the credentials that change it.
    pub dumpable: bool,
}

fn eperm(call: &str, why: impl fmt::Display) -> Error {
    Error::os(errno::EPERM, format!("{call}: {why}"))
}

fn id_arg(v: u32) -> String {
    if v == ID_UNCHANGED {
        "-1".to_string()
    } else {
        v.to_string()
    }
}

impl Cred {
    /// A task running as `uid`/`gid` (all four ids of each kind equal). Root (uid 0) gets the full
    /// effective and permitted sets, as after execve() as root (cap_bprm_set_creds); others none.
    /// Dumpable.
    pub fn new(uid: u32, gid: u32) -> Cred {
        Cred::new_in(Semantics::Modern, uid, gid)
    }

    /// [`Cred::new`] for a generation: root's sets in 2.6 are CAP_INIT_EFF_SET, every bit of the
    /// 32-bit kernel_cap_t but CAP_SETPCAP (0xfffffeff, include/linux/capability.h); 6.x root
    /// has every capability up to CAP_LAST_CAP.
    pub fn new_in(sem: Semantics, uid: u32, gid: u32) -> Cred {
        let root = if sem == Semantics::Modern { CapSet::full() } else { CapSet(0xffff_feff) };
        let caps = if uid == 0 { root } else { CapSet::empty() };
        Cred {
            uid,
            euid: uid,
            suid: uid,
            fsuid: uid,
            gid,
            egid: gid,
            sgid: gid,
            fsgid: gid,
            cap_effective: caps,
            cap_permitted: caps,
            cap_inheritable: CapSet::empty(),
            keep_caps: false,
            dumpable: true,
        }
    }

    /// capable(cap): the capability is in the effective set (cap_capable(), init namespace).
    pub fn capable(&self, cap: u32) -> bool {
        self.cap_effective.contains(cap)
    }

    /// Scenario helper (no kernel counterpart): adds `cap` to the permitted and effective sets.
    pub fn grant(&mut self, cap: u32) -> Result<()> {
        self.cap_permitted.insert(cap)?;
        self.cap_effective.insert(cap)
    }

    /// Scenario helper (no kernel counterpart): removes `cap` from all three sets.
    pub fn revoke(&mut self, cap: u32) -> Result<()> {
        self.cap_permitted.remove(cap)?;
        self.cap_effective.remove(cap)?;
        self.cap_inheritable.remove(cap)
    }

    /// Installs `new` in place of `self`, applying the capability fix-up and the dumpable rule.
    /// `old_rule_clears` is the 2.6 syscall's own "mm->dumpable = suid_dumpable" condition;
    /// modern kernels use commit_creds()'s rule instead.
    fn commit(&mut self, sem: Semantics, mut new: Cred, kind: SetIdKind, old_rule_clears: bool) {
        let old = &*self;
        match kind {
            // cap_task_fix_setuid(LSM_SETID_ID/RE/RES) (6.x) == cap_task_post_setuid() (2.6.16)
            SetIdKind::Uid => cap_emulate_setxuid(&mut new, old),
            // cap_task_fix_setuid(LSM_SETID_FS) (6.x) / cap_task_post_setuid(LSM_SETID_FS) (2.6.16)
            SetIdKind::Fs => {
                let fs = if sem == Semantics::Modern { CAP_FS_SET_MODERN } else { CAP_FS_MASK_2_6 };
                if old.fsuid == 0 && new.fsuid != 0 {
                    new.cap_effective = new.cap_effective.without(fs);
                }
                if old.fsuid != 0 && new.fsuid == 0 {
                    new.cap_effective = new.cap_effective.union(new.cap_permitted.intersect(fs));
                }
            }
            SetIdKind::Gid => {}
        }
        let clears = if sem == Semantics::Modern {
            // commit_creds() (6.x): euid, egid, fsuid or fsgid changed, or permitted grew
            old.euid != new.euid
                || old.egid != new.egid
                || old.fsuid != new.fsuid
                || old.fsgid != new.fsgid
                || !new.cap_permitted.is_subset(old.cap_permitted)
        } else {
            old_rule_clears
        };
        if clears {
            new.dumpable = false; // set_dumpable(mm, suid_dumpable), suid_dumpable = 0
        }
        *self = new;
    }

    /// setuid(2): mirrors sys_setuid() (2.6.16) / __sys_setuid() (6.x).
    /// With CAP_SETUID all of uid, euid, suid, fsuid become `uid`; without it `uid` must be the
    /// real or saved uid and only euid and fsuid change. Modern kernels reject `(uid_t)-1` with
    /// EINVAL (make_kuid fails); 2.6 takes it as a uid.
    pub fn setuid(&mut self, sem: Semantics, uid: u32) -> Result<()> {
        if sem == Semantics::Modern && uid == ID_UNCHANGED {
            return Err(Error::os(errno::EINVAL, "setuid(-1): (uid_t)-1 is not a valid uid"));
        }
        let mut new = self.clone();
        if self.capable(CAP_SETUID) {
            new.uid = uid;
            new.suid = uid;
        } else if uid != self.uid && uid != self.suid {
            return Err(eperm(
                &format!("setuid({uid})"),
                format_args!(
                    "uid {uid} is neither the real uid {} nor the saved uid {} and the task lacks \
                     CAP_SETUID",
                    self.uid, self.suid
                ),
            ));
        }
        new.euid = uid;
        new.fsuid = uid;
        let clears = self.euid != uid; // 2.6.16: set_user(uid, old_euid != uid) and the euid test
        self.commit(sem, new, SetIdKind::Uid, clears);
        Ok(())
    }

    /// setreuid(2): mirrors sys_setreuid() (2.6.16) / __sys_setreuid() (6.x). `ID_UNCHANGED`
    /// (-1) leaves an id alone. An unprivileged caller may set the real uid to its real or
    /// effective uid and the effective uid to its real, effective or saved uid. The saved uid
    /// becomes the new euid if the real uid was given, or the euid was given and differs from the
    /// old real uid; fsuid follows euid.
    pub fn setreuid(&mut self, sem: Semantics, ruid: u32, euid: u32) -> Result<()> {
        let call = format!("setreuid({}, {})", id_arg(ruid), id_arg(euid));
        let cap = self.capable(CAP_SETUID);
        let mut new = self.clone();
        if ruid != ID_UNCHANGED {
            new.uid = ruid;
            if ruid != self.uid && ruid != self.euid && !cap {
                return Err(eperm(
                    &call,
                    format_args!(
                        "new real uid {ruid} is neither the real uid {} nor the effective uid {} \
                         and the task lacks CAP_SETUID",
                        self.uid, self.euid
                    ),
                ));
            }
        }
        if euid != ID_UNCHANGED {
            new.euid = euid;
            if euid != self.uid && euid != self.euid && euid != self.suid && !cap {
                return Err(eperm(
                    &call,
                    format_args!(
                        "new effective uid {euid} is not the real, effective or saved uid ({}, \
                         {}, {}) and the task lacks CAP_SETUID",
                        self.uid, self.euid, self.suid
                    ),
                ));
            }
        }
        if ruid != ID_UNCHANGED || (euid != ID_UNCHANGED && euid != self.uid) {
            new.suid = new.euid;
        }
        new.fsuid = new.euid;
        let clears = new.euid != self.euid; // 2.6.16: set_user(.., new_euid != old_euid) + euid test
        self.commit(sem, new, SetIdKind::Uid, clears);
        Ok(())
    }

    /// setresuid(2): mirrors sys_setresuid() (2.6.16) / __sys_setresuid() (6.x). Without
    /// CAP_SETUID each given id must be one of the current real, effective or saved uids; fsuid
    /// follows the effective uid.
    ///
    /// 2.6 quirk kept: changing the real uid with `euid == -1` clears dumpable, because set_user()
    /// is told `euid != current->euid` and (uid_t)-1 differs from any real euid.
    pub fn setresuid(&mut self, sem: Semantics, ruid: u32, euid: u32, suid: u32) -> Result<()> {
        let call = format!("setresuid({}, {}, {})", id_arg(ruid), id_arg(euid), id_arg(suid));
        if !self.capable(CAP_SETUID) {
            for (what, v) in [("real", ruid), ("effective", euid), ("saved", suid)] {
                if v != ID_UNCHANGED && v != self.uid && v != self.euid && v != self.suid {
                    return Err(eperm(
                        &call,
                        format_args!(
                            "new {what} uid {v} is not the real, effective or saved uid ({}, {}, \
                             {}) and the task lacks CAP_SETUID",
                            self.uid, self.euid, self.suid
                        ),
                    ));
                }
            }
        }
        let mut new = self.clone();
        let mut clears = false;
        if ruid != ID_UNCHANGED {
            if ruid != self.uid && euid != self.euid {
                clears = true; // set_user(ruid, euid != current->euid), 2.6.16
            }
            new.uid = ruid;
        }
        if euid != ID_UNCHANGED {
            if euid != self.euid {
                clears = true;
            }
            new.euid = euid;
        }
        new.fsuid = new.euid;
        if suid != ID_UNCHANGED {
            new.suid = suid;
        }
        self.commit(sem, new, SetIdKind::Uid, clears);
        Ok(())
    }

    /// seteuid(3) as glibc implements it on Linux (sysdeps/unix/sysv/linux/seteuid.c): EINVAL for
    /// `(uid_t)-1`, else setresuid(-1, euid, -1). The saved uid is never changed (POSIX).
    pub fn seteuid(&mut self, sem: Semantics, euid: u32) -> Result<()> {
        if euid == ID_UNCHANGED {
            return Err(Error::os(errno::EINVAL, "seteuid(-1): glibc rejects (uid_t)-1"));
        }
        self.setresuid(sem, ID_UNCHANGED, euid, ID_UNCHANGED)
    }

    /// setfsuid(2): mirrors sys_setfsuid() (2.6.16) / __sys_setfsuid() (6.x). Returns the old
    /// fsuid whether or not the change was allowed (the syscall never fails). Allowed if `uid` is
    /// the real, effective, saved or current fs uid, or with CAP_SETUID. Moving fsuid away from 0
    /// drops the fs capabilities from the effective set, moving it to 0 raises the permitted ones
    /// (CAP_FS_MASK in 2.6, CAP_FS_SET in 6.x). Modern kernels ignore `(uid_t)-1`.
    pub fn setfsuid(&mut self, sem: Semantics, uid: u32) -> u32 {
        let old_fsuid = self.fsuid;
        if sem == Semantics::Modern && uid == ID_UNCHANGED {
            return old_fsuid; // !uid_valid(kuid)
        }
        let allowed = uid == self.uid
            || uid == self.euid
            || uid == self.suid
            || uid == self.fsuid
            || self.capable(CAP_SETUID);
        if allowed {
            let mut new = self.clone();
            new.fsuid = uid;
            self.commit(sem, new, SetIdKind::Fs, uid != old_fsuid);
        }
        old_fsuid
    }

    /// setgid(2): mirrors sys_setgid() (2.6.16) / __sys_setgid() (6.x). With CAP_SETGID all four
    /// gids change; otherwise `gid` must be the real or saved gid and egid/fsgid change.
    pub fn setgid(&mut self, sem: Semantics, gid: u32) -> Result<()> {
        if sem == Semantics::Modern && gid == ID_UNCHANGED {
            return Err(Error::os(errno::EINVAL, "setgid(-1): (gid_t)-1 is not a valid gid"));
        }
        let mut new = self.clone();
        if self.capable(CAP_SETGID) {
            new.gid = gid;
            new.sgid = gid;
        } else if gid != self.gid && gid != self.sgid {
            return Err(eperm(
                &format!("setgid({gid})"),
                format_args!(
                    "gid {gid} is neither the real gid {} nor the saved gid {} and the task lacks \
                     CAP_SETGID",
                    self.gid, self.sgid
                ),
            ));
        }
        new.egid = gid;
        new.fsgid = gid;
        let clears = self.egid != gid;
        self.commit(sem, new, SetIdKind::Gid, clears);
        Ok(())
    }

    /// setregid(2): mirrors sys_setregid() (2.6.16) / __sys_setregid() (6.x); the gid
    /// counterpart of [`Cred::setreuid`].
    pub fn setregid(&mut self, sem: Semantics, rgid: u32, egid: u32) -> Result<()> {
        let call = format!("setregid({}, {})", id_arg(rgid), id_arg(egid));
        let cap = self.capable(CAP_SETGID);
        let mut new = self.clone();
        if rgid != ID_UNCHANGED {
            if rgid != self.gid && rgid != self.egid && !cap {
                return Err(eperm(
                    &call,
                    format_args!(
                        "new real gid {rgid} is neither the real gid {} nor the effective gid {} \
                         and the task lacks CAP_SETGID",
                        self.gid, self.egid
                    ),
                ));
            }
            new.gid = rgid;
        }
        if egid != ID_UNCHANGED {
            if egid != self.gid && egid != self.egid && egid != self.sgid && !cap {
                return Err(eperm(
                    &call,
                    format_args!(
                        "new effective gid {egid} is not the real, effective or saved gid ({}, \
                         {}, {}) and the task lacks CAP_SETGID",
                        self.gid, self.egid, self.sgid
                    ),
                ));
            }
            new.egid = egid;
        }
        if rgid != ID_UNCHANGED || (egid != ID_UNCHANGED && egid != self.gid) {
            new.sgid = new.egid;
        }
        new.fsgid = new.egid;
        let clears = new.egid != self.egid;
        self.commit(sem, new, SetIdKind::Gid, clears);
        Ok(())
    }

    /// setresgid(2): mirrors sys_setresgid() (2.6.16) / __sys_setresgid() (6.x).
    pub fn setresgid(&mut self, sem: Semantics, rgid: u32, egid: u32, sgid: u32) -> Result<()> {
        let call = format!("setresgid({}, {}, {})", id_arg(rgid), id_arg(egid), id_arg(sgid));
        if !self.capable(CAP_SETGID) {
            for (what, v) in [("real", rgid), ("effective", egid), ("saved", sgid)] {
                if v != ID_UNCHANGED && v != self.gid && v != self.egid && v != self.sgid {
                    return Err(eperm(
                        &call,
                        format_args!(
                            "new {what} gid {v} is not the real, effective or saved gid ({}, {}, \
                             {}) and the task lacks CAP_SETGID",
                            self.gid, self.egid, self.sgid
                        ),
                    ));
                }
            }
        }
        let mut new = self.clone();
        let mut clears = false;
        if egid != ID_UNCHANGED {
            clears = egid != self.egid;
            new.egid = egid;
        }
        new.fsgid = new.egid;
        if rgid != ID_UNCHANGED {
            new.gid = rgid;
        }
        if sgid != ID_UNCHANGED {
            new.sgid = sgid;
        }
        self.commit(sem, new, SetIdKind::Gid, clears);
        Ok(())
    }

    /// setegid(3), glibc: EINVAL for `(gid_t)-1`, else setresgid(-1, egid, -1).
    pub fn setegid(&mut self, sem: Semantics, egid: u32) -> Result<()> {
        if egid == ID_UNCHANGED {
            return Err(Error::os(errno::EINVAL, "setegid(-1): glibc rejects (gid_t)-1"));
        }
        self.setresgid(sem, ID_UNCHANGED, egid, ID_UNCHANGED)
    }

    /// setfsgid(2): mirrors sys_setfsgid() (2.6.16) / __sys_setfsgid() (6.x); returns the old
    /// fsgid. No capability fix-up for gids.
    pub fn setfsgid(&mut self, sem: Semantics, gid: u32) -> u32 {
        let old_fsgid = self.fsgid;
        if sem == Semantics::Modern && gid == ID_UNCHANGED {
            return old_fsgid;
        }
        let allowed = gid == self.gid
            || gid == self.egid
            || gid == self.sgid
            || gid == self.fsgid
            || self.capable(CAP_SETGID);
        if allowed {
            let mut new = self.clone();
            new.fsgid = gid;
            self.commit(sem, new, SetIdKind::Gid, gid != old_fsgid);
        }
        old_fsgid
    }
}

/// cap_emulate_setxuid(), security/commoncap.c (6.x; the same three rules are in 2.6.16):
/// 1. leaving root in all of r/e/s uid (some was 0, none is now) clears permitted and effective,
///    unless keep_caps;
/// 2. euid 0 -> nonzero clears effective;
/// 3. euid nonzero -> 0 sets effective = permitted.
fn cap_emulate_setxuid(new: &mut Cred, old: &Cred) {
    if (old.uid == 0 || old.euid == 0 || old.suid == 0)
        && (new.uid != 0 && new.euid != 0 && new.suid != 0)
        && !old.keep_caps
    {
        new.cap_permitted = CapSet::empty();
        new.cap_effective = CapSet::empty();
    }
    if old.euid == 0 && new.euid != 0 {
        new.cap_effective = CapSet::empty();
    }
    if old.euid != 0 && new.euid == 0 {
        new.cap_effective = new.cap_permitted;
    }
}

/// The uid rule of sys_migrate_pages(): mirrors the V5 posting (2.6.14-rc5-mm1, written with XOR)
/// and 2.6.16/2.6.18 (written with !=): allowed if the caller's euid or real uid equals the
/// target's saved or real uid, or the caller has `cap` (CAP_SYS_ADMIN in V5 and 2.6.16-rc6,
/// CAP_SYS_NICE after the "Use CAP_SYS_NICE" patch and in 2.6.18; spec §5.1 step 5, §5.2).
/// The same rule guards move_pages() up to 4.12.
pub fn v5_migrate_permitted(caller: &Cred, target: &Cred, cap: u32) -> bool {
    migrate_uid_rule(caller, target) || caller.capable(cap)
}

/// The uid half of [`v5_migrate_permitted`]: the caller's euid or real uid equals the target's
/// saved or real uid. The syscall layer combines it with the capability of its generation.
pub fn migrate_uid_rule(caller: &Cred, target: &Cred) -> bool {
    caller.euid == target.suid
        || caller.euid == target.uid
        || caller.uid == target.suid
        || caller.uid == target.uid
}

/// __ptrace_may_access(task, PTRACE_MODE_READ_REALCREDS), kernel/ptrace.c (6.x), as
/// kernel_migrate_pages() and move_pages() (since 4.13) use it. In order:
/// 1. same thread group: allowed (no further checks, not even the LSM);
/// 2. the caller's *real* uid equals the target's uid, euid and suid, and the caller's real gid
///    equals the target's gid, egid and sgid: pass to step 4;
/// 3. else CAP_SYS_PTRACE (ptrace_has_cap in the target's user namespace = init here): pass to
///    step 4; else EPERM;
/// 4. a target whose mm is not dumpable (get_dumpable() != SUID_DUMP_USER) needs CAP_SYS_PTRACE
///    (in the mm's user namespace = init here): else EPERM. Pass `target_dumpable = true` for a
///    task without mm (kernel thread): the kernel skips this test when task->mm is NULL;
/// 5. security_ptrace_access_check(): the capability module, always built in
///    (security/commoncap.c cap_ptrace_access_check(), 6.1 and 6.12): with REALCREDS the
///    target's *permitted* set must be a subset of the caller's *permitted* set, or the caller
///    needs CAP_SYS_PTRACE (ns_capable: effective); else EPERM. Yama restricts only ATTACH
///    modes, and no other LSM is modelled.
pub fn ptrace_may_access_read_realcreds(
    caller: &Cred,
    target: &Cred,
    same_thread_group: bool,
    target_dumpable: bool,
) -> Result<()> {
    if same_thread_group {
        return Ok(());
    }
    let ids_match = caller.uid == target.euid
        && caller.uid == target.suid
        && caller.uid == target.uid
        && caller.gid == target.egid
        && caller.gid == target.sgid
        && caller.gid == target.gid;
    let has_ptrace = caller.capable(CAP_SYS_PTRACE);
    if !ids_match && !has_ptrace {
        return Err(Error::os(
            errno::EPERM,
            format!(
                "ptrace_may_access(READ_REALCREDS): caller uid {}/gid {} does not match the \
                 target's uid/euid/suid {}/{}/{} and gid/egid/sgid {}/{}/{}, and the caller lacks \
                 CAP_SYS_PTRACE",
                caller.uid,
                caller.gid,
                target.uid,
                target.euid,
                target.suid,
                target.gid,
                target.egid,
                target.sgid
            ),
        ));
    }
    if !target_dumpable && !has_ptrace {
        return Err(Error::os(
            errno::EPERM,
            "ptrace_may_access(READ_REALCREDS): the target is not dumpable and the caller lacks \
             CAP_SYS_PTRACE",
        ));
    }
    // cap_ptrace_access_check(): cap_issubset(child_cred->cap_permitted, cred->cap_permitted).
    let beyond = target.cap_permitted.without(caller.cap_permitted);
    if !beyond.is_empty() && !has_ptrace {
        return Err(Error::os(
            errno::EPERM,
            format!(
                "ptrace_may_access(READ_REALCREDS): cap_ptrace_access_check() refuses: the \
                 target's permitted capabilities {} are not the caller's, and the caller lacks \
                 CAP_SYS_PTRACE",
                beyond.names().join(", ")
            ),
        ));
    }
    Ok(())
}

/// Permission to move a task into a cpuset by writing its pid to `tasks`: mirrors
/// attach_task() (2.6.18, kernel/cpuset.c; refusal is EACCES) and __cgroup1_procs_write() (6.x):
/// the caller's euid is 0 or equals the target's real or saved uid. Note: euid 0, not a
/// capability.
pub fn cpuset_attach_permitted(caller: &Cred, target: &Cred) -> bool {
    caller.euid == 0 || caller.euid == target.uid || caller.euid == target.suid
}

#[cfg(test)]
mod tests {
    use super::*;

    const OLD: Semantics = Semantics::Linux2616;
    const NEW: Semantics = Semantics::Modern;
    const ALL: [Semantics; 3] = Semantics::ALL;

    fn ids(c: &Cred) -> [u32; 4] {
        [c.uid, c.euid, c.suid, c.fsuid]
    }
    fn gids(c: &Cred) -> [u32; 4] {
        [c.gid, c.egid, c.sgid, c.fsgid]
    }
    fn errno_of<T: fmt::Debug>(r: Result<T>) -> i32 {
        r.unwrap_err().errno().unwrap()
    }

    #[test]
    fn capset_names_and_parse() {
        assert_eq!(CAP_NAMES.len(), 41);
        assert_eq!(cap_name(CAP_SYS_NICE), Some("CAP_SYS_NICE"));
        assert_eq!(cap_name(41), None);
        for (text, want) in [
            ("CAP_SYS_NICE", 23),
            ("cap_sys_nice", 23),
            ("sys_nice", 23),
            ("SYS_ADMIN", 21),
            ("19", 19),
            (" CAP_SETUID ", 7),
        ] {
            assert_eq!(cap_from_name(text).unwrap(), want, "{text}");
        }
        assert!(cap_from_name("CAP_FLY").is_err());
        assert!(cap_from_name("41").is_err());
        for (i, name) in (0u32..).zip(CAP_NAMES) {
            assert_eq!(cap_from_name(name).unwrap(), i);
        }
        let s = CapSet::parse("CAP_SYS_NICE, sys_admin|7").unwrap();
        assert_eq!(s.iter().collect::<Vec<_>>(), vec![7, 21, 23]);
        assert_eq!(s.to_string(), "CAP_SETUID,CAP_SYS_ADMIN,CAP_SYS_NICE");
        assert_eq!(CapSet::parse(&s.to_string()).unwrap(), s);
        assert_eq!(CapSet::parse("none").unwrap(), CapSet::empty());
        assert_eq!(CapSet::parse("all").unwrap(), CapSet::full());
        assert_eq!(CapSet::empty().to_string(), "none");
        assert_eq!(CapSet::full().iter().count(), 41);
        assert_eq!(CapSet::full().to_hex(), "000001ffffffffff");
        assert!(CapSet::from_bits(1 << 41).is_err());
        let mut t = CapSet::empty();
        assert!(t.insert(41).is_err());
        t.insert(CAP_KILL).unwrap();
        assert!(t.contains(CAP_KILL) && !t.contains(99));
        assert!(t.is_subset(CapSet::full()) && !CapSet::full().is_subset(t));
        assert_eq!(
            CAP_FS_MASK_2_6.names(),
            ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID"]
        );
        assert_eq!(CAP_FS_SET_MODERN.iter().collect::<Vec<_>>(), vec![0, 1, 2, 3, 4, 9, 27, 32]);
    }

    #[test]
    fn new_cred() {
        let r = Cred::new(0, 0);
        assert_eq!((r.cap_effective, r.cap_permitted), (CapSet::full(), CapSet::full()));
        assert!(r.capable(CAP_SYS_ADMIN) && r.dumpable);
        let u = Cred::new(1000, 100);
        assert_eq!(ids(&u), [1000; 4]);
        assert_eq!(gids(&u), [100; 4]);
        assert!(u.cap_effective.is_empty() && !u.capable(CAP_SYS_NICE));
        let mut g = u.clone();
        g.grant(CAP_SYS_NICE).unwrap();
        assert!(g.capable(CAP_SYS_NICE) && g.cap_permitted.contains(CAP_SYS_NICE));
        g.revoke(CAP_SYS_NICE).unwrap();
        assert_eq!(g, u);
        assert!(g.grant(77).is_err());
    }

    #[test]
    fn setuid_from_root_drops_all_caps() {
        for sem in ALL {
            let mut c = Cred::new(0, 0);
            c.setuid(sem, 1000).unwrap();
            assert_eq!(ids(&c), [1000; 4], "{sem}");
            assert!(c.cap_effective.is_empty() && c.cap_permitted.is_empty(), "{sem}");
            assert!(!c.dumpable, "{sem}");
            // No way back.
            assert_eq!(errno_of(c.setuid(sem, 0)), errno::EPERM);
        }
    }

    #[test]
    fn setuid_from_root_with_keep_caps() {
        let mut c = Cred::new(0, 0);
        c.keep_caps = true;
        c.setuid(NEW, 1000).unwrap();
        // Rule 1 suppressed; rule 2 (euid 0 -> nonzero) still clears effective.
        assert_eq!(c.cap_permitted, CapSet::full());
        assert!(c.cap_effective.is_empty());
    }

    #[test]
    fn seteuid_round_trip_restores_effective() {
        for sem in ALL {
            let mut c = Cred::new(0, 0);
            c.seteuid(sem, 1000).unwrap();
            assert_eq!(ids(&c), [0, 1000, 0, 1000], "{sem}");
            assert!(c.cap_effective.is_empty(), "{sem}");
            assert_eq!(c.cap_permitted, CapSet::full(), "{sem}: saved uid 0 keeps permitted");
            assert!(!c.dumpable);
            c.seteuid(sem, 0).unwrap();
            assert_eq!(ids(&c), [0; 4]);
            assert_eq!(c.cap_effective, CapSet::full(), "{sem}: euid -> 0 restores effective");
            assert_eq!(errno_of(c.seteuid(sem, ID_UNCHANGED)), errno::EINVAL);
        }
    }

    #[test]
    fn setreuid_rules() {
        // (start ruid, euid, suid), call (r, e), Ok(result r/e/s) or errno; unprivileged.
        type Row = ([u32; 3], (u32, u32), std::result::Result<[u32; 3], i32>);
        let table: [Row; 7] = [
            // swap real and effective: suid = new euid (ruid given)
            ([1, 2, 3], (2, 1), Ok([2, 1, 1])),
            // euid := suid, ruid unchanged, euid != old ruid -> suid = new euid
            ([1, 2, 3], (ID_UNCHANGED, 3), Ok([1, 3, 3])),
            // euid := ruid: suid unchanged
            ([1, 2, 3], (ID_UNCHANGED, 1), Ok([1, 1, 3])),
            // ruid := suid is not allowed (only ruid or euid)
            ([1, 2, 3], (3, ID_UNCHANGED), Err(errno::EPERM)),
            ([1, 2, 3], (ID_UNCHANGED, 4), Err(errno::EPERM)),
            ([1, 2, 3], (ID_UNCHANGED, ID_UNCHANGED), Ok([1, 2, 3])),
            ([1, 2, 3], (1, ID_UNCHANGED), Ok([1, 2, 2])),
        ];
        for sem in ALL {
            for (start, (r, e), want) in table {
                let mut c = Cred::new(start[0], 7);
                c.euid = start[1];
                c.fsuid = start[1];
                c.suid = start[2];
                let got = c.setreuid(sem, r, e).map(|()| [c.uid, c.euid, c.suid]);
                match want {
                    Ok(w) => {
                        assert_eq!(got.unwrap(), w, "{sem} {start:?} ({r},{e})");
                        assert_eq!(c.fsuid, c.euid);
                    }
                    Err(en) => assert_eq!(errno_of(got), en, "{sem} {start:?} ({r},{e})"),
                }
            }
        }
    }

    #[test]
    fn setresuid_rules() {
        for sem in ALL {
            let mut c = Cred::new(1, 0);
            c.euid = 2;
            c.fsuid = 2;
            c.suid = 3;
            c.setresuid(sem, 3, 1, 2).unwrap();
            assert_eq!(ids(&c), [3, 1, 2, 1]);
            let e = c.setresuid(sem, ID_UNCHANGED, 9, ID_UNCHANGED).unwrap_err();
            assert_eq!(e.errno(), Some(errno::EPERM));
            assert!(e.detail.contains("effective uid 9"), "{}", e.detail);
            // Root may set anything; leaving root everywhere drops the caps.
            let mut r = Cred::new(0, 0);
            r.setresuid(sem, 5, 6, 7).unwrap();
            assert_eq!(ids(&r), [5, 6, 7, 6]);
            assert!(r.cap_permitted.is_empty() && r.cap_effective.is_empty());
            // Keeping suid 0: permitted stays, effective cleared (euid left 0).
            let mut r = Cred::new(0, 0);
            r.setresuid(sem, 5, 6, ID_UNCHANGED).unwrap();
            assert_eq!(r.cap_permitted, CapSet::full());
            assert!(r.cap_effective.is_empty());
        }
    }

    #[test]
    fn setresuid_dumpable_quirk_of_2_6() {
        // Changing only the real uid: 2.6 clears dumpable (set_user(ruid, -1 != euid)),
        // modern keeps it (euid, fsuid unchanged).
        let mut old = Cred::new(0, 0);
        old.setresuid(OLD, 5, ID_UNCHANGED, ID_UNCHANGED).unwrap();
        assert!(!old.dumpable);
        let mut new = Cred::new(0, 0);
        new.setresuid(NEW, 5, ID_UNCHANGED, ID_UNCHANGED).unwrap();
        assert!(new.dumpable);
        assert_eq!(ids(&new), [5, 0, 0, 0]);
    }

    #[test]
    fn setuid_minus_one() {
        let mut c = Cred::new(0, 0);
        assert_eq!(errno_of(c.setuid(NEW, ID_UNCHANGED)), errno::EINVAL);
        assert_eq!(errno_of(c.setgid(NEW, ID_UNCHANGED)), errno::EINVAL);
        c.setuid(OLD, ID_UNCHANGED).unwrap();
        assert_eq!(ids(&c), [u32::MAX; 4]);
    }

    #[test]
    fn unprivileged_setuid_to_saved() {
        for sem in ALL {
            let mut c = Cred::new(1000, 100);
            c.suid = 0; // e.g. after seteuid(1000) in a setuid-root program that dropped caps
            c.setuid(sem, 0).unwrap();
            assert_eq!(ids(&c), [1000, 0, 0, 0]);
            // euid nonzero -> 0: effective = permitted (empty here)
            assert!(c.cap_effective.is_empty());
            assert_eq!(errno_of(c.setuid(sem, 5)), errno::EPERM);
        }
    }

    #[test]
    fn gid_family() {
        for sem in ALL {
            let mut c = Cred::new(1000, 100);
            c.egid = 200;
            c.fsgid = 200;
            c.sgid = 300;
            assert_eq!(errno_of(c.setgid(sem, 200)), errno::EPERM); // egid is not enough
            c.setgid(sem, 300).unwrap();
            assert_eq!(gids(&c), [100, 300, 300, 300]);
            assert!(!c.dumpable);
            c.setregid(sem, 300, 100).unwrap();
            assert_eq!(gids(&c), [300, 100, 100, 100]);
            assert_eq!(errno_of(c.setresgid(sem, 5, ID_UNCHANGED, ID_UNCHANGED)), errno::EPERM);
            c.setresgid(sem, ID_UNCHANGED, 300, ID_UNCHANGED).unwrap();
            assert_eq!(gids(&c), [300, 300, 100, 300]);
            c.setegid(sem, 100).unwrap();
            assert_eq!(gids(&c), [300, 100, 100, 100]);
            assert_eq!(errno_of(c.setegid(sem, ID_UNCHANGED)), errno::EINVAL);
            let mut r = Cred::new(0, 0);
            r.setgid(sem, 50).unwrap();
            assert_eq!(gids(&r), [50; 4]);
            assert_eq!(r.cap_effective, CapSet::full(), "gids never touch capabilities");
        }
    }

    #[test]
    fn setfsuid_rules_and_fs_caps() {
        for sem in ALL {
            let mut c = Cred::new(1000, 100);
            assert_eq!(c.setfsuid(sem, 5), 1000); // refused silently
            assert_eq!(c.fsuid, 1000);
            assert!(c.dumpable);
            let mut r = Cred::new(0, 0);
            assert_eq!(r.setfsuid(sem, 1000), 0);
            assert_eq!(ids(&r), [0, 0, 0, 1000]);
            assert!(!r.dumpable);
            let fs = if sem == NEW { CAP_FS_SET_MODERN } else { CAP_FS_MASK_2_6 };
            assert_eq!(r.cap_effective, CapSet::full().without(fs), "{sem}");
            assert!(r.capable(CAP_SYS_ADMIN) && !r.capable(CAP_CHOWN));
            assert_eq!(r.cap_permitted, CapSet::full());
            assert_eq!(r.setfsuid(sem, 0), 1000);
            assert_eq!(r.cap_effective, CapSet::full());
            assert_eq!(r.setfsgid(sem, 7), 0);
            assert_eq!(r.fsgid, 7);
            let mut u = Cred::new(1000, 100);
            assert_eq!(u.setfsgid(sem, 5), 100);
            assert_eq!(u.fsgid, 100);
        }
        let mut r = Cred::new(0, 0);
        assert_eq!(r.setfsuid(NEW, ID_UNCHANGED), 0);
        assert_eq!(r.fsuid, 0);
        assert_eq!(r.setfsuid(OLD, ID_UNCHANGED), 0);
        assert_eq!(r.fsuid, u32::MAX);
    }

    #[test]
    fn migrate_uid_rule() {
        let target = {
            let mut t = Cred::new(10, 0);
            t.euid = 11;
            t.suid = 12;
            t
        };
        // (caller uid, caller euid, cap granted, expected)
        let table = [
            (10, 99, None, true),  // caller uid == target uid
            (12, 99, None, true),  // caller uid == target suid
            (99, 10, None, true),  // caller euid == target uid
            (99, 12, None, true),  // caller euid == target suid
            (11, 11, None, false), // target euid does not count
            (99, 99, None, false),
            (99, 99, Some(CAP_SYS_ADMIN), true),
            (99, 99, Some(CAP_SYS_NICE), false), // checked capability is CAP_SYS_ADMIN here
        ];
        for (uid, euid, cap, want) in table {
            let mut c = Cred::new(uid, 0);
            c.euid = euid;
            if let Some(cap) = cap {
                c.grant(cap).unwrap();
            }
            assert_eq!(v5_migrate_permitted(&c, &target, CAP_SYS_ADMIN), want, "{uid} {euid}");
        }
        let mut nice = Cred::new(99, 0);
        nice.grant(CAP_SYS_NICE).unwrap();
        assert!(v5_migrate_permitted(&nice, &target, CAP_SYS_NICE));
    }

    #[test]
    fn ptrace_rule() {
        let user = Cred::new(1000, 100);
        let other = Cred::new(1001, 100);
        // same ids, dumpable
        assert!(ptrace_may_access_read_realcreds(&user, &user.clone(), false, true).is_ok());
        // same ids, not dumpable -> EPERM without CAP_SYS_PTRACE
        let e = ptrace_may_access_read_realcreds(&user, &user.clone(), false, false).unwrap_err();
        assert_eq!(e.errno(), Some(errno::EPERM));
        assert!(e.detail.contains("not dumpable"));
        // same thread group always wins
        assert!(ptrace_may_access_read_realcreds(&user, &other, true, false).is_ok());
        // different uid
        let e = ptrace_may_access_read_realcreds(&user, &other, false, true).unwrap_err();
        assert!(e.detail.contains("CAP_SYS_PTRACE"));
        // the caller's REAL uid counts, not its euid
        let mut setuid_prog = Cred::new(1000, 100);
        setuid_prog.euid = 0; // running a setuid-root binary, caps dropped for the test
        setuid_prog.cap_effective = CapSet::empty();
        let root_target = Cred::new(0, 0);
        assert!(ptrace_may_access_read_realcreds(&setuid_prog, &root_target, false, true).is_err());
        assert!(ptrace_may_access_read_realcreds(&setuid_prog, &user, false, true).is_ok());
        // target with a different saved uid or gid fails
        let mut t = user.clone();
        t.suid = 0;
        assert!(ptrace_may_access_read_realcreds(&user, &t, false, true).is_err());
        let mut t = user.clone();
        t.sgid = 5;
        assert!(ptrace_may_access_read_realcreds(&user, &t, false, true).is_err());
        // CAP_SYS_PTRACE covers both the id mismatch and the dumpable test
        let mut tracer = Cred::new(1001, 1);
        tracer.grant(CAP_SYS_PTRACE).unwrap();
        assert!(ptrace_may_access_read_realcreds(&tracer, &root_target, false, false).is_ok());
        // CAP_SYS_NICE alone does not
        let mut nice = Cred::new(1001, 1);
        nice.grant(CAP_SYS_NICE).unwrap();
        assert!(ptrace_may_access_read_realcreds(&nice, &user, false, true).is_err());
        // cap_ptrace_access_check(): same ids, dumpable, but the target holds a permitted
        // capability the caller lacks -> EPERM; with the capability, or CAP_SYS_PTRACE, ok.
        let mut capped = user.clone();
        capped.grant(CAP_SYS_NICE).unwrap();
        let e = ptrace_may_access_read_realcreds(&user, &capped, false, true).unwrap_err();
        assert_eq!(e.errno(), Some(errno::EPERM));
        assert!(e.detail.contains("cap_ptrace_access_check") && e.detail.contains("CAP_SYS_NICE"));
        let mut peer = user.clone();
        peer.grant(CAP_SYS_NICE).unwrap();
        assert!(ptrace_may_access_read_realcreds(&peer, &capped, false, true).is_ok());
        let mut tracer = user.clone();
        tracer.grant(CAP_SYS_PTRACE).unwrap();
        assert!(ptrace_may_access_read_realcreds(&tracer, &capped, false, true).is_ok());
        // REALCREDS compares the permitted sets: an effective set emptied by a euid change
        // does not matter.
        let mut dropped = peer.clone();
        dropped.cap_effective = CapSet::empty();
        assert!(ptrace_may_access_read_realcreds(&dropped, &capped, false, true).is_ok());
    }

    #[test]
    fn cpuset_attach_rule() {
        let t = Cred::new(10, 0);
        let mut c = Cred::new(99, 0);
        assert!(!cpuset_attach_permitted(&c, &t));
        c.euid = 10;
        assert!(cpuset_attach_permitted(&c, &t));
        let mut c = Cred::new(99, 0);
        c.grant(CAP_SYS_ADMIN).unwrap();
        assert!(!cpuset_attach_permitted(&c, &t), "a capability is not enough, euid 0 is");
        c.euid = 0;
        assert!(cpuset_attach_permitted(&c, &t));
    }
}
