//! The architectures a filter can cover on an x86_64 host, and their syscall tables.
//!
//! The kernel tells a filter which ABI a syscall came in through `seccomp_data.arch`
//! (`AUDIT_ARCH_*`). x32 is the odd one: it reports `AUDIT_ARCH_X86_64` and marks its
//! syscall numbers with `__X32_SYSCALL_BIT` instead, so one arch value has two ABIs.

use oci_spec::runtime::Arch;

use super::syscalls;

/// `AUDIT_ARCH_X86_64` (EM_X86_64 | 64-bit | little-endian).
pub const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
/// `AUDIT_ARCH_I386` (EM_386 | little-endian).
pub const AUDIT_ARCH_I386: u32 = 0x4000_0003;
/// `__X32_SYSCALL_BIT`: set in every x32 syscall number.
pub const X32_SYSCALL_BIT: u32 = 0x4000_0000;

/// A syscall ABI hull can filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Abi {
    X86_64,
    X86,
    X32,
}

impl Abi {
    /// Every ABI, in the order the filter checks them.
    pub const ALL: [Abi; 3] = [Abi::X86_64, Abi::X86, Abi::X32];

    /// The ABI the runtime itself (and so `SCMP_ARCH_NATIVE`) uses.
    pub const NATIVE: Abi = Abi::X86_64;

    /// The value the kernel puts in `seccomp_data.arch` for this ABI.
    pub fn audit_arch(self) -> u32 {
        match self {
            Abi::X86_64 | Abi::X32 => AUDIT_ARCH_X86_64,
            Abi::X86 => AUDIT_ARCH_I386,
        }
    }

    /// Whether syscall arguments are 64 bits wide (on i386 only the low half exists).
    pub fn wide_args(self) -> bool {
        self == Abi::X86_64
    }

    /// The spec's name (`SCMP_ARCH_X86_64`).
    pub fn name(self) -> &'static str {
        match self {
            Abi::X86_64 => "SCMP_ARCH_X86_64",
            Abi::X86 => "SCMP_ARCH_X86",
            Abi::X32 => "SCMP_ARCH_X32",
        }
    }

    /// The ABI an `architectures` entry means on this host; `None` for architectures whose
    /// syscalls an x86_64 kernel can never report (such an entry can never match anything,
    /// so leaving it out of the filter changes nothing).
    pub fn from_spec(a: Arch) -> Option<Abi> {
        match a {
            Arch::ScmpArchNative | Arch::ScmpArchX86_64 => Some(Abi::X86_64),
            Arch::ScmpArchX86 => Some(Abi::X86),
            Arch::ScmpArchX32 => Some(Abi::X32),
            _ => None,
        }
    }

    /// Names libseccomp knows although no ABI here has a syscall of that name: i386 reaches
    /// them only through `socketcall(2)`, which profiles list separately (Docker's does). They
    /// resolve to nothing, silently, as with runc.
    pub fn multiplexed_only(name: &str) -> bool {
        matches!(name, "recv" | "send")
    }

    fn column(self) -> usize {
        match self {
            Abi::X86_64 => 0,
            Abi::X86 => 1,
            Abi::X32 => 2,
        }
    }

    /// The number `seccomp_data.nr` holds for syscall `name` on this ABI.
    pub fn syscall(self, name: &str) -> Option<u32> {
        self.number(lookup(name)?)
    }

    /// This ABI's number out of a [`lookup`] result.
    pub fn number(self, nrs: &[u32; 3]) -> Option<u32> {
        let nr = nrs[self.column()];
        if nr == syscalls::NONE {
            return None;
        }
        Some(if self == Abi::X32 {
            nr | X32_SYSCALL_BIT
        } else {
            nr
        })
    }

    /// Every syscall name this ABI has.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        syscalls::TABLE
            .iter()
            .filter(move |(_, n)| n[self.column()] != syscalls::NONE)
            .map(|(name, _)| *name)
    }
}

/// A syscall's numbers on every ABI (one binary search for all three).
pub fn lookup(name: &str) -> Option<&'static [u32; 3]> {
    let t = syscalls::TABLE;
    let i = t.binary_search_by(|(n, _)| (*n).cmp(name)).ok()?;
    Some(&t[i].1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_match_the_running_abi() {
        assert_eq!(Abi::X86_64.syscall("clone3"), Some(libc::SYS_clone3 as u32));
        assert_eq!(Abi::X86_64.syscall("read"), Some(0));
        assert_eq!(Abi::X86_64.syscall("mseal"), Some(462));
        assert_eq!(Abi::X86.syscall("read"), Some(3));
        assert_eq!(Abi::X32.syscall("read"), Some(X32_SYSCALL_BIT));
        assert_eq!(
            Abi::X32.syscall("rt_sigaction"),
            Some(X32_SYSCALL_BIT | 512)
        );
        assert_eq!(Abi::X86_64.syscall("socketcall"), None, "i386 only");
        assert!(Abi::X86.syscall("socketcall").is_some());
        assert_eq!(Abi::X86_64.syscall("no_such_syscall"), None);
        assert!(
            syscalls::TABLE.windows(2).all(|w| w[0].0 < w[1].0),
            "table sorted"
        );
        assert!(Abi::X86.names().any(|n| n == "socketcall"));
        assert!(!Abi::X86_64.names().any(|n| n == "socketcall"));
    }
}
