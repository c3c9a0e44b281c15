//! One scrape's samples into the TSDB: label merging, metric relabeling, limits, staleness markers
//! and the synthetic `up` / `scrape_*` series.
//!
//! A [`SeriesCache`] lives as long as its target. It maps the raw text of a sample's name and labels
//! to the series handle it was stored under (or to "dropped by relabeling"), so a series seen before
//! costs one hash lookup and no label work. It also remembers which series the previous scrape had, to
//! write a staleness marker for each one that is gone.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use hashbrown::HashTable;
use rustc_hash::FxHasher;
use tsdb::db::Db;
use tsdb::head::SeriesRef;
use tsdb::{Labels, LabelsBuilder, METRIC_NAME, stale_nan};

use crate::error::Error;
use crate::exposition::{Entry, Format, MetricType, ParsedSample, Parser, RawEntry};
use crate::relabel;
use crate::target::Target;

/// Metadata of one metric family, from `# HELP`, `# TYPE` and `# UNIT` lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricMetadata {
    /// The family's type (`counter`, `gauge`, … `unknown`).
    pub kind: MetricType,
    /// The help text.
    pub help: String,
    /// The unit (OpenMetrics).
    pub unit: String,
}

/// What one scrape stored.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ScrapeOutcome {
    /// Samples in the response.
    pub samples_scraped: u64,
    /// Samples left after metric relabeling.
    pub samples_post_relabeling: u64,
    /// Series this target had not reported recently.
    pub series_added: u64,
    /// Staleness markers written.
    pub stale_markers: u64,
    /// Samples the TSDB rejected (out of order, duplicates with other values, too old).
    pub rejected: u64,
}

#[derive(Debug)]
struct CacheEntry {
    /// The raw text of the sample's name and labels (or a [`raw_key`]).
    key: Box<[u8]>,
    /// `None`: dropped by metric relabeling.
    series: Option<SeriesRef>,
    /// Scrape number this entry was last seen in.
    seen: u64,
    /// The sample carried its own timestamp: no staleness marker (unless tracked).
    explicit_timestamp: bool,
}

/// Per-target state between scrapes.
#[derive(Debug, Default)]
pub struct SeriesCache {
    /// Entry numbers by the hash of their key.
    index: HashTable<u32>,
    entries: Vec<Option<CacheEntry>>,
    free: Vec<u32>,
    /// Entries seen by the last successful scrape.
    previous: Vec<u32>,
    iteration: u64,
    report: Option<[SeriesRef; 5]>,
    key: Vec<u8>,
    /// Metadata of the last successful scrape.
    pub metadata: Arc<HashMap<String, MetricMetadata>>,
    metadata_hash: u64,
}

/// Scrapes an entry may go unseen before it leaves the cache.
const EVICT_AFTER: u64 = 10;

/// Names of the synthetic series, in the order of [`SeriesCache::report`].
const REPORT_NAMES: [&str; 5] = [
    "up",
    "scrape_duration_seconds",
    "scrape_samples_scraped",
    "scrape_samples_post_metric_relabeling",
    "scrape_series_added",
];

