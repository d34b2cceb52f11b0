//! The generated CRDs: committed under `crds/` exactly as the code generates them, structural, carrying
//! exactly the CEL rules of `api::rules` within the API server's cost budget, documented, and — checked
//! with a small structural-schema validator and CEL evaluator (this folder) — accepting every example and
//! rejecting bad manifests with a message naming the field, as `kubectl apply` would.
//!
//! The CEL rules are checked twice: evaluated from the CRD text by `cel.rs`, and through the equivalent
//! Rust functions (`api::validate_state_machine`, `api::validate_task_integration`) the controller uses;
//! a test asserts that both agree on every good and bad manifest here.

use sfn_test_support as support;

mod cel;
mod validator;

use std::collections::BTreeSet;

use serde_json::{Value, json};
use sfn_api::render::{file_name, to_yaml};
use sfn_api::{self as api, rules::cel_rules, schema::structural_problems};

fn crd_json(kind: &str) -> Value {
    let crd = api::crds()
        .into_iter()
        .find(|c| c.spec.names.kind == kind)
        .unwrap_or_else(|| panic!("no CRD for {kind}"));
    serde_json::to_value(crd).unwrap()
}

fn openapi(kind: &str) -> Value {
    crd_json(kind)["spec"]["versions"][0]["schema"]["openAPIV3Schema"].clone()
}

/// What the API server would say about creating `doc` (apiVersion, kind and metadata are checked by the
/// server itself, outside the CRD schema).
fn apply(doc: &Value) -> Vec<String> {
    let kind = doc["kind"].as_str().unwrap();
    let mut body = doc.clone();
    for key in ["apiVersion", "kind", "metadata"] {
        body.as_object_mut().unwrap().remove(key);
    }
    validator::validate(&body, &openapi(kind), "")
}

/// What the Rust rule functions say about `doc`.
fn rust_rules(doc: &Value) -> Vec<String> {
    let spec = doc["spec"].clone();
    let errors = match doc["kind"].as_str().unwrap() {
        "StateMachine" => api::validate_state_machine(&serde_json::from_value(spec).unwrap()),
        "TaskIntegration" => api::validate_task_integration(&serde_json::from_value(spec).unwrap()),
        _ => Vec::new(),
    };
    errors.iter().map(ToString::to_string).collect()
}

fn example_documents() -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for file in support::example_files() {
        let text = std::fs::read_to_string(&file).unwrap();
        let docs: Vec<Value> = serde_saphyr::from_multiple(&text).unwrap();
        for doc in docs {
            let label = format!(
                "{} {} {}",
                file.file_name().unwrap().to_string_lossy(),
                doc["kind"].as_str().unwrap_or("?"),
                doc["metadata"]["name"].as_str().unwrap_or("?")
            );
            out.push((label, doc));
        }
    }
    out
}

fn example(file: &str, kind: &str) -> Value {
    example_documents()
        .into_iter()
        .find(|(label, doc)| label.starts_with(file) && doc["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} in {file}"))
        .1
}

fn set(doc: &mut Value, pointer: &str, value: Value) {
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    let target = doc
        .pointer_mut(parent)
        .unwrap_or_else(|| panic!("{parent}"));
    match target {
        Value::Object(map) => {
            map.insert(key.to_string(), value);
        }
        Value::Array(items) => items[key.parse::<usize>().unwrap()] = value,
        _ => panic!("cannot set {pointer}"),
    }
}

fn remove(doc: &mut Value, pointer: &str) {
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    doc.pointer_mut(parent)
        .and_then(Value::as_object_mut)
        .unwrap()
        .remove(key)
        .unwrap_or_else(|| panic!("{pointer} absent"));
}

#[test]
fn every_example_is_accepted_by_its_crd() {
    let docs = example_documents();
    assert!(docs.len() > 20);
    for (label, doc) in docs {
        let errors = apply(&doc);
        assert!(errors.is_empty(), "{label} rejected: {errors:#?}");
        assert!(rust_rules(&doc).is_empty(), "{label}: Rust rules disagree");
    }
}

