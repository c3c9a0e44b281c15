use proptest::prelude::*;

use super::*;

fn s(text: &str) -> Option<String> {
    Some(text.to_string())
}

fn v(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| n.to_string()).collect()
}

fn labels(pairs: &[(&str, &str)]) -> Labels {
    Labels::new(pairs.iter().copied()).expect("valid labels")
}

fn rule(spec: RelabelSpec) -> RelabelConfig {
    RelabelConfig::new(spec).expect("valid rule")
}

fn error(spec: RelabelSpec) -> String {
    RelabelConfig::new(spec).expect_err("invalid rule").to_string()
}

fn legacy_error(spec: RelabelSpec) -> String {
    RelabelConfig::with_validation(spec, NameValidation::Legacy)
        .expect_err("invalid rule")
        .to_string()
}

fn run(input: &[(&str, &str)], rules: &[RelabelConfig]) -> Option<Labels> {
    process(&labels(input), rules)
}

/// A rule with one source label and a regex, for keep/drop style tests.
fn matching(action: &str, source: &str, regex: &str) -> RelabelConfig {
    rule(RelabelSpec {
        action: s(action),
        source_labels: v(&[source]),
        regex: s(regex),
        ..RelabelSpec::default()
    })
}

#[test]
fn action_names_round_trip_and_ignore_case() {
    for action in Action::ALL {
        assert_eq!(Action::parse(action.as_str()), Some(action));
        assert_eq!(action.to_string(), action.as_str());
    }
    assert_eq!(Action::parse("KeepEqual"), Some(Action::KeepEqual));
    assert_eq!(Action::parse("LABELMAP"), Some(Action::LabelMap));
    assert_eq!(
        Action::parse("\u{212A}eep"),
        Some(Action::Keep),
        "Kelvin sign lowercases to k, as in Go"
    );
    assert_eq!(Action::parse("keep_equal"), None);
    assert_eq!(Action::parse(""), None);
}

#[test]
fn defaults_are_applied() {
    let config = rule(RelabelSpec {
        target_label: s("x"),
        ..RelabelSpec::default()
    });
    assert_eq!(config.action(), Action::Replace);
    assert_eq!(config.separator(), ";");
    assert_eq!(config.regex(), "(.*)");
    assert_eq!(config.replacement(), "$1");
    assert_eq!(config.modulus(), 0);
    assert_eq!(config.target_label(), "x");
    assert!(config.source_labels().is_empty());
    assert_eq!(config.name_validation(), NameValidation::Utf8);
}

