//! Agreement of the simulator with executions recorded on real AWS (`shared/reference/sfn-executions`): each
//! case's status and output, or error and cause, must match, with the snapshot placeholders of the recording
//! (`<ArnPart_0idx>`, `date`, account `111111111111`, ...) matching anything in their place. Prints the
//! agreement per category and fails below the floor reached by the implementation.

use sfn_test_support as support;

use std::collections::BTreeMap;

use serde_json::Value;
use sfn_simulate::{Mocks, Options, Status, simulate};

/// The agreement reached (153/153 would be 100 %); the test fails below it so that regressions show.
const MIN_AGREEMENT_PERCENT: f64 = 100.0;

/// Whole values that the snapshot tooling substituted for non-deterministic data.
const ANY_VALUE: &[&str] = &[
    "date",
    "timestamp",
    "start-time",
    "entered-time",
    "RandomNumberGenerated",
    "snf_role_arn",
];

fn placeholder_regex(expected: &str) -> Option<regex::Regex> {
    let token =
        regex::Regex::new(r"<[A-Za-z_]+(:\d+)?[A-Za-z_0-9]*>|111111111111|\bdate\b").ok()?;
    if !token.is_match(expected) {
        return None;
    }
    let mut pattern = String::from("^");
    let mut last = 0;
    for m in token.find_iter(expected) {
        pattern.push_str(&regex::escape(&expected[last..m.start()]));
        pattern.push_str(match m.as_str() {
            "111111111111" => r"\d{12}",
            "date" => r"(date|\d{4}-\d{2}-\d{2}T[0-9:.]+(Z|[+-]\d{2}:?\d{2})?)",
            _ => ".*?",
        });
        last = m.end();
    }
    pattern.push_str(&regex::escape(&expected[last..]));
    pattern.push('$');
    regex::Regex::new(&pattern).ok()
}

fn matches(expected: &Value, actual: &Value) -> bool {
    match (expected, actual) {
        (Value::String(e), _) if ANY_VALUE.contains(&e.as_str()) => true,
        (Value::String(e), Value::String(a)) => {
            e == a || placeholder_regex(e).is_some_and(|re| re.is_match(a))
        }
        (Value::Number(e), Value::Number(a)) => e.as_f64() == a.as_f64(),
        (Value::Array(e), Value::Array(a)) => {
            e.len() == a.len() && e.iter().zip(a).all(|(x, y)| matches(x, y))
        }
        (Value::Object(e), Value::Object(a)) => {
            e.len() == a.len()
                && e.iter()
                    .all(|(k, v)| a.get(k).is_some_and(|w| matches(v, w)))
        }
        _ => expected == actual,
    }
}

fn opt_matches(expected: Option<&Value>, actual: Option<&str>) -> bool {
    match (expected, actual) {
        (None | Some(Value::Null), None) => true,
        (Some(e), Some(a)) => matches(e, &Value::String(a.to_string())),
        _ => false,
    }
}

/// A recorded event field: objects were parsed by the recording tool, arrays and scalars kept as JSON text.
fn recorded_field(v: &Value) -> Value {
    match v {
        Value::String(s) => serde_json::from_str(s).unwrap_or_else(|_| v.clone()),
        other => other.clone(),
    }
}

/// Compares the simulated history with the recorded one, when the case has a history recorded in AWS's
/// order (Parallel blocks re-sorted by the recording tool are skipped): the same event types, and for every
/// state the same input, output and assigned variables. `Err` names the first difference.
fn compare_history(case: &Value, exec: &sfn_simulate::Execution) -> Option<Result<(), String>> {
    let recorded = case["history"].as_array()?;
    let resorted = case["notes"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|n| n.as_str().is_some_and(|n| n.contains("re-sorted")));
    if resorted {
        return None;
    }
    let types = |events: &[Value]| -> Vec<String> {
        events
            .iter()
            .map(|e| e["type"].as_str().unwrap_or_default().to_string())
            .collect()
    };
    if types(recorded) != types(&exec.history) {
        return Some(Err(format!(
            "history event types differ:\n   recorded  {:?}\n   simulated {:?}",
            types(recorded),
            types(&exec.history)
        )));
    }
    for (want, got) in recorded.iter().zip(&exec.history) {
        for (details, field) in [
            ("stateEnteredEventDetails", "input"),
            ("stateExitedEventDetails", "output"),
        ] {
            let w = &want[details][field];
            if w.is_null() {
                continue;
            }
            if !matches(&recorded_field(w), &recorded_field(&got[details][field])) {
                return Some(Err(format!(
                    "event {}: {details}.{field} differs: recorded {w}, simulated {}",
                    want["id"], got[details][field]
                )));
            }
        }
        let (w, g) = (
            &want["stateExitedEventDetails"]["assignedVariables"],
            &got["stateExitedEventDetails"]["assignedVariables"],
        );
        let same = match (w, g) {
            (Value::Null, Value::Null) => true,
            (Value::Object(w), Value::Object(g)) => {
                w.len() == g.len()
                    && w.iter().all(|(k, wv)| {
                        // Variable values are JSON text; the recording tool parsed those starting with '{'.
                        let gv = g.get(k).map(recorded_field).unwrap_or(Value::Null);
                        matches(&recorded_field(wv), &gv)
                    })
            }
            _ => false,
        };
        if !same {
            return Some(Err(format!(
                "event {}: assignedVariables differ: recorded {w}, simulated {g}",
                want["id"]
            )));
        }
    }
    Some(Ok(()))
}