impl SeriesCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of series the cache knows.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// True when the cache knows no series.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// Stores one scrape. `body` is the response (or why there is none); `timestamp` the scrape's
    /// time in ms; `duration` how long the request took, in seconds. A failed scrape (no body, a
    /// parse error, a limit exceeded) stores no sample of the response, writes staleness markers
    /// for every series of the previous scrape and reports `up` 0. Returns the outcome and the error
    /// that failed the scrape, if any.
    pub fn append_scrape(
        &mut self,
        db: &Db,
        target: &Target,
        body: Result<(&str, Format), Error>,
        timestamp: i64,
        duration: f64,
    ) -> Result<(ScrapeOutcome, Option<Error>), tsdb::Error> {
        self.iteration += 1;
        let mut outcome = ScrapeOutcome::default();
        let mut appender = db.appender();
        let result = match body {
            Ok((text, format)) => self.append_samples(&mut appender, target, text, format, timestamp, &mut outcome),
            Err(error) => Err(error),
        };
        let error = match result {
            Ok(current) => {
                for &index in &self.previous {
                    let Some(entry) = self.entries[index as usize].as_ref() else {
                        continue;
                    };
                    if entry.seen != self.iteration
                        && (!entry.explicit_timestamp || target.settings.track_timestamps_staleness)
                        && let Some(series) = &entry.series
                    {
                        appender.append_ref(series, timestamp, stale_nan());
                        outcome.stale_markers += 1;
                    }
                }
                self.previous = current;
                None
            }
            Err(error) => {
                appender.rollback();
                appender = db.appender();
                let scraped = outcome.samples_scraped;
                outcome = ScrapeOutcome {
                    samples_scraped: scraped,
                    ..Default::default()
                };
                outcome.stale_markers = self.write_stale(&mut appender, timestamp, target);
                Some(error)
            }
        };
        let up = if error.is_none() { 1.0 } else { 0.0 };
        let values = [
            up,
            duration,
            outcome.samples_scraped as f64,
            outcome.samples_post_relabeling as f64,
            outcome.series_added as f64,
        ];
        let report = self.report_series(&mut appender, target, timestamp, values)?;
        self.report = Some(report);
        let stats = appender.commit()?;
        outcome.rejected = stats.rejected() as u64;
        if let Some(first) = &stats.first_error {
            tracing::debug!(target = %target.labels, rejected = outcome.rejected, error = %first, "samples rejected");
        }
        if self.iteration.is_multiple_of(EVICT_AFTER) {
            self.evict();
        }
        Ok((outcome, error))
    }

    /// Writes staleness markers for every series of the last scrape and for the synthetic series:
    /// the target went away. The cache is empty afterwards.
    pub fn stale_all(&mut self, db: &Db, target: &Target, timestamp: i64) -> Result<u64, tsdb::Error> {
        let mut appender = db.appender();
        let mut written = self.write_stale(&mut appender, timestamp, target);
        if let Some(report) = self.report.take() {
            for series in &report {
                appender.append_ref(series, timestamp, stale_nan());
                written += 1;
            }
        }
        appender.commit()?;
        *self = SeriesCache::default();
        Ok(written)
    }

    fn write_stale(&mut self, appender: &mut tsdb::head::Appender<'_>, timestamp: i64, target: &Target) -> u64 {
        let mut written = 0;
        for index in std::mem::take(&mut self.previous) {
            let Some(entry) = self.entries[index as usize].as_ref() else {
                continue;
            };
            if (!entry.explicit_timestamp || target.settings.track_timestamps_staleness)
                && let Some(series) = &entry.series
            {
                appender.append_ref(series, timestamp, stale_nan());
                written += 1;
            }
        }
        written
    }

    fn report_series(
        &self,
        appender: &mut tsdb::head::Appender<'_>,
        target: &Target,
        timestamp: i64,
        values: [f64; 5],
    ) -> Result<[SeriesRef; 5], tsdb::Error> {
        if let Some(report) = &self.report {
            for (series, value) in report.iter().zip(values) {
                appender.append_ref(series, timestamp, value);
            }
            return Ok(report.clone());
        }
        let mut refs = Vec::with_capacity(5);
        for (name, value) in REPORT_NAMES.iter().zip(values) {
            let mut builder = LabelsBuilder::new(&target.labels);
            builder.set(METRIC_NAME, name);
            refs.push(appender.append(&builder.labels(), timestamp, value)?);
        }
        refs.try_into()
            .map_err(|_| tsdb::Error::InvalidArgument("report series count".into()))
    }

    /// Parses and appends every sample; returns the cache entries seen, or the error that fails
    /// the scrape.
    fn append_samples(
        &mut self,
        appender: &mut tsdb::head::Appender<'_>,
        target: &Target,
        text: &str,
        format: Format,
        timestamp: i64,
        outcome: &mut ScrapeOutcome,
    ) -> Result<Vec<u32>, Error> {
        let settings = &target.settings;
        let mut current = Vec::with_capacity(self.previous.len());
        let mut parser = Parser::new(text, format);
        let mut metadata_lines: Vec<Entry<'_>> = Vec::new();
        let mut metadata_hash = FxHasher::default();
        while let Some(entry) = parser.next_raw() {
            let (line, value, timestamp_ms, parsed) = match entry? {
                RawEntry::Sample {
                    line,
                    series,
                    value,
                    timestamp_ms,
                } => {
                    self.key.clear();
                    self.key.extend_from_slice(series.as_bytes());
                    (Some(line), value, timestamp_ms, None)
                }
                RawEntry::Entry(Entry::Sample(sample)) => {
                    raw_key(&mut self.key, &sample);
                    (None, sample.value, sample.timestamp_ms, Some(sample))
                }
                RawEntry::Entry(Entry::Comment) => continue,
                RawEntry::Entry(meta) => {
                    hash_metadata(&mut metadata_hash, &meta);
                    metadata_lines.push(meta);
                    continue;
                }
            };
            outcome.samples_scraped += 1;
            let explicit = settings.honor_timestamps && timestamp_ms.is_some();
            let t = if explicit {
                timestamp_ms.unwrap_or(timestamp)
            } else {
                timestamp
            };
            let index = match self.lookup(current.len()) {
                Some(index) => index,
                None => {
                    let sample = match (parsed, line) {
                        (Some(sample), _) => sample,
                        (None, Some(line)) => parser.parse_sample(line)?,
                        (None, None) => continue,
                    };
                    let series = match target_labels(&sample, target, parser.line())? {
                        Some(labels) => Some(
                            appender
                                .append(&labels, t, value)
                                .map_err(|e| Error::Scrape(format!("line {}: {e}", parser.line())))?,
                        ),
                        None => None,
                    };
                    let index = self.insert(CacheEntry {
                        key: self.key.as_slice().into(),
                        series: series.clone(),
                        seen: self.iteration,
                        explicit_timestamp: explicit,
                    });
                    current.push(index);
                    if series.is_some() {
                        outcome.series_added += 1;
                        outcome.samples_post_relabeling += 1;
                        check_sample_limit(settings.sample_limit, outcome.samples_post_relabeling)?;
                    }
                    continue;
                }
            };
            let Some(entry) = self.entries[index as usize].as_mut() else {
                continue;
            };
            if entry.seen == self.iteration {
                // The same series twice in one response: Prometheus keeps the first.
                continue;
            }
            entry.seen = self.iteration;
            entry.explicit_timestamp = explicit;
            current.push(index);
            if let Some(series) = &entry.series {
                appender.append_ref(series, t, value);
                outcome.samples_post_relabeling += 1;
                check_sample_limit(settings.sample_limit, outcome.samples_post_relabeling)?;
            }
        }
        // Metadata rarely changes: rebuild the map only when the lines differ from last time.
        let metadata_hash = metadata_hash.finish();
        if metadata_hash != self.metadata_hash || self.metadata.is_empty() != metadata_lines.is_empty() {
            let mut metadata: HashMap<String, MetricMetadata> = HashMap::new();
            for entry in metadata_lines {
                match entry {
                    Entry::Help { metric, text } => metadata_entry(&mut metadata, &metric).help = text.into_owned(),
                    Entry::Type { metric, kind } => metadata_entry(&mut metadata, &metric).kind = kind,
                    Entry::Unit { metric, unit } => metadata_entry(&mut metadata, &metric).unit = unit.into_owned(),
                    Entry::Sample(_) | Entry::Comment => {}
                }
            }
            self.metadata = Arc::new(metadata);
            self.metadata_hash = metadata_hash;
        }
        Ok(current)
    }

    /// The entry of the series whose key is in `self.key`. Expositions list their series in
    /// the same order at every scrape, so the entry at the same position in the last scrape is
    /// tried first: one comparison instead of hashing the key and probing the table.
    fn lookup(&self, position: usize) -> Option<u32> {
        let key = self.key.as_slice();
        let matches = |index: u32| {
            self.entries
                .get(index as usize)
                .and_then(Option::as_ref)
                .is_some_and(|e| *e.key == *key)
        };
        if let Some(&predicted) = self.previous.get(position)
            && matches(predicted)
        {
            return Some(predicted);
        }
        self.index.find(key_hash(key), |&index| matches(index)).copied()
    }

    fn insert(&mut self, entry: CacheEntry) -> u32 {
        let hash = key_hash(&entry.key);
        let index = match self.free.pop() {
            Some(index) => {
                self.entries[index as usize] = Some(entry);
                index
            }
            None => {
                self.entries.push(Some(entry));
                (self.entries.len() - 1) as u32
            }
        };
        let entries = &self.entries;
        self.index.insert_unique(hash, index, |&i| {
            entries[i as usize].as_ref().map_or(0, |e| key_hash(&e.key))
        });
        index
    }

    fn evict(&mut self) {
        let iteration = self.iteration;
        let entries = &mut self.entries;
        let free = &mut self.free;
        self.index.retain(|index| {
            let keep = entries[*index as usize]
                .as_ref()
                .is_some_and(|e| e.seen + EVICT_AFTER > iteration);
            if !keep {
                entries[*index as usize] = None;
                free.push(*index);
            }
            keep
        });
    }
}