#[test]
fn validation_errors_match_prometheus() {
    let cases: Vec<(RelabelSpec, &str)> = vec![
        (
            RelabelSpec {
                action: s("bogus"),
                ..RelabelSpec::default()
            },
            r#"unknown relabel action "bogus""#,
        ),
        (
            RelabelSpec {
                action: s("hashmod"),
                target_label: s("shard"),
                ..RelabelSpec::default()
            },
            "relabel configuration for hashmod requires non-zero modulus",
        ),
        (
            RelabelSpec::default(),
            "relabel configuration for replace action requires 'target_label' value",
        ),
        (
            RelabelSpec {
                action: s("uppercase"),
                ..RelabelSpec::default()
            },
            "relabel configuration for uppercase action requires 'target_label' value",
        ),
        (
            RelabelSpec {
                action: s("dropequal"),
                source_labels: v(&["a"]),
                ..RelabelSpec::default()
            },
            "relabel configuration for dropequal action requires 'target_label' value",
        ),
        (
            RelabelSpec {
                action: s("lowercase"),
                target_label: s("x"),
                replacement: s("y"),
                ..RelabelSpec::default()
            },
            "'replacement' can not be set for lowercase action",
        ),
        (
            RelabelSpec {
                action: s("keepequal"),
                target_label: s("x"),
                regex: s("(.*)"),
                ..RelabelSpec::default()
            },
            "keepequal action requires only 'source_labels' and `target_label`, and no other fields",
        ),
        (
            RelabelSpec {
                action: s("dropequal"),
                target_label: s("x"),
                separator: s(","),
                ..RelabelSpec::default()
            },
            "dropequal action requires only 'source_labels' and `target_label`, and no other fields",
        ),
        (
            RelabelSpec {
                action: s("labeldrop"),
                source_labels: v(&["a"]),
                regex: s("a"),
                ..RelabelSpec::default()
            },
            "labeldrop action requires only 'regex', and no other fields",
        ),
        (
            RelabelSpec {
                action: s("labelkeep"),
                target_label: s("t"),
                ..RelabelSpec::default()
            },
            "labelkeep action requires only 'regex', and no other fields",
        ),
        (
            RelabelSpec {
                action: s("labelkeep"),
                modulus: Some(3),
                ..RelabelSpec::default()
            },
            "labelkeep action requires only 'regex', and no other fields",
        ),
        (
            RelabelSpec {
                action: s("labelmap"),
                replacement: s(""),
                ..RelabelSpec::default()
            },
            r#""" is invalid 'replacement' for labelmap action"#,
        ),
        (
            RelabelSpec {
                target_label: s("x"),
                regex: s("(unclosed"),
                ..RelabelSpec::default()
            },
            r#"invalid relabel regex "(unclosed": unclosed group"#,
        ),
        (
            RelabelSpec {
                target_label: s("x"),
                source_labels: v(&["a", ""]),
                ..RelabelSpec::default()
            },
            r#""" is not a valid label name"#,
        ),
    ];
    for (spec, want) in cases {
        assert_eq!(error(spec.clone()), want, "{spec:?}");
    }
}

#[test]
fn explicit_defaults_are_accepted_where_prometheus_compares_values() {
    // Separator, replacement and modulus are compared by value, so writing the default is fine.
    rule(RelabelSpec {
        action: s("keepequal"),
        source_labels: v(&["a"]),
        target_label: s("b"),
        separator: s(";"),
        replacement: s("$1"),
        modulus: Some(0),
        ..RelabelSpec::default()
    });
    // UTF-8 names: dots, dashes and non-ASCII are valid targets.
    rule(RelabelSpec {
        action: s("hashmod"),
        target_label: s("shard.id-ü"),
        modulus: Some(4),
        ..RelabelSpec::default()
    });
}

#[test]
fn legacy_validation_rejects_non_legacy_names() {
    let replace = |target: &str| RelabelSpec {
        target_label: s(target),
        ..RelabelSpec::default()
    };
    assert_eq!(
        legacy_error(replace("1abc")),
        r#""1abc" is invalid 'target_label' for replace action"#
    );
    assert_eq!(
        legacy_error(replace("a-b")),
        r#""a-b" is invalid 'target_label' for replace action"#
    );
    assert_eq!(
        legacy_error(replace("$1-x")),
        r#""$1-x" is invalid 'target_label' for replace action"#
    );
    let ok = RelabelConfig::with_validation(replace("${1}_x"), NameValidation::Legacy);
    assert!(ok.is_ok(), "templated legacy target");
    let hashmod = RelabelSpec {
        action: s("hashmod"),
        target_label: s("a.b"),
        modulus: Some(2),
        ..RelabelSpec::default()
    };
    assert_eq!(
        legacy_error(hashmod),
        r#""a.b" is invalid 'target_label' for hashmod action"#
    );
    let labelmap = RelabelSpec {
        action: s("labelmap"),
        replacement: s("x.$1"),
        ..RelabelSpec::default()
    };
    assert_eq!(
        legacy_error(labelmap),
        r#""x.$1" is invalid 'replacement' for labelmap action"#
    );
    assert!(NameValidation::Legacy.is_valid_label_name("_ok9"));
    assert!(!NameValidation::Legacy.is_valid_label_name(""));
    assert!(NameValidation::Utf8.is_valid_label_name("ü.x"));
    assert!(!NameValidation::Utf8.is_valid_label_name(""));
}

