//! Keeping scrubbed values (tokens, `INPUT_*`, the workflow-command files: see
//! [`super::env::is_scrubbed`]) where no task can read them, including in cargo-tek itself.
//!
//! `/proc/<pid>/environ` shows the environment block a process was *exec'd* with;
//! removing a variable at run time changes nothing there, and every task runs as the
//! same user as cargo-tek. So `cargo tek run`, when it finds scrubbed variables, first
//! re-executes itself (`/proc/self/exe`) without them and hands them over in an anonymous
//! memory file (`memfd`) whose descriptor number is the one thing passed ([`HANDOFF`]).
//! The new image reads the values and closes the descriptor before anything else
//! happens; from then on they live only in cargo-tek's memory, which is where `pass_env`
//! and the report step (`run --report`) take them from ([`var`], [`vars_os`]).
//!
//! Second layer: the process marks itself undumpable (`PR_SET_DUMPABLE` 0), which puts
//! its `/proc/<pid>/{environ,mem,fd}` out of reach of same-user processes (and of
//! debuggers attaching as that user). Tasks are exec'd, so they are dumpable again.
//! Neither layer stops root, or a task that is given a value through `pass_env`.

use std::ffi::OsString;
use std::sync::OnceLock;

use super::env::is_scrubbed;

/// The variable that carries the handover descriptor's number into the re-executed image.
pub(crate) const HANDOFF: &str = "TEK_SCRUBBED_FD";

/// What [`isolate`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Isolation {
    /// There was nothing to hide (or the command starts no tasks).
    Clean,
    /// The scrubbed values were taken over from the previous image of this process.
    Isolated,
    /// Re-executing failed: the values were moved out of the process environment for
    /// children, but stay in this process's exec-time environment; the message says why.
    Failed(String),
}

static HELD: OnceLock<Vec<(OsString, OsString)>> = OnceLock::new();
static OUTCOME: OnceLock<Isolation> = OnceLock::new();

/// What [`isolate`] did in this process (`Clean` when it was never called).
pub(crate) fn outcome() -> Isolation {
    OUTCOME.get().cloned().unwrap_or(Isolation::Clean)
}

/// A variable: the held scrubbed values first, then the process environment.
pub(crate) fn var(key: &str) -> Option<String> {
    HELD.get()
        .and_then(|held| held.iter().find(|(k, _)| k == key))
        .and_then(|(_, v)| v.to_str().map(str::to_owned))
        .or_else(|| std::env::var(key).ok())
}

/// The process environment plus the held scrubbed values.
pub(crate) fn vars_os() -> Vec<(OsString, OsString)> {
    let mut vars: Vec<(OsString, OsString)> = std::env::vars_os().collect();
    vars.extend(HELD.get().into_iter().flatten().cloned());
    vars
}

/// The table of secret values of this run or report, built once and handed to every
/// writer: the values of the built-in secret variables ([`super::env::is_secret`]), held
/// or in the environment, and of those `named` accepts (manifest.json `secrets`). In the
/// report step that includes `GITHUB_TOKEN`, which only that step holds.
pub(crate) fn table(named: impl Fn(&str) -> bool) -> crate::redact::Secrets {
    crate::redact::Secrets::of_vars(vars_os(), |name| super::env::is_secret(name) || named(name))
}

/// Puts this process's `/proc` entries out of other same-user processes' reach, for
/// secrets known only once manifest.json is read (too late to re-execute without them).
pub(crate) fn guard() {
    undumpable();
}

/// Called first thing by the binary, while it is still single-threaded. Takes over values
/// handed over by a previous image; else, when `starts_tasks` and scrubbed variables are
/// present, re-executes this program without them (and does not return on success).
pub fn isolate(starts_tasks: bool) -> Isolation {
    let handed = take_handoff();
    let scrubbed: Vec<(OsString, OsString)> = if starts_tasks {
        std::env::vars_os()
            .filter(|(k, _)| is_scrubbed(&k.to_string_lossy()))
            .collect()
    } else {
        Vec::new()
    };
    let outcome = match (handed, scrubbed.is_empty()) {
        (None, true) => Isolation::Clean,
        (Some(held), true) => {
            let _ = HELD.set(held);
            undumpable();
            Isolation::Isolated
        }
        // Scrubbed values in this image's environment (given directly, or next to a
        // handover, as the Action's run step gives the journal key): once more without.
        (handed, false) => {
            // This image's own values first: [`var`] takes the first, and they are newer.
            let mut all = scrubbed.clone();
            all.extend(handed.into_iter().flatten());
            let why = reexec(&all);
            // Still here: keep the values for this process only, out of every child's way.
            for (key, _) in &scrubbed {
                std::env::remove_var(key);
            }
            let _ = HELD.set(all);
            undumpable();
            Isolation::Failed(why)
        }
    };
    let _ = OUTCOME.set(outcome.clone());
    outcome
}

