//! `regex` for hull's dependency tree, backed by `regex-lite`.
//!
//! oci-spec checks `process.execCPUAffinity` against one ASCII pattern with
//! `Regex::new(..).is_match(..)`, which pulls the full `regex` crate (Unicode tables,
//! aho-corasick, a lazy DFA: ~700 KB of hull's 3.3 MB binary). `regex-lite` has the same API
//! for this use, ASCII classes (`\d` is `[0-9]`, which is what a CPU list is), and a fraction
//! of the size. Nothing in hull itself uses regular expressions.

pub use regex_lite::*;

#[cfg(test)]
mod tests {
    use super::Regex;

    /// oci-spec's execCPUAffinity pattern, as it uses it.
    #[test]
    fn cpu_affinity_pattern() {
        let re = Regex::new(r"^(\d+(-\d+)?)(,\d+(-\d+)?)*$").expect("pattern compiles");
        for ok in ["0", "0-3", "0-3,7", "1,2,3", "10-20,30"] {
            assert!(re.is_match(ok), "{ok}");
        }
        for bad in ["", "a", "0-", ",1", "1,,2", "1 2", "٣"] {
            assert!(!re.is_match(bad), "{bad}");
        }
    }
}
