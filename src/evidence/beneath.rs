//! Opening files inside a run directory without ever following a symlink below it.
//!
//! A run directory may come from an artifact of an untrusted pull request, and a task can
//! rewrite its own run directory while it runs (`ln -sf /proc/self/environ` over its log).
//! So every file read from a run directory is opened one component at a time, each with
//! `O_NOFOLLOW` relative to the directory opened before it (openat-style), and must turn
//! out to be a regular file; reads are bounded. The run directory itself may be reached
//! through a symlink: the user named it.

use std::fs::File;
use std::io::Read;
use std::os::fd::OwnedFd;
use std::path::Path;

use nix::errno::Errno;
use nix::fcntl::{openat, OFlag};
use nix::sys::stat::Mode;

/// Why a file of a run directory was not read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
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
    pub fn is_not_found(&self) -> bool {
        matches!(self, ReadError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
    }
}

/// Opens `rel` (slash-separated, relative) below `dir`, following no symlink at any
/// component, and checks that it is a regular file. FIFOs and devices are refused
/// without blocking.
pub fn open(dir: &Path, rel: &str) -> Result<File, ReadError> {
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
    let fd = openat(
        &current,
        *last,
        base | OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_NOCTTY,
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

/// Reads all of `rel` below `dir`, refusing files over `max` bytes.
pub fn read(dir: &Path, rel: &str, max: u64) -> Result<Vec<u8>, ReadError> {
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
