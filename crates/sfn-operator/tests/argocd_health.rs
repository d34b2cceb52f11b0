//! The Argo CD health check (`deploy/argocd/health.lua`) run by a real Lua 5.1 interpreter, as Argo CD runs
//! it, on fixture objects covering every way the operator reports status.

use sfn_test_support as support;

use std::collections::BTreeMap;
use std::process::Command;

use serde_json::{Value, json};

/// Renders a JSON value as a Lua table constructor, the shape Argo CD hands the script as `obj`.
fn to_lua(value: &Value) -> String {
    match value {
        Value::Null => "nil".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => lua_string(s),
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(to_lua).collect();
            format!("{{{}}}", items.join(", "))
        }
        Value::Object(map) => {
            let fields: Vec<String> = map
                .iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| format!("[{}] = {}", lua_string(k), to_lua(v)))
                .collect();
            format!("{{{}}}", fields.join(", "))
        }
    }
}

fn lua_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Runs the health script on `obj` and returns (status, message).
fn health(obj: &Value) -> (String, String) {
    let script = support::workspace_root().join("deploy/argocd/health.lua");
    let program = format!(
        "obj = {}\nlocal hs = assert(loadfile({}))()\nio.write(hs.status, \"\\n\", hs.message or \"\")",
        to_lua(obj),
        lua_string(&script.to_string_lossy())
    );
    let out = Command::new("lua5.1")
        .arg("-e")
        .arg(&program)
        .output()
        .expect("lua5.1 is missing: run scripts/test (it installs Debian's lua5.1)");
    assert!(
        out.status.success(),
        "the health script failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("utf-8 output");
    let (status, message) = text.split_once('\n').unwrap_or((text.as_str(), ""));
    (status.to_string(), message.to_string())
}

fn object(generation: i64, status: Value) -> Value {
    json!({
        "apiVersion": "sfn.operator.dev/v1alpha1",
        "kind": "StateMachine",
        "metadata": {"name": "job-poller", "namespace": "demo", "generation": generation},
        "status": status,
    })
}

fn ready(status: &str, reason: &str, message: &str) -> Value {
    json!({"type": "Ready", "status": status, "reason": reason, "message": message,
           "lastTransitionTime": "2026-01-01T00:00:00Z", "observedGeneration": 2})
}

#[test]
fn ready_true_on_the_current_generation_is_healthy() {
    let obj = object(
        2,
        json!({"observedGeneration": 2, "conditions": [
            {"type": "Synced", "status": "True", "reason": "Compiled", "message": "in sync"},
            ready("True", "Compiled", "state machine is live"),
        ]}),
    );
    assert_eq!(
        health(&obj),
        ("Healthy".into(), "state machine is live".into())
    );
}

#[test]
fn a_status_for_an_older_generation_is_progressing() {
    let obj = object(
        3,
        json!({"observedGeneration": 2, "conditions": [ready("True", "Compiled", "ok")]}),
    );
    let (status, message) = health(&obj);
    assert_eq!(status, "Progressing");
    assert!(message.contains("generation 3"), "{message}");
}

#[test]
fn no_status_yet_is_progressing() {
    let mut obj = object(1, Value::Null);
    obj.as_object_mut().unwrap().remove("status");
    assert_eq!(health(&obj).0, "Progressing");
}

#[test]
fn an_invalid_definition_is_degraded_with_the_validator_message() {
    let obj = object(
        2,
        json!({"observedGeneration": 2, "conditions": [
            ready("False", "InvalidDefinition", "state \"Wait X Seconds\", field Next: no state named \"Nowhere\""),
        ]}),
    );
    let (status, message) = health(&obj);
    assert_eq!(status, "Degraded");
    assert!(message.contains("Wait X Seconds"), "{message}");
}

#[test]
fn aws_errors_are_degraded_and_retried_reasons_are_progressing() {
    let cases: BTreeMap<&str, &str> = [
        ("AwsError", "Degraded"),
        ("Throttled", "Progressing"),
        ("ReferenceNotFound", "Progressing"),
        ("Deleting", "Progressing"),
    ]
    .into_iter()
    .collect();
    for (reason, expected) in cases {
        let obj = object(
            2,
            json!({"observedGeneration": 2, "conditions": [ready("False", reason, "details")]}),
        );
        assert_eq!(health(&obj).0, expected, "reason {reason}");
    }
}

#[test]
fn unknown_ready_is_progressing_and_a_missing_message_falls_back_to_the_reason() {
    let obj = object(
        2,
        json!({"observedGeneration": 2, "conditions": [{"type": "Ready", "status": "Unknown", "reason": "Reconciling"}]}),
    );
    assert_eq!(health(&obj), ("Progressing".into(), "Reconciling".into()));
}

#[test]
fn an_object_being_deleted_is_progressing() {
    let mut obj = object(
        2,
        json!({"observedGeneration": 2, "conditions": [ready("True", "Compiled", "ok")]}),
    );
    obj["metadata"]["deletionTimestamp"] = json!("2026-01-01T00:00:00Z");
    let (status, message) = health(&obj);
    assert_eq!(status, "Progressing");
    assert!(message.starts_with("Deleting"), "{message}");
}

#[test]
fn the_argocd_cm_patch_embeds_the_same_script_for_every_kind() {
    let root = support::workspace_root().join("deploy/argocd");
    let script = std::fs::read_to_string(root.join("health.lua")).unwrap();
    let patch: Value = serde_saphyr::from_str(
        &std::fs::read_to_string(root.join("argocd-cm-patch.yaml")).unwrap(),
    )
    .unwrap();
    for kind in ["StateMachine", "TaskIntegration", "Activity"] {
        let key = format!("resource.customizations.health.sfn.operator.dev_{kind}");
        assert_eq!(
            patch["data"][&key].as_str(),
            Some(script.as_str()),
            "{key} in argocd-cm-patch.yaml differs from health.lua"
        );
    }
}

fn with_rollout(phase: &str, reason: &str, message: &str) -> Value {
    object(
        2,
        json!({"observedGeneration": 2,
               "conditions": [ready("True", "Compiled", "state machine is live")],
               "rollout": {"alias": "live", "phase": phase, "stableVersion": 3, "canaryVersion": 4,
                           "weight": 10, "step": 1, "steps": 2, "reason": reason, "message": message}}),
    )
}

#[test]
fn a_rollout_in_progress_or_paused_is_progressing_with_its_message() {
    let (status, message) = health(&with_rollout(
        "Progressing",
        "StepCompleted",
        "step 1 of 2: 10 % to version 4",
    ));
    assert_eq!(status, "Progressing");
    assert_eq!(
        message,
        "rollout of alias live: step 1 of 2: 10 % to version 4"
    );
    let (status, message) = health(&with_rollout(
        "Paused",
        "AlarmMissing",
        "alarm gate does not exist",
    ));
    assert_eq!(status, "Progressing");
    assert!(message.contains("alarm gate does not exist"), "{message}");
}

#[test]
fn a_rolled_back_rollout_is_degraded_with_the_alarm_named() {
    let (status, message) = health(&with_rollout(
        "Degraded",
        "AlarmFired",
        "alarm sfn-operator/demo-poller/ExecutionsFailed in ALARM: 100 % back to version 3",
    ));
    assert_eq!(status, "Degraded");
    assert!(message.contains("ExecutionsFailed in ALARM"), "{message}");
    // Without a message, the reason is shown.
    let (status, message) = health(&with_rollout("Degraded", "Aborted", ""));
    assert_eq!(
        (status.as_str(), message.as_str()),
        ("Degraded", "rollout of alias live: Aborted")
    );
}

#[test]
fn a_finished_rollout_is_healthy_and_a_stale_generation_still_waits() {
    assert_eq!(
        health(&with_rollout(
            "Healthy",
            "RolloutCompleted",
            "100 % to version 4"
        )),
        ("Healthy".into(), "state machine is live".into())
    );
    let mut obj = with_rollout("Degraded", "AlarmFired", "x");
    obj["metadata"]["generation"] = json!(3);
    assert_eq!(health(&obj).0, "Progressing");
}
