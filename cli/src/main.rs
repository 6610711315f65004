//! hull's binary: runc's command line (`args`) over the runtime library (hull-runtime).

#![forbid(unsafe_code)]

mod args;

fn main() {
    std::process::exit(args::main());
}
