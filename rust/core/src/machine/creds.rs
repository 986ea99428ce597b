//! Credential changes of a task (the set*id system calls) and capability edits.

use super::{Machine, Pid};
use crate::cred::{cap_from_name, Cred};
use crate::error::{Error, Result};

impl Machine {
    /// Applies a set*id call to a task: `op` is the syscall name ("setuid", "seteuid",
    /// "setreuid", "setresuid", "setgid", "setegid", "setregid", "setresgid", "setfsuid",
    /// "setfsgid"), `ids` its arguments (u32::MAX = -1, "unchanged").
    pub fn set_ids(&mut self, pid: Pid, op: &str, ids: &[u32]) -> Result<()> {
        self.task(pid)?;
        self.bump_epoch();
        let sem = self.semantics;
        let c: &mut Cred = &mut self.task_mut(pid)?.cred;
        let want = match op {
            "setuid" | "seteuid" | "setgid" | "setegid" | "setfsuid" | "setfsgid" => 1,
            "setreuid" | "setregid" => 2,
            "setresuid" | "setresgid" => 3,
            _ => {
                return Err(Error::value(format!(
                    "unknown credential call {op:?}; expected setuid, seteuid, setreuid, \
                     setresuid, setfsuid or their gid forms"
                )))
            }
        };
        if ids.len() != want {
            return Err(Error::value(format!("{op} takes {want} ids, got {}", ids.len())));
        }
        match op {
            "setuid" => c.setuid(sem, ids[0]),
            "seteuid" => c.seteuid(sem, ids[0]),
            "setreuid" => c.setreuid(sem, ids[0], ids[1]),
            "setresuid" => c.setresuid(sem, ids[0], ids[1], ids[2]),
            "setgid" => c.setgid(sem, ids[0]),
            "setegid" => c.setegid(sem, ids[0]),
            "setregid" => c.setregid(sem, ids[0], ids[1]),
            "setresgid" => c.setresgid(sem, ids[0], ids[1], ids[2]),
            "setfsuid" => {
                c.setfsuid(sem, ids[0]);
                Ok(())
            }
            _ => {
                c.setfsgid(sem, ids[0]);
                Ok(())
            }
        }
    }

    /// Grants (`on`) or revokes a capability in the task's effective and permitted sets.
    pub fn set_capability(&mut self, pid: Pid, cap: &str, on: bool) -> Result<()> {
        let n = cap_from_name(cap)?;
        self.task(pid)?;
        self.bump_epoch();
        let c = &mut self.task_mut(pid)?.cred;
        if on {
            c.grant(n)
        } else {
            c.revoke(n)
        }
    }
}

impl Machine {
    /// Sets whether the task is dumpable (prctl(PR_SET_DUMPABLE); the kernel keeps it in the mm,
    /// see `Cred::dumpable`).
    pub fn set_dumpable(&mut self, pid: Pid, on: bool) -> Result<()> {
        self.task_mut(pid)?.cred.dumpable = on;
        self.bump_epoch();
        Ok(())
    }

    /// sys_migrate_pages' "permissions check like for signals" (cred::v5_migrate_permitted):
    /// the caller's euid or uid equals the target's suid or uid, or it has `cap`.
    pub fn may_migrate(&self, caller: Pid, target: Pid, cap: &str) -> Result<bool> {
        let cap = cap_from_name(cap)?;
        Ok(crate::cred::v5_migrate_permitted(
            &self.task(caller)?.cred,
            &self.task(target)?.cred,
            cap,
        ))
    }

    /// ptrace_may_access(target, PTRACE_MODE_READ_REALCREDS) from `caller` (6.x): Ok or EPERM
    /// naming the reason. A task without mm skips the dumpable test, as the kernel does.
    pub fn ptrace_may_access(&self, caller: Pid, target: Pid) -> Result<()> {
        let c = self.task(caller)?;
        let t = self.task(target)?;
        let dumpable = t.mm.is_none() || t.cred.dumpable;
        crate::cred::ptrace_may_access_read_realcreds(&c.cred, &t.cred, c.tgid == t.tgid, dumpable)
    }
}