#[test]
fn replace_joins_sources_and_writes_target() {
    // Docs-style: build __address__ from a host and a port label.
    let config = rule(RelabelSpec {
        source_labels: v(&["__meta_host", "__meta_port"]),
        separator: s(":"),
        regex: s("(.+):(\\d+)"),
        replacement: s("${1}:${2}"),
        target_label: s("__address__"),
        ..RelabelSpec::default()
    });
    let out = run(
        &[("__meta_host", "db1"), ("__meta_port", "9100")],
        std::slice::from_ref(&config),
    );
    assert_eq!(
        out,
        Some(labels(&[
            ("__meta_host", "db1"),
            ("__meta_port", "9100"),
            ("__address__", "db1:9100")
        ]))
    );
    // No port: the regex does not match, nothing is written.
    let out = run(&[("__meta_host", "db1")], &[config]);
    assert_eq!(out, Some(labels(&[("__meta_host", "db1")])));
}

#[test]
fn replace_with_defaults_copies_and_deletes() {
    let copy = rule(RelabelSpec {
        source_labels: v(&["a"]),
        target_label: s("b"),
        ..RelabelSpec::default()
    });
    assert_eq!(
        run(&[("a", "1")], std::slice::from_ref(&copy)),
        Some(labels(&[("a", "1"), ("b", "1")]))
    );
    // The source is missing: `(.*)` matches "", `$1` is empty, so the target is deleted.
    assert_eq!(run(&[("b", "old")], &[copy]), Some(Labels::empty()));
    // A constant replacement without source labels sets the label unconditionally.
    let constant = rule(RelabelSpec {
        target_label: s("env"),
        replacement: s("prod"),
        ..RelabelSpec::default()
    });
    assert_eq!(run(&[], &[constant]), Some(labels(&[("env", "prod")])));
}

#[test]
fn replace_templates_follow_go_expand() {
    let with = |replacement: &str, target: &str| {
        rule(RelabelSpec {
            source_labels: v(&["v"]),
            regex: s("(?P<word>[a-z]+)-(\\d+)"),
            replacement: s(replacement),
            target_label: s(target),
            ..RelabelSpec::default()
        })
    };
    let input = [("v", "abc-42")];
    let get = |config: RelabelConfig, name: &str| run(&input, &[config]).and_then(|l| l.get(name).map(String::from));
    assert_eq!(get(with("${1}x", "t"), "t").as_deref(), Some("abcx"));
    assert_eq!(
        get(with("$1x", "t"), "t"),
        None,
        "$1x names group `1x`: empty, so t is deleted"
    );
    assert_eq!(get(with("$word/$2", "t"), "t").as_deref(), Some("abc/42"));
    assert_eq!(get(with("$$1 ${word}", "t"), "t").as_deref(), Some("$1 abc"));
    assert_eq!(get(with("$0!", "t"), "t").as_deref(), Some("abc-42!"));
    assert_eq!(
        get(with("${1", "t"), "t").as_deref(),
        Some("${1"),
        "malformed reference stays literal"
    );
    assert_eq!(get(with("x$", "t"), "t").as_deref(), Some("x$"));
    assert_eq!(
        get(with("[$9]", "t"), "t").as_deref(),
        Some("[]"),
        "missing group expands to nothing"
    );
    assert_eq!(
        get(with("[$01]", "t"), "t").as_deref(),
        Some("[]"),
        "leading zero is a name, not a number"
    );
    // Templated target label.
    assert_eq!(get(with("$2", "label_${1}"), "label_abc").as_deref(), Some("42"));
    // A target that expands to nothing is invalid and skipped.
    let out = run(&input, &[with("x", "$9")]);
    assert_eq!(out, Some(labels(&input)));
}

