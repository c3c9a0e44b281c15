//! Property tests of the LogQL parser and printer: random syntax trees print to text that
//! parses back to the same tree, and random or mutated text never panics.

use proptest::prelude::*;
use tsdb::{MatchType, Matcher};

use super::ast::*;
use super::parse;
use super::parse_tests::VALID;

fn label() -> impl Strategy<Value = String> {
    prop_oneof![Just("a"), Just("job"), Just("level"), Just("_x1")].prop_map(String::from)
}

fn text() -> impl Strategy<Value = String> {
    "[a-z \"\\\\\n{}<>é]{1,6}"
}

fn matcher() -> impl Strategy<Value = Matcher> {
    (label(), 0..4usize, "[a-z]{1,3}").prop_map(|(l, t, v)| {
        let mt = [
            MatchType::Equal,
            MatchType::NotEqual,
            MatchType::Regex,
            MatchType::NotRegex,
        ][t];
        Matcher::new(mt, l, v).expect("valid matcher")
    })
}

fn label_filter() -> impl Strategy<Value = LabelFilterExpr> {
    let leaf = prop_oneof![
        matcher().prop_map(LabelFilterExpr::Matcher),
        (label(), 0..6usize, -100i32..100).prop_map(|(label, op, v)| LabelFilterExpr::Number {
            label,
            op: [CmpOp::Eq, CmpOp::Neq, CmpOp::Gt, CmpOp::Gte, CmpOp::Lt, CmpOp::Lte][op],
            value: f64::from(v) / 4.0,
        }),
        (label(), 1i64..10_000_000_000_000).prop_map(|(label, ns)| LabelFilterExpr::Duration {
            label,
            op: CmpOp::Gt,
            ns
        }),
        (label(), 0u64..1 << 50).prop_map(|(label, bytes)| LabelFilterExpr::Bytes {
            label,
            op: CmpOp::Lte,
            bytes
        }),
        (label(), any::<bool>()).prop_map(|(label, negated)| LabelFilterExpr::Ip {
            label,
            negated,
            pattern: "10.0.0.0/8".into()
        }),
    ];
    leaf.prop_recursive(3, 8, 2, |inner| {
        (inner.clone(), inner, any::<bool>()).prop_map(|(l, r, and)| {
            if and {
                LabelFilterExpr::And(Box::new(l), Box::new(r))
            } else {
                LabelFilterExpr::Or(Box::new(l), Box::new(r))
            }
        })
    })
}

fn extraction() -> impl Strategy<Value = Extraction> {
    (label(), "[a-z.]{1,4}").prop_map(|(label, expr)| Extraction { label, expr })
}

fn stage() -> impl Strategy<Value = Stage> {
    prop_oneof![
        (0..6usize, prop::collection::vec(text(), 1..3)).prop_map(|(op, vals)| {
            let op = [
                LineFilterOp::Contains,
                LineFilterOp::NotContains,
                LineFilterOp::Regex,
                LineFilterOp::NotRegex,
                LineFilterOp::Pattern,
                LineFilterOp::NotPattern,
            ][op];
            let vals: Vec<String> = vals
                .into_iter()
                .map(|v| v.replace(['{', '}', '\\', '<', '>'], ""))
                .filter(|v| !v.is_empty())
                .collect();
            let vals = if vals.is_empty() { vec!["x".to_string()] } else { vals };
            let n = if op.is_negative() { 1 } else { vals.len() };
            Stage::LineFilter {
                op,
                values: vals.into_iter().take(n).map(FilterValue::Str).collect(),
            }
        }),
        prop::collection::vec(extraction(), 0..3).prop_map(|e| Stage::Parser(ParserStage::Json(e))),
        (any::<bool>(), any::<bool>(), prop::collection::vec(extraction(), 0..3)).prop_map(
            |(strict, keep_empty, extractions)| {
                Stage::Parser(ParserStage::Logfmt {
                    strict,
                    keep_empty,
                    extractions,
                })
            }
        ),
        Just(Stage::Parser(ParserStage::Regexp("(?P<a>\\w+)".into()))),
        Just(Stage::Parser(ParserStage::Pattern("<a> <_>".into()))),
        Just(Stage::Parser(ParserStage::Unpack)),
        Just(Stage::Decolorize),
        label_filter().prop_map(Stage::LabelFilter),
        text().prop_map(|t| Stage::LineFormat(format!("{{{{.a}}}}{}", t.replace('{', "")))),
        (label(), label()).prop_map(|(d, s)| Stage::LabelFormat(vec![LabelFormat {
            dst: d,
            value: LabelFormatValue::Rename(s)
        }])),
        prop::collection::vec(label(), 1..3)
            .prop_map(|ls| Stage::Drop(ls.into_iter().map(LabelSelect::Name).collect())),
        (label(), matcher()).prop_map(|(l, m)| Stage::Keep(vec![LabelSelect::Name(l), LabelSelect::Matcher(m)])),
    ]
}

fn log_expr() -> impl Strategy<Value = LogExpr> {
    (label(), "[a-z]{1,4}", prop::collection::vec(matcher(), 0..2), prop::collection::vec(stage(), 0..4)).prop_map(
        |(l, v, mut more, stages)| {
            let mut matchers = vec![Matcher::new(MatchType::Equal, l, v).expect("valid")];
            matchers.append(&mut more);
            LogExpr { matchers, stages }
        },
    )
    .prop_filter("`| drop a != \"x\"` reads as a drop matcher, in Loki too", |log| {
        !log.stages.windows(2).any(|w| {
            matches!(&w[0], Stage::Drop(items) | Stage::Keep(items) if matches!(items.last(), Some(LabelSelect::Name(_))))
                && matches!(&w[1], Stage::LineFilter { op: LineFilterOp::NotContains | LineFilterOp::NotRegex, .. })
        })
    })
}

