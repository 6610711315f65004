//! The lifecycle operations: create, start, run, state, kill, delete, list.
use crate::cli::{CreateOpts, Global, RunOpts};
use crate::error::{Error, Result};

pub fn create(_g: &Global, _o: &CreateOpts) -> Result<i32> { Err(Error::container("todo")) }
pub fn start(_g: &Global, _id: &str) -> Result<i32> { Err(Error::container("todo")) }
pub fn run(_g: &Global, _o: &RunOpts) -> Result<i32> { Err(Error::container("todo")) }
pub fn state(_g: &Global, _id: &str) -> Result<i32> { Err(Error::container("todo")) }
pub fn kill(_g: &Global, _id: &str, _sig: Option<&str>, _all: bool) -> Result<i32> { Err(Error::container("todo")) }
pub fn delete(_g: &Global, _id: &str, _force: bool) -> Result<i32> { Err(Error::container("todo")) }
pub fn list(_g: &Global, _f: &str, _q: bool) -> Result<i32> { Err(Error::container("todo")) }
