//! What a kernel can enforce: its Landlock ABI, asked once, and which of a hook's
//! sandbox rules that ABI (and this build's seccomp filter) covers.

use crate::config::{Net, SandboxRules};

/// The Landlock ABI each kind of rule needs: `write` needs truncation (ABI 3), or a
/// task could still empty any file it may read; `net` needs TCP (ABI 4).
pub(crate) const WRITE_ABI: u32 = 3;
pub(crate) const READ_ABI: u32 = 1;
pub(crate) const NET_ABI: u32 = 4;

/// The Landlock ABI of this kernel, asked once (0: no Landlock).
pub(crate) fn kernel_abi() -> u32 {
    #[cfg(target_os = "linux")]
    {
        static ABI: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
        *ABI.get_or_init(|| {
            const LANDLOCK_CREATE_RULESET_VERSION: u32 = 1;
            // SAFETY: with a null attribute and size 0 the call only returns a number.
            let abi = unsafe {
                nix::libc::syscall(
                    nix::libc::SYS_landlock_create_ruleset,
                    std::ptr::null::<u8>(),
                    0usize,
                    LANDLOCK_CREATE_RULESET_VERSION,
                )
            };
            abi.max(0) as u32
        })
    }
    #[cfg(not(target_os = "linux"))]
    0
}

/// The kernel's ABI for messages: "7", or "no Landlock".
pub(crate) fn describe_abi(abi: u32) -> String {
    if abi == 0 {
        "no Landlock".into()
    } else {
        format!("Landlock ABI {abi}")
    }
}

/// A sandbox as this kernel enforces it.
#[derive(Debug, Clone)]
pub(crate) struct Enforced {
    pub(crate) rules: SandboxRules,
    pub(crate) abi: u32,
    /// The kinds of rule (`write`, `read`, `net`) that are not enforced here: only with
    /// `required: false`.
    pub(crate) not_enforced: Vec<&'static str>,
}

impl Enforced {
    pub(super) fn enforces(&self, kind: &str) -> bool {
        !self.not_enforced.contains(&kind)
    }

    /// Whether anything is enforced at all.
    pub(crate) fn any(&self) -> bool {
        (self.rules.write.is_some() && self.enforces("write"))
            || (self.rules.read.is_some() && self.enforces("read"))
            || (self.rules.net == Net::None && self.enforces("net"))
    }
}

/// Which of `rules` a kernel with Landlock ABI `abi` enforces; an error naming what is
/// missing when a required rule cannot be.
pub(crate) fn enforce(rules: SandboxRules, abi: u32) -> Result<Enforced, String> {
    let mut wanted = Vec::new();
    if rules.write.is_some() {
        wanted.push(("write", WRITE_ABI));
    }
    if rules.read.is_some() {
        wanted.push(("read", READ_ABI));
    }
    if rules.net == Net::None {
        wanted.push(("net", NET_ABI));
    }
    let mut not_enforced = Vec::new();
    for (kind, needs) in wanted {
        let missing = if abi < needs {
            Some(format!(
                "sandbox needs Landlock ABI {needs} for {kind} rules; this kernel has {}",
                if abi == 0 {
                    "none".to_owned()
                } else {
                    abi.to_string()
                }
            ))
        } else if kind == "net" && !filter_available() {
            Some(format!(
                "sandbox needs a seccomp filter for net rules, which cargo-tek does not have for {}",
                std::env::consts::ARCH
            ))
        } else {
            None
        };
        if let Some(missing) = missing {
            if rules.required {
                return Err(missing);
            }
            not_enforced.push(kind);
        }
    }
    Ok(Enforced {
        rules,
        abi,
        not_enforced,
    })
}

/// Whether this build has a seccomp filter for this architecture.
fn filter_available() -> bool {
    cfg!(all(
        target_os = "linux",
        any(
            target_arch = "x86_64",
            target_arch = "aarch64",
            target_arch = "riscv64"
        )
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(json: &str) -> SandboxRules {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn a_missing_abi_is_an_error_unless_not_required() {
        let err = enforce(rules(r#"{"net": "none"}"#), 2).unwrap_err();
        assert_eq!(
            err,
            "sandbox needs Landlock ABI 4 for net rules; this kernel has 2"
        );
        let err = enforce(rules(r#"{"write": []}"#), 0).unwrap_err();
        assert!(err.ends_with("this kernel has none"), "{err}");
        let loose = enforce(
            rules(r#"{"write": ["out"], "net": "none", "required": false}"#),
            3,
        )
        .unwrap();
        assert_eq!(loose.not_enforced, ["net"]);
        assert!(loose.any());
        let all = enforce(rules(r#"{"write": ["out"], "net": "none"}"#), 7).unwrap();
        assert!(all.not_enforced.is_empty());
    }
}