fn metric() -> impl Strategy<Value = MetricExpr> {
    let range = (
        0..RANGE_OPS.len(),
        log_expr(),
        1i64..100,
        0i64..3,
        any::<bool>(),
        label(),
    )
        .prop_map(|(i, mut log, mins, offset_h, grouped, l)| {
            let op = RANGE_OPS[i];
            if !op.allows_plain() {
                log.stages.push(Stage::Unwrap {
                    label: l.clone(),
                    conversion: Some(UnwrapConversion::Bytes),
                });
            }
            let param = (op == RangeOp::QuantileOverTime).then_some(0.95);
            let grouping = (grouped && op.allows_grouping()).then(|| Grouping {
                labels: vec![l],
                without: false,
            });
            MetricExpr::RangeAggregation(RangeAggregation {
                op,
                param,
                log,
                range_ns: mins * 60_000_000_000,
                offset_ns: offset_h * 3_600_000_000_000,
                grouping,
            })
        });
    let leaf = prop_oneof![4 => range, 1 => (0..8i32).prop_map(|v| MetricExpr::Vector(f64::from(v) / 2.0))];
    leaf.prop_recursive(3, 12, 2, |inner| {
        prop_oneof![
            (
                0..VECTOR_OPS.len(),
                inner.clone(),
                prop::option::of((prop::collection::vec(label(), 1..3), any::<bool>()))
            )
                .prop_map(|(i, e, g)| {
                    let op = VECTOR_OPS[i];
                    let grouping = g
                        .filter(|_| op != VectorOp::ApproxTopk)
                        .map(|(labels, without)| Grouping { labels, without });
                    MetricExpr::VectorAggregation(VectorAggregation {
                        op,
                        param: op.takes_param().then_some(3),
                        grouping,
                        expr: Box::new(e),
                    })
                }),
            (
                0..15usize,
                inner.clone(),
                inner.clone(),
                any::<bool>(),
                prop::option::of((any::<bool>(), label(), 0..3usize))
            )
                .prop_map(|(i, l, r, b, vm)| {
                    let ops = [
                        BinaryOp::Add,
                        BinaryOp::Sub,
                        BinaryOp::Mul,
                        BinaryOp::Div,
                        BinaryOp::Mod,
                        BinaryOp::Pow,
                        BinaryOp::Eql,
                        BinaryOp::Neq,
                        BinaryOp::Gtr,
                        BinaryOp::Gte,
                        BinaryOp::Lss,
                        BinaryOp::Lte,
                        BinaryOp::And,
                        BinaryOp::Or,
                        BinaryOp::Unless,
                    ];
                    let op = ops[i];
                    let matching = vm.map(|(on, lab, c)| {
                        let card = if op.is_set_operator() {
                            Cardinality::OneToOne
                        } else {
                            [Cardinality::OneToOne, Cardinality::ManyToOne, Cardinality::OneToMany][c]
                        };
                        let include = if card == Cardinality::OneToOne {
                            vec![]
                        } else {
                            vec!["zz".to_string()]
                        };
                        VectorMatching {
                            on,
                            labels: vec![lab],
                            card,
                            include,
                        }
                    });
                    MetricExpr::Binary {
                        op,
                        lhs: Box::new(l),
                        rhs: Box::new(r),
                        return_bool: b && op.is_comparison(),
                        matching,
                    }
                }),
            inner.prop_map(|e| MetricExpr::LabelReplace {
                expr: Box::new(e),
                dst: "d".into(),
                replacement: "$1".into(),
                src: "s".into(),
                regex: "(.*)".into(),
            }),
        ]
    })
}

proptest! {
    #[test]
    fn random_log_queries_round_trip(log in log_expr()) {
        let printed = log.to_string();
        let parsed = parse(&printed).map_err(|e| TestCaseError::fail(format!("{printed:?}: {e}")))?;
        prop_assert_eq!(parsed, Expr::Log(log), "{}", printed);
    }

    #[test]
    fn random_metric_queries_round_trip(m in metric()) {
        let printed = m.to_string();
        let parsed = parse(&printed).map_err(|e| TestCaseError::fail(format!("{printed:?}: {e}")))?;
        prop_assert_eq!(parsed, Expr::Metric(m), "{}", printed);
    }

    #[test]
    fn random_text_never_panics(s in "[{}()\\[\\]|=!~<>\"`a-z0-9_ ,.+*/%^#-]{0,40}") {
        if let Err(e) = parse(&s) {
            prop_assert!(e.pos <= s.len() && e.line >= 1 && e.col >= 1);
        }
    }

    #[test]
    fn mutated_queries_never_panic(i in 0..VALID.len(), at in 0usize..200, junk in "[{}()\\[\\]|=!~<>\"`a-z0-9 ,.-]{1,4}") {
        let base = VALID[i].0;
        let mut cut = at.min(base.len());
        while !base.is_char_boundary(cut) {
            cut -= 1;
        }
        let s = format!("{}{}{}", &base[..cut], junk, &base[cut..]);
        if let Ok(e) = parse(&s) {
            let printed = e.to_string();
            let again = parse(&printed).map_err(|err| TestCaseError::fail(format!("{s:?} printed {printed:?}: {err}")))?;
            prop_assert_eq!(again.to_string(), printed);
        }
    }
}
