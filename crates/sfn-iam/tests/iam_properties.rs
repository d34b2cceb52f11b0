//! Properties of the IAM derivation over generated definitions: every Task is covered by the merged policy
//! exactly as it would be on its own, no statement has a wildcard action, `iam:PassRole` is always limited to a
//! service, and the result does not depend on the order states are written in.

use proptest::prelude::*;
use serde_json::{Map, Value, json};
use sfn_iam::{self as iam, RoleContext, policy::glob};

/// One Task state: its Resource and Parameters, with static or run-time targets.
fn task() -> impl Strategy<Value = Value> {
    let name = prop::sample::select(vec!["alpha", "beta", "gamma"]);
    (0..14usize, name, any::<bool>()).prop_map(|(kind, n, dynamic)| {
        let pick = |fixed: Value| if dynamic { json!("$.target") } else { fixed };
        let key = |k: &str| if dynamic { format!("{k}.$") } else { k.to_string() };
        let (resource, params) = match kind {
            0 => ("arn:aws:states:::lambda:invoke", json!({key("FunctionName"): pick(json!(n))})),
            1 => ("arn:aws:states:::lambda:invoke.waitForTaskToken", json!({key("FunctionName"): pick(json!(format!("arn:aws:lambda:us-east-1:123456789012:function:{n}:live")))})),
            2 => ("arn:aws:states:::sns:publish", json!({key("TopicArn"): pick(json!(format!("arn:aws:sns:us-east-1:123456789012:{n}")))})),
            3 => ("arn:aws:states:::sqs:sendMessage", json!({key("QueueUrl"): pick(json!(format!("https://sqs.us-east-1.amazonaws.com/123456789012/{n}"))), "MessageBody": "m"})),
            4 => ("arn:aws:states:::dynamodb:putItem", json!({key("TableName"): pick(json!(n)), "Item": {}})),
            5 => ("arn:aws:states:::states:startExecution.sync:2", json!({key("StateMachineArn"): pick(json!(format!("arn:aws:states:us-east-1:123456789012:stateMachine:{n}")))})),
            6 => ("arn:aws:states:::ecs:runTask.sync", json!({key("TaskDefinition"): pick(json!(n)), "Cluster": "c"})),
            7 => ("arn:aws:states:::batch:submitJob.sync", json!({"JobName": "j", key("JobQueue"): pick(json!(n)), "JobDefinition": "d:1"})),
            8 => ("arn:aws:states:::glue:startJobRun.sync", json!({key("JobName"): pick(json!(n))})),
            9 => ("arn:aws:states:::events:putEvents", json!({"Entries": [{key("EventBusName"): pick(json!(n)), "Source": "s"}]})),
            10 => ("arn:aws:states:::aws-sdk:s3:getObject", json!({key("Bucket"): pick(json!(n)), "Key": "k"})),
            11 => ("arn:aws:states:::aws-sdk:ec2:describeInstances", json!({})),
            12 => ("arn:aws:states:::sagemaker:createTrainingJob.sync", json!({key("TrainingJobName"): pick(json!(n)), "RoleArn": "arn:aws:iam::123456789012:role/sm"})),
            _ => ("arn:aws:states:us-east-1:123456789012:activity:work", json!({})),
        };
        json!({"Type": "Task", "Resource": resource, "Parameters": params})
    })
}

/// A state: a Task, or a Parallel / Map holding more states.
fn state() -> impl Strategy<Value = Value> {
    task().prop_recursive(2, 12, 3, |inner| {
        prop_oneof![
            prop::collection::vec(prop::collection::vec(inner.clone(), 1..3), 1..3)
                .prop_map(|branches| json!({"Type": "Parallel", "Branches": branches})),
            prop::collection::vec(inner, 1..3)
                .prop_map(|states| json!({"Type": "Map", "ItemProcessor": {"States": states}})),
        ]
    })
}

