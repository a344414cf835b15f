//! The seccomp filter of `net: none`: the socket families and types Landlock cannot
//! refuse, refused when they are created, and `io_uring_setup` with them.

use std::collections::BTreeMap;

use super::ruleset::text;

/// The seccomp filter of `net: none`, built once: `socket()` of any family but Unix,
/// and of IPv4/IPv6 anything but a TCP stream, fails with EACCES, as does
/// `io_uring_setup`. On x86-64, the x32 numbers of both calls are refused outright.
pub(super) fn filter() -> Result<&'static [nix::libc::sock_filter], String> {
    static FILTER: std::sync::OnceLock<Result<seccompiler::BpfProgram, String>> =
        std::sync::OnceLock::new();
    let built = FILTER.get_or_init(|| build().map_err(text));
    match built {
        // SAFETY: seccompiler's sock_filter is the kernel's struct, as libc's is.
        Ok(program) => {
            Ok(unsafe { std::slice::from_raw_parts(program.as_ptr().cast(), program.len()) })
        }
        Err(e) => Err(e.clone()),
    }
}

fn build() -> Result<seccompiler::BpfProgram, seccompiler::BackendError> {
    use seccompiler::{
        BpfProgram, SeccompAction, SeccompCmpArgLen as Len, SeccompCmpOp as Op,
        SeccompCondition as Cond, SeccompFilter, SeccompRule,
    };
    {
        use nix::libc::{
            AF_INET, AF_INET6, AF_UNIX, IPPROTO_TCP, SOCK_DCCP, SOCK_DGRAM, SOCK_RAW, SOCK_RDM,
            SOCK_SEQPACKET,
        };
        let c = |arg: u8, op: Op, value: u64| Cond::new(arg, Len::Dword, op, value);
        let mut socket = Vec::new();
        // Any family but Unix, IPv4 and IPv6.
        socket.push(SeccompRule::new(vec![
            c(0, Op::Ne, AF_UNIX as u64)?,
            c(0, Op::Ne, AF_INET as u64)?,
            c(0, Op::Ne, AF_INET6 as u64)?,
        ])?);
        for family in [AF_INET, AF_INET6] {
            // Any type but a stream: datagram, raw, RDM, seqpacket, DCCP, packet (the
            // low bits; the rest are flags, and the kernel refuses other types). Named
            // one by one rather than as "not a stream", which seccompiler cannot say:
            // the filter is compiled in every command's start, so it is kept short.
            for kind in [
                SOCK_DGRAM,
                SOCK_RAW,
                SOCK_RDM,
                SOCK_SEQPACKET,
                SOCK_DCCP,
                // SOCK_PACKET (libc deprecates the name, the kernel still takes it).
                10,
            ] {
                let kind = kind as u64;
                socket.push(SeccompRule::new(vec![
                    c(0, Op::Eq, family as u64)?,
                    c(1, Op::MaskedEq(0xf), kind)?,
                ])?);
            }
            // A stream of another protocol than TCP (SCTP, MPTCP).
            socket.push(SeccompRule::new(vec![
                c(0, Op::Eq, family as u64)?,
                c(2, Op::Ne, 0)?,
                c(2, Op::Ne, IPPROTO_TCP as u64)?,
            ])?);
        }
        let mut rules: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
        rules.insert(nix::libc::SYS_socket, socket);
        rules.insert(nix::libc::SYS_io_uring_setup, Vec::new());
        #[cfg(target_arch = "x86_64")]
        {
            const X32: i64 = 0x4000_0000;
            // x32 programs get no socket at all: short, and they are rare.
            rules.insert(nix::libc::SYS_socket | X32, Vec::new());
            rules.insert(nix::libc::SYS_io_uring_setup | X32, Vec::new());
        }
        let arch = seccompiler::TargetArch::try_from(std::env::consts::ARCH)?;
        let filter = SeccompFilter::new(
            rules,
            SeccompAction::Allow,
            SeccompAction::Errno(nix::libc::EACCES as u32),
            arch,
        )?;
        BpfProgram::try_from(filter)
    }
}
