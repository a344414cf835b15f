//! Opening files inside a run directory without ever following a symlink below it.
//!
//! A run directory may come from an artifact of an untrusted pull request, and a task can
//! rewrite its own run directory while it runs (`ln -sf /proc/self/environ` over its log).
//! So every file read from a run directory is opened one component at a time, each with
//! `O_NOFOLLOW` relative to the directory opened before it (openat-style), and must turn
//! out to be a regular file; reads are bounded. The run directory itself may be reached
//! through a symlink: the user named it. Log files are created the same way.

use std::fs::File;
use std::io::Read;
use std::os::fd::OwnedFd;
use std::path::Path;

use nix::errno::Errno;
use nix::fcntl::{openat, OFlag};
use nix::sys::stat::Mode;

/// Why a file of a run directory was not read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ReadError {
    #[error("`{rel}` is not inside the run directory")]
    Outside { rel: String },
    #[error("`{rel}` is not a regular file")]
    NotRegular { rel: String },
    #[error("`{rel}` is larger than {max} bytes")]
    TooBig { rel: String, max: u64 },
    #[error("`{rel}`: {source}")]
    Io {
        rel: String,
        #[source]
        source: std::io::Error,
    },
}

impl ReadError {
    /// Whether the file simply does not exist.
    pub(crate) fn is_not_found(&self) -> bool {
        matches!(self, ReadError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
    }
}

/// Opens `rel` (slash-separated, relative) below `dir`, following no symlink at any
/// component, and checks that it is a regular file. FIFOs and devices are refused
/// without blocking.
pub(crate) fn open(dir: &Path, rel: &str) -> Result<File, ReadError> {
    open_as(dir, rel, OFlag::O_RDONLY)
}

/// Opens `rel` below `dir` for reading and writing, as [`open`] does (to mask a log in
/// place).
pub(crate) fn open_rw(dir: &Path, rel: &str) -> Result<File, ReadError> {
    open_as(dir, rel, OFlag::O_RDWR)
}

fn open_as(dir: &Path, rel: &str, access: OFlag) -> Result<File, ReadError> {
    let outside = || ReadError::Outside {
        rel: rel.to_owned(),
    };
    let not_regular = || ReadError::NotRegular {
        rel: rel.to_owned(),
    };
    let io = |e: Errno| ReadError::Io {
        rel: rel.to_owned(),
        source: std::io::Error::from(e),
    };
    if rel.starts_with('/') {
        return Err(outside());
    }
    let parts: Vec<&str> = rel
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    if parts.is_empty() || parts.contains(&"..") || rel.contains('\0') {
        return Err(outside());
    }
    let base = OFlag::O_RDONLY | OFlag::O_CLOEXEC;
    let mut current: OwnedFd =
        nix::fcntl::open(dir, base | OFlag::O_DIRECTORY, Mode::empty()).map_err(io)?;
    let (last, dirs) = parts.split_last().ok_or_else(outside)?;
    for part in dirs {
        current = openat(
            &current,
            *part,
            base | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW,
            Mode::empty(),
        )
        .map_err(|e| match e {
            // ELOOP: a symlink; ENOTDIR: a file (or a symlink, on some systems).
            Errno::ELOOP | Errno::ENOTDIR | Errno::EMLINK => not_regular(),
            e => io(e),
        })?;
    }
    let last_flags = (base - OFlag::O_RDONLY) | access;
    let fd = openat(
        &current,
        *last,
        last_flags | OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_NOCTTY,
        Mode::empty(),
    )
    .map_err(|e| match e {
        Errno::ELOOP | Errno::EMLINK | Errno::ENXIO => not_regular(),
        e => io(e),
    })?;
    let file = File::from(fd);
    let meta = file.metadata().map_err(|source| ReadError::Io {
        rel: rel.to_owned(),
        source,
    })?;
    if !meta.file_type().is_file() {
        return Err(not_regular());
    }
    Ok(file)
}

/// Creates the new file `rel` below `dir` for appending, making missing folders on the
/// way, following no symlink at any component: a task that plants a link in its log
/// folder cannot make cargo-tek write elsewhere. An existing file is never reused.
pub(crate) fn create(dir: &Path, rel: &str) -> std::io::Result<File> {
    let mut files = create_many(dir, &[rel])?;
    Ok(files.remove(0))
}

/// Creates several new files below `dir`, each as [`create`] does; files in the same
/// folder share one walk to it (a command's two logs: one walk, not two).
pub(crate) fn create_many(dir: &Path, rels: &[&str]) -> std::io::Result<Vec<File>> {
    let mut files = Vec::with_capacity(rels.len());
    let mut folder: Option<(Vec<&str>, OwnedFd)> = None;
    for rel in rels {
        let invalid = || {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("`{rel}` is not inside the run directory"),
            )
        };
        let parts: Vec<&str> = rel
            .split('/')
            .filter(|p| !p.is_empty() && *p != ".")
            .collect();
        if rel.starts_with('/') || parts.is_empty() || parts.contains(&"..") || rel.contains('\0') {
            return Err(invalid());
        }
        let (last, dirs) = parts.split_last().ok_or_else(invalid)?;
        let reuse = folder.as_ref().is_some_and(|(walked, _)| walked == dirs);
        if !reuse {
            folder = Some((dirs.to_vec(), walk_creating(dir, dirs)?));
        }
        let Some((_, current)) = &folder else {
            return Err(invalid());
        };
        let fd = openat(
            current,
            *last,
            OFlag::O_CLOEXEC
                | OFlag::O_WRONLY
                | OFlag::O_APPEND
                | OFlag::O_CREAT
                | OFlag::O_EXCL
                | OFlag::O_NOFOLLOW,
            Mode::from_bits_truncate(0o644),
        )?;
        files.push(File::from(fd));
    }
    Ok(files)
}