#[test]
fn go_expand_edge_cases() {
    let regex = compile_anchored("(?P<w>a)(b)?(c)").expect("compiles");
    let caps = regex.captures("ac").expect("matches");
    assert_eq!(
        go_expand("$é|${w}|$w|$2|$3|$4|$", &caps),
        "|a|a||c||$",
        "é is a (missing) name"
    );
    assert_eq!(go_expand("${}$-${x y}", &caps), "${}$-${x y}");
    assert_eq!(go_expand("$3_", &caps), "", "`3_` is a name");
    assert_eq!(go_expand("${3}_$100000000", &caps), "c_");
}

#[test]
fn replace_can_set_metric_name() {
    let config = rule(RelabelSpec {
        source_labels: v(&["__name__"]),
        regex: s("node_(.*)"),
        replacement: s("host_$1"),
        target_label: s("__name__"),
        ..RelabelSpec::default()
    });
    let out = run(&[("__name__", "node_load1"), ("job", "n")], &[config]);
    assert_eq!(out, Some(labels(&[("__name__", "host_load1"), ("job", "n")])));
}

#[test]
fn keep_and_drop_match_the_whole_value() {
    let keep = matching("keep", "job", "node|api");
    assert!(run(&[("job", "node")], std::slice::from_ref(&keep)).is_some());
    assert!(
        run(&[("job", "nodes")], std::slice::from_ref(&keep)).is_none(),
        "anchored"
    );
    assert!(run(&[], &[keep]).is_none(), "missing label is \"\"");
    let drop = matching("drop", "__name__", "go_.*");
    assert!(run(&[("__name__", "go_goroutines")], std::slice::from_ref(&drop)).is_none());
    assert!(run(&[("__name__", "up")], std::slice::from_ref(&drop)).is_some());
    // `.` matches a newline because of the (?s) wrapper.
    assert!(run(&[("__name__", "go_\nx")], &[drop]).is_none());
    // Docs example: keep only targets annotated with scrape=true.
    let annotated = matching("keep", "__meta_kubernetes_pod_annotation_prometheus_io_scrape", "true");
    let pod = [("__meta_kubernetes_pod_annotation_prometheus_io_scrape", "true")];
    assert!(run(&pod, &[annotated]).is_some());
    // Dropping through the builder leaves it untouched.
    let base = labels(&[("a", "1")]);
    let mut builder = LabelsBuilder::new(&base);
    let rules = [matching("drop", "a", "1")];
    assert!(!relabel(&mut builder, &rules));
    assert_eq!(builder.labels(), base);
}

#[test]
fn keepequal_and_dropequal_compare_with_target() {
    let spec = |action: &str| RelabelSpec {
        action: s(action),
        source_labels: v(&["__meta_port"]),
        target_label: s("port"),
        ..RelabelSpec::default()
    };
    let keepequal = rule(spec("keepequal"));
    let dropequal = rule(spec("dropequal"));
    let same = [("__meta_port", "80"), ("port", "80")];
    let different = [("__meta_port", "80"), ("port", "81")];
    assert!(run(&same, std::slice::from_ref(&keepequal)).is_some());
    assert!(run(&different, std::slice::from_ref(&keepequal)).is_none());
    assert!(run(&same, std::slice::from_ref(&dropequal)).is_none());
    assert!(run(&different, std::slice::from_ref(&dropequal)).is_some());
    // Both missing: "" == "".
    assert!(run(&[], &[dropequal]).is_none());
}

