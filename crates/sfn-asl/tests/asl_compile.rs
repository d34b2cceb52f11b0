//! The compiler on typed manifests: chaining, inline Choice chains, fragments, nested scopes, integrations
//! (resource, parameters, retry, patterns, task token), references, and errors that name state and field.

use std::path::Path;

use serde_json::{Value, json};
use sfn_api::StateMachineSpec;
use sfn_api::manifest;
use sfn_asl::bundle::compile_in_bundle;
use sfn_asl::{CompileErrors, Compiled, NoReferences, RefKind, compile_state_machine};

/// Compiles the (single) StateMachine in `yaml`, resolving against the other objects in it.
fn compile(yaml: &str) -> Result<Compiled, CompileErrors> {
    let bundle = manifest::load_str(Path::new("test.yaml"), yaml).expect("manifest loads");
    assert_eq!(bundle.state_machines.len(), 1);
    compile_in_bundle(
        &bundle.state_machines[0],
        &bundle,
        "123456789012",
        "us-east-1",
    )
}

fn ok(yaml: &str) -> Value {
    match compile(yaml) {
        Ok(c) => c.json,
        Err(e) => panic!("compile failed:\n{e}"),
    }
}

#[track_caller]
fn err(yaml: &str, needle: &str) -> CompileErrors {
    match compile(yaml) {
        Ok(c) => panic!(
            "expected an error containing {needle:?}, compiled to {}",
            c.json
        ),
        Err(e) => {
            assert!(
                e.to_string().contains(needle),
                "expected {needle:?} in:\n{e}"
            );
            e
        }
    }
}

fn machine(states: &str) -> String {
    format!(
        "apiVersion: sfn.operator.dev/v1alpha1\nkind: StateMachine\nmetadata: {{name: m, namespace: demo}}\nspec:\n  definition:\n    states:\n{}",
        indent(states, 6)
    )
}

fn indent(s: &str, n: usize) -> String {
    let pad = " ".repeat(n);
    s.lines().map(|l| format!("{pad}{l}\n")).collect()
}

const LAMBDA: &str = r#"
apiVersion: sfn.operator.dev/v1alpha1
kind: TaskIntegration
metadata: {name: fn, namespace: demo}
spec:
  lambda: {functionArn: "arn:aws:lambda:us-east-1:123456789012:function:F"}
  parameters: {Payload.$: "$", FunctionName: overridden-below}
  retry: [{errorEquals: [Lambda.ServiceException], maxAttempts: 2}]
"#;

#[test]
fn ordered_lists_chain_and_the_last_state_ends() {
    let asl = ok(&machine(
        "- {name: A, type: Pass}\n- {name: B, type: Wait, seconds: 1}\n- {name: C, type: Pass}",
    ));
    assert_eq!(asl["StartAt"], "A");
    assert_eq!(asl["States"]["A"]["Next"], "B");
    assert_eq!(asl["States"]["B"]["Next"], "C");
    assert_eq!(asl["States"]["C"]["End"], true);
    let explicit = ok(&machine(
        "- {name: A, type: Pass, next: C}\n- {name: B, type: Pass, end: true}\n- {name: C, type: Pass, next: B}",
    ));
    assert_eq!(explicit["States"]["A"]["Next"], "C");
    assert_eq!(explicit["States"]["B"]["End"], true);
}

#[test]
fn inline_choice_chains_join_the_state_after_the_choice() {
    let asl = ok(&machine(
        r#"- name: Is it big?
  type: Choice
  choices:
    - condition: $.size > 10
      states:
        - {name: Big 1, type: Pass}
        - {name: Big 2, type: Pass}
  defaultStates:
    - {name: Small, type: Pass}
- {name: Ship, type: Succeed}"#,
    ));
    let s = &asl["States"];
    assert_eq!(s["Is it big?"]["Choices"][0]["Next"], "Big 1");
    assert_eq!(s["Is it big?"]["Choices"][0]["NumericGreaterThan"], 10);
    assert_eq!(s["Is it big?"]["Default"], "Small");
    assert_eq!(s["Big 1"]["Next"], "Big 2");
    assert_eq!(s["Big 2"]["Next"], "Ship");
    assert_eq!(s["Small"]["Next"], "Ship");
    // The inline states follow their Choice in the emitted document.
    let order: Vec<&String> = s.as_object().unwrap().keys().collect();
    assert_eq!(order, ["Is it big?", "Big 1", "Big 2", "Small", "Ship"]);
    // A Choice's own `next` names the join point.
    let joined = ok(&machine(
        "- name: C\n  type: Choice\n  next: End\n  choices: [{condition: '$.a == 1', states: [{name: X, type: Pass}]}]\n  default: End\n- {name: End, type: Succeed}",
    ));
    assert_eq!(joined["States"]["X"]["Next"], "End");
    assert!(joined["States"]["C"].get("Next").is_none());
}

