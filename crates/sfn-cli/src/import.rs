//! `import`: turn an ASL definition file into a typed StateMachine manifest and the TaskIntegrations it
//! calls (see `sfn_import`). The manifest goes to stdout, the summary of what was imported (states,
//! integrations, what stayed raw and why) to stderr, so `sfn import -f m.asl.json > m.yaml` keeps both apart.
//!
//! Live machines (`--arn`, `--name`) are read from AWS, which this crate does not link: `sfn-operator import`
//! offers them and prints through [`print`] here, so both commands write the same.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use sfn_import::{Imported, Options, import_text};

/// Output format of `import`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    /// Multi-document YAML (TaskIntegrations first, then the StateMachine).
    #[default]
    Yaml,
    /// One Kubernetes `List` object in JSON.
    Json,
}

/// What every form of `import` takes besides where the definition comes from.
#[derive(Debug, Clone, clap::Args)]
pub struct Common {
    /// `metadata.namespace` of every object written (left out by default).
    #[arg(short = 'n', long)]
    pub namespace: Option<String>,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = Format::Yaml)]
    pub output: Format,
}

/// Import an ASL definition file as a typed StateMachine manifest with its TaskIntegrations.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The ASL definition (JSON).
    #[arg(short = 'f', long = "filename")]
    pub file: PathBuf,
    /// `metadata.name` of the StateMachine (default: from the file name).
    #[arg(long)]
    pub name: Option<String>,
    #[command(flatten)]
    pub common: Common,
}

/// Runs `import -f FILE`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("reading {}", args.file.display()))?;
    let options = Options {
        name: args.name,
        namespace: args.common.namespace.clone(),
        adopt: false,
    };
    let imported = import_text(&text, &args.file.display().to_string(), &options)?;
    print(&imported, args.common.output)
}

/// Writes the manifest to stdout and the summary to stderr.
pub fn print(imported: &Imported, format: Format) -> anyhow::Result<ExitCode> {
    let text = match format {
        Format::Yaml => imported
            .to_yaml()
            .context("rendering the manifest as YAML")?,
        Format::Json => imported.to_json(),
    };
    std::io::stdout()
        .lock()
        .write_all(text.as_bytes())
        .context("writing to stdout")?;
    eprint!("{}", imported.summary);
    Ok(ExitCode::SUCCESS)
}
