//! `sfn graph`: the Mermaid and DOT drawings of every example are pinned by insta snapshots, the SVG is
//! well-formed XML with a node per state, and the command runs through the binary.

use sfn_test_support as support;

use std::process::Command;

use sfn_api::manifest;
use sfn_asl::model::Definition;
use sfn_cli::graph::{Format, render};
use sfn_cli::plan::{PLACEHOLDER_ACCOUNT, PLACEHOLDER_REGION, compile_in_bundle};

/// `(label, definition)` of every StateMachine in `examples/`, the label being `<file stem>__<object name>`.
fn examples() -> Vec<(String, Definition)> {
    let mut out = Vec::new();
    for file in support::example_files() {
        let bundle = manifest::load_paths(std::slice::from_ref(&file))
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let stem = file.file_stem().unwrap().to_string_lossy().into_owned();
        for sm in &bundle.state_machines {
            let name = sm.metadata.name.clone().unwrap_or_default();
            let compiled = compile_in_bundle(sm, &bundle, PLACEHOLDER_ACCOUNT, PLACEHOLDER_REGION)
                .unwrap_or_else(|e| panic!("{}: {name}: {e}", file.display()));
            let definition = Definition::from_json(&compiled.json)
                .unwrap_or_else(|e| panic!("{}: {name}: {e:?}", file.display()));
            out.push((format!("{stem}__{name}"), definition));
        }
    }
    assert!(
        out.len() >= 10,
        "expected the examples, found {}",
        out.len()
    );
    out
}

#[test]
fn every_example_draws_as_its_mermaid_snapshot() {
    for (label, definition) in examples() {
        let text = render(&definition, Format::Mermaid).unwrap();
        assert_eq!(
            text,
            render(&definition, Format::Mermaid).unwrap(),
            "{label}"
        );
        insta::assert_snapshot!(format!("mermaid__{label}"), text);
    }
}

#[test]
fn every_example_draws_as_its_dot_snapshot() {
    for (label, definition) in examples() {
        let text = render(&definition, Format::Dot).unwrap();
        insta::assert_snapshot!(format!("dot__{label}"), text);
    }
}

#[test]
fn every_example_lays_out_as_svg() {
    for (label, definition) in examples() {
        let svg = render(&definition, Format::Svg).unwrap();
        roxmltree::Document::parse(&svg).unwrap_or_else(|e| panic!("{label}: {e}\n{svg}"));
    }
}

#[test]
fn the_job_poller_svg_is_one_svg_document_with_a_node_per_state() {
    let examples = examples();
    let (_, definition) = examples
        .iter()
        .find(|(label, _)| label.starts_with("job-poller__"))
        .expect("the Job Poller example");
    let svg = render(definition, Format::Svg).unwrap();
    let doc = roxmltree::Document::parse(&svg).unwrap_or_else(|e| panic!("{e}\n{svg}"));
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    assert_eq!(svg.matches("<svg").count(), 1, "{svg}");
    let texts: Vec<String> = doc
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .map(|n| {
            n.descendants()
                .filter(|t| t.is_text())
                .filter_map(|t| t.text())
                .collect::<String>()
        })
        .collect();
    assert_eq!(
        svg,
        render(definition, Format::Svg).unwrap(),
        "deterministic"
    );
    for state in definition.states.keys() {
        assert!(
            texts.iter().any(|t| t.trim() == state),
            "no node labelled {state:?} in {texts:?}"
        );
    }
}

#[test]
fn graph_runs_through_the_binary() {
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_sfn"))
            .args(args)
            .current_dir(support::workspace_root())
            .output()
            .unwrap()
    };
    let out = run(&["graph", "-f", "examples/job-poller.yaml"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mermaid = String::from_utf8_lossy(&out.stdout);
    assert!(mermaid.starts_with("flowchart TD\n"), "{mermaid}");
    assert!(mermaid.contains(r#"s3{"Job Complete?"}"#), "{mermaid}");

    let dot = run(&["graph", "-f", "examples/job-poller.yaml", "-o", "dot"]);
    assert!(dot.status.success());
    assert!(String::from_utf8_lossy(&dot.stdout).starts_with("digraph {"));

    let dir = tempfile::tempdir().unwrap();
    let asl = dir.path().join("flow.asl.json");
    std::fs::write(
        &asl,
        r#"{"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}}"#,
    )
    .unwrap();
    let svg = run(&["graph", "-f", asl.to_str().unwrap(), "-o", "svg"]);
    assert!(
        svg.status.success(),
        "{}",
        String::from_utf8_lossy(&svg.stderr)
    );
    assert!(String::from_utf8_lossy(&svg.stdout).contains("<svg"));

    let two = run(&["graph", "-f", "examples/nested-task-token.yaml"]);
    assert_eq!(
        two.status.code(),
        Some(2),
        "two machines need --state-machine"
    );
    let chosen = run(&[
        "graph",
        "-f",
        "examples/nested-task-token.yaml",
        "--state-machine",
        "parent",
    ]);
    assert!(
        chosen.status.success(),
        "{}",
        String::from_utf8_lossy(&chosen.stderr)
    );
}

/// The text of `examples/README.md`: for every example file, its header comment and the Mermaid picture of
/// each of its StateMachines, so the docs of every example show its graph (GitHub renders them).
fn examples_readme() -> String {
    let mut out = String::from(
        "# Examples\n\nEvery manifest here is compiled, validated and drawn by the test suite; the pictures below are\n\
         what `sfn graph -f examples/FILE` prints (regenerate this file with\n\
         `SFN_UPDATE_EXAMPLES_README=1 cargo test -p sfn-cli --test graph_cli`).\n",
    );
    let pictures: std::collections::BTreeMap<String, Definition> = examples().into_iter().collect();
    for file in support::example_files() {
        let stem = file.file_stem().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&file).unwrap();
        let about: Vec<&str> = text
            .lines()
            .take_while(|l| l.starts_with('#'))
            .map(|l| l.trim_start_matches('#').trim())
            .collect();
        out.push_str(&format!(
            "\n## [{stem}.yaml]({stem}.yaml)\n\n{}\n",
            about.join(" ")
        ));
        for (label, definition) in pictures.range(format!("{stem}__")..) {
            let Some(name) = label.strip_prefix(&format!("{stem}__")) else {
                break;
            };
            let mermaid = render(definition, Format::Mermaid).unwrap();
            out.push_str(&format!(
                "\nStateMachine `{name}`:\n\n```mermaid\n{mermaid}```\n"
            ));
        }
    }
    out
}

#[test]
fn the_examples_readme_shows_every_graph() {
    let path = support::workspace_root().join("examples/README.md");
    let want = examples_readme();
    if std::env::var_os("SFN_UPDATE_EXAMPLES_README").is_some() {
        std::fs::write(&path, &want).unwrap();
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "examples/README.md is not what the examples draw; regenerate it with \
         SFN_UPDATE_EXAMPLES_README=1 cargo test -p sfn-cli --test graph_cli"
    );
    assert!(want.contains("## [job-poller.yaml](job-poller.yaml)"));
    assert!(want.contains(r#"s3{"Job Complete?"}"#));
}