#[test]
fn fragments_are_instantiated_with_prefixes() {
    let yaml = r#"apiVersion: sfn.operator.dev/v1alpha1
kind: StateMachine
metadata: {name: m, namespace: demo}
spec:
  fragments:
    - name: job
      states:
        - {name: Start, type: Pass}
        - name: Pick
          type: Choice
          choices: [{condition: '$.fast == true', next: Done}]
          default: Start
        - {name: Done, type: Pass}
  definition:
    states:
      - {name: Quick, type: Fragment, fragment: job, prefix: "Quick: "}
      - {name: Slow, type: Fragment, fragment: job, prefix: "Slow: "}
      - {name: Finish, type: Succeed}
"#;
    let asl = ok(yaml);
    let s = &asl["States"];
    assert_eq!(asl["StartAt"], "Quick: Start");
    assert_eq!(s["Quick: Start"]["Next"], "Quick: Pick");
    assert_eq!(s["Quick: Pick"]["Choices"][0]["Next"], "Quick: Done");
    assert_eq!(s["Quick: Pick"]["Default"], "Quick: Start");
    assert_eq!(s["Quick: Done"]["Next"], "Slow: Start");
    assert_eq!(s["Slow: Done"]["Next"], "Finish");
    let clash = yaml.replace("prefix: \"Slow: \"", "prefix: \"Quick: \"");
    err(&clash, "\"Quick: Start\" is defined twice");
    err(
        &yaml.replace(
            "fragment: job, prefix: \"Slow",
            "fragment: nope, prefix: \"Slow",
        ),
        "no fragment named \"nope\"",
    );
    // An instance's `next` is where the fragment leads, instead of the following item.
    let routed = r#"apiVersion: sfn.operator.dev/v1alpha1
kind: StateMachine
metadata: {name: m, namespace: demo}
spec:
  fragments:
    - name: step
      states: [{name: Work, type: Pass}, {name: Check, type: Pass}]
  definition:
    states:
      - name: Pick
        type: Choice
        choices: [{condition: '$.fast == true', next: Fast Work}]
        default: Other
      - {name: Fast, type: Fragment, fragment: step, prefix: "Fast ", next: Done}
      - {name: Other, type: Pass}
      - {name: Done, type: Succeed}
"#;
    let asl = ok(routed);
    assert_eq!(asl["States"]["Fast Check"]["Next"], "Done");
    assert_eq!(asl["States"]["Other"]["Next"], "Done");
    // A fragment that includes itself, even through a nested list, is an error rather than a loop.
    let recursive = yaml.replace(
        "        - {name: Done, type: Pass}",
        "        - {name: Done, type: Pass}\n        - {name: Again, type: Map, itemProcessor: {states: [{name: Inner, type: Fragment, fragment: job, prefix: x-}]}}",
    );
    err(&recursive, "fragment \"job\" includes itself");
}

#[test]
fn parallel_and_map_are_self_contained_scopes() {
    let asl = ok(&machine(
        r#"- name: Both
  type: Parallel
  branches:
    - states: [{name: L1, type: Pass}, {name: L2, type: Pass}]
    - states: [{name: R1, type: Succeed}]
- name: Each
  type: Map
  itemsPath: $.items
  maxConcurrency: 2
  itemProcessor:
    states: [{name: Item, type: Pass}]
- {name: Done, type: Succeed}"#,
    ));
    let s = &asl["States"];
    assert_eq!(s["Both"]["Branches"][0]["StartAt"], "L1");
    assert_eq!(s["Both"]["Branches"][0]["States"]["L2"]["End"], true);
    assert_eq!(s["Both"]["Next"], "Each");
    assert_eq!(s["Each"]["ItemProcessor"]["States"]["Item"]["End"], true);
    assert_eq!(s["Each"]["Next"], "Done");
    // A nested state that is not a state: reported with its position and the enclosing state. (The
    // manifest loader rejects it too; objects from the API server reach the compiler unchecked.)
    let spec: StateMachineSpec = serde_json::from_value(json!({"definition": {"states": [
        {"name": "Both", "type": "Parallel", "branches": [{"states": [{"name": "L1", "type": "Pas"}]}]}
    ]}}))
    .unwrap();
    let e = compile_state_machine(&spec, &NoReferences).unwrap_err();
    assert!(
        e.to_string()
            .contains("states[0] (state \"L1\") is not a valid state"),
        "{e}"
    );
    assert_eq!(e.diagnostics[0].state.as_deref(), Some("Both"));
    assert_eq!(e.diagnostics[0].pointer, "/States/Both/Branches/0");
    // Jumping out of a branch is an error of the branch's scope.
    err(
        &machine(
            "- name: Both\n  type: Parallel\n  branches:\n    - states: [{name: L1, type: Pass, next: Done}]\n- {name: Done, type: Succeed}",
        ),
        "\"Done\" does not name a state in this scope",
    );
}

