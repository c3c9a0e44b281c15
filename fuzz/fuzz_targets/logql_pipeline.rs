//! Fuzzes LogQL pipelines on log lines: the first line of the input is a query, the rest are log
//! lines. A query that parses and compiles runs every stage (line filters, the json / logfmt /
//! regexp / pattern / unpack parsers, label filters, line_format and label_format templates,
//! unwrap) on every line without panicking.
#![no_main]

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use query::logql::ast::{Expr, MetricExpr};
use query::logql::eval::{LineLabels, Pipeline};
use query::logql::parse;

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    let (query, lines) = input.split_once('\n').unwrap_or((input, ""));
    let stages = match parse(query) {
        Ok(Expr::Log(log)) => log.stages,
        Ok(Expr::Metric(MetricExpr::RangeAggregation(ra))) => ra.log.stages,
        _ => return,
    };
    let Ok(pipeline) = Pipeline::compile(&stages) else {
        return;
    };
    let Ok(stream) = tsdb::Labels::new([("app", "fuzz"), ("level", "info")]) else {
        return;
    };
    let stream = Arc::new(stream);
    for (i, line) in lines.split('\n').enumerate() {
        let metadata = vec![("trace_id".to_string(), format!("t{i}"))];
        let mut labels = LineLabels::new(Arc::clone(&stream), &metadata);
        let mut text = line.to_string();
        if pipeline.process(i as i64 * 1_000_000_000, &mut text, &mut labels) {
            let _ = pipeline.extract(&mut labels);
            let _ = labels.to_labels();
            let _ = labels.categorized();
        }
    }
});
