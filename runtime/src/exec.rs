//! `hull exec`: a new process inside a running container.
use crate::cli::{ExecOpts, Global};
use crate::error::{Error, Result};

/// `hull exec`.
pub fn exec(_g: &Global, _o: &ExecOpts) -> Result<i32> {
    Err(Error::container("exec: not implemented yet"))
}
