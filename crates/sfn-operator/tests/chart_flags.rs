//! The chart's Deployment starts the operator with flags that `sfn-operator run` really accepts: every
//! `--flag` written in `templates/deployment.yaml` is one of `run`'s options, and the argument lists `helm
//! template` renders (default values and `ci/namespaced-values.yaml`) pass the binary's own argument parser,
//! values included. A renamed flag or a value the parser refuses would otherwise only show up as a
//! crash-looping pod.
//!
//! Needs `.tools/bin/helm` (installed by `scripts/test`).

use sfn_test_support as support;

use std::collections::BTreeSet;
use std::process::Command;

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_sfn-operator");

fn chart_dir() -> std::path::PathBuf {
    support::workspace_root().join("charts/sfn-operator")
}

fn run_help() -> String {
    let out = Command::new(BIN)
        .args(["run", "--help"])
        .output()
        .expect("running sfn-operator run --help");
    assert!(
        out.status.success(),
        "sfn-operator run --help failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The long options `run --help` lists (`--name` at the start of an option line).
fn help_flags(help: &str) -> BTreeSet<String> {
    help.lines()
        .flat_map(|l| l.trim_start().split([',', ' ']))
        .filter_map(|w| w.strip_prefix("--"))
        .filter(|w| !w.is_empty())
        .map(|w| w.trim_end_matches(['=', '<']).to_string())
        .collect()
}

/// The `--flags` in the Deployment template's container `args`.
fn template_flags() -> BTreeSet<String> {
    let path = chart_dir().join("templates/deployment.yaml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .filter_map(|l| l.trim_start().strip_prefix("- --"))
        .map(|f| f.split(['=', ' ']).next().unwrap_or_default().to_string())
        .collect()
}

/// The operator container's `args` as `helm template` renders them.
fn rendered_args(values: Option<&str>) -> Vec<String> {
    let mut cmd = Command::new(support::tool("bin/helm"));
    cmd.args(["template", "sfn-operator"])
        .arg(chart_dir())
        .args(["--namespace", "sfn-system"]);
    if let Some(v) = values {
        cmd.arg("--values").arg(chart_dir().join(v));
    }
    let out = cmd.output().expect("running helm template");
    assert!(
        out.status.success(),
        "helm template failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let docs: Vec<Value> = serde_saphyr::from_multiple(&String::from_utf8_lossy(&out.stdout))
        .expect("helm template renders YAML");
    let deployments: Vec<&Value> = docs.iter().filter(|d| d["kind"] == "Deployment").collect();
    assert_eq!(deployments.len(), 1, "one Deployment in the chart");
    let args = deployments[0]["spec"]["template"]["spec"]["containers"][0]["args"]
        .as_array()
        .expect("the operator container has args");
    args.iter()
        .map(|a| a.as_str().expect("args are strings").to_string())
        .collect()
}

#[test]
fn every_flag_in_the_deployment_template_is_a_run_option() {
    let known = help_flags(&run_help());
    assert!(
        known.contains("help"),
        "could not read the options from run --help: {known:?}"
    );
    let used = template_flags();
    assert!(
        used.contains("metrics-addr"),
        "could not read the flags from the template: {used:?}"
    );
    let missing: Vec<&String> = used.difference(&known).collect();
    assert!(
        missing.is_empty(),
        "templates/deployment.yaml passes flags that `sfn-operator run` does not have: {missing:?} (it has {known:?})"
    );
}

#[test]
fn the_rendered_args_pass_the_binarys_parser() {
    for values in [None, Some("ci/namespaced-values.yaml")] {
        let args = rendered_args(values);
        assert_eq!(args.first().map(String::as_str), Some("run"), "{args:?}");
        // clap checks every option and value before it acts on a trailing --help, so a zero exit means the
        // whole argument list parsed, without starting the operator.
        let out = Command::new(BIN)
            .args(&args)
            .arg("--help")
            .env_clear()
            .output()
            .expect("running sfn-operator");
        assert!(
            out.status.success(),
            "sfn-operator refuses the args the chart renders with {values:?}: {args:?}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The check above must be able to fail: a bad value in the same position is refused.
#[test]
fn a_bad_value_in_the_rendered_args_is_refused() {
    let mut args = rendered_args(None);
    for a in args.iter_mut() {
        if a.starts_with("--log-format=") {
            *a = "--log-format=yaml".to_string();
        }
    }
    assert!(args.iter().any(|a| a == "--log-format=yaml"), "{args:?}");
    let out = Command::new(BIN)
        .args(&args)
        .arg("--help")
        .env_clear()
        .output()
        .expect("running sfn-operator");
    assert!(!out.status.success(), "--log-format=yaml was accepted");
}
