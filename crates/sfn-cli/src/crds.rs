//! `crds`: prints the CustomResourceDefinitions of the three kinds, or writes them one file
//! each into a folder (how `crds/` in the repository is produced and kept in line with the code).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

/// Print the CustomResourceDefinitions of the three kinds as multi-document YAML.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Write one file per CRD (`<plural>.<group>.yaml`) into this folder instead of printing a
    /// multi-document YAML stream; e.g. `sfn-operator crds --out-dir crds`.
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
}

pub use sfn_api::render::{all_yaml, file_name, to_yaml};

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.out_dir {
        None => print!("{}", all_yaml()?),
        Some(dir) => {
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            for crd in sfn_api::crds() {
                let path = dir.join(file_name(&crd));
                std::fs::write(&path, to_yaml(&crd)?)
                    .with_context(|| format!("writing {}", path.display()))?;
                eprintln!("wrote {}", path.display());
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
