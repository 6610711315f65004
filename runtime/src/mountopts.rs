//! Parsing `mounts[].options` the way runc does: flag words become `MS_*` flags (or clear
//! them), propagation words become propagation changes, `r`-prefixed words become recursive
//! mount_setattr(2) attributes, and anything else is filesystem data (`size=64k,mode=755`).

use crate::sys::attr;

/// A parsed `options` list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MountOptions {
    /// `MS_*` flags to set.
    pub flags: u64,
    /// `MS_*` flags explicitly cleared (`rw`, `suid`, `dev`, `exec`, ...).
    pub cleared: u64,
    /// Propagation changes in the order given (`MS_PRIVATE | MS_REC`, ...).
    pub propagation: Vec<u64>,
    /// Recursive attributes (`rro`, `rnosuid`, ...): set and cleared `MOUNT_ATTR_*` bits.
    pub rec_set: u64,
    pub rec_clr: u64,
    /// Comma-joined filesystem-specific data.
    pub data: String,
    /// runc's `tmpcopyup` extension: copy the lower directory's content into a new tmpfs.
    pub tmpcopyup: bool,
    /// `idmap` was requested (the mount alone is id-mapped).
    pub idmap: bool,
    /// `ridmap` was requested (the whole tree of an rbind is id-mapped).
    pub ridmap: bool,
}

const MS_RDONLY: u64 = libc::MS_RDONLY;
const MS_NOSUID: u64 = libc::MS_NOSUID;
const MS_NODEV: u64 = libc::MS_NODEV;
const MS_NOEXEC: u64 = libc::MS_NOEXEC;
const MS_SYNCHRONOUS: u64 = libc::MS_SYNCHRONOUS;
const MS_REMOUNT: u64 = libc::MS_REMOUNT;
const MS_MANDLOCK: u64 = libc::MS_MANDLOCK;
const MS_DIRSYNC: u64 = libc::MS_DIRSYNC;
const MS_NOSYMFOLLOW: u64 = 256;
const MS_NOATIME: u64 = libc::MS_NOATIME;
const MS_NODIRATIME: u64 = libc::MS_NODIRATIME;
const MS_BIND: u64 = libc::MS_BIND;
const MS_REC: u64 = libc::MS_REC;
const MS_SILENT: u64 = libc::MS_SILENT;
const MS_RELATIME: u64 = libc::MS_RELATIME;
const MS_I_VERSION: u64 = libc::MS_I_VERSION;
const MS_STRICTATIME: u64 = libc::MS_STRICTATIME;
const MS_LAZYTIME: u64 = libc::MS_LAZYTIME;

/// `MS_*` flags that are per-mount attributes, with their `MOUNT_ATTR_*` bit.
const PER_MOUNT: [(u64, u64); 6] = [
    (MS_RDONLY, attr::RDONLY),
    (MS_NOSUID, attr::NOSUID),
    (MS_NODEV, attr::NODEV),
    (MS_NOEXEC, attr::NOEXEC),
    (MS_NODIRATIME, attr::NODIRATIME),
    (MS_NOSYMFOLLOW, attr::NOSYMFOLLOW),
];

/// `(word, clear?, flag)`: runc's table of flag words.
const FLAGS: &[(&str, bool, u64)] = &[
    ("async", true, MS_SYNCHRONOUS),
    ("atime", true, MS_NOATIME),
    ("bind", false, MS_BIND),
    ("defaults", false, 0),
    ("dev", true, MS_NODEV),
    ("diratime", true, MS_NODIRATIME),
    ("dirsync", false, MS_DIRSYNC),
    ("exec", true, MS_NOEXEC),
    ("iversion", false, MS_I_VERSION),
    ("lazytime", false, MS_LAZYTIME),
    ("loud", true, MS_SILENT),
    ("mand", false, MS_MANDLOCK),
    ("noatime", false, MS_NOATIME),
    ("nodev", false, MS_NODEV),
    ("nodiratime", false, MS_NODIRATIME),
    ("noexec", false, MS_NOEXEC),
    ("noiversion", true, MS_I_VERSION),
    ("nolazytime", true, MS_LAZYTIME),
    ("nomand", true, MS_MANDLOCK),
    ("norelatime", true, MS_RELATIME),
    ("nostrictatime", true, MS_STRICTATIME),
    ("nosuid", false, MS_NOSUID),
    ("nosymfollow", false, MS_NOSYMFOLLOW),
    ("rbind", false, MS_BIND | MS_REC),
    ("relatime", false, MS_RELATIME),
    ("remount", false, MS_REMOUNT),
    ("ro", false, MS_RDONLY),
    ("rw", true, MS_RDONLY),
    ("silent", false, MS_SILENT),
    ("strictatime", false, MS_STRICTATIME),
    ("suid", true, MS_NOSUID),
    ("symfollow", true, MS_NOSYMFOLLOW),
    ("sync", false, MS_SYNCHRONOUS),
];

