//! The sandbox handed to the child: built in the parent ([`Confinement`]), entered by the
//! launcher's child right before `execve` ([`enter`]) with plain values ([`Confine`]).

use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use super::{Enforced, Places};
use crate::config::Net;

/// What the child applies: the ruleset's descriptor and the filter, both owned here and
/// kept for as long as commands may start with them.
#[derive(Debug, Default)]
pub(crate) struct Confinement {
    ruleset: Option<OwnedFd>,
    filter: bool,
}

/// What [`enter`] reads in the child: plain values, no allocation.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Confine {
    /// The Landlock ruleset, or -1.
    pub(crate) ruleset: RawFd,
    /// The seccomp filter: its first instruction and length (null: none).
    pub(crate) filter: *const nix::libc::sock_filter,
    pub(crate) filter_len: u16,
}

// SAFETY: the pointer is to the static filter, never written after it is built.
unsafe impl Send for Confine {}

impl Confinement {
    /// Builds the ruleset and the filter for `enforced` in `places`: the `write`
    /// directories are created (beneath the root for relative ones, following no link
    /// out of it) and opened now.
    pub(crate) fn build(enforced: &Enforced, places: &Places<'_>) -> Result<Self, String> {
        if !enforced.any() {
            return Ok(Self::default());
        }
        #[cfg(target_os = "linux")]
        {
            let ruleset = super::ruleset::ruleset(enforced, places)?;
            let filter = enforced.rules.net == Net::None && enforced.enforces("net");
            if filter {
                super::filter::filter()?;
            }
            Ok(Self { ruleset, filter })
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = places;
            Err("sandbox rules need Linux".into())
        }
    }

    /// The values for the child.
    pub(crate) fn confine(&self) -> Option<Confine> {
        if self.ruleset.is_none() && !self.filter {
            return None;
        }
        #[cfg(target_os = "linux")]
        let (filter, filter_len) = match self.filter.then(super::filter::filter) {
            Some(Ok(program)) => (program.as_ptr().cast(), program.len() as u16),
            _ => (std::ptr::null(), 0),
        };
        #[cfg(not(target_os = "linux"))]
        let (filter, filter_len) = (std::ptr::null(), 0);
        Some(Confine {
            ruleset: self.ruleset.as_ref().map_or(-1, |fd| fd.as_raw_fd()),
            filter,
            filter_len,
        })
    }
}

/// In the child, right before `execve`: no new privileges, the ruleset, the filter.
/// Returns false with errno set when a step fails.
///
/// # Safety
/// Async-signal-safe system calls only, on values the parent keeps alive; meant for the
/// launcher's child (see the module's comment).
#[cfg(target_os = "linux")]
pub(crate) unsafe fn enter(confine: &Confine) -> bool {
    use nix::libc;
    if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
        return false;
    }
    if confine.ruleset >= 0
        && libc::syscall(libc::SYS_landlock_restrict_self, confine.ruleset, 0u32) != 0
    {
        return false;
    }
    if !confine.filter.is_null() {
        let program = libc::sock_fprog {
            len: confine.filter_len,
            filter: confine.filter.cast_mut(),
        };
        if libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            0u32,
            &program as *const libc::sock_fprog,
        ) != 0
        {
            return false;
        }
    }
    true
}