/// A bad manifest: how it is made from an example, and what the rejection must mention.
struct Bad {
    what: &'static str,
    base: (&'static str, &'static str),
    edit: fn(&mut Value),
    expect: &'static [&'static str],
    /// Whether the problem is one of the cross-field (CEL) rules, which the Rust checks must also see.
    rule: bool,
}

fn bad_manifests() -> Vec<Bad> {
    vec![
        Bad {
            what: "wrong type",
            base: ("job-poller", "StateMachine"),
            edit: |d| set(d, "/spec/timeoutSeconds", json!("five minutes")),
            expect: &["spec.timeoutSeconds", "must be of type integer"],
            rule: false,
        },
        Bad {
            what: "wrong type deep in a state",
            base: ("job-poller", "StateMachine"),
            edit: |d| {
                set(
                    d,
                    "/spec/definition/states/0/retry",
                    json!({"errorEquals": ["States.ALL"]}),
                )
            },
            expect: &["spec.definition.states[0].retry", "must be of type array"],
            rule: false,
        },
        Bad {
            what: "unknown state type",
            base: ("job-poller", "StateMachine"),
            edit: |d| set(d, "/spec/definition/states/1/type", json!("Sleep")),
            expect: &[
                "spec.definition.states[1].type",
                "Unsupported value: \"Sleep\"",
            ],
            rule: false,
        },
        Bad {
            what: "unknown workflow type",
            base: ("job-poller", "StateMachine"),
            edit: |d| set(d, "/spec/type", json!("FAST")),
            expect: &["spec.type", "Unsupported value"],
            rule: false,
        },
        Bad {
            what: "unknown integration pattern",
            base: ("job-poller", "TaskIntegration"),
            edit: |d| set(d, "/spec/pattern", json!("fireAndForget")),
            expect: &["spec.pattern", "Unsupported value"],
            rule: false,
        },
        Bad {
            what: "unknown alarm statistic",
            base: ("job-poller", "StateMachine"),
            edit: |d| set(d, "/spec/alarms/0/statistic", json!("p99")),
            expect: &["spec.alarms[0].statistic", "Unsupported value"],
            rule: false,
        },
        Bad {
            what: "missing state name",
            base: ("job-poller", "StateMachine"),
            edit: |d| remove(d, "/spec/definition/states/0/name"),
            expect: &["spec.definition.states[0].name: Required value"],
            rule: false,
        },
        Bad {
            what: "missing lambda function ARN",
            base: ("job-poller", "TaskIntegration"),
            edit: |d| remove(d, "/spec/lambda/functionArn"),
            expect: &["spec.lambda.functionArn: Required value"],
            rule: false,
        },
        Bad {
            what: "missing alarm threshold",
            base: ("job-poller", "StateMachine"),
            edit: |d| remove(d, "/spec/alarms/0/threshold"),
            expect: &["spec.alarms[0].threshold: Required value"],
            rule: false,
        },
        Bad {
            what: "state name over 80 characters",
            base: ("job-poller", "StateMachine"),
            edit: |d| set(d, "/spec/definition/states/4/name", json!("x".repeat(81))),
            expect: &["spec.definition.states[4].name", "Too long"],
            rule: false,
        },
        Bad {
            what: "AWS name with a space",
            base: ("job-poller", "StateMachine"),
            edit: |d| set(d, "/spec/name", json!("job poller")),
            expect: &["spec.name", "should match"],
            rule: false,
        },
        Bad {
            what: "unknown field",
            base: ("job-poller", "StateMachine"),
            edit: |d| set(d, "/spec/definition/states/0/resultpath", json!("$.x")),
            expect: &["unknown field \"spec.definition.states[0].resultpath\""],
            rule: false,
        },
        Bad {
            what: "KMS reuse period out of range",
            base: ("definition-json", "StateMachine"),
            edit: |d| set(d, "/spec/encryption/kmsDataKeyReusePeriodSeconds", json!(5)),
            expect: &[
                "spec.encryption.kmsDataKeyReusePeriodSeconds",
                "greater than or equal to 60",
            ],
            rule: false,
        },
        Bad {
            what: "both definition and definitionJson",
            base: ("job-poller", "StateMachine"),
            edit: |d| {
                set(
                    d,
                    "/spec/definitionJson",
                    json!("{\"StartAt\":\"A\",\"States\":{}}"),
                )
            },
            expect: &[
                "spec: Invalid value",
                "exactly one of definition and definitionJson",
            ],
            rule: true,
        },
        Bad {
            what: "neither definition nor definitionJson",
            base: ("job-poller", "StateMachine"),
            edit: |d| remove(d, "/spec/definition"),
            expect: &[
                "spec: Invalid value",
                "exactly one of definition and definitionJson",
            ],
            rule: true,
        },
        Bad {
            what: "roleArn with role settings",
            base: ("definition-json", "StateMachine"),
            edit: |d| {
                set(
                    d,
                    "/spec/role",
                    json!({"permissionsBoundary": "arn:aws:iam::123456789012:policy/boundary"}),
                )
            },
            expect: &["spec: Invalid value", "mutually exclusive"],
            rule: true,
        },
        Bad {
            what: "two service blocks",
            base: ("job-poller", "TaskIntegration"),
            edit: |d| {
                set(
                    d,
                    "/spec/sns",
                    json!({"topicArn": "arn:aws:sns:us-east-1:123456789012:t"}),
                )
            },
            expect: &["spec: Invalid value", "exactly one service block"],
            rule: true,
        },
        Bad {
            what: "no service block",
            base: ("job-poller", "TaskIntegration"),
            edit: |d| remove(d, "/spec/lambda"),
            expect: &["spec: Invalid value", "exactly one service block"],
            rule: true,
        },
        Bad {
            what: "stateMachineRef and stateMachineArn",
            base: ("nested-task-token", "TaskIntegration"),
            edit: |d| {
                set(
                    d,
                    "/spec/stepFunctions/stateMachineArn",
                    json!("arn:aws:states:us-east-1:123456789012:stateMachine:child"),
                )
            },
            expect: &[
                "spec.stepFunctions: Invalid value",
                "stateMachineRef and stateMachineArn",
            ],
            rule: true,
        },
        Bad {
            what: "alias with stateMachineArn",
            base: ("nested-task-token", "TaskIntegration"),
            edit: |d| {
                remove(d, "/spec/stepFunctions/stateMachineRef");
                set(
                    d,
                    "/spec/stepFunctions/stateMachineArn",
                    json!("arn:aws:states:us-east-1:123456789012:stateMachine:child"),
                );
                set(d, "/spec/stepFunctions/alias", json!("live"));
            },
            expect: &[
                "spec.stepFunctions: Invalid value",
                "alias is used with stateMachineRef",
            ],
            rule: true,
        },
        Bad {
            what: "alias name of digits only",
            base: ("nested-task-token", "TaskIntegration"),
            edit: |d| set(d, "/spec/stepFunctions/alias", json!("123")),
            expect: &["spec.stepFunctions.alias", "should match"],
            rule: false,
        },
        Bad {
            what: "activity without ref or ARN",
            base: ("activity", "TaskIntegration"),
            edit: |d| remove(d, "/spec/activity/activityRef"),
            expect: &[
                "spec.activity: Invalid value",
                "activityRef and activityArn",
            ],
            rule: true,
        },
        Bad {
            what: "integration and resource on one state",
            base: ("job-poller", "StateMachine"),
            edit: |d| {
                set(
                    d,
                    "/spec/definition/states/0/resource",
                    json!("arn:aws:states:::lambda:invoke"),
                )
            },
            expect: &[
                "spec.definition.states[0]: Invalid value",
                "integration and resource",
            ],
            rule: true,
        },
        Bad {
            what: "next and end",
            base: ("job-poller", "StateMachine"),
            edit: |d| {
                set(d, "/spec/definition/states/0/next", json!("Wait X Seconds"));
                set(d, "/spec/definition/states/0/end", json!(true));
            },
            expect: &["spec.definition.states[0]: Invalid value", "next and end"],
            rule: true,
        },
        Bad {
            what: "Choice without choices",
            base: ("job-poller", "StateMachine"),
            edit: |d| remove(d, "/spec/definition/states/3/choices"),
            expect: &[
                "spec.definition.states[3]: Invalid value",
                "Choice state needs choices",
            ],
            rule: true,
        },
        Bad {
            what: "choice with condition and rule",
            base: ("job-poller", "StateMachine"),
            edit: |d| {
                set(
                    d,
                    "/spec/definition/states/3/choices/0/rule",
                    json!({"Variable": "$.x", "IsPresent": true}),
                )
            },
            expect: &[
                "spec.definition.states[3].choices[0]: Invalid value",
                "condition and rule",
            ],
            rule: true,
        },
        Bad {
            what: "choice without next or states",
            base: ("job-poller", "StateMachine"),
            edit: |d| remove(d, "/spec/definition/states/3/choices/1/next"),
            expect: &[
                "spec.definition.states[3].choices[1]: Invalid value",
                "next and states",
            ],
            rule: true,
        },
        Bad {
            what: "default and defaultStates",
            base: ("choice-afterwards", "StateMachine"),
            edit: |d| {
                set(
                    d,
                    "/spec/definition/states/0/default",
                    json!("Ship The Item"),
                )
            },
            expect: &[
                "spec.definition.states[0]: Invalid value",
                "default and defaultStates",
            ],
            rule: true,
        },
        Bad {
            what: "fragment state without prefix",
            base: ("fragments", "StateMachine"),
            edit: |d| {
                set(
                    d,
                    "/spec/definition/states/0",
                    json!({"name": "Quick", "type": "Fragment", "fragment": "my-job"}),
                )
            },
            expect: &[
                "spec.definition.states[0]: Invalid value",
                "fragment and prefix",
            ],
            rule: true,
        },
        Bad {
            what: "retention of a log group the operator does not create",
            base: ("jsonata", "StateMachine"),
            edit: |d| set(d, "/spec/logging/retentionInDays", json!(30)),
            expect: &[
                "spec.logging: Invalid value",
                "leave them out with logGroupArn",
            ],
            rule: true,
        },
    ]
}

