//! Loupe's log store.
//!
//! Log lines arrive from the Loki push API and from container log files, grouped in streams (a stream
//! is a label set, as in Loki). The store keeps them in one tantivy index per time window, so
//! retention drops whole directories, and makes an append durable in a write-ahead log before it is
//! acknowledged. The query side selects lines by stream matchers, time range and an optional
//! full-text pre-filter, and reads label names, values and per-stream statistics without scanning
//! lines.
#![warn(missing_docs)]

pub mod error;
pub mod migrate;
pub mod position;
pub mod push;
pub mod schema;
pub mod store;
pub mod wal;
pub mod window;

pub use error::{Error, Result};
pub use position::FilePosition;
pub use push::{PushEntry, PushStream};
pub use store::{Cursor, Direction, LineMeta, LogLine, LogStore, Selection, StoreOptions, StoreStats};
pub use window::StreamStats;