const PROPAGATION: &[(&str, u64)] = &[
    ("private", libc::MS_PRIVATE),
    ("rprivate", libc::MS_PRIVATE | MS_REC),
    ("shared", libc::MS_SHARED),
    ("rshared", libc::MS_SHARED | MS_REC),
    ("slave", libc::MS_SLAVE),
    ("rslave", libc::MS_SLAVE | MS_REC),
    ("unbindable", libc::MS_UNBINDABLE),
    ("runbindable", libc::MS_UNBINDABLE | MS_REC),
];

/// `(word, clear?, MOUNT_ATTR_*)`: recursive attributes applied with mount_setattr(2).
const RECURSIVE: &[(&str, bool, u64)] = &[
    ("rro", false, attr::RDONLY),
    ("rrw", true, attr::RDONLY),
    ("rnosuid", false, attr::NOSUID),
    ("rsuid", true, attr::NOSUID),
    ("rnodev", false, attr::NODEV),
    ("rdev", true, attr::NODEV),
    ("rnoexec", false, attr::NOEXEC),
    ("rexec", true, attr::NOEXEC),
    ("rnodiratime", false, attr::NODIRATIME),
    ("rdiratime", true, attr::NODIRATIME),
    ("rrelatime", false, attr::RELATIME),
    ("rnorelatime", true, attr::ATIME_MASK),
    ("rnoatime", false, attr::NOATIME),
    ("ratime", true, attr::ATIME_MASK),
    ("rstrictatime", false, attr::STRICTATIME),
    ("rnostrictatime", true, attr::ATIME_MASK),
    ("rnosymfollow", false, attr::NOSYMFOLLOW),
    ("rsymfollow", true, attr::NOSYMFOLLOW),
];

/// Every option word hull understands (for `hull features`).
pub fn known_words() -> Vec<&'static str> {
    let mut v: Vec<&str> = FLAGS.iter().map(|f| f.0).collect();
    v.extend(PROPAGATION.iter().map(|p| p.0));
    v.extend(RECURSIVE.iter().map(|r| r.0));
    v.extend(["tmpcopyup", "idmap", "ridmap"]);
    v.sort_unstable();
    v
}

impl MountOptions {
    /// Parses an options list. Never fails: unknown words are filesystem data, as in runc.
    pub fn parse<S: AsRef<str>>(options: &[S]) -> Self {
        let mut o = MountOptions::default();
        let mut data: Vec<&str> = Vec::new();
        for opt in options {
            let opt = opt.as_ref();
            if let Some(&(_, clear, flag)) = FLAGS.iter().find(|f| f.0 == opt) {
                if clear {
                    o.flags &= !flag;
                    o.cleared |= flag;
                } else {
                    o.flags |= flag;
                    o.cleared &= !flag;
                }
            } else if let Some(&(_, p)) = PROPAGATION.iter().find(|p| p.0 == opt) {
                o.propagation.push(p);
            } else if let Some(&(_, clear, a)) = RECURSIVE.iter().find(|r| r.0 == opt) {
                if clear {
                    o.rec_clr |= a;
                    o.rec_set &= !a;
                } else {
                    // Setting one atime mode replaces the others.
                    if a & attr::ATIME_MASK != 0 || a == attr::RELATIME {
                        o.rec_clr |= attr::ATIME_MASK;
                    }
                    o.rec_set |= a;
                }
            } else if opt == "tmpcopyup" {
                o.tmpcopyup = true;
            } else if opt == "idmap" {
                o.idmap = true;
            } else if opt == "ridmap" {
                o.ridmap = true;
            } else {
                data.push(opt);
            }
        }
        o.data = data.join(",");
        o
    }

    /// A bind (`bind` or `rbind`) mount.
    pub fn is_bind(&self) -> bool {
        self.flags & MS_BIND != 0
    }

    /// `rbind`: the whole tree under the source is bound.
    pub fn is_recursive_bind(&self) -> bool {
        self.flags & (MS_BIND | MS_REC) == MS_BIND | MS_REC
    }