#[test]
fn bad_manifests_are_rejected_naming_the_field() {
    for bad in bad_manifests() {
        let mut doc = example(bad.base.0, bad.base.1);
        assert!(
            apply(&doc).is_empty(),
            "{}: the base must be valid",
            bad.what
        );
        (bad.edit)(&mut doc);
        let errors = apply(&doc);
        let joined = errors.join("\n");
        for needle in bad.expect {
            assert!(
                joined.contains(needle),
                "{}: expected {needle:?} in:\n{joined}",
                bad.what
            );
        }
        if bad.rule {
            assert!(
                !rust_rules(&doc).is_empty(),
                "{}: the Rust rules accept it",
                bad.what
            );
        }
    }
}

#[test]
fn rust_rule_messages_name_the_field() {
    let mut doc = example("job-poller", "StateMachine");
    set(
        &mut doc,
        "/spec/definition/states/3/choices/0/rule",
        json!({"Variable": "$.x", "IsPresent": true}),
    );
    let errors = rust_rules(&doc);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].starts_with("spec.definition.states[3].choices[0]: state \"Job Complete?\""),
        "{}",
        errors[0]
    );
}

#[test]
fn committed_crds_match_the_code() {
    let dir = support::workspace_root().join("crds");
    let mut expected = BTreeSet::new();
    for crd in api::crds() {
        let name = file_name(&crd);
        let path = dir.join(&name);
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == to_yaml(&crd).unwrap(),
            "crds/{name} is stale or missing; regenerate with `cargo run -p sfn-operator -- crds --out-dir crds`"
        );
        expected.insert(name);
    }
    let present: BTreeSet<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        present, expected,
        "crds/ holds files the code does not generate"
    );
}

