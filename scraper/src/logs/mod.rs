//! Container log collection: Docker json-file and Kubernetes CRI log files.
//!
//! [`discover`] finds container log files under a Docker or CRI root, [`tail`] follows one file
//! across rotation and truncation, [`docker`] and [`cri`] decode its lines (rejoining split
//! records), [`meta`] turns container metadata into labels, and [`collector`] drives it all into
//! the log store with exactly-once positions.

pub mod collector;
pub mod cri;
pub mod discover;
pub mod docker;
pub mod meta;
pub mod tail;
pub mod time;