fn undumpable() {
    #[cfg(target_os = "linux")]
    {
        let _ = nix::sys::prctl::set_dumpable(false);
        // Re-executed through /proc/self/exe, the kernel names this process `exe`; `ps`,
        // `top` and `pkill cargo-tek` should still find it by its own name.
        let _ = nix::sys::prctl::set_name(c"cargo-tek");
    }
}

/// Encodes `key\0value\0` pairs (neither may contain NUL in an environment).
fn encode(vars: &[(OsString, OsString)]) -> Vec<u8> {
    use std::os::unix::ffi::OsStrExt;
    let mut out = Vec::new();
    for (k, v) in vars {
        out.extend_from_slice(k.as_bytes());
        out.push(0);
        out.extend_from_slice(v.as_bytes());
        out.push(0);
    }
    out
}

fn decode(bytes: &[u8]) -> Vec<(OsString, OsString)> {
    use std::os::unix::ffi::OsStrExt;
    let mut parts = bytes.split(|&b| b == 0);
    let mut out = Vec::new();
    while let (Some(k), Some(v)) = (parts.next(), parts.next()) {
        if !k.is_empty() {
            out.push((
                std::ffi::OsStr::from_bytes(k).to_owned(),
                std::ffi::OsStr::from_bytes(v).to_owned(),
            ));
        }
    }
    out
}

/// An anonymous file that survives exec: a memfd on Linux, an unlinked temporary file
/// elsewhere.
fn handover_file() -> std::io::Result<std::fs::File> {
    #[cfg(target_os = "linux")]
    {
        use nix::sys::memfd::{memfd_create, MFdFlags};
        let fd = memfd_create(c"tek-scrubbed", MFdFlags::empty()).map_err(std::io::Error::from)?;
        Ok(std::fs::File::from(fd))
    }
    #[cfg(not(target_os = "linux"))]
    {
        let file = tempfile::tempfile()?;
        let fd = std::os::fd::AsRawFd::as_raw_fd(&file);
        let flags = nix::fcntl::fcntl(fd, nix::fcntl::FcntlArg::F_GETFD)?;
        let mut flags = nix::fcntl::FdFlag::from_bits_retain(flags);
        flags.remove(nix::fcntl::FdFlag::FD_CLOEXEC);
        nix::fcntl::fcntl(fd, nix::fcntl::FcntlArg::F_SETFD(flags))?;
        Ok(file)
    }
}

/// Re-executes this program without the scrubbed variables; returns only on failure, why.
fn reexec(scrubbed: &[(OsString, OsString)]) -> String {
    use std::io::{Seek, Write};
    use std::os::fd::AsRawFd;
    use std::os::unix::process::CommandExt;

    let mut file = match handover_file() {
        Ok(file) => file,
        Err(err) => return format!("failed to create the handover file: {err}"),
    };
    if let Err(err) = file
        .write_all(&encode(scrubbed))
        .and_then(|()| file.rewind())
    {
        return format!("failed to write the handover file: {err}");
    }
    let mut args = std::env::args_os();
    let arg0 = args.next().unwrap_or_else(|| "cargo-tek".into());
    let exe = if cfg!(target_os = "linux") {
        std::path::PathBuf::from("/proc/self/exe")
    } else {
        match std::env::current_exe() {
            Ok(exe) => exe,
            Err(err) => return format!("failed to find this program: {err}"),
        }
    };
    let err = std::process::Command::new(exe)
        .arg0(arg0)
        .args(args)
        .env_clear()
        .envs(std::env::vars_os().filter(|(k, _)| !is_scrubbed(&k.to_string_lossy())))
        .env(HANDOFF, file.as_raw_fd().to_string())
        .exec();
    format!("failed to re-execute cargo-tek: {err}")
}