#[test]
fn crds_are_structural() {
    for kind in ["StateMachine", "TaskIntegration", "Activity"] {
        let problems = structural_problems(&openapi(kind));
        assert!(problems.is_empty(), "{kind}: {problems:#?}");
        let text = serde_json::to_string(&crd_json(kind)).unwrap();
        for forbidden in [
            "\"$ref\"",
            "\"anyOf\"",
            "\"oneOf\"",
            "\"allOf\"",
            "\"definitions\"",
            "\"uint32\"",
        ] {
            assert!(!text.contains(forbidden), "{kind} CRD contains {forbidden}");
        }
    }
}

#[test]
fn structural_checker_flags_what_the_api_server_refuses() {
    let bad = json!({"type": "object", "properties": {
        "a": {"$ref": "#/definitions/A"},
        "b": {"type": ["string", "null"]},
        "c": {"description": "no type"},
        "d": {"type": "array"},
        "e": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
        "f": {"x-kubernetes-preserve-unknown-fields": true},
    }});
    let problems = structural_problems(&bad).join("\n");
    for needle in [
        ".a: `$ref`",
        ".b: type must be a single string",
        ".c: missing type",
        ".d: array without items",
        ".e: `anyOf`",
    ] {
        assert!(problems.contains(needle), "{needle} in {problems}");
    }
    assert!(!problems.contains(".f:"), "{problems}");

    let mut fixable = json!({"properties": {
        "x": {"type": ["integer", "null"], "format": "uint32", "minimum": 0},
        "y": {"anyOf": [{"type": "string", "enum": ["A", null]}, {"enum": [null], "nullable": true}]},
    }, "additionalProperties": false});
    api::schema::make_structural(&mut fixable);
    assert_eq!(
        fixable,
        json!({"type": "object", "properties": {
            "x": {"type": "integer", "format": "int32", "minimum": 0, "nullable": true},
            "y": {"type": "string", "enum": ["A"], "nullable": true},
        }})
    );
}

