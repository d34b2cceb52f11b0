//! Compile + validate throughput of the ASL pipeline on generated machines of 10, 100 and 1,000 states
//! (Task with integration, Pass, Choice with condition expressions, Wait, raw-resource Task), and parse +
//! validate of the same machines as raw ASL JSON (the `definitionJson` path).
//!
//! After criterion's wall-clock figures it prints the on-CPU time per compile (from `schedstat`), which
//! stays meaningful when the machine is shared. Run it as BENCHMARKS.md says; figures are recorded there.

use criterion::{BenchmarkId, Criterion, criterion_group};
use serde_json::{Value, json};
use sfn_api::StateMachineSpec;
use sfn_asl::{MapResolver, compile_state_machine, validate_json};

fn spec(n: usize) -> StateMachineSpec {
    let mut states = Vec::with_capacity(n);
    for i in 0..n {
        let name = format!("S{i}");
        let next = format!("S{}", i + 1);
        let s = if i + 1 == n {
            json!({"name": name, "type": "Succeed"})
        } else {
            match i % 5 {
                0 => json!({"name": name, "type": "Task", "integration": "fn",
                    "parameters": {"Payload.$": "$", "index": i}, "resultPath": "$.r",
                    "retry": [{"errorEquals": ["States.TaskFailed"], "maxAttempts": 2}]}),
                1 => {
                    json!({"name": name, "type": "Pass", "parameters": {"value.$": "$.x", "index": i}})
                }
                2 => json!({"name": name, "type": "Choice",
                    "choices": [{"condition": format!("$.n > {i} && $.s == \"x{i}\""), "next": next}],
                    "default": next}),
                3 => json!({"name": name, "type": "Wait", "seconds": 1}),
                _ => {
                    json!({"name": name, "type": "Task", "resource": "arn:aws:states:::sns:publish",
                    "parameters": {"TopicArn": "arn:aws:sns:us-east-1:123456789012:t", "Message.$": "States.Format('n={}', $.n)"}})
                }
            }
        };
        states.push(s);
    }
    serde_json::from_value(json!({"definition": {"states": states}})).expect("generated spec")
}

fn resolver() -> MapResolver {
    let mut r = MapResolver::default();
    r.task_integrations.insert(
        "fn".into(),
        serde_json::from_value(
            json!({"lambda": {"functionArn": "arn:aws:lambda:us-east-1:123456789012:function:f"}}),
        )
        .expect("integration"),
    );
    r
}

fn bench(c: &mut Criterion) {
    let resolver = resolver();
    let mut group = c.benchmark_group("asl");
    for n in [10usize, 100, 1000] {
        let spec = spec(n);
        let compiled = compile_state_machine(&spec, &resolver).expect("generated machine compiles");
        let asl: Value = compiled.json;
        group.bench_with_input(
            BenchmarkId::new("compile_and_validate", n),
            &spec,
            |b, spec| b.iter(|| compile_state_machine(spec, &resolver).expect("compiles")),
        );
        group.bench_with_input(
            BenchmarkId::new("parse_and_validate_json", n),
            &asl,
            |b, asl| b.iter(|| validate_json(asl).expect("valid")),
        );
    }
    group.finish();
}

/// Nanoseconds this thread has spent on a CPU (Linux `schedstat`), so that a figure taken on a busy shared
/// machine reflects the work done rather than the time spent waiting for a core.
fn thread_cpu_ns() -> Option<u64> {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// On-CPU time per compile + validate, next to criterion's wall-clock figures.
fn cpu_time_report() {
    let resolver = resolver();
    for n in [10usize, 100, 1000] {
        let spec = spec(n);
        let iterations = (200_000 / n).max(50) as u32;
        for _ in 0..iterations / 10 {
            std::hint::black_box(compile_state_machine(&spec, &resolver).ok());
        }
        let (Some(start), wall) = (thread_cpu_ns(), std::time::Instant::now()) else {
            return;
        };
        for _ in 0..iterations {
            std::hint::black_box(compile_state_machine(&spec, &resolver).ok());
        }
        let cpu = thread_cpu_ns().unwrap_or(start) - start;
        println!(
            "asl/compile_and_validate/{n}: on-CPU {:.1} µs per iteration (wall {:.1} µs, {iterations} iterations)",
            cpu as f64 / f64::from(iterations) / 1000.0,
            wall.elapsed().as_secs_f64() * 1e6 / f64::from(iterations)
        );
    }
}

criterion_group!(benches, bench);

fn main() {
    benches();
    cpu_time_report();
    Criterion::default().configure_from_args().final_summary();
}
