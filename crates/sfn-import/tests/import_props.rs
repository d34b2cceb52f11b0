//! Property test: generated state machines (every state type, nested Parallel and Map scopes, Distributed Map,
//! retries and catches, Choice rules, side chains that join back, Task resources of every service block
//! and some no block covers, JSONPath and JSONata) import typed and compile back to the same ASL.
//!
//! Machines are built from a seed, so a failure prints the seed and the document to replay it.

use proptest::prelude::*;
use serde_json::{Map, Value, json};
use sfn_api::StateMachineSpec;
use sfn_asl::MapResolver;
use sfn_import::{Options, first_difference, import_value};

/// A small deterministic generator (SplitMix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

struct Gen {
    rng: Rng,
    counter: usize,
    jsonata: bool,
}

const FN: &str = "arn:aws:lambda:us-east-1:123456789012:function:Work";

impl Gen {
    fn name(&mut self, prefix: &str) -> String {
        self.counter += 1;
        format!("{prefix}{}", self.counter)
    }

    /// A Task's Resource and its Parameters (or Arguments in JSONata).
    fn task(&mut self) -> (String, Option<Value>) {
        let payload = if self.jsonata {
            json!("{% $states.input %}")
        } else {
            json!("$")
        };
        let payload_key = if self.jsonata { "Payload" } else { "Payload.$" };
        let choice = self.rng.below(11);
        let (resource, params) = match choice {
            0 => (
                "arn:aws:states:::lambda:invoke",
                json!({"FunctionName": FN, payload_key: payload}),
            ),
            1 => (
                "arn:aws:states:::lambda:invoke.waitForTaskToken",
                json!({"FunctionName": FN, "Payload": {"token": if self.jsonata { json!("{% $states.context.Task.Token %}") } else { Value::Null }, "token.$": "$$.Task.Token"}}),
            ),
            2 => (
                "arn:aws:states:::sns:publish",
                json!({"TopicArn": "arn:aws:sns:us-east-1:123456789012:alerts", "Message": "done"}),
            ),
            3 => (
                "arn:aws:states:::sqs:sendMessage",
                json!({"QueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/jobs", "MessageBody": "x"}),
            ),
            4 => (
                "arn:aws:states:::glue:startJobRun.sync",
                json!({"JobName": "etl"}),
            ),
            5 => (
                "arn:aws:states:::states:startExecution.sync:2",
                json!({"StateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:child", "Input": {"a": 1}}),
            ),
            6 => (
                "arn:aws:states:::aws-sdk:s3:getObject",
                json!({"Bucket": "b", "Key": "k"}),
            ),
            7 => (FN, Value::Null),
            8 => (
                "arn:aws:states:us-east-1:123456789012:activity:approve",
                Value::Null,
            ),
            9 => (
                "arn:aws:states:::athena:startQueryExecution",
                json!({"QueryString": "SELECT 1"}),
            ),
            _ => (
                "arn:aws:states:::lambda:invoke",
                json!({"FunctionName": FN}),
            ),
        };
        let mut params = params;
        if let Value::Object(m) = &mut params {
            // The task token in the mode's own syntax only.
            if let Some(Value::Object(p)) = m.get_mut("Payload") {
                if self.jsonata {
                    p.remove("token.$");
                } else {
                    p.remove("token");
                }
            }
        }
        (resource.to_owned(), (!params.is_null()).then_some(params))
    }

    fn rule(&mut self, depth: u32) -> Value {
        let var = self
            .rng
            .pick(&["$.a", "$.n", "$.items[0]", "$.s"])
            .to_string();
        match self.rng.below(if depth == 0 { 5 } else { 8 }) {
            0 => json!({"Variable": var, "StringEquals": "x"}),
            1 => json!({"Variable": var, "NumericGreaterThan": self.rng.below(10)}),
            2 => json!({"Variable": var, "IsPresent": self.rng.chance(50)}),
            3 => json!({"Variable": var, "NumericLessThanEqualsPath": "$.limit"}),
            4 => json!({"Variable": var, "StringMatches": "log-*.txt"}),
            5 => json!({"And": [self.rule(depth - 1), self.rule(depth - 1)]}),
            6 => json!({"Or": [self.rule(depth - 1), self.rule(depth - 1)]}),
            _ => json!({"Not": self.rule(depth - 1)}),
        }
    }

