//! The table of PromQL functions: argument types, optional/variadic arguments, return type.
//!
//! Mirrors the signatures of Prometheus 3.x. Functions Prometheus only enables behind
//! `--enable-feature=promql-experimental-functions` are present and marked `experimental`;
//! functions that only make sense on native histograms are marked `native_histogram`.
//! `holt_winters` (removed in 3.0) is absent, so calling it is an unknown-function error.
//! `start()`, `end()`, `range()`, `step()`, `min_of` and `max_of` are the scalar helpers of
//! Prometheus's experimental duration expressions; here they are ordinary scalar functions.

use super::ast::ValueType;

use ValueType::{Matrix as M, Scalar as S, String as Str, Vector as V};

/// A PromQL function signature.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Function {
    /// The name as written in queries (case-sensitive).
    pub name: &'static str,
    /// The declared argument types; with `variadic != 0` the last one repeats or is optional.
    pub arg_types: &'static [ValueType],
    /// 0: exactly `arg_types.len()` arguments. n > 0: between `len - 1` and `len - 1 + n`
    /// arguments. -1: at least `len - 1`, unbounded. Extra arguments take the last type.
    pub variadic: i32,
    /// The result type.
    pub return_type: ValueType,
    /// Experimental in Prometheus 3.x (needs a feature flag there).
    pub experimental: bool,
    /// Only meaningful on native histograms.
    pub native_histogram: bool,
}

impl Function {
    /// The fewest arguments a call may have.
    pub fn min_args(&self) -> usize {
        if self.variadic == 0 {
            self.arg_types.len()
        } else {
            self.arg_types.len().saturating_sub(1)
        }
    }

    /// The most arguments a call may have; `None` when unbounded.
    pub fn max_args(&self) -> Option<usize> {
        match self.variadic {
            0 => Some(self.arg_types.len()),
            n if n > 0 => Some(self.min_args() + n as usize),
            _ => None,
        }
    }

    /// The expected type of argument `i` (extra variadic arguments take the last declared type).
    pub fn arg_type(&self, i: usize) -> Option<ValueType> {
        self.arg_types.get(i).or(self.arg_types.last()).copied()
    }
}

const fn f(name: &'static str, arg_types: &'static [ValueType], variadic: i32, return_type: ValueType) -> Function {
    Function {
        name,
        arg_types,
        variadic,
        return_type,
        experimental: false,
        native_histogram: false,
    }
}

const fn exp(name: &'static str, arg_types: &'static [ValueType], variadic: i32, return_type: ValueType) -> Function {
    Function {
        name,
        arg_types,
        variadic,
        return_type,
        experimental: true,
        native_histogram: false,
    }
}

const fn nh(name: &'static str, arg_types: &'static [ValueType]) -> Function {
    Function {
        name,
        arg_types,
        variadic: 0,
        return_type: V,
        experimental: false,
        native_histogram: true,
    }
}

