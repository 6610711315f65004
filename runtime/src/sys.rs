//! The thin layer of raw syscalls. Every `unsafe` block in hull lives here with a SAFETY note.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;

/// Takes an exclusive flock(2) on `f`, blocking until it is free.
pub fn flock_exclusive(f: &File) -> io::Result<()> {
    // SAFETY: flock only reads the fd number, which `f` keeps open for the call.
    let r = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) };
    if r == 0 { Ok(()) } else { Err(io::Error::last_os_error()) }
}