    fn retry_catch(&mut self, s: &mut Map<String, Value>, targets: &[String]) {
        if self.rng.chance(30) {
            s.insert(
                "Retry".into(),
                json!([{"ErrorEquals": ["States.TaskFailed"], "IntervalSeconds": 2, "MaxAttempts": 3, "BackoffRate": 1.5, "JitterStrategy": "FULL"}]),
            );
        }
        if self.rng.chance(25) && !targets.is_empty() {
            let next = self.rng.pick(targets).clone();
            s.insert(
                "Catch".into(),
                json!([{"ErrorEquals": ["States.ALL"], "Next": next}]),
            );
            if !self.jsonata {
                s["Catch"][0]["ResultPath"] = json!("$.error");
            }
        }
    }

    /// One scope: a spine of states chained by `Next`, Choices with side chains that join back.
    fn scope(&mut self, depth: u32) -> Value {
        let len = 1 + self.rng.below(5);
        let names: Vec<String> = (0..len).map(|_| self.name("S")).collect();
        let mut states = Map::new();
        for i in 0..len {
            let follow = names.get(i + 1).cloned();
            let later: Vec<String> = names[i + 1..].to_vec();
            let mut kinds = vec!["Pass", "Wait", "Task", "Task"];
            if follow.is_some() {
                kinds.push("Choice");
            }
            if depth > 0 {
                kinds.extend(["Parallel", "Map"]);
            }
            if follow.is_none() {
                kinds.extend(["Succeed", "Fail"]);
            }
            let kind = *self.rng.pick(&kinds);
            let mut s = Map::new();
            s.insert("Type".into(), json!(kind));
            if self.rng.chance(15) {
                s.insert("Comment".into(), json!("generated"));
            }
            match kind {
                "Pass" => {
                    if self.rng.chance(40) {
                        s.insert("Result".into(), json!({"ok": true}));
                    }
                    if !self.jsonata && self.rng.chance(30) {
                        s.insert("ResultPath".into(), json!("$.pass"));
                    }
                    if self.rng.chance(20) {
                        s.insert("Assign".into(), json!({"seen": 1}));
                    }
                }
                "Wait" => {
                    s.insert("Seconds".into(), json!(1 + self.rng.below(3)));
                }
                "Task" => {
                    let (resource, params) = self.task();
                    s.insert("Resource".into(), json!(resource));
                    if let Some(p) = params {
                        let key = if self.jsonata {
                            "Arguments"
                        } else {
                            "Parameters"
                        };
                        s.insert(key.into(), p);
                    }
                    if self.rng.chance(20) {
                        s.insert("TimeoutSeconds".into(), json!(60));
                    }
                    self.retry_catch(&mut s, &later);
                }
                "Choice" => {
                    let join = follow.clone().unwrap_or_default();
                    let mut choices = Vec::new();
                    for _ in 0..1 + self.rng.below(2) {
                        let target = if self.rng.chance(60) {
                            // A side chain joining the spine at the next state.
                            let side: Vec<String> = (0..1 + self.rng.below(2))
                                .map(|_| self.name("Side"))
                                .collect();
                            for (k, n) in side.iter().enumerate() {
                                let next = side.get(k + 1).cloned().unwrap_or_else(|| join.clone());
                                states.insert(n.clone(), json!({"Type": "Pass", "Next": next}));
                            }
                            side[0].clone()
                        } else if self.rng.chance(30) {
                            let fail = self.name("Fail");
                            states.insert(fail.clone(), json!({"Type": "Fail", "Error": "Bad"}));
                            fail
                        } else {
                            self.rng.pick(&later).clone()
                        };
                        let mut c = if self.jsonata {
                            json!({"Condition": "{% $states.input.n > 1 %}"})
                        } else {
                            self.rule(2)
                        };
                        c["Next"] = json!(target);
                        choices.push(c);
                    }
                    s.insert("Choices".into(), Value::Array(choices));
                    s.insert("Default".into(), json!(join));
                }
                "Parallel" => {
                    let branches: Vec<Value> = (0..1 + self.rng.below(2))
                        .map(|_| self.scope(depth - 1))
                        .collect();
                    s.insert("Branches".into(), Value::Array(branches));
                    self.retry_catch(&mut s, &later);
                }
                "Map" => {
                    let mut processor = self.scope(depth - 1);
                    if self.rng.chance(40) {
                        processor["ProcessorConfig"] =
                            json!({"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"});
                        s.insert("ToleratedFailurePercentage".into(), json!(5));
                        s.insert("Label".into(), json!("batch"));
                    }
                    s.insert("ItemProcessor".into(), processor);
                    if self.jsonata {
                        s.insert("Items".into(), json!("{% $states.input.items %}"));
                    } else {
                        s.insert("ItemsPath".into(), json!("$.items"));
                    }
                    s.insert("MaxConcurrency".into(), json!(self.rng.below(5)));
                    self.retry_catch(&mut s, &later);
                }
                "Fail" => {
                    s.insert("Error".into(), json!("Failed"));
                }
                _ => {}
            }
            if !matches!(kind, "Choice" | "Succeed" | "Fail") {
                match &follow {
                    Some(n) => s.insert("Next".into(), json!(n)),
                    None => s.insert("End".into(), json!(true)),
                };
            }
            states.insert(names[i].clone(), Value::Object(s));
        }
        json!({"StartAt": names[0], "States": states})
    }
}

