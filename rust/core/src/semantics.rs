//! The kernel generation a machine follows. See DESIGN.md: the three share one machine model and
//! differ in collection rules, engines, get_nodes details and the permission model.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Semantics {
    /// "Swap Migration V5: sys_migrate_pages interface", 2.6.14-rc5-mm1: swap-out only.
    V5,
    /// Linux 2.6.16: direct migration through the swap cache, node_remap pairs.
    Linux2616,
    /// Linux 6.x: migration entries, Woodman's pair rule, __GFP_THISNODE.
    Modern,
}

impl Semantics {
    pub const ALL: [Semantics; 3] = [Semantics::V5, Semantics::Linux2616, Semantics::Modern];

    pub fn name(self) -> &'static str {
        match self {
            Semantics::V5 => "v5",
            Semantics::Linux2616 => "2.6.16",
            Semantics::Modern => "modern",
        }
    }

    pub fn parse(s: &str) -> Result<Semantics> {
        Semantics::ALL.into_iter().find(|x| x.name() == s).ok_or_else(|| {
            Error::value(format!("unknown semantics {s:?}; expected one of v5, 2.6.16, modern"))
        })
    }
}

impl std::fmt::Display for Semantics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
