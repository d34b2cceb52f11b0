//! Property tests: every valid rule survives print then parse, printing is a fixpoint, and no input string
//! panics the parser.

use proptest::prelude::*;
use serde_json::{Number, Value, json};

use super::rule::{CompareOp, Comparison, Operand, Rule, TypeTest, ValueKind};
use super::{parse, parse_rule, print};

fn path() -> impl Strategy<Value = String> {
    let name = "[a-zA-Z_][a-zA-Z0-9_-]{0,6}";
    let step = prop_oneof![
        name.prop_map(|n| format!(".{n}")),
        (0u32..20).prop_map(|i| format!("[{i}]")),
        "[a-z '.*()\"$&|=!-]{1,6}".prop_map(|n| format!("['{}']", n.replace('\'', "\\'"))),
        "[a-z '.*()$&|=!-]{1,6}".prop_map(|n| format!("[\"{n}\"]")),
        "[éßπ_][a-zé0-9]{0,3}".prop_map(|n| format!(".{n}")),
    ];
    let root = prop_oneof![
        Just("$".to_string()),
        Just("$$".to_string()),
        "[a-zA-Z_][a-zA-Z0-9_]{0,5}".prop_map(|v| format!("${v}")),
    ];
    // Zero steps gives the bare roots `$`, `$$` and `$var`, which are valid paths too.
    (root, prop::collection::vec(step, 0..4))
        .prop_map(|(root, steps)| format!("{root}{}", steps.concat()))
}

fn number() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| Value::Number(Number::from_f64(f).unwrap_or_else(|| 0.into()))),
        (-1000i32..1000, 0u32..4).prop_map(|(m, e)| json!(f64::from(m) / 10f64.powi(e as i32))),
    ]
}

fn timestamp() -> impl Strategy<Value = String> {
    (
        1970i32..2100,
        1u32..13,
        1u32..29,
        0u32..24,
        0u32..60,
        0u32..60,
        prop_oneof![Just(String::new()), "\\.[0-9]{1,9}"],
        prop_oneof![Just("Z".to_string()), "[+-](0[0-9]|1[0-3]):[0-5][0-9]"],
    )
        .prop_map(|(y, mo, d, h, mi, s, frac, zone)| {
            format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}{frac}{zone}")
        })
}

fn comparison() -> impl Strategy<Value = Rule> {
    let kind = prop::sample::select(ValueKind::ALL.to_vec());
    let op = prop::sample::select(CompareOp::ALL.to_vec());
    (
        path(),
        kind,
        op,
        any::<bool>(),
        path(),
        ".*",
        number(),
        any::<bool>(),
        timestamp(),
    )
        .prop_map(|(variable, kind, op, use_path, other, s, n, b, ts)| {
            let op = if kind.supports(op) {
                op
            } else {
                CompareOp::Equals
            };
            let operand = if use_path {
                Operand::Path(other)
            } else {
                Operand::Literal(match kind {
                    ValueKind::String => Value::String(s),
                    ValueKind::Numeric => n,
                    ValueKind::Boolean => Value::Bool(b),
                    ValueKind::Timestamp => Value::String(ts),
                })
            };
            Rule::Compare(Comparison {
                variable,
                kind,
                op,
                operand,
            })
        })
}

fn leaf() -> impl Strategy<Value = Rule> {
    prop_oneof![
        4 => comparison(),
        1 => (path(), ".*").prop_map(|(variable, pattern)| Rule::Matches { variable, pattern }),
        1 => (path(), prop::sample::select(TypeTest::ALL.to_vec()), any::<bool>())
            .prop_map(|(variable, test, expected)| Rule::Test { variable, test, expected }),
    ]
}

fn rule() -> impl Strategy<Value = Rule> {
    leaf().prop_recursive(5, 40, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 1..5).prop_map(Rule::And),
            prop::collection::vec(inner.clone(), 1..5).prop_map(Rule::Or),
            inner.prop_map(|r| Rule::Not(Box::new(r))),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    /// parse(print(r)) == r for every valid rule, through the JSON form the rest of the operator uses.
    #[test]
    fn print_then_parse_round_trips(r in rule()) {
        let asl = r.to_asl();
        let text = print(&asl).map_err(|e| TestCaseError::fail(format!("print failed: {e}")))?;
        let back = parse(&text).map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
        prop_assert_eq!(&back, &asl, "{}", text);
        prop_assert_eq!(parse_rule(&text).ok(), Some(r));
        // Printing the reparsed rule gives the same text: printing is stable.
        prop_assert_eq!(print(&back).ok(), Some(text));
    }
}