#[test]
fn hashmod_uses_the_last_eight_digest_bytes() {
    let hashmod = |sources: &[&str], modulus: u64| {
        rule(RelabelSpec {
            action: s("hashmod"),
            source_labels: v(sources),
            target_label: s("shard"),
            modulus: Some(modulus),
            ..RelabelSpec::default()
        })
    };
    // Expected values: big-endian u64 of md5(value)[8..16] modulo the modulus.
    let shard = |input: &[(&str, &str)], config: RelabelConfig| {
        run(input, &[config]).and_then(|l| l.get("shard").map(String::from))
    };
    assert_eq!(shard(&[("a", "foo")], hashmod(&["a"], 1000)).as_deref(), Some("696"));
    assert_eq!(
        shard(&[("a", "node"), ("b", "a")], hashmod(&["a", "b"], 7)).as_deref(),
        Some("4")
    );
    assert_eq!(
        shard(&[], hashmod(&["a"], 10)).as_deref(),
        Some("8"),
        "md5 of the empty string"
    );
    assert_eq!(
        shard(&[("a", "foo")], hashmod(&["a"], (1 << 63) + 5)).as_deref(),
        Some("7921661662980252883")
    );
}

#[test]
fn labelmap_copies_matching_labels() {
    // Docs example: turn Kubernetes pod labels into target labels.
    let config = rule(RelabelSpec {
        action: s("labelmap"),
        regex: s("__meta_kubernetes_pod_label_(.+)"),
        ..RelabelSpec::default()
    });
    let input = [
        ("__meta_kubernetes_pod_label_app", "web"),
        ("__meta_kubernetes_pod_label_tier", "front"),
        ("job", "k8s"),
    ];
    let out = run(&input, &[config]).expect("kept");
    assert_eq!(out.get("app"), Some("web"));
    assert_eq!(out.get("tier"), Some("front"));
    assert_eq!(
        out.get("__meta_kubernetes_pod_label_app"),
        Some("web"),
        "labelmap copies, it does not move"
    );
    assert_eq!(out.len(), 5);
}

#[test]
fn labelmap_visits_labels_in_prometheus_builder_order() {
    let map = rule(RelabelSpec {
        action: s("labelmap"),
        regex: s("[ab]_(x)"),
        ..RelabelSpec::default()
    });
    // Untouched base labels in name order: b_x is visited last and wins.
    let input = [("a_x", "1"), ("b_x", "2")];
    assert_eq!(
        run(&input, std::slice::from_ref(&map))
            .and_then(|l| l.get("x").map(String::from))
            .as_deref(),
        Some("2")
    );
    // A label set by an earlier rule is visited after the untouched ones, so a_x wins now.
    let touch = rule(RelabelSpec {
        target_label: s("a_x"),
        replacement: s("3"),
        ..RelabelSpec::default()
    });
    let out = run(&input, &[touch, map]).expect("kept");
    assert_eq!(out.get("x"), Some("3"));
    // An empty mapped name is skipped instead of producing an unnamed label.
    let empty = rule(RelabelSpec {
        action: s("labelmap"),
        regex: s("a(.*)"),
        replacement: s("$1"),
        ..RelabelSpec::default()
    });
    assert_eq!(run(&[("a", "1")], &[empty]), Some(labels(&[("a", "1")])));
}

#[test]
fn labeldrop_and_labelkeep_filter_names() {
    let labeldrop = rule(RelabelSpec {
        action: s("labeldrop"),
        regex: s("__meta_.*|pod_template_hash"),
        ..RelabelSpec::default()
    });
    let input = [
        ("__meta_x", "1"),
        ("pod_template_hash", "abc"),
        ("job", "j"),
        ("__name__", "up"),
    ];
    assert_eq!(
        run(&input, &[labeldrop]),
        Some(labels(&[("job", "j"), ("__name__", "up")]))
    );
    let labelkeep = rule(RelabelSpec {
        action: s("labelkeep"),
        regex: s("__name__|job"),
        ..RelabelSpec::default()
    });
    assert_eq!(
        run(&input, &[labelkeep]),
        Some(labels(&[("job", "j"), ("__name__", "up")]))
    );
}

