//! `rules-compare`: the same rule file evaluated by Loupe and by Prometheus on the same data.
