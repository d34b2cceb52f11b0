//! Helpers shared by the integration tests of every crate: where the workspace, the reference data and the
//! test tools installed by `scripts/test` live, and [`sfn_versions_standin`], which answers the Step Functions
//! version and alias calls the AWS emulator does not serve. A dev-dependency only.

use std::path::PathBuf;

pub mod raw_http;
pub mod sfn_versions_standin;

/// The workspace root (the folder holding the top-level `Cargo.toml` and `Cargo.lock`). Found from the
/// directory of the package under test, which cargo gives the test process at run time, so a test binary
/// always reads the checkout it runs in.
pub fn workspace_root() -> PathBuf {
    let start = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    start
        .ancestors()
        .find(|dir| dir.join("Cargo.lock").is_file())
        .unwrap_or_else(|| panic!("no Cargo.lock above {}", start.display()))
        .to_path_buf()
}

/// The shared reference data (`shared/reference`), which sits beside the repository checkout (CI lays a copy
/// of `shared/` next to the clone). Checkouts may be nested deeper, so every ancestor is tried.
pub fn shared_reference_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("SFN_SHARED_DIR") {
        return PathBuf::from(dir).join("reference");
    }
    let root = workspace_root();
    root.ancestors()
        .map(|a| a.join("shared").join("reference"))
        .find(|p| p.is_dir())
        .unwrap_or_else(|| {
            panic!(
                "no shared/reference folder beside {} or its ancestors (set SFN_SHARED_DIR)",
                root.display()
            )
        })
}

/// A test tool installed by `scripts/test` under `.tools/` (for example `node_modules/.bin/asl-validator`).
/// Fails the test with a clear message when the tool is missing: a test that needs a tool never passes silently.
pub fn tool(relative: &str) -> PathBuf {
    let path = workspace_root().join(".tools").join(relative);
    assert!(
        path.exists(),
        "{} is missing: run scripts/test (it installs the test tools into .tools/)",
        path.display()
    );
    path
}

/// Every file under `examples/` with a YAML extension, sorted so that snapshot order is stable.
pub fn example_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(workspace_root().join("examples"))
        .expect("examples/ exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")))
        .collect();
    files.sort();
    files
}
