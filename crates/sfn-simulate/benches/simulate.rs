//! Simulator throughput: executions per second of the Job Poller example (several poll iterations against
//! mocks, with a retry) and of a generated 1,000-state machine. Results are recorded in BENCHMARKS.md.

use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::{Map, Value, json};
use sfn_api::manifest;
use sfn_asl::bundle::compile_in_bundle;
use sfn_simulate::{Mocks, Options, Status, simulate};

fn job_poller() -> (Value, Mocks) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/job-poller.yaml");
    let bundle = manifest::load_paths(&[path]).expect("the job poller example loads");
    let asl = compile_in_bundle(
        &bundle.state_machines[0],
        &bundle,
        "123456789012",
        "us-east-1",
    )
    .expect("the job poller example compiles")
    .json;
    let mocks = Mocks::from_yaml(
        "Submit Job: {return: {jobId: job-42}}\n\
         Get Job Status:\n\
         \x20 - return: RUNNING\n\
         \x20 - return: RUNNING\n\
         \x20 - return: RUNNING\n\
         \x20 - return: SUCCEEDED\n\
         Get Final Job Status: {return: {status: SUCCEEDED}}\n",
    )
    .expect("valid mocks");
    (asl, mocks)
}

/// 1,000 states: Pass states alternating Parameters with an intrinsic, Result/ResultPath and a Choice every
/// tenth state, so that every part of the JSONPath data flow is exercised.
pub fn thousand_states() -> Value {
    let mut states = Map::new();
    let n = 1000;
    for i in 0..n {
        let name = format!("S{i:04}");
        let next = format!("S{:04}", i + 1);
        let state = if i == n - 1 {
            json!({"Type": "Succeed"})
        } else if i % 10 == 9 {
            json!({"Type": "Choice",
                   "Choices": [{"Variable": "$.count", "NumericGreaterThanEquals": 0, "Next": next}],
                   "Default": "Fail"})
        } else if i % 2 == 0 {
            json!({"Type": "Pass",
                   "Parameters": {"count.$": "States.MathAdd($.count, 1)", "tag.$": "States.Format('step {}', $.count)"},
                   "Next": next})
        } else {
            json!({"Type": "Pass", "Result": {"seen": i}, "ResultPath": "$.last", "Next": next})
        };
        states.insert(name, state);
    }
    states.insert("Fail".into(), json!({"Type": "Fail", "Error": "Negative"}));
    json!({"StartAt": "S0000", "States": states})
}

fn bench(c: &mut Criterion) {
    let (poller, poller_mocks) = job_poller();
    let input = json!({"wait_time": 30});
    let opts = Options::default();
    let check = simulate(&poller, &input, &poller_mocks, &opts).expect("runs");
    assert_eq!(check.status, Status::Succeeded);

    // The same definitions for the aws-local-stepfunctions comparison (benches/simulate_node.mjs).
    if let Ok(dir) = std::env::var("SIM_BENCH_EXPORT") {
        let dir = Path::new(&dir);
        std::fs::create_dir_all(dir).expect("export dir");
        std::fs::write(dir.join("job-poller.asl.json"), poller.to_string()).expect("write");
        std::fs::write(dir.join("thousand.asl.json"), thousand_states().to_string())
            .expect("write");
    }

    let mut g = c.benchmark_group("simulate");
    g.throughput(Throughput::Elements(1));
    g.bench_function("job_poller_4_polls", |b| {
        b.iter(|| simulate(&poller, &input, &poller_mocks, &opts).expect("runs"))
    });

    let big = thousand_states();
    let big_input = json!({"count": 0});
    let check = simulate(&big, &big_input, &Mocks::new(), &opts).expect("runs");
    assert_eq!(check.status, Status::Succeeded);
    assert_eq!(check.transitions, 1000);
    g.bench_function("generated_1000_states", |b| {
        b.iter(|| simulate(&big, &big_input, &Mocks::new(), &opts).expect("runs"))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
