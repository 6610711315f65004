//! `hull features`.
use crate::error::{Error, Result};
pub fn print() -> Result<()> { Err(Error::container("todo")) }