#[test]
fn integrations_give_resource_parameters_and_retry() {
    let yaml = format!(
        "{LAMBDA}---\n{}",
        machine(
            "- name: Call\n  type: Task\n  integration: fn\n  parameters: {FunctionName: \"arn:aws:lambda:us-east-1:123456789012:function:G\"}"
        )
    );
    let asl = ok(&yaml);
    let call = &asl["States"]["Call"];
    assert_eq!(call["Resource"], "arn:aws:states:::lambda:invoke");
    assert_eq!(
        call["Parameters"],
        json!({"Payload.$": "$", "FunctionName": "arn:aws:lambda:us-east-1:123456789012:function:G"})
    );
    assert_eq!(
        call["Retry"][0]["ErrorEquals"][0],
        "Lambda.ServiceException"
    );
    // The state's own retry replaces the integration's.
    let own = yaml.replace(
        "parameters: {FunctionName",
        "retry: [{errorEquals: [States.ALL]}]\n        parameters: {FunctionName",
    );
    assert_eq!(
        ok(&own)["States"]["Call"]["Retry"][0]["ErrorEquals"][0],
        "States.ALL"
    );
}

#[test]
fn missing_references_are_reported_apart_from_invalid_definitions() {
    let e = err(
        &machine("- {name: Call, type: Task, integration: nowhere}"),
        "TaskIntegration \"nowhere\" not found",
    );
    assert!(e.is_reference_not_found());
    assert_eq!(e.reason(), "ReferenceNotFound");
    assert_eq!(e.missing[0].kind, RefKind::TaskIntegration);
    assert_eq!(e.missing[0].state, "Call");
    let child = r#"apiVersion: sfn.operator.dev/v1alpha1
kind: TaskIntegration
metadata: {name: run-child, namespace: demo}
spec:
  stepFunctions: {stateMachineRef: {name: child}}
  pattern: sync
"#;
    let e = err(
        &format!(
            "{child}---\n{}",
            machine("- {name: Run, type: Task, integration: run-child}")
        ),
        "StateMachine \"child\" not found",
    );
    assert!(e.is_reference_not_found());
    let invalid = err(
        &machine("- {name: Call, type: Task, integration: nowhere, result: 1}"),
        "Result",
    );
    assert_eq!(invalid.reason(), "InvalidSpec");
}

#[test]
fn an_alias_target_compiles_to_the_alias_arn_or_names_the_missing_alias() {
    let manifests = |aliases: &str| {
        format!(
            r#"apiVersion: sfn.operator.dev/v1alpha1
kind: StateMachine
metadata: {{name: child, namespace: demo}}
spec:
  aliases: {aliases}
  definition:
    states:
      - {{name: Done, type: Succeed}}
---
apiVersion: sfn.operator.dev/v1alpha1
kind: TaskIntegration
metadata: {{name: run-live, namespace: demo}}
spec:
  stepFunctions: {{stateMachineRef: {{name: child}}, alias: live}}
  pattern: sync
---
{}"#,
            machine("- {name: Run, type: Task, integration: run-live}")
        )
    };
    let compile_parent = |text: &str| {
        let bundle = manifest::load_str(Path::new("test.yaml"), text).expect("manifest loads");
        let parent = bundle
            .state_machines
            .iter()
            .find(|m| m.metadata.name.as_deref() == Some("m"))
            .expect("the parent");
        compile_in_bundle(parent, &bundle, "123456789012", "us-east-1")
    };
    let asl = compile_parent(&manifests("[{name: live}]"))
        .expect("compiles")
        .json;
    assert_eq!(
        asl["States"]["Run"]["Parameters"]["StateMachineArn"],
        "arn:aws:states:us-east-1:123456789012:stateMachine:demo-child:live"
    );
    assert_eq!(
        asl["States"]["Run"]["Resource"],
        "arn:aws:states:::states:startExecution.sync:2"
    );
    let e = compile_parent(&manifests("[{name: prod}]")).unwrap_err();
    assert!(e.is_reference_not_found(), "{e}");
    assert_eq!(e.missing[0].kind, RefKind::StateMachine);
    assert_eq!(e.missing[0].name, "child");
    assert_eq!(
        e.to_string(),
        "state \"Run\" (/States/Run): TaskIntegration \"run-live\", field spec.stepFunctions.alias: \
         StateMachine \"child\" declares no alias \"live\" (add it to its spec.aliases)"
    );
}

