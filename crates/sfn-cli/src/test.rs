//! `test`: run state machine test files (see [`sfn_simulate::testfile`]) and report like a test
//! runner, ending with an `N passed, M failed` line; the exit code is non-zero when any case fails, so the
//! command can gate CI.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use serde_json::Value;

use crate::simulate::{Loaded, load_state_machine, options_for, read_data_file};
use sfn_simulate::testfile::{TestFile, check};
use sfn_simulate::{Mocks, simulate};

/// Run state machine test files (input, mocks, expected result) like a test runner.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Test files, or directories searched (not recursively) for `*.yaml` / `*.yml` test files.
    #[arg(required = true, num_args = 1..)]
    pub files: Vec<PathBuf>,
    /// Print the trace of every case, not only of failing ones.
    #[arg(short, long)]
    pub verbose: bool,
}

fn collect(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(p)
                .with_context(|| format!("reading {}", p.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| matches!(f.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")))
                .collect();
            found.sort();
            out.extend(found);
        } else {
            out.push(p.clone());
        }
    }
    if out.is_empty() {
        bail!("no test files found");
    }
    Ok(out)
}

fn merged_mocks(file: Option<&Value>, case: Option<&Value>) -> Value {
    let mut merged = serde_json::Map::new();
    for v in [file, case].into_iter().flatten() {
        if let Value::Object(o) = v {
            merged.extend(o.clone());
        }
    }
    Value::Object(merged)
}

/// Runs one test file; returns (passed, failed) and prints a line per case.
fn run_file(
    path: &Path,
    verbose: bool,
    cache: &mut HashMap<(PathBuf, Option<String>), Loaded>,
) -> anyhow::Result<(usize, usize)> {
    let doc = read_data_file(path)?;
    let tf: TestFile = serde_json::from_value(doc)
        .with_context(|| format!("{} is not a valid test file", path.display()))?;
    let base = path.parent().unwrap_or(Path::new("."));
    let sm_path = base.join(&tf.state_machine);
    let key = (sm_path.clone(), tf.name.clone());
    if !cache.contains_key(&key) {
        let loaded = load_state_machine(&sm_path, tf.name.as_deref())
            .with_context(|| format!("{}: loading the state machine", path.display()))?;
        cache.insert(key.clone(), loaded);
    }
    let loaded = &cache[&key];
    let (mut passed, mut failed) = (0, 0);
    for case in &tf.cases {
        let label = format!("{} :: {}", path.display(), case.name);
        let mocks = Mocks::from_value(&merged_mocks(tf.mocks.as_ref(), case.mocks.as_ref()));
        let input = case
            .input
            .clone()
            .unwrap_or(Value::Object(Default::default()));
        let result = mocks.map_err(|e| e.to_string()).and_then(|m| {
            simulate(
                &loaded.asl,
                &input,
                &m,
                &options_for(loaded, case.max_transitions.unwrap_or(10_000), 0),
            )
            .map_err(|e| e.to_string())
        });
        match result {
            Ok(exec) => {
                let problems = check(&case.expect, &exec);
                if problems.is_empty() {
                    passed += 1;
                    println!("PASS {label}");
                    if verbose {
                        print!("{}", crate::simulate::trace(&exec));
                    }
                } else {
                    failed += 1;
                    println!("FAIL {label}");
                    for p in problems {
                        println!("     {p}");
                    }
                    for line in crate::simulate::trace(&exec).lines() {
                        println!("     | {line}");
                    }
                }
            }
            Err(e) => {
                failed += 1;
                println!("FAIL {label}\n     {e}");
            }
        }
    }
    Ok((passed, failed))
}

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let files = collect(&args.files)?;
    let mut cache = HashMap::new();
    let (mut passed, mut failed) = (0, 0);
    for f in &files {
        match run_file(f, args.verbose, &mut cache) {
            Ok((p, x)) => {
                passed += p;
                failed += x;
            }
            Err(e) => {
                failed += 1;
                println!("FAIL {}\n     {e:#}", f.display());
            }
        }
    }
    println!("{passed} passed, {failed} failed");
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