/// Every `x-kubernetes-validations` rule with the path of its node (`[*]` for list items).
fn collect_rules(schema: &Value, path: &str, out: &mut Vec<(String, String)>) {
    if let Some(Value::Array(rules)) = schema.get("x-kubernetes-validations") {
        for rule in rules {
            out.push((path.to_string(), rule["rule"].as_str().unwrap().to_string()));
        }
    }
    if let Some(Value::Object(props)) = schema.get("properties") {
        for (name, child) in props {
            collect_rules(child, &format!("{path}.{name}"), out);
        }
    }
    if let Some(items) = schema.get("items") {
        collect_rules(items, &format!("{path}[*]"), out);
    }
}

#[test]
fn crds_carry_exactly_the_rules_of_the_rules_table() {
    let mut in_crds: Vec<(String, String, String)> = Vec::new();
    for kind in ["StateMachine", "TaskIntegration", "Activity"] {
        let mut rules = Vec::new();
        collect_rules(&openapi(kind), "", &mut rules);
        in_crds.extend(rules.into_iter().map(|(p, r)| (kind.to_string(), p, r)));
    }
    let mut table: Vec<(String, String, String)> = cel_rules()
        .into_iter()
        .map(|(k, p, r)| (k.to_string(), p, r.to_string()))
        .collect();
    in_crds.sort();
    table.sort();
    assert_eq!(in_crds, table);
    for (_, _, rule) in &table {
        cel::parse(rule).unwrap_or_else(|e| panic!("{rule}: {e}"));
    }
}

