//! The `sfn-operator` binary keeps every subcommand it had before the offline ones moved to `sfn-cli`, and its
//! offline commands print exactly what the `sfn` library code renders: one image carries every tool, and a user
//! switching between the two binaries sees no difference. (`sfn` itself is tested in `crates/sfn-cli/tests`.)

use std::process::{Command, Output};

use sfn_api::manifest;
use sfn_asl::bundle::namespace_of;
use sfn_cli::plan::{PLACEHOLDER_ACCOUNT, PLACEHOLDER_REGION, plan_machine, render_text};
use sfn_test_support as support;

fn sfn_operator(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sfn-operator"))
        .args(args)
        .current_dir(support::workspace_root())
        .output()
        .expect("the sfn-operator binary runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn every_subcommand_is_still_there() {
    let out = sfn_operator(&["--help"]);
    assert!(out.status.success());
    let help = stdout(&out);
    for command in [
        "run", "crds", "plan", "validate", "apply", "simulate", "test", "graph", "import",
    ] {
        assert!(
            help.lines()
                .any(|l| l.trim_start().starts_with(&format!("{command} "))),
            "`sfn-operator --help` lists `{command}`:\n{help}"
        );
    }
    let plan_help = stdout(&sfn_operator(&["plan", "--help"]));
    for flag in [
        "--filename",
        "--output",
        "--account-id",
        "--region",
        "--live",
    ] {
        assert!(
            plan_help.contains(flag),
            "`sfn-operator plan` has {flag}:\n{plan_help}"
        );
    }
}

#[test]
fn plan_prints_what_the_offline_library_renders() {
    let file = support::workspace_root().join("examples/job-poller.yaml");
    let bundle = manifest::load_paths(std::slice::from_ref(&file)).expect("the example loads");
    assert_eq!(bundle.state_machines.len(), 1, "one StateMachine");
    let sm = &bundle.state_machines[0];
    let plan = plan_machine(sm, &bundle, PLACEHOLDER_ACCOUNT, PLACEHOLDER_REGION)
        .expect("the example plans");
    let expected = render_text(
        &namespace_of(&sm.metadata),
        sm.metadata.name.as_deref().unwrap_or_default(),
        &plan,
    );
    let out = sfn_operator(&["plan", "-f", "examples/job-poller.yaml"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(stdout(&out), expected);
}

#[test]
fn crds_prints_the_committed_definitions() {
    let out = sfn_operator(&["crds"]);
    assert!(out.status.success());
    assert_eq!(
        stdout(&out),
        sfn_api::render::all_yaml().expect("the CRDs render")
    );
}

#[test]
fn validate_simulate_and_test_run_and_report_failures() {
    let ok = sfn_operator(&["validate", "-q", "-f", "examples"]);
    assert!(ok.status.success(), "{ok:?}");

    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.asl.json");
    std::fs::write(
        &bad,
        r#"{"StartAt": "Missing", "States": {"A": {"Type": "Succeed"}}}"#,
    )
    .unwrap();
    let refused = sfn_operator(&["validate", "-f", bad.to_str().unwrap()]);
    assert_eq!(refused.status.code(), Some(1), "{refused:?}");

    let tests = sfn_operator(&["test", "examples/tests"]);
    assert!(tests.status.success(), "{tests:?}");
    assert!(
        stdout(&tests).lines().any(|l| l.ends_with(" 0 failed")),
        "{}",
        stdout(&tests)
    );

    let sim = sfn_operator(&[
        "simulate",
        "-f",
        "examples/choice-afterwards.yaml",
        "--input",
        "{}",
        "-o",
        "json",
    ]);
    let doc: serde_json::Value = serde_json::from_slice(&sim.stdout).expect("simulate -o json");
    assert!(doc.get("status").is_some(), "{doc}");
}