fn key_hash(key: &[u8]) -> u64 {
    let mut hasher = FxHasher::default();
    hasher.write(key);
    hasher.finish()
}

fn metadata_entry<'a>(metadata: &'a mut HashMap<String, MetricMetadata>, metric: &str) -> &'a mut MetricMetadata {
    metadata.entry(metric.to_string()).or_insert_with(|| MetricMetadata {
        kind: MetricType::Unknown,
        help: String::new(),
        unit: String::new(),
    })
}

fn check_sample_limit(limit: usize, count: u64) -> Result<(), Error> {
    if limit > 0 && count > limit as u64 {
        return Err(Error::SampleLimit(limit));
    }
    Ok(())
}

fn hash_metadata(hasher: &mut FxHasher, entry: &Entry<'_>) {
    match entry {
        Entry::Help { metric, text } => (0u8, metric.as_ref(), text.as_ref()).hash(hasher),
        Entry::Type { metric, kind } => (1u8, metric.as_ref(), *kind as u8).hash(hasher),
        Entry::Unit { metric, unit } => (2u8, metric.as_ref(), unit.as_ref()).hash(hasher),
        Entry::Sample(_) | Entry::Comment => {}
    }
}

/// Length-prefixed name and labels exactly as written, so no text can make two samples share a key;
/// the leading 0xFF (never in UTF-8) keeps these keys apart from series texts.
fn raw_key(key: &mut Vec<u8>, sample: &ParsedSample<'_>) {
    key.clear();
    key.push(0xFF);
    let mut push = |part: &str| {
        key.extend_from_slice(&(part.len() as u32).to_le_bytes());
        key.extend_from_slice(part.as_bytes());
    };
    push(&sample.name);
    for (name, value) in &sample.labels {
        push(name);
        push(value);
    }
}

