//! The examples in `docs/conditions.md` are real: every row of its operator table parses to the ASL shown, and
//! every row of its error table fails with the message shown.

use sfn_test_support as support;

use serde_json::Value;
use sfn_asl::condition::{parse, print};

/// The rows of the first table after `heading`, as the contents of the first two code spans of each row, with
/// the table escape `\|` undone.
fn table_rows(doc: &str, heading: &str) -> Vec<(String, String)> {
    let section = doc
        .split_once(heading)
        .unwrap_or_else(|| panic!("docs/conditions.md has no {heading:?} section"))
        .1;
    let code_span = regex::Regex::new("`([^`]+)`").expect("valid regex");
    section
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .filter_map(|line| {
            let mut spans = code_span
                .captures_iter(line)
                .map(|c| c[1].replace("\\|", "|"));
            Some((spans.next()?, spans.next()?))
        })
        .collect()
}

fn doc() -> String {
    let path = support::workspace_root().join("docs/conditions.md");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn operator_table_is_accurate() {
    let rows = table_rows(&doc(), "## Every operator");
    assert!(
        rows.len() >= 50,
        "operator table has only {} rows",
        rows.len()
    );
    for (expression, asl) in rows {
        let expected: Value = serde_json::from_str(&asl).unwrap_or_else(|e| panic!("{asl}: {e}"));
        let parsed = parse(&expression).unwrap_or_else(|e| panic!("{expression}: {e}"));
        assert_eq!(parsed, expected, "{expression}");
        let printed = print(&parsed).unwrap_or_else(|e| panic!("{expression}: {e}"));
        assert_eq!(parse(&printed).ok(), Some(parsed), "{printed}");
    }
}

#[test]
fn every_asl_operator_is_documented() {
    let doc = doc();
    let mut operators = vec![
        "StringMatches".to_string(),
        "IsNull".into(),
        "IsPresent".into(),
        "IsNumeric".into(),
        "IsString".into(),
        "IsBoolean".into(),
        "IsTimestamp".into(),
        "And".into(),
        "Or".into(),
        "Not".into(),
    ];
    for kind in ["String", "Numeric", "Timestamp"] {
        for op in [
            "Equals",
            "LessThan",
            "GreaterThan",
            "LessThanEquals",
            "GreaterThanEquals",
        ] {
            operators.push(format!("{kind}{op}"));
            operators.push(format!("{kind}{op}Path"));
        }
    }
    operators.push("BooleanEquals".into());
    operators.push("BooleanEqualsPath".into());
    let asl: Vec<String> = table_rows(&doc, "## Every operator")
        .into_iter()
        .map(|(_, asl)| asl)
        .collect();
    for operator in operators {
        let key = format!("\"{operator}\":");
        assert!(
            asl.iter().any(|a| a.contains(&key)),
            "{operator} has no example in docs/conditions.md"
        );
    }
}

#[test]
fn error_table_is_accurate() {
    let rows = table_rows(&doc(), "## Errors");
    assert!(rows.len() >= 10, "error table has only {} rows", rows.len());
    for (condition, message) in rows {
        match parse(&condition) {
            Ok(rule) => panic!("{condition} parses to {rule}, the docs say it fails"),
            Err(e) => assert_eq!(e.to_string(), message, "{condition}"),
        }
    }
}