fn machine(seed: u64) -> Value {
    let mut g = Gen {
        rng: Rng(seed),
        counter: 0,
        jsonata: false,
    };
    g.jsonata = g.rng.chance(25);
    let mut doc = g.scope(2);
    if g.jsonata {
        doc["QueryLanguage"] = json!("JSONata");
    }
    if g.rng.chance(20) {
        doc["TimeoutSeconds"] = json!(3600);
    }
    doc
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, .. ProptestConfig::default() })]

    #[test]
    fn generated_machines_import_typed_and_compile_back(seed in any::<u64>()) {
        let asl = machine(seed);
        // Only machines the validator accepts are ASL to import.
        prop_assume!(sfn_asl::validate_json(&asl).is_ok());
        let imported = import_value(&asl, "generated", "generated", &Options::default())
            .map_err(|e| TestCaseError::fail(format!("seed {seed}: {e}\n{asl:#}")))?;
        prop_assert!(imported.summary.fallback.is_none(), "seed {seed}: {:?}\n{asl:#}", imported.summary.fallback);
        let resolver = MapResolver {
            task_integrations: imported
                .task_integrations
                .iter()
                .map(|t| (t.metadata.name.clone().unwrap_or_default(), t.spec.clone()))
                .collect(),
            ..MapResolver::default()
        };
        let spec: &StateMachineSpec = &imported.state_machine.spec;
        let compiled = sfn_asl::compile_state_machine(spec, &resolver)
            .map_err(|e| TestCaseError::fail(format!("seed {seed}: {e}\n{asl:#}")))?;
        prop_assert_eq!(first_difference(&compiled.json, &asl), None, "seed {}: {:#}", seed, asl);
    }
}

#[test]
fn the_generator_mostly_makes_valid_machines() {
    let valid = (0..200u64)
        .filter(|s| sfn_asl::validate_json(&machine(*s)).is_ok())
        .count();
    assert!(
        valid >= 150,
        "only {valid} of 200 generated machines are valid"
    );
}