#[test]
fn lowercase_and_uppercase_use_go_simple_case_mapping() {
    let case = |action: &str, value: &str| {
        let config = rule(RelabelSpec {
            action: s(action),
            source_labels: v(&["v"]),
            target_label: s("out"),
            ..RelabelSpec::default()
        });
        run(&[("v", value)], &[config]).and_then(|l| l.get("out").map(String::from))
    };
    assert_eq!(case("lowercase", "Node-A").as_deref(), Some("node-a"));
    assert_eq!(case("uppercase", "node-a").as_deref(), Some("NODE-A"));
    assert_eq!(
        case("lowercase", "ΟΔΟΣ").as_deref(),
        Some("οδοσ"),
        "no final-sigma rule"
    );
    assert_eq!(case("lowercase", "İx").as_deref(), Some("ix"));
    assert_eq!(case("uppercase", "straße").as_deref(), Some("STRAßE"));
    assert_eq!(case("uppercase", "ᾳﬁ").as_deref(), Some("ᾼﬁ"));
    assert_eq!(case("uppercase", "ǆ").as_deref(), Some("Ǆ"));
}

#[test]
fn rules_apply_in_order() {
    let rules = [
        matching("keep", "job", "node"),
        rule(RelabelSpec {
            source_labels: v(&["__address__"]),
            regex: s("([^:]+)(?::\\d+)?"),
            target_label: s("instance"),
            ..RelabelSpec::default()
        }),
        rule(RelabelSpec {
            action: s("labeldrop"),
            regex: s("__address__"),
            ..RelabelSpec::default()
        }),
        matching("drop", "instance", "blocked"),
    ];
    let out = run(&[("job", "node"), ("__address__", "h1:9100")], &rules);
    assert_eq!(out, Some(labels(&[("job", "node"), ("instance", "h1")])));
    assert!(run(&[("job", "node"), ("__address__", "blocked:1")], &rules).is_none());
    assert_eq!(process(&labels(&[("a", "1")]), &[]), Some(labels(&[("a", "1")])));
}

#[test]
fn regexes_keep_go_semantics() {
    let matches = |regex: &str, value: &str| run(&[("v", value)], &[matching("keep", "v", regex)]).is_some();
    assert!(matches(r"\d+", "42"));
    assert!(!matches(r"\d+", "٤٢"), "\\d is ASCII-only in Go");
    assert!(!matches(r"\w+", "é"), "\\w is ASCII-only in Go");
    assert!(!matches(r"\s", "\x0B"), "Go's \\s has no vertical tab");
    assert!(matches(r"[\s]", "\x0C"));
    assert!(matches(r"[^\D]", "7"));
    assert!(matches(r".*\bé", "aé"), "ASCII word boundary between a and é");
    assert!(matches(r"a{", "a{"), "a brace that is no repetition is literal");
    assert!(matches(r"a{01}", "a{01}"));
    assert!(matches(r"a{2}", "aa"));
    assert!(matches(r"a{1,}b}", "aab}"));
    assert!(matches(r"\Q.*\E+", ".**"), "the + repeats the quoted *");
    assert!(!matches(r"\Q.*\E", "ab"));
    assert!(matches(r"\101\x42\x{43}", "ABC"));
    assert!(matches(r"[[]", "["));
    assert!(matches(r"[]a]+", "]a"));
    assert!(matches(r"[a&&b]+", "&ab"), "no class intersection in Go");
    assert!(matches(r"[a-]+", "-a"));
    assert!(matches(r"\<\>", "<>"), "escaped punctuation is literal");
    assert!(matches(r"\p{^Greek}\pL", "xα"));
    assert!(matches(r"[[:upper:][:^alpha:]]+", "A1"));
    assert!(matches(r"(?i)node", "NODE"));
    assert!(matches(r"(?P<a>x)(?<b>y)(?:z)", "xyz"));
    for bad in [
        r"(?P<é>x)",
        r"a**",
        r"a+{2}",
        r"(?x)a",
        r"\e",
        r"\1",
        r"a{1001}",
        r"[a",
        r"[z-a]",
        r"[[:nope:]]",
        r"\",
    ] {
        let err = RelabelConfig::new(RelabelSpec {
            action: s("keep"),
            regex: s(bad),
            ..RelabelSpec::default()
        });
        assert!(
            matches!(err, Err(RelabelError::InvalidRegex { .. })),
            "{bad:?} should be rejected: {err:?}"
        );
    }
}