/// Reads and closes the descriptor named by [`HANDOFF`], if it names an anonymous file.
fn take_handoff() -> Option<Vec<(OsString, OsString)>> {
    use std::io::Read;
    use std::os::fd::{FromRawFd, OwnedFd};

    let number = std::env::var_os(HANDOFF)?;
    std::env::remove_var(HANDOFF);
    let fd: i32 = number.to_str()?.parse().ok().filter(|fd| *fd > 2)?;
    // Only a regular file will do: never block on a pipe or terminal someone named.
    let stat = nix::sys::stat::fstat(unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) }).ok()?;
    if stat.st_mode & nix::libc::S_IFMT != nix::libc::S_IFREG {
        return None;
    }
    // SAFETY: the descriptor is open (fstat succeeded) and nothing else in this freshly
    // started process owns it.
    let mut file = std::fs::File::from(unsafe { OwnedFd::from_raw_fd(fd) });
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).ok()?;
    // Empty it for every other holder: the shell that started us (the Action's run
    // step, see [`exec_scrubbed`]) keeps its descriptor open, and a task could read that
    // through /proc/<shell>/fd. This happens before any task exists.
    let _ = file.set_len(0);
    Some(decode(&bytes))
}

/// `argv[1]` of the internal entry point [`exec_scrubbed`].
pub const EXEC_ARG: &str = "__tek-exec-scrubbed";

/// `cargo-tek __tek-exec-scrubbed [--keep NAME]... -- PROGRAM [ARG]...`: executes PROGRAM
/// without the scrubbed variables (but those named by `--keep`), handing their values to
/// it in an anonymous file whose number is in [`HANDOFF`], as [`isolate`] does for
/// cargo-tek itself.
///
/// For the Action's run step: its shell stays the parent of `cargo tek run` for the
/// whole run, and a task can read the exec-time environment of every process above it.
/// Executed through this, the shell never holds the tokens, and the `cargo tek` it
/// starts with the descriptor takes them over (and empties the file) before its first
/// task. Returns only on failure, with the reason.
pub fn exec_scrubbed(args: &[OsString]) -> String {
    use std::io::{Seek, Write};
    use std::os::fd::AsRawFd;
    use std::os::unix::process::CommandExt;

    let mut keep: Vec<&OsString> = Vec::new();
    let mut rest = args.iter().skip(2);
    let program = loop {
        match rest.next() {
            Some(flag) if flag == "--keep" => match rest.next() {
                Some(name) => keep.push(name),
                None => return "--keep needs a variable name".into(),
            },
            Some(dashes) if dashes == "--" => match rest.next() {
                Some(program) => break program,
                None => return "no program to execute after `--`".into(),
            },
            Some(other) => {
                return format!(
                "unexpected argument `{}`; usage: {EXEC_ARG} [--keep NAME]... -- PROGRAM [ARG]...",
                other.to_string_lossy()
            )
            }
            None => return format!("usage: {EXEC_ARG} [--keep NAME]... -- PROGRAM [ARG]..."),
        }
    };
    let withheld = |k: &OsString| is_scrubbed(&k.to_string_lossy()) && !keep.contains(&k);
    let scrubbed: Vec<(OsString, OsString)> =
        std::env::vars_os().filter(|(k, _)| withheld(k)).collect();
    let mut command = std::process::Command::new(program);
    command
        .args(rest)
        .env_clear()
        .envs(std::env::vars_os().filter(|(k, _)| !withheld(k)));
    // Held only so that it stays open across exec.
    let mut _file = None;
    if !scrubbed.is_empty() {
        let mut file = match handover_file() {
            Ok(file) => file,
            Err(err) => return format!("failed to create the handover file: {err}"),
        };
        if let Err(err) = file
            .write_all(&encode(&scrubbed))
            .and_then(|()| file.rewind())
        {
            return format!("failed to write the handover file: {err}");
        }
        command.env(HANDOFF, file.as_raw_fd().to_string());
        _file = Some(file);
    }
    let err = command.exec();
    format!("failed to execute `{}`: {err}", program.to_string_lossy())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_handover_encoding_round_trips() {
        let vars: Vec<(OsString, OsString)> =
            [("GITHUB_TOKEN", "ghp_x"), ("INPUT_A", ""), ("B", "a=b c")]
                .iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect();
        assert_eq!(decode(&encode(&vars)), vars);
    }
}