/// Turns generated lists of states into ASL with unique names and `Next`/`End` chains.
fn chain(states: &[Value], counter: &mut usize) -> Value {
    let mut out = Map::new();
    let mut names = Vec::new();
    for s in states {
        *counter += 1;
        let name = format!("S{counter}");
        let mut s = s.clone();
        if let Some(branches) = s.get("Branches").and_then(Value::as_array).cloned() {
            s["Branches"] = Value::Array(
                branches
                    .iter()
                    .map(|b| chain(b.as_array().unwrap(), counter))
                    .collect(),
            );
        }
        if let Some(inner) = s
            .pointer("/ItemProcessor/States")
            .and_then(Value::as_array)
            .cloned()
        {
            s["ItemProcessor"] = chain(&inner, counter);
        }
        names.push(name.clone());
        out.insert(name, s);
    }
    for (i, n) in names.iter().enumerate() {
        let s = out.get_mut(n).unwrap();
        match names.get(i + 1) {
            Some(next) => s["Next"] = json!(next),
            None => s["End"] = json!(true),
        }
    }
    json!({"StartAt": names[0], "States": out})
}

fn tasks(container: &Value, out: &mut Vec<(String, Value)>) {
    for (name, s) in container["States"].as_object().unwrap() {
        match s["Type"].as_str() {
            Some("Task") => out.push((name.clone(), s.clone())),
            Some("Parallel") => s["Branches"]
                .as_array()
                .unwrap()
                .iter()
                .for_each(|b| tasks(b, out)),
            Some("Map") => tasks(&s["ItemProcessor"], out),
            _ => {}
        }
    }
}

fn list(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a.iter().map(|x| x.as_str().unwrap().to_string()).collect(),
        _ => vec![],
    }
}

/// (action, resource, condition) triples a policy grants.
fn triples(statements: &[Value]) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for s in statements {
        let cond = s
            .get("Condition")
            .map(|c| c.to_string())
            .unwrap_or_default();
        for a in list(&s["Action"]) {
            for r in list(&s["Resource"]) {
                out.push((a.clone(), r, cond.clone()));
            }
        }
    }
    out
}

fn ctx() -> RoleContext {
    RoleContext::new("us-east-1", "123456789012", "generated")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn every_task_is_covered_and_no_action_is_a_wildcard(top in prop::collection::vec(state(), 1..6)) {
        let asl = chain(&top, &mut 0);
        let policy = iam::derive(&asl, &ctx()).unwrap();
        let full: Vec<Value> = policy.statements.iter().map(|s| s.statement.to_json()).collect();
        let granted = triples(&full);

        for s in &policy.statements {
            prop_assert!(!s.statement.has_action_wildcard(), "{:?}", s.statement.actions);
            if s.statement.actions.iter().any(|a| a == "iam:PassRole") {
                prop_assert!(s.statement.condition.as_ref().is_some_and(|c| c.to_string().contains("iam:PassedToService")));
            }
        }

        let mut all = Vec::new();
        tasks(&asl, &mut all);
        for (name, t) in &all {
            let alone = iam::derive_task(name, t, &ctx()).unwrap();
            let is_activity = t["Resource"].as_str().unwrap().contains(":activity:");
            prop_assert_eq!(alone.statements.is_empty(), is_activity, "{} {}", name, t);
            for (a, r, c) in triples(&alone.statements.iter().map(|s| s.statement.to_json()).collect::<Vec<_>>()) {
                prop_assert!(
                    granted.iter().any(|(ga, gr, gc)| ga == &a && gc == &c && glob(gr, &r)),
                    "state {} needs {} on {} ({}) but the policy does not grant it", name, a, r, c
                );
            }
            if !is_activity {
                let tag = format!("state {name}:");
                prop_assert!(policy.statements.iter().any(|s| s.reasons.iter().any(|r| r.starts_with(&tag))));
            }
        }

        // Order independence: the same states written in reverse give the same documents.
        let mut reversed = asl.clone();
        let rev: Map<String, Value> = asl["States"].as_object().unwrap().clone().into_iter().rev().collect();
        reversed["States"] = Value::Object(rev);
        let again = iam::derive(&reversed, &ctx()).unwrap();
        prop_assert_eq!(policy.documents(), again.documents());
    }
}
