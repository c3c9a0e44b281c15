//! `rules-compare`: the same rule file evaluated by Loupe and by Prometheus on the same scraped data
//! must give the same recording-rule series, the same `ALERTS` transitions and the same
//! `/api/v1/alerts` (labels and expanded annotations).
//!
//! * [`scenario`]: the target's phase pattern (every sample explicitly stamped), the rule file and
//!   the configuration both systems load;
//! * [`target`]: the in-process scrape target;
//! * [`systems`]: Prometheus and Loupe as child processes, and the API answers read;
//! * [`compare`]: recording series point by point, `ALERTS` timelines and transitions;
//! * [`snapshot`]: `/api/v1/alerts` of both at the same moment;
//! * [`run`]: one run; [`report`]: the markdown table and JSON.

pub mod compare;
pub mod report;
pub mod run;
pub mod scenario;
pub mod snapshot;
pub mod systems;
pub mod target;

pub use report::Report;
pub use run::{Settings, run};
