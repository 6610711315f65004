//! hull's binary: runc's command line (`hull::args`, in the crate's library so the man-page
//! generator shares it) over the runtime library (hull-runtime).
//!
//! hull starts at the C `main` that glibc calls, not at std's runtime start (`no_main`): that
//! start-up sets up what hull does not use and pays for it at every start, twice for create,
//! run and exec with the CVE-2019-5736 re-exec: the main thread's stack-overflow handler
//! (glibc's `pthread_getattr_np` reads /proc/self/maps to find the stack; an alternate signal
//! stack is mapped, guarded and unmapped again at exit). ~60 µs of CPU per start here, 5% of
//! an `exec` (perf stat; interleaved A/B in docs/benchmarks.md). What hull does need of it,
//! SIGPIPE ignored and fds 0-2 open, is `hull_sys::process_start`; a stack overflow still
//! ends the process (SIGSEGV on the kernel's stack guard gap), only without std's message.

#![deny(unsafe_code)]
// The unit-test harness brings its own `main`.
#![cfg_attr(not(test), no_main)]

#[cfg(not(test))]
use std::ffi::{c_char, c_int};

/// The process's entry, called by glibc's start-up with the command line (which std reads
/// itself: `std::env::args_os`).
// SAFETY: `no_mangle` defines the C symbol `main`, which exists once: std does not generate
// its own under `no_main`. The function reads nothing through its raw arguments. The only
// `unsafe` outside hull-sys (docs/architecture.md), as a symbol cannot be named elsewhere.
#[cfg(not(test))]
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn main(_argc: c_int, _argv: *const *const c_char) -> c_int {
    hull_sys::process_start();
    std::process::exit(hull::args::main());
}
