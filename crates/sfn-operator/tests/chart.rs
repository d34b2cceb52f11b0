//! Checks on the Helm chart that need no cluster: its CRDs are the generated ones, and the image it points at
//! is built the way the chart's security context expects (non-root, nothing but the binary).

use sfn_test_support as support;

use std::collections::BTreeMap;
use std::path::Path;

fn yaml_files(dir: &Path) -> BTreeMap<String, String> {
    std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&p).unwrap())
        })
        .collect()
}

#[test]
fn the_chart_ships_exactly_the_generated_crds() {
    let root = support::workspace_root();
    let generated = yaml_files(&root.join("crds"));
    let shipped = yaml_files(&root.join("charts/sfn-operator/crds"));
    assert_eq!(generated.len(), 5, "crds/ holds the five CRDs");
    assert_eq!(
        generated.keys().collect::<Vec<_>>(),
        shipped.keys().collect::<Vec<_>>(),
        "charts/sfn-operator/crds must hold the same files as crds/ (cp crds/*.yaml charts/sfn-operator/crds/)"
    );
    for (name, text) in &generated {
        assert!(
            shipped[name] == *text,
            "charts/sfn-operator/crds/{name} differs from crds/{name}: cp crds/*.yaml charts/sfn-operator/crds/"
        );
    }
}

#[test]
fn the_image_runs_the_binary_alone_as_a_non_root_user() {
    let dockerfile = std::fs::read_to_string(support::workspace_root().join("Dockerfile")).unwrap();
    let stages: Vec<&str> = dockerfile
        .lines()
        .filter(|l| l.trim_start().starts_with("FROM "))
        .collect();
    assert_eq!(stages.len(), 2, "a build stage and a runtime stage");
    assert!(
        stages[1].contains("distroless"),
        "the runtime base is distroless"
    );
    let runtime = &dockerfile[dockerfile.rfind("\nFROM ").unwrap()..];
    let copies: Vec<&str> = runtime
        .lines()
        .filter(|l| l.starts_with("COPY") || l.starts_with("ADD"))
        .collect();
    assert_eq!(
        copies,
        ["COPY --from=build /src/target/release/sfn-operator /sfn-operator"],
        "only the binary is copied into the runtime image"
    );
    assert!(
        runtime.contains("USER 65532:65532"),
        "the runtime stage drops to the non-root user the chart's securityContext names"
    );
    assert!(
        !runtime.contains("RUN "),
        "nothing runs in the runtime stage"
    );
}

#[test]
fn the_image_build_copies_every_workspace_member() {
    // `cargo build --locked` in the build stage needs every member the workspace manifest names; a folder
    // left out of the COPY lines breaks the image build, which nothing else here runs.
    let root = support::workspace_root();
    let dockerfile = std::fs::read_to_string(root.join("Dockerfile")).unwrap();
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let members_line = manifest
        .lines()
        .find(|l| l.trim_start().starts_with("members"))
        .expect("the workspace manifest lists its members");
    let build = &dockerfile[..dockerfile.rfind("\nFROM ").unwrap()];
    for member in members_line.split('"').skip(1).step_by(2) {
        let top = member.split('/').next().unwrap();
        assert!(
            build
                .lines()
                .any(|l| l.starts_with("COPY ") && l.split_whitespace().nth(1) == Some(top)),
            "the build stage copies {top}/ (workspace member {member})"
        );
    }
    assert!(
        build.contains("-p sfn-operator --bin sfn-operator"),
        "the build stage builds the operator binary"
    );
}