/// The folder `dirs` below `dir`, made where missing, entered without following links.
fn walk_creating(dir: &Path, dirs: &[&str]) -> std::io::Result<OwnedFd> {
    let flags = OFlag::O_CLOEXEC | OFlag::O_RDONLY | OFlag::O_DIRECTORY;
    let mut current: OwnedFd = nix::fcntl::open(dir, flags, Mode::empty())?;
    for part in dirs {
        let enter = |at: &OwnedFd| openat(at, *part, flags | OFlag::O_NOFOLLOW, Mode::empty());
        // Usually there already (every task after the first shares `logs`): enter first,
        // make it only when missing.
        current = match enter(&current) {
            Err(Errno::ENOENT) => {
                match nix::sys::stat::mkdirat(&current, *part, Mode::from_bits_truncate(0o755)) {
                    Ok(()) | Err(Errno::EEXIST) => {}
                    Err(e) => return Err(e.into()),
                }
                enter(&current)?
            }
            other => other?,
        };
    }
    Ok(current)
}

/// Reads all of `rel` below `dir`, refusing files over `max` bytes.
pub(crate) fn read(dir: &Path, rel: &str, max: u64) -> Result<Vec<u8>, ReadError> {
    let file = open(dir, rel)?;
    let mut bytes = Vec::new();
    file.take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(|source| ReadError::Io {
            rel: rel.to_owned(),
            source,
        })?;
    if bytes.len() as u64 > max {
        return Err(ReadError::TooBig {
            rel: rel.to_owned(),
            max,
        });
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::symlink;

    use super::*;

    fn run_dir() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("logs/T")).unwrap();
        std::fs::write(dir.path().join("logs/T/out.log"), b"hello").unwrap();
        dir
    }

    #[test]
    fn reads_a_regular_file() {
        let dir = run_dir();
        assert_eq!(read(dir.path(), "logs/T/out.log", 100).unwrap(), b"hello");
        assert_eq!(
            read(dir.path(), "./logs//T/out.log", 100).unwrap(),
            b"hello"
        );
        assert!(matches!(
            read(dir.path(), "logs/T/out.log", 4),
            Err(ReadError::TooBig { .. })
        ));
        assert!(read(dir.path(), "logs/T/none.log", 4)
            .unwrap_err()
            .is_not_found());
    }

    #[test]
    fn a_symlinked_file_or_folder_is_not_a_regular_file() {
        let dir = run_dir();
        symlink("/etc/passwd", dir.path().join("logs/T/passwd.log")).unwrap();
        symlink("/etc", dir.path().join("logs/E")).unwrap();
        symlink("out.log", dir.path().join("logs/T/inside.log")).unwrap();
        for rel in ["logs/T/passwd.log", "logs/E/passwd", "logs/T/inside.log"] {
            let err = read(dir.path(), rel, 1 << 20).unwrap_err();
            assert!(matches!(err, ReadError::NotRegular { .. }), "{rel}: {err}");
            assert!(err.to_string().contains("not a regular file"), "{err}");
        }
    }

    #[test]
    fn creating_never_follows_a_planted_link() {
        let dir = run_dir();
        let elsewhere = tempfile::tempdir().unwrap();
        symlink(elsewhere.path(), dir.path().join("logs/L")).unwrap();
        assert!(create(dir.path(), "logs/L/out.log").is_err());
        assert_eq!(std::fs::read_dir(elsewhere.path()).unwrap().count(), 0);
        symlink("/tmp/x", dir.path().join("logs/T/link.log")).unwrap();
        assert!(create(dir.path(), "logs/T/link.log").is_err());
        assert!(create(dir.path(), "../out.log").is_err());
        let mut f = create(dir.path(), "logs/new/a/out.log").unwrap();
        std::io::Write::write_all(&mut f, b"x").unwrap();
        assert_eq!(read(dir.path(), "logs/new/a/out.log", 9).unwrap(), b"x");
        assert!(
            create(dir.path(), "logs/new/a/out.log").is_err(),
            "never reused"
        );
    }

    #[test]
    fn escapes_and_special_files_are_refused() {
        let dir = run_dir();
        for rel in ["../x", "logs/../../x", "/etc/passwd", "", "logs/T/\0"] {
            assert!(
                matches!(read(dir.path(), rel, 10), Err(ReadError::Outside { .. })),
                "{rel:?}"
            );
        }
        nix::unistd::mkfifo(&dir.path().join("logs/T/fifo"), Mode::S_IRWXU).unwrap();
        assert!(matches!(
            read(dir.path(), "logs/T/fifo", 10),
            Err(ReadError::NotRegular { .. })
        ));
        assert!(matches!(
            read(dir.path(), "logs/T", 10),
            Err(ReadError::NotRegular { .. })
        ));
    }
}