#[test]
fn builder_receives_the_result() {
    let base = labels(&[("a", "1"), ("b", "2")]);
    let mut builder = LabelsBuilder::new(&base);
    builder.set("c", "3");
    let rules = [
        rule(RelabelSpec {
            action: s("labeldrop"),
            regex: s("a"),
            ..RelabelSpec::default()
        }),
        rule(RelabelSpec {
            source_labels: v(&["c"]),
            target_label: s("a"),
            ..RelabelSpec::default()
        }),
    ];
    assert!(relabel(&mut builder, &rules));
    assert_eq!(builder.labels(), labels(&[("a", "3"), ("b", "2"), ("c", "3")]));
}

fn arb_spec() -> impl Strategy<Value = RelabelSpec> {
    let name = prop_oneof![Just("a".to_string()), Just("__name__".to_string()), "[a-c_$1{}é]{0,4}"];
    let regex = prop_oneof![
        Just(None),
        Just(s("(.*)")),
        Just(s("(a|b)(.*)")),
        Just(s("(?P<n>.)?")),
        "[a-z().*+?|\\\\{}\\[\\]^$0-9é]{0,8}".prop_map(Some),
    ];
    let template = prop_oneof![Just(None), "[a-z$\\{\\}0-9_]{0,6}".prop_map(Some)];
    let actions = Action::ALL.map(|a| Some(a.as_str().to_string())).to_vec();
    (
        prop::collection::vec(name.clone(), 0..3),
        prop::option::of(Just(";".to_string())),
        regex,
        prop::option::of(0u64..5),
        prop::option::of(name),
        template,
        prop::sample::select(actions),
    )
        .prop_map(
            |(source_labels, separator, regex, modulus, target_label, replacement, action)| RelabelSpec {
                source_labels,
                separator,
                regex,
                modulus,
                target_label,
                replacement,
                action,
            },
        )
}

proptest! {
    #[test]
    fn relabel_never_panics(
        pairs in prop::collection::vec(("[a-c_]{1,3}|__name__", "[a-c$é]{0,3}"), 0..6),
        specs in prop::collection::vec(arb_spec(), 0..5),
        legacy in any::<bool>(),
    ) {
        let mut unique: Vec<(String, String)> = Vec::new();
        for (n, v) in pairs {
            if !unique.iter().any(|(u, _)| *u == n) {
                unique.push((n, v));
            }
        }
        let input = Labels::new(unique).expect("unique names");
        let validation = if legacy { NameValidation::Legacy } else { NameValidation::Utf8 };
        let rules: Vec<RelabelConfig> =
            specs.into_iter().filter_map(|spec| RelabelConfig::with_validation(spec, validation).ok()).collect();
        let mut builder = LabelsBuilder::new(&input);
        if relabel(&mut builder, &rules) {
            let out = builder.labels();
            prop_assert!(out.iter().all(|l| !l.name.is_empty() && !l.value.is_empty()));
            prop_assert_eq!(Some(out), process(&input, &rules));
        } else {
            prop_assert_eq!(None, process(&input, &rules));
        }
    }

    #[test]
    fn regex_translation_never_panics(pattern in "\\PC{0,12}", tricky in "[\\\\\\[\\](){}^$|*+?.:PpQEx0-9a-f-]{0,12}") {
        let _ = compile_anchored(&pattern);
        let _ = compile_anchored(&tricky);
    }
}
