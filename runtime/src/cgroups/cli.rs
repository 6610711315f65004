//! `update`, `pause`, `resume`, `events` and `ps`: the commands that act on a container's cgroup.

use crate::cli::{Global, UpdateOpts};
use crate::error::{Error, Result};

/// `hull update`.
pub fn update(_g: &Global, _o: &UpdateOpts) -> Result<i32> {
    Err(Error::container("update: not implemented yet"))
}
/// `hull pause`.
pub fn pause(_g: &Global, _id: &str) -> Result<i32> {
    Err(Error::container("pause: not implemented yet"))
}
/// `hull resume`.
pub fn resume(_g: &Global, _id: &str) -> Result<i32> {
    Err(Error::container("resume: not implemented yet"))
}
/// `hull events`.
pub fn events(_g: &Global, _id: &str, _interval: &str, _stats: bool) -> Result<i32> {
    Err(Error::container("events: not implemented yet"))
}
/// `hull ps`.
pub fn ps(_g: &Global, _id: &str, _format: &str, _args: &[String]) -> Result<i32> {
    Err(Error::container("ps: not implemented yet"))
}