/// The stored labels of a new series: the sample's labels merged with the target's (Prometheus's
/// `honor_labels` rules), then metric relabeling and the label limits. `None`: dropped.
fn target_labels(sample: &ParsedSample<'_>, target: &Target, line: usize) -> Result<Option<Labels>, Error> {
    let settings = &target.settings;
    if sample.labels.iter().any(|(name, _)| name == METRIC_NAME) {
        return Err(Error::Scrape(format!(
            "line {line}: label {METRIC_NAME} given besides the metric name"
        )));
    }
    let pairs = std::iter::once((METRIC_NAME, sample.name.as_ref()))
        .chain(sample.labels.iter().map(|(n, v)| (n.as_ref(), v.as_ref())));
    let scraped = Labels::new(pairs).map_err(|e| Error::Scrape(format!("line {line}: {e}")))?;
    let mut builder = LabelsBuilder::new(&scraped);
    for label in target.labels.iter() {
        if settings.honor_labels {
            if scraped.get(label.name).is_none() {
                builder.set(label.name, label.value);
            }
            continue;
        }
        if let Some(existing) = scraped.get(label.name) {
            let mut name = format!("exported_{}", label.name);
            while scraped.get(&name).is_some() {
                name = format!("exported_{name}");
            }
            builder.set(&name, existing);
        }
        builder.set(label.name, label.value);
    }
    if !relabel::relabel(&mut builder, &settings.metric_relabel_configs) {
        return Ok(None);
    }
    let labels = builder.labels();
    if labels.metric_name().is_none_or(str::is_empty) {
        return Err(Error::Scrape(format!(
            "line {line}: __name__ label is missing after relabeling"
        )));
    }
    if settings.label_limit > 0 && labels.len() > settings.label_limit {
        return Err(Error::LabelLimit(format!(
            "label_limit exceeded (metric: {}, number of labels: {}, limit: {})",
            sample.name,
            labels.len(),
            settings.label_limit
        )));
    }
    for label in labels.iter() {
        if settings.label_name_length_limit > 0 && label.name.len() > settings.label_name_length_limit {
            return Err(Error::LabelLimit(format!(
                "label_name_length_limit exceeded (metric: {}, label name: {}, length: {}, limit: {})",
                sample.name,
                label.name,
                label.name.len(),
                settings.label_name_length_limit
            )));
        }
        if settings.label_value_length_limit > 0 && label.value.len() > settings.label_value_length_limit {
            return Err(Error::LabelLimit(format!(
                "label_value_length_limit exceeded (metric: {}, label name: {}, value: {:?}, length: {}, limit: {})",
                sample.name,
                label.name,
                label.value,
                label.value.len(),
                settings.label_value_length_limit
            )));
        }
    }
    Ok(Some(labels))
}