    /// The per-mount attributes to set and clear on a bind mount with mount_setattr(2), as
    /// runc's remount of a bind: when the options name any flag beyond `bind`/`rbind`, the
    /// mount gets exactly those flags (rw, suid, dev and exec are implied: unlike mount(8));
    /// its atime mode is kept unless one is named. With no flag named, the source's flags
    /// stay, less what the options explicitly clear (`rw`, `dev`, ...).
    pub fn bind_attrs(&self) -> (u64, u64) {
        let remount = self.flags & !(MS_BIND | MS_REC | MS_REMOUNT) != 0;
        let mut set = 0;
        let mut clr = 0;
        for (ms, a) in PER_MOUNT {
            if self.flags & ms != 0 {
                set |= a;
            } else if remount || self.cleared & ms != 0 {
                clr |= a;
            }
        }
        for (ms, a) in [
            (MS_NOATIME, attr::NOATIME),
            (MS_STRICTATIME, attr::STRICTATIME),
            (MS_RELATIME, attr::RELATIME),
        ] {
            if self.flags & ms != 0 {
                clr |= attr::ATIME_MASK;
                set |= a;
            }
        }
        (set, clr)
    }

    /// The per-mount attributes the options clear by name (`rw`, `suid`, `dev`, `exec`, ...):
    /// a user namespace's locked flag among them cannot be honoured, and is an error.
    pub fn explicitly_cleared(&self) -> u64 {
        PER_MOUNT
            .iter()
            .filter(|(ms, _)| self.cleared & ms != 0)
            .fold(0, |acc, (_, a)| acc | a)
    }

    /// The flags for mount(2) of a new filesystem (no bind, no propagation).
    pub fn fs_flags(&self) -> u64 {
        self.flags & !(MS_BIND | MS_REC)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_data_and_propagation() {
        let o = MountOptions::parse(&[
            "nosuid",
            "strictatime",
            "mode=755",
            "size=65536k",
            "rprivate",
        ]);
        assert_eq!(o.flags, MS_NOSUID | MS_STRICTATIME);
        assert_eq!(o.data, "mode=755,size=65536k");
        assert_eq!(o.propagation, vec![libc::MS_PRIVATE | MS_REC]);
        assert!(!o.is_bind());
    }

    #[test]
    fn later_words_win() {
        let o = MountOptions::parse(&["ro", "rw", "nodev", "dev", "noexec"]);
        assert_eq!(o.flags, MS_NOEXEC);
        assert_eq!(o.cleared, MS_RDONLY | MS_NODEV);
    }

    #[test]
    fn bind_attrs_are_runc_remounts() {
        let others = attr::RDONLY
            | attr::NOSUID
            | attr::NODEV
            | attr::NOEXEC
            | attr::NODIRATIME
            | attr::NOSYMFOLLOW;
        // A flag named: exactly those flags, the rest cleared (rw implied), atime kept.
        let o = MountOptions::parse(&["rbind", "ro", "nosuid"]);
        assert!(o.is_bind() && o.is_recursive_bind());
        let set = attr::RDONLY | attr::NOSUID;
        assert_eq!(o.bind_attrs(), (set, others & !set));
        let o = MountOptions::parse(&["bind", "rw", "noatime"]);
        assert!(!o.is_recursive_bind());
        assert_eq!(o.bind_attrs(), (attr::NOATIME, others | attr::ATIME_MASK));
        assert_eq!(o.explicitly_cleared(), attr::RDONLY);
        // No flag named: the source's flags stay, less what is cleared by name.
        assert_eq!(
            MountOptions::parse(&["rbind", "rprivate"]).bind_attrs(),
            (0, 0)
        );
        let o = MountOptions::parse(&["bind", "rw", "dev"]);
        assert_eq!(o.bind_attrs(), (0, attr::RDONLY | attr::NODEV));
        assert_eq!(o.explicitly_cleared(), attr::RDONLY | attr::NODEV);
    }

    #[test]
    fn recursive_attrs_and_extensions() {
        let o = MountOptions::parse(&["rbind", "rro", "rnosuid", "rsuid", "tmpcopyup", "idmap"]);
        assert_eq!(o.rec_set, attr::RDONLY);
        assert_eq!(o.rec_clr, attr::NOSUID);
        assert!(o.tmpcopyup && o.idmap);
        assert!(o.data.is_empty());
    }

    #[test]
    fn fs_flags_drop_bind() {
        let o = MountOptions::parse(&["rbind", "ro", "remount"]);
        assert_eq!(o.fs_flags(), MS_RDONLY | MS_REMOUNT);
        assert!(known_words().contains(&"rslave"));
    }
}
