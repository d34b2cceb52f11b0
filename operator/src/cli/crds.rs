//! `sfn-operator crds`: prints the CustomResourceDefinitions of the three kinds, or writes them one file
//! each into a folder (how `crds/` in the repository is produced and kept in line with the code).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;

/// Arguments of `sfn-operator crds`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Write one file per CRD (`<plural>.<group>.yaml`) into this folder instead of printing a
    /// multi-document YAML stream; e.g. `sfn-operator crds --out-dir crds`.
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
}

/// The file name a CRD is committed under: `statemachines.sfn.operator.dev.yaml`.
pub fn file_name(crd: &CustomResourceDefinition) -> String {
    format!("{}.yaml", crd.metadata.name.as_deref().unwrap_or("unnamed"))
}

/// One CRD as a YAML document (no leading `---`).
pub fn to_yaml(crd: &CustomResourceDefinition) -> anyhow::Result<String> {
    // Through serde_json::Value so the key order is the Kubernetes one and empty fields are gone.
    let value = serde_json::to_value(crd).context("serialising the CRD")?;
    serde_saphyr::to_string(&value).context("rendering the CRD as YAML")
}

/// All three CRDs as one multi-document YAML stream.
pub fn all_yaml() -> anyhow::Result<String> {
    let mut out = String::new();
    for crd in crate::api::crds() {
        out.push_str("---\n");
        out.push_str(&to_yaml(&crd)?);
    }
    Ok(out)
}

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.out_dir {
        None => print!("{}", all_yaml()?),
        Some(dir) => {
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            for crd in crate::api::crds() {
                let path = dir.join(file_name(&crd));
                std::fs::write(&path, to_yaml(&crd)?)
                    .with_context(|| format!("writing {}", path.display()))?;
                eprintln!("wrote {}", path.display());
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