/// The API server estimates each rule's cost times how often it can run; unbounded lists, maps and
/// strings make that estimate explode. Every list and map above a rule must be bounded, and every
/// string property a rule compares must have a maxLength (or be an enum with one).
fn check_bounded(schema: &Value, path: &str, unbounded_above: bool, problems: &mut Vec<String>) {
    let has_rules = schema.get("x-kubernetes-validations").is_some();
    if has_rules && unbounded_above {
        problems.push(format!("{path}: rule below an unbounded list or map"));
    }
    if let Some(Value::Array(rules)) = schema.get("x-kubernetes-validations") {
        for rule in rules.iter().filter_map(|r| r["rule"].as_str()) {
            if let Some(props) = schema.get("properties").and_then(Value::as_object) {
                for (name, prop) in props {
                    let compared = rule.contains(&format!("self.{name} =="))
                        || rule.contains(&format!("self.{name} !="));
                    if compared && prop["type"] == "string" && prop.get("maxLength").is_none() {
                        problems.push(format!(
                            "{path}.{name}: compared in {rule:?} without maxLength"
                        ));
                    }
                }
            }
        }
    }
    if let Some(Value::Object(props)) = schema.get("properties") {
        for (name, child) in props {
            check_bounded(child, &format!("{path}.{name}"), unbounded_above, problems);
        }
    }
    if let Some(items) = schema.get("items") {
        let unbounded = unbounded_above || schema.get("maxItems").is_none();
        check_bounded(items, &format!("{path}[*]"), unbounded, problems);
    }
    if let Some(additional @ Value::Object(_)) = schema.get("additionalProperties") {
        let unbounded = unbounded_above || schema.get("maxProperties").is_none();
        check_bounded(additional, &format!("{path}.*"), unbounded, problems);
    }
}

#[test]
fn rules_stay_within_the_cost_budget() {
    for kind in ["StateMachine", "TaskIntegration", "Activity"] {
        let mut problems = Vec::new();
        check_bounded(&openapi(kind), "", false, &mut problems);
        assert!(problems.is_empty(), "{kind}: {problems:#?}");
    }
    // The typed state lists are what rules iterate most; their bounds are part of the contract.
    let spec = &openapi("StateMachine")["properties"]["spec"]["properties"];
    assert_eq!(spec["definition"]["properties"]["states"]["maxItems"], 500);
    assert_eq!(
        spec["definition"]["properties"]["states"]["items"]["properties"]["name"]["maxLength"],
        80
    );
}

/// Every property of the typed schema has a description (`kubectl explain` shows it).
fn undocumented(schema: &Value, path: &str, out: &mut Vec<String>) {
    if let Some(Value::Object(props)) = schema.get("properties") {
        for (name, child) in props {
            let here = format!("{path}.{name}");
            if child
                .get("description")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .is_empty()
            {
                out.push(here.clone());
            }
            undocumented(child, &here, out);
        }
    }
    if let Some(items) = schema.get("items") {
        undocumented(items, &format!("{path}[*]"), out);
    }
}

#[test]
fn every_field_is_documented() {
    for kind in ["StateMachine", "TaskIntegration", "Activity"] {
        let schema = openapi(kind);
        let mut missing = Vec::new();
        undocumented(&schema["properties"]["spec"], ".spec", &mut missing);
        undocumented(&schema["properties"]["status"], ".status", &mut missing);
        assert!(missing.is_empty(), "{kind}: undocumented {missing:#?}");
        let states =
            &schema["properties"]["spec"]["properties"]["definition"]["properties"]["states"];
        if kind == "StateMachine" {
            assert!(states["description"].as_str().unwrap().contains("in order"));
        }
    }
}