/// Every function, sorted by name.
pub static FUNCTIONS: &[Function] = &[
    f("abs", &[V], 0, V),
    f("absent", &[V], 0, V),
    f("absent_over_time", &[M], 0, V),
    f("acos", &[V], 0, V),
    f("acosh", &[V], 0, V),
    f("asin", &[V], 0, V),
    f("asinh", &[V], 0, V),
    f("atan", &[V], 0, V),
    f("atanh", &[V], 0, V),
    f("avg_over_time", &[M], 0, V),
    f("ceil", &[V], 0, V),
    f("changes", &[M], 0, V),
    f("clamp", &[V, S, S], 0, V),
    f("clamp_max", &[V, S], 0, V),
    f("clamp_min", &[V, S], 0, V),
    f("cos", &[V], 0, V),
    f("cosh", &[V], 0, V),
    f("count_over_time", &[M], 0, V),
    f("day_of_month", &[V], 1, V),
    f("day_of_week", &[V], 1, V),
    f("day_of_year", &[V], 1, V),
    f("days_in_month", &[V], 1, V),
    f("deg", &[V], 0, V),
    f("delta", &[M], 0, V),
    f("deriv", &[M], 0, V),
    exp("double_exponential_smoothing", &[M, S, S], 0, V),
    exp("end", &[], 0, S),
    f("exp", &[V], 0, V),
    f("first_over_time", &[M], 0, V),
    f("floor", &[V], 0, V),
    nh("histogram_avg", &[V]),
    nh("histogram_count", &[V]),
    f("histogram_fraction", &[S, S, V], 0, V),
    f("histogram_quantile", &[S, V], 0, V),
    exp("histogram_quantiles", &[V, Str, S, S], 9, V),
    nh("histogram_stddev", &[V]),
    nh("histogram_stdvar", &[V]),
    nh("histogram_sum", &[V]),
    f("hour", &[V], 1, V),
    f("idelta", &[M], 0, V),
    f("increase", &[M], 0, V),
    exp("info", &[V, V], 1, V),
    f("irate", &[M], 0, V),
    f("label_join", &[V, Str, Str, Str], -1, V),
    f("label_replace", &[V, Str, Str, Str, Str], 0, V),
    f("last_over_time", &[M], 0, V),
    f("ln", &[V], 0, V),
    f("log10", &[V], 0, V),
    f("log2", &[V], 0, V),
    exp("mad_over_time", &[M], 0, V),
    exp("max_of", &[S, S], 0, S),
    f("max_over_time", &[M], 0, V),
    exp("min_of", &[S, S], 0, S),
    f("min_over_time", &[M], 0, V),
    f("minute", &[V], 1, V),
    f("month", &[V], 1, V),
    f("pi", &[], 0, S),
    f("predict_linear", &[M, S], 0, V),
    f("present_over_time", &[M], 0, V),
    f("quantile_over_time", &[S, M], 0, V),
    f("rad", &[V], 0, V),
    exp("range", &[], 0, S),
    f("rate", &[M], 0, V),
    f("resets", &[M], 0, V),
    f("round", &[V, S], 1, V),
    f("scalar", &[V], 0, S),
    f("sgn", &[V], 0, V),
    f("sin", &[V], 0, V),
    f("sinh", &[V], 0, V),
    f("sort", &[V], 0, V),
    exp("sort_by_label", &[V, Str], -1, V),
    exp("sort_by_label_desc", &[V, Str], -1, V),
    f("sort_desc", &[V], 0, V),
    f("sqrt", &[V], 0, V),
    exp("start", &[], 0, S),
    exp("start_timestamp", &[V], 0, V),
    f("stddev_over_time", &[M], 0, V),
    f("stdvar_over_time", &[M], 0, V),
    exp("step", &[], 0, S),
    f("sum_over_time", &[M], 0, V),
    f("tan", &[V], 0, V),
    f("tanh", &[V], 0, V),
    f("time", &[], 0, S),
    f("timestamp", &[V], 0, V),
    exp("ts_of_first_over_time", &[M], 0, V),
    exp("ts_of_last_over_time", &[M], 0, V),
    exp("ts_of_max_over_time", &[M], 0, V),
    exp("ts_of_min_over_time", &[M], 0, V),
    f("vector", &[S], 0, V),
    f("year", &[V], 1, V),
];

/// Looks a function up by its exact (case-sensitive) name.
pub fn function(name: &str) -> Option<&'static Function> {
    FUNCTIONS
        .binary_search_by(|f| f.name.cmp(name))
        .ok()
        .map(|i| &FUNCTIONS[i])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_unique() {
        for pair in FUNCTIONS.windows(2) {
            assert!(pair[0].name < pair[1].name, "{} before {}", pair[0].name, pair[1].name);
        }
        assert_eq!(FUNCTIONS.len(), 90);
    }

    #[test]
    fn lookup() {
        assert_eq!(function("rate").map(|f| f.arg_types), Some(&[M][..]));
        assert!(function("holt_winters").is_none());
        assert!(function("Rate").is_none());
        assert!(function("double_exponential_smoothing").is_some_and(|f| f.experimental));
        assert!(function("histogram_count").is_some_and(|f| f.native_histogram));
        assert!(function("abs").is_some_and(|f| !f.experimental && !f.native_histogram));
    }

    #[test]
    fn arities() {
        let round = function("round").expect("round exists");
        assert_eq!((round.min_args(), round.max_args()), (1, Some(2)));
        let join = function("label_join").expect("label_join exists");
        assert_eq!((join.min_args(), join.max_args()), (3, None));
        assert_eq!(join.arg_type(7), Some(Str));
        let hour = function("hour").expect("hour exists");
        assert_eq!((hour.min_args(), hour.max_args()), (0, Some(1)));
        let time = function("time").expect("time exists");
        assert_eq!((time.min_args(), time.max_args(), time.arg_type(0)), (0, Some(0), None));
        let hq = function("histogram_quantiles").expect("histogram_quantiles exists");
        assert_eq!((hq.min_args(), hq.max_args()), (3, Some(12)));
    }
}
