//! `sfn-operator import`: the offline `import -f FILE` of `sfn`, plus live machines read from AWS by ARN
//! (`--arn`) or by name in the configured account and region (`--name`), through `sfn-aws`
//! (`DescribeStateMachine`, `ListTagsForResource`). `--adopt` adds the adoption annotation, so applying the
//! manifest makes the operator take the running machine over instead of creating another.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use sfn_api::{EncryptionSpec, LogLevel, LoggingSpec, WorkflowType};
use sfn_aws::{AwsClients, AwsSettings, observe};
use sfn_cli::import::{Common, print};
use sfn_import::{LiveMachine, Options, import_live};
use sfn_plan::{MachineType, ObservedStateMachine};

/// Import an ASL file, or a live state machine, as a typed StateMachine manifest with its TaskIntegrations.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["file", "arn", "name"])))]
#[command(group(clap::ArgGroup::new("live").args(["arn", "name"])))]
pub struct Args {
    /// An ASL definition file (JSON).
    #[arg(short = 'f', long = "filename")]
    pub file: Option<PathBuf>,
    /// ARN of a live state machine (standard AWS environment: credentials, region, `AWS_ENDPOINT_URL`).
    #[arg(long)]
    pub arn: Option<String>,
    /// Name of a live state machine in the configured account and region.
    #[arg(long)]
    pub name: Option<String>,
    /// `metadata.name` of the StateMachine (default: from the file or machine name).
    #[arg(long)]
    pub object_name: Option<String>,
    /// Live machines: annotate the StateMachine `sfn.operator.dev/adopt: "true"` (with `deletionPolicy:
    /// Retain`), so the operator takes the existing machine over in place.
    #[arg(long, requires = "live")]
    pub adopt: bool,
    #[command(flatten)]
    pub common: Common,
}

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if let Some(file) = args.file {
        return sfn_cli::import::run(sfn_cli::import::Args {
            file,
            name: args.object_name,
            common: args.common,
        });
    }
    let runtime = tokio::runtime::Runtime::new()?;
    let live = runtime.block_on(read_live(args.arn.as_deref(), args.name.as_deref()))?;
    let options = Options {
        name: args.object_name,
        namespace: args.common.namespace.clone(),
        adopt: args.adopt,
    };
    let imported = import_live(&live, &options)?;
    print(&imported, args.common.output)
}

/// Reads the machine at `arn`, or named `name` in the configured account and region.
async fn read_live(arn: Option<&str>, name: Option<&str>) -> anyhow::Result<LiveMachine> {
    let settings = AwsSettings {
        max_rate_wait: None,
        ..Default::default()
    };
    let clients = AwsClients::from_env_with(settings)
        .await
        .context("connecting to AWS")?;
    let arn = match (arn, name) {
        (Some(arn), _) => arn.to_owned(),
        (None, Some(name)) => clients.state_machine_arn(name),
        (None, None) => bail!("give --filename, --arn or --name"),
    };
    match observe::state_machine(&clients, &arn, false)
        .await
        .with_context(|| format!("reading the state machine {arn}"))?
    {
        Some(observed) => Ok(live_machine(observed)),
        None => bail!("no state machine {arn} in this account and region"),
    }
}

/// The observed machine in the terms of the API types.
fn live_machine(observed: ObservedStateMachine) -> LiveMachine {
    LiveMachine {
        arn: observed.arn,
        name: observed.name,
        machine_type: match observed.machine_type {
            MachineType::Express => WorkflowType::Express,
            MachineType::Standard => WorkflowType::Standard,
        },
        definition: observed.definition,
        role_arn: observed.role_arn,
        logging: observed.logging.map(|l| LoggingSpec {
            level: match l.level.as_str() {
                "ALL" => LogLevel::All,
                "ERROR" => LogLevel::Error,
                "FATAL" => LogLevel::Fatal,
                _ => LogLevel::Off,
            },
            include_execution_data: Some(l.include_execution_data),
            log_group_arn: l.log_group_arn,
            ..Default::default()
        }),
        tracing: observed.tracing,
        encryption: observed.encryption.map(|e| EncryptionSpec {
            kms_key_id: e.kms_key_id,
            kms_data_key_reuse_period_seconds: e
                .kms_data_key_reuse_period_seconds
                .and_then(|s| u32::try_from(s).ok()),
        }),
        tags: observed.tags,
    }
}