/// Source text made of the language's own pieces, with the variations a user might write (conversions on
/// either side, redundant parentheses, `all`/`any`, `!=`, odd spacing). Most of it is valid.
fn source() -> impl Strategy<Value = String> {
    let string = ".{0,6}".prop_map(|s| Value::String(s).to_string());
    let literal = prop_oneof![
        string.clone(),
        number().prop_map(|n| n.to_string()),
        Just("true".to_string()),
        Just("false".to_string()),
        timestamp().prop_map(|t| format!("timestamp(\"{t}\")")),
    ];
    let cast = prop::sample::select(vec!["string", "number", "boolean", "timestamp"]);
    let op = prop::sample::select(vec!["==", "!=", "<", "<=", ">", ">="]);
    let space = prop::sample::select(vec!["", " ", "  ", "\n"]);
    let atom = prop_oneof![
        3 => (path(), op.clone(), literal, space.clone())
            .prop_map(|(l, op, r, sp)| format!("{l}{sp}{op}{sp}{r}")),
        2 => (cast.clone(), path(), op.clone(), path(), any::<bool>()).prop_map(|(c, l, op, r, left)| {
            if left { format!("{c}({l}) {op} {r}") } else { format!("{l} {op} {c}({r})") }
        }),
        1 => (path(), op, timestamp()).prop_map(|(l, op, t)| format!("timestamp({l}) {op} \"{t}\"")),
        1 => (path(), string).prop_map(|(l, pattern)| format!("{l} like {pattern}")),
        1 => (
            path(),
            prop::sample::select(vec!["is", "is not"]),
            prop::sample::select(vec!["null", "present", "number", "string", "boolean", "timestamp"]),
        )
            .prop_map(|(l, is, t)| format!("{l} {is} {t}")),
    ];
    atom.prop_recursive(4, 24, 3, move |inner| {
        prop_oneof![
            (
                inner.clone(),
                prop::sample::select(vec!["&&", "||"]),
                inner.clone(),
                space.clone()
            )
                .prop_map(|(a, op, b, sp)| format!("{a}{sp}{op} {b}")),
            inner.clone().prop_map(|a| format!("({a})")),
            inner.clone().prop_map(|a| format!("!{a}")),
            inner.clone().prop_map(|a| format!("!({a})")),
            (
                prop::sample::select(vec!["all", "any"]),
                prop::collection::vec(inner, 1..3)
            )
                .prop_map(|(f, v)| format!("{f}({})", v.join(", "))),
        ]
    })
}

/// A source text with one character deleted, replaced or inserted: inputs close to valid ones reach deeper into
/// the parser than random text does.
fn mutated_source() -> impl Strategy<Value = String> {
    (
        source(),
        any::<prop::sample::Index>(),
        0u8..3,
        prop::sample::select(vec![
            '$', '.', '[', ']', '\'', '"', '\\', '(', ')', '!', '=', '<', '&', '|', ',', ' ', '-',
            '5', 'e', 'x', 'é',
        ]),
    )
        .prop_map(|(src, at, mode, c)| {
            let mut chars: Vec<char> = src.chars().collect();
            let i = at.index(chars.len() + 1);
            match mode {
                0 if i < chars.len() => {
                    chars.remove(i);
                }
                1 if i < chars.len() => chars[i] = c,
                _ => chars.insert(i, c),
            }
            chars.into_iter().collect()
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    /// Whatever a user writes, when it parses, printing it reaches a fixpoint after one step.
    #[test]
    fn print_of_parse_is_stable(src in source()) {
        if let Ok(asl) = parse(&src) {
            let once = print(&asl).map_err(|e| TestCaseError::fail(format!("{src}: {e}")))?;
            let reparsed = parse(&once).map_err(|e| TestCaseError::fail(format!("{once}: {e}")))?;
            prop_assert_eq!(&reparsed, &asl);
            prop_assert_eq!(print(&reparsed).ok(), Some(once));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 20_000, ..ProptestConfig::default() })]

    /// Fuzzing stand-in: arbitrary text never panics, and every error has a column inside the input.
    #[test]
    fn arbitrary_text_never_panics(src in prop_oneof![
        ".{0,40}",
        "[$.\\[\\]'\"a-z0-9 =!<>&|(),\\\\{}%-]{0,40}",
        mutated_source(),
    ]) {
        match parse(&src) {
            Ok(asl) => {
                let text = print(&asl).map_err(|e| TestCaseError::fail(format!("{src}: {e}")))?;
                prop_assert_eq!(parse(&text).ok(), Some(asl));
            }
            Err(e) => {
                prop_assert!(e.column >= 1 && e.column <= src.chars().count() + 1, "{}: {}", src, e);
                prop_assert!(!e.message.is_empty());
            }
        }
    }

    /// Arbitrary JSON never panics the printer.
    #[test]
    fn arbitrary_rule_objects_never_panic(v in arbitrary_json()) {
        if let Ok(text) = print(&v) {
            prop_assert!(parse(&text).is_ok(), "{}", text);
        }
    }
}

fn arbitrary_json() -> impl Strategy<Value = Value> {
    let key = prop::sample::select(vec![
        "Variable",
        "And",
        "Or",
        "Not",
        "Next",
        "StringEquals",
        "NumericLessThanPath",
        "IsNull",
        "BooleanEquals",
        "TimestampEquals",
        "StringMatches",
        "Condition",
        "Foo",
    ]);
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i32>().prop_map(|n| json!(n)),
        prop_oneof![path(), ".{0,8}", timestamp()].prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 30, 4, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((key.clone(), inner), 0..4).prop_map(|kv| {
                Value::Object(kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
            }),
        ]
    })
}