#[test]
fn patterns_are_checked_against_the_service() {
    let sync_lambda = LAMBDA.replace("retry:", "pattern: sync\n  retry:");
    err(
        &format!(
            "{sync_lambda}---\n{}",
            machine("- {name: Call, type: Task, integration: fn}")
        ),
        "lambda does not support the sync pattern",
    );
    let token = LAMBDA.replace("retry:", "pattern: waitForTaskToken\n  retry:");
    // AWS creates and runs a callback task that passes no token (it waits until its timeout): a warning.
    let without_token = compile(&format!(
        "{token}---\n{}",
        machine("- {name: Call, type: Task, integration: fn}")
    ))
    .expect("a callback task without a token still compiles");
    let w = &without_token.warnings[0];
    assert_eq!(w.code, sfn_asl::Code::MissingTaskToken);
    assert_eq!(w.severity, sfn_asl::Severity::Warning);
    assert_eq!(w.field.as_deref(), Some("Parameters"));
    assert!(w.message.contains("needs the task token"), "{w}");
    let with_token = format!(
        "{token}---\n{}",
        machine(
            "- name: Call\n  type: Task\n  integration: fn\n  parameters: {Payload: {token.$: $$.Task.Token}}"
        )
    );
    assert_eq!(
        ok(&with_token)["States"]["Call"]["Resource"],
        "arn:aws:states:::lambda:invoke.waitForTaskToken"
    );
}

#[test]
fn errors_name_the_state_and_the_field() {
    let e = err(
        &machine("- {name: Wait here, type: Wait, seconds: 5, result: {a: 1}}"),
        "not valid in a Wait state",
    );
    let d = &e.diagnostics[0];
    assert_eq!(d.state.as_deref(), Some("Wait here"));
    assert_eq!(d.field.as_deref(), Some("Result"));
    assert_eq!(d.pointer, "/States/Wait here/Result");
    let e = err(
        &machine("- {name: P, type: Pass, integration: fn}"),
        "field integration is not valid in a Pass state",
    );
    assert_eq!(e.diagnostics[0].field.as_deref(), Some("integration"));
    let e = err(
        &machine(
            "- name: C\n  type: Choice\n  choices: [{condition: '$.a == ', next: D}]\n- {name: D, type: Succeed}",
        ),
        "column",
    );
    assert_eq!(e.diagnostics[0].pointer, "/States/C/Choices/0");
    assert_eq!(e.diagnostics[0].field.as_deref(), Some("condition"));
}

#[test]
fn jsonata_conditions_and_arguments_pass_through() {
    let yaml = format!(
        "{LAMBDA}---\n{}",
        "apiVersion: sfn.operator.dev/v1alpha1\nkind: StateMachine\nmetadata: {name: m, namespace: demo}\nspec:\n  definition:\n    queryLanguage: JSONata\n    states:\n      - {name: Call, type: Task, integration: fn, arguments: {Payload: '{% $states.input %}'}}\n      - name: C\n        type: Choice\n        choices: [{condition: '{% $states.input.ok %}', next: D}]\n        default: D\n      - {name: D, type: Succeed}\n"
    );
    let yaml = yaml.replace(
        "parameters: {Payload.$: \"$\", FunctionName: overridden-below}",
        "parameters: {}",
    );
    let asl = ok(&yaml);
    assert_eq!(
        asl["States"]["C"]["Choices"][0]["Condition"],
        "{% $states.input.ok %}"
    );
    assert_eq!(
        asl["States"]["Call"]["Arguments"],
        json!({"FunctionName": "arn:aws:lambda:us-east-1:123456789012:function:F", "Payload": "{% $states.input %}"})
    );
    assert!(asl["States"]["Call"].get("Parameters").is_none());
}

#[test]
fn definition_json_goes_through_the_same_validator() {
    let good = r#"apiVersion: sfn.operator.dev/v1alpha1
kind: StateMachine
metadata: {name: m, namespace: demo}
spec:
  timeoutSeconds: 60
  definitionJson: '{"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}}'
"#;
    let asl = ok(good);
    assert_eq!(asl["TimeoutSeconds"], 60);
    let bad = good.replace("\"End\": true", "\"Next\": \"B\"");
    err(&bad, "\"B\" does not name a state");
    err(
        &good.replace("{\"StartAt\"", "{{\"StartAt\""),
        "definitionJson is not valid JSON",
    );
}