/// Runs one case; `Err` describes the disagreement. The flag says whether the history's event types
/// matched (`None` when the case has no comparable history).
fn run_case(case: &Value) -> Result<Option<bool>, String> {
    let definition = match &case["definition"] {
        Value::String(s) => serde_json::from_str(s).map_err(|e| format!("definition: {e}"))?,
        other => other.clone(),
    };
    let expected = &case["expected"];
    let exec = simulate(
        &definition,
        &case["input"],
        &Mocks::new(),
        &Options::default(),
    )
    .map_err(|e| format!("simulation error: {e}"))?;
    let history_match = compare_history(case, &exec).map(|r| {
        if let Err(why) = &r {
            println!("HISTORY {why}");
        }
        r.is_ok()
    });
    let status = match exec.status {
        Status::Succeeded => "SUCCEEDED",
        Status::Failed => "FAILED",
    };
    if expected["status"] != status {
        return Err(format!(
            "status {status} (error {:?}, cause {:?}, output {:?}), expected {}",
            exec.error, exec.cause, exec.output, expected
        ));
    }
    match exec.status {
        Status::Succeeded => {
            let out = exec.output.unwrap_or(Value::Null);
            if !matches(&expected["output"], &out) {
                return Err(format!("output {out}\n   expected {}", expected["output"]));
            }
        }
        Status::Failed => {
            if !opt_matches(expected.get("error"), exec.error.as_deref())
                || !opt_matches(expected.get("cause"), exec.cause.as_deref())
            {
                return Err(format!(
                    "error {:?} cause {:?}\n   expected {}",
                    exec.error, exec.cause, expected
                ));
            }
        }
    }
    Ok(history_match)
}

#[test]
fn agrees_with_recorded_aws_executions() {
    let dir = support::shared_reference_dir().join("sfn-executions");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 150,
        "expected the 153 reference executions in {}",
        dir.display()
    );
    let mut per_category: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut disagreements = Vec::new();
    let (mut histories, mut histories_matching) = (0, 0);
    for file in &files {
        let name = file.file_stem().unwrap().to_string_lossy().to_string();
        let category = name.split("__").next().unwrap_or("other").to_string();
        let case: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
        let outcome = std::panic::catch_unwind(|| run_case(&case))
            .unwrap_or_else(|_| Err("the simulator panicked".into()));
        let entry = per_category.entry(category).or_default();
        entry.1 += 1;
        match outcome {
            Ok(h) => {
                entry.0 += 1;
                if let Some(m) = h {
                    histories += 1;
                    if m {
                        histories_matching += 1;
                    } else {
                        disagreements.push(format!("{name}: history differs"));
                    }
                }
            }
            Err(why) => disagreements.push(format!("{name}: {why}")),
        }
    }
    let (agreed, total) = per_category
        .values()
        .fold((0, 0), |(a, t), (x, y)| (a + x, t + y));
    println!("category             agreed/total");
    for (cat, (a, t)) in &per_category {
        println!(
            "{cat:<20} {a:>3}/{t:<3} {:>6.1} %",
            *a as f64 * 100.0 / *t as f64
        );
    }
    let pct = agreed as f64 * 100.0 / total as f64;
    println!("{:<20} {agreed:>3}/{total:<3} {pct:>6.1} %", "total");
    println!(
        "histories identical (event types, state inputs/outputs, assigned variables): {histories_matching}/{histories}"
    );
    for d in &disagreements {
        println!("DISAGREES {d}");
    }
    assert!(
        pct >= MIN_AGREEMENT_PERCENT,
        "agreement {pct:.1} % is below {MIN_AGREEMENT_PERCENT} %"
    );
    // Event ids appear in AWS's error causes ("entered at the event id #4"), so the event sequence matters.
    assert!(histories >= 100, "only {histories} comparable histories");
    assert_eq!(histories_matching, histories, "histories differ");
}

#[test]
fn placeholder_matching_is_strict_outside_placeholders() {
    let e = Value::String(
        "arn:<partition>:states:<region>:111111111111:stateMachine:<ArnPart_0idx>".into(),
    );
    assert!(matches(
        &e,
        &Value::String("arn:aws:states:us-east-1:123456789012:stateMachine:sm".into())
    ));
    assert!(!matches(
        &e,
        &Value::String("arn:aws:lambda:us-east-1:123456789012:function:sm".into())
    ));
    assert!(matches(&Value::String("date".into()), &Value::from(3)));
    assert!(!matches(
        &serde_json::json!({"a": 1}),
        &serde_json::json!({"a": 1, "b": 2})
    ));
}

/// Collects every string of `v` that is written as a JSONata expression.
fn jsonata_strings<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::String(s) if s.starts_with("{%") => out.push(s),
        Value::Array(a) => a.iter().for_each(|x| jsonata_strings(x, out)),
        Value::Object(o) => o.values().for_each(|x| jsonata_strings(x, out)),
        _ => {}
    }
}

/// AWS accepted every recorded definition at CreateStateMachine, so the validator's JSONata check (the same
/// parser the simulator evaluates with) must accept each expression in them, including those on branches the
/// execution never took.
#[test]
fn every_recorded_jsonata_expression_parses() {
    let dir = support::shared_reference_dir().join("sfn-executions");
    let (mut cases, mut expressions, mut refused) = (0, 0, Vec::new());
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|x| x != "json") {
            continue;
        }
        let case: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let mut found = Vec::new();
        jsonata_strings(&case["definition"], &mut found);
        cases += usize::from(!found.is_empty());
        for s in found {
            expressions += 1;
            if let Err(e) = sfn_asl::paths::check_jsonata(s) {
                refused.push(format!("{}: {e}", path.display()));
            }
        }
    }
    println!("{expressions} JSONata expressions in {cases} recorded definitions");
    assert!(expressions >= 50, "expected the recorded JSONata cases");
    assert!(refused.is_empty(), "refused:\n{}", refused.join("\n"));
}
