//! hull's binary: runc's command line (`args`) over the runtime library (hull-runtime).

mod args;

fn main() {
    std::process::exit(args::main());
}