#[test]
fn names_columns_and_status_subresource() {
    let expectations = [
        (
            "StateMachine",
            "statemachines",
            vec!["sfnsm", "sfm"],
            "status.stateMachineArn",
        ),
        (
            "TaskIntegration",
            "taskintegrations",
            vec!["sfnti"],
            "status.resource",
        ),
        (
            "Activity",
            "activities",
            vec!["sfnact"],
            "status.activityArn",
        ),
    ];
    for (kind, plural, short, arn_path) in expectations {
        let crd = crd_json(kind);
        let spec = &crd["spec"];
        assert_eq!(
            crd["metadata"]["name"],
            format!("{plural}.sfn.operator.dev")
        );
        assert_eq!(spec["scope"], "Namespaced");
        assert_eq!(spec["names"]["shortNames"], json!(short));
        assert_eq!(spec["names"]["categories"], json!(["sfn"]));
        let version = &spec["versions"][0];
        assert_eq!(version["name"], "v1alpha1");
        assert_eq!(version["served"], true);
        assert_eq!(version["storage"], true);
        assert!(
            version["subresources"]["status"].is_object(),
            "{kind}: status subresource"
        );
        let columns: Vec<(String, String)> = version["additionalPrinterColumns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["name"].as_str().unwrap().to_string(),
                    c["jsonPath"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        assert!(
            columns.contains(&(
                "Ready".into(),
                ".status.conditions[?(@.type==\"Ready\")].status".into()
            )),
            "{kind}: {columns:?}"
        );
        assert!(
            columns.iter().any(|(_, p)| p == &format!(".{arn_path}")),
            "{kind}: {columns:?}"
        );
        assert!(
            columns.contains(&("Age".into(), ".metadata.creationTimestamp".into())),
            "{kind}"
        );
    }
}

#[test]
fn nullable_paths_accept_null_and_other_fields_do_not() {
    let mut doc = example("job-poller", "StateMachine");
    set(
        &mut doc,
        "/spec/definition/states/0/resultPath",
        Value::Null,
    );
    set(
        &mut doc,
        "/spec/definition/states/2/outputPath",
        Value::Null,
    );
    assert!(apply(&doc).is_empty(), "{:?}", apply(&doc));
    let mut doc = example("job-poller", "StateMachine");
    set(&mut doc, "/spec/definition/states/0/name", Value::Null);
    assert!(
        apply(&doc)
            .join("\n")
            .contains("spec.definition.states[0].name")
    );
}

#[test]
fn wait_seconds_is_int_or_string() {
    let mut doc = example("jsonata", "StateMachine");
    set(&mut doc, "/spec/definition/states/2/seconds", json!(30));
    assert!(apply(&doc).is_empty());
    set(&mut doc, "/spec/definition/states/2/seconds", json!(["30"]));
    assert!(
        apply(&doc)
            .join("\n")
            .contains("spec.definition.states[2].seconds")
    );
}

#[test]
fn cel_evaluator_handles_the_rule_forms() {
    let v = json!({"a": 1, "b": "x", "list": [true, false]});
    assert!(cel::holds("has(self.a) && !has(self.c)", &v).unwrap());
    assert!(cel::holds("self.b == 'x' || self.b == 'y'", &v).unwrap());
    assert!(cel::holds("self.list.exists_one(x, x)", &v).unwrap());
    assert!(!cel::holds("[true, true].exists_one(x, x)", &v).unwrap());
    assert!(cel::holds("self.list.size() == 2 ? true : false", &v).unwrap());
    assert!(cel::holds("has(self.a) != has(self.c)", &v).unwrap());
    assert!(
        cel::parse("self.matches('x')").is_err(),
        "unsupported forms are refused"
    );
    assert!(
        cel::holds("self.c == 1", &v).is_err(),
        "a missing key is an error, as in CEL"
    );
}

#[test]
fn crds_command_output_reads_back_as_the_crds() {
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
    let text = sfn_api::render::all_yaml().unwrap();
    assert_eq!(text.matches("---\n").count(), api::crds().len());
    assert_eq!(api::crds().len(), 5);
    let read: Vec<CustomResourceDefinition> = serde_saphyr::from_multiple(&text).unwrap();
    assert_eq!(read, api::crds());
}

#[test]
fn crd_snapshots() {
    for crd in api::crds() {
        let name = crd.metadata.name.clone().unwrap();
        insta::assert_yaml_snapshot!(name, crd);
    }
}
