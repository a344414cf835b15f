//! The sandbox a hook asks for (`config::Sandbox`), made real: a Landlock ruleset for
//! files and TCP, and a seccomp filter on `socket()` for the socket families Landlock
//! does not cover.
//!
//! Everything is built in the parent: the ruleset is an open descriptor, the filter a
//! static BPF program. The child of the launcher's vfork-style clone (see
//! [`super::launch`]) shares cargo-tek's memory until its `execve` and may not allocate,
//! so all it does is three system calls — `prctl(PR_SET_NO_NEW_PRIVS)`,
//! `landlock_restrict_self` and `seccomp(SECCOMP_SET_MODE_FILTER)` — on what this module
//! prepared ([`enter`]). The `landlock` crate's own `restrict_self` is not called there:
//! it keeps state and error values of its own, and nothing promises it never allocates.
//! All three are per-thread state of the child (its credentials, its `no_new_privs` flag,
//! its filter), so cargo-tek itself stays unconfined; every process the command starts
//! inherits them through `fork` and `execve`, and none can be lifted.
//!
//! Why both: Landlock (ABI 4) can deny TCP `connect` and `bind`, but knows no other
//! socket family, so UDP, raw and packet sockets are refused by the filter when they are
//! created. Unix sockets stay allowed: pipes are not sockets, but socketpairs, the C
//! library's name service (`getpwuid` through nscd or systemd-userdb) and syslog are,
//! and refusing them breaks ordinary programs while the network stays closed anyway.
//! `io_uring_setup` is refused too: io_uring can create sockets without `socket()`.

mod abi;
mod confine;
mod denial;
#[cfg(target_os = "linux")]
mod filter;
mod places;
#[cfg(target_os = "linux")]
mod ruleset;

pub(crate) use abi::{describe_abi, enforce, kernel_abi, Enforced, NET_ABI, WRITE_ABI};
#[cfg(target_os = "linux")]
pub(crate) use confine::enter;
pub(crate) use confine::{Confine, Confinement};
pub(crate) use denial::denied;
pub(crate) use places::Places;
