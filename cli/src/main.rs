//! hull's binary: runc's command line (`hull::args`, in the crate's library so the man-page
//! generator shares it) over the runtime library (hull-runtime).

#![forbid(unsafe_code)]

fn main() {
    std::process::exit(hull::args::main());
}
