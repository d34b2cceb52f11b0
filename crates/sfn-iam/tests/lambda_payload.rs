//! Lambda payload semantics of a TaskIntegration: `lambda:invoke` passes the state input as `Payload` unless the
//! state says otherwise (JSONPath and JSONata), and `payloadResponseOnly` calls the function ARN directly so the
//! task result is the function's own answer.

use std::path::Path;

use serde_json::{Value, json};
use sfn_api::manifest;
use sfn_asl::bundle::offline_resolver;
use sfn_asl::{CompileErrors, compile_state_machine};
use sfn_iam::{self as iam, RoleContext};

fn compile(integration: &str, definition: &str) -> Result<Value, CompileErrors> {
    let yaml = format!(
        "apiVersion: sfn.operator.dev/v1alpha1\nkind: TaskIntegration\nmetadata: {{name: fn, namespace: demo}}\nspec:\n{integration}\n---\napiVersion: sfn.operator.dev/v1alpha1\nkind: StateMachine\nmetadata: {{name: m, namespace: demo}}\nspec:\n  definition:\n{definition}"
    );
    let bundle = manifest::load_str(Path::new("test.yaml"), &yaml).expect("manifest loads");
    let resolver = offline_resolver(&bundle, "demo", "123456789012", "us-east-1");
    compile_state_machine(&bundle.state_machines[0].spec, &resolver).map(|c| c.json)
}

const INVOKE: &str = "  lambda: {functionArn: 'arn:aws:lambda:us-east-1:123456789012:function:F'}";
const DIRECT: &str = "  lambda: {functionArn: 'arn:aws:lambda:us-east-1:123456789012:function:F', qualifier: live, payloadResponseOnly: true}";

#[test]
fn invoke_passes_the_whole_input_by_default() {
    let asl = compile(
        INVOKE,
        "    states:\n      - {name: Call, type: Task, integration: fn}\n",
    )
    .unwrap();
    assert_eq!(
        asl["States"]["Call"]["Resource"],
        "arn:aws:states:::lambda:invoke"
    );
    assert_eq!(
        asl["States"]["Call"]["Parameters"],
        json!({"FunctionName": "arn:aws:lambda:us-east-1:123456789012:function:F", "Payload.$": "$"})
    );
}

#[test]
fn a_payload_of_the_state_is_kept() {
    for (params, expected) in [
        ("{Payload: {a: 1}}", json!({"a": 1})),
        ("{'Payload.$': '$.x'}", json!("$.x")),
    ] {
        let asl = compile(
            INVOKE,
            &format!("    states:\n      - {{name: Call, type: Task, integration: fn, parameters: {params}}}\n"),
        )
        .unwrap();
        let p = asl["States"]["Call"]["Parameters"].as_object().unwrap();
        let payload = p.get("Payload").or_else(|| p.get("Payload.$")).unwrap();
        assert_eq!(payload, &expected, "{params}");
        assert_eq!(p.len(), 2, "no second payload key in {p:?}");
    }
}

#[test]
fn jsonata_states_get_the_input_as_an_expression() {
    let asl = compile(
        INVOKE,
        "    queryLanguage: JSONata\n    states:\n      - {name: Call, type: Task, integration: fn}\n",
    )
    .unwrap();
    assert_eq!(
        asl["States"]["Call"]["Arguments"]["Payload"],
        "{% $states.input %}"
    );
    assert!(asl["States"]["Call"].get("Parameters").is_none());
    let asl = compile(
        INVOKE,
        "    queryLanguage: JSONata\n    states:\n      - {name: Call, type: Task, integration: fn, arguments: {Payload: '{% $states.input.x %}'}}\n",
    )
    .unwrap();
    assert_eq!(
        asl["States"]["Call"]["Arguments"]["Payload"],
        "{% $states.input.x %}"
    );
}

#[test]
fn payload_response_only_uses_the_qualified_function_arn() {
    let asl = compile(
        DIRECT,
        "    states:\n      - {name: Call, type: Task, integration: fn}\n",
    )
    .unwrap();
    let call = &asl["States"]["Call"];
    assert_eq!(
        call["Resource"],
        "arn:aws:lambda:us-east-1:123456789012:function:F:live"
    );
    assert!(call.get("Parameters").is_none(), "{call}");
    // The role may invoke exactly that function (and its versions).
    let policy = iam::derive(&asl, &RoleContext::new("us-east-1", "123456789012", "m")).unwrap();
    let st = &policy.statements[0].statement;
    assert_eq!(st.actions, vec!["lambda:InvokeFunction".to_string()]);
    assert!(
        st.resources
            .iter()
            .any(|r| r.starts_with("arn:aws:lambda:us-east-1:123456789012:function:F")),
        "{:?}",
        st.resources
    );
    assert!(policy.warnings.is_empty(), "{:?}", policy.warnings);
}

#[test]
fn payload_response_only_rejects_callbacks() {
    let e = compile(
        &format!("{DIRECT}\n  pattern: waitForTaskToken"),
        "    states:\n      - {name: Call, type: Task, integration: fn, parameters: {'token.$': '$$.Task.Token'}}\n",
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("payloadResponseOnly supports only the requestResponse pattern")
            && e.contains("Call"),
        "{e}"
    );
}
