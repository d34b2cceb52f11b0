//! Which state machine a command works on: the StateMachine object named on the command line, read from the
//! cluster the kubeconfig points at (as kubectl does: `--kubeconfig`, `KUBECONFIG`, `--context`, the
//! context's namespace), and the ARN its status carries. Nobody copies an ARN; the region comes from it too.

use anyhow::{Context, bail};
use kube::config::{KubeConfigOptions, Kubeconfig};
use sfn_api::StateMachine;

/// How to reach the cluster and which namespace a bare name is in; the flags kubectl itself takes.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ClusterArgs {
    /// Path to the kubeconfig file (default: `KUBECONFIG`, then `~/.kube/config`, then in-cluster).
    #[arg(long)]
    pub kubeconfig: Option<std::path::PathBuf>,
    /// The kubeconfig context to use (default: the current context).
    #[arg(long)]
    pub context: Option<String>,
    /// Namespace of a bare NAME (default: the context's namespace, else `default`).
    #[arg(short = 'n', long)]
    pub namespace: Option<String>,
}

/// The state machine a command works on.
#[derive(Debug, Clone, PartialEq)]
pub struct Machine {
    pub namespace: String,
    pub name: String,
    pub arn: String,
    pub region: String,
}

impl Machine {
    /// `StateMachine NAMESPACE/NAME`, as messages name the object.
    pub fn object(&self) -> String {
        format!("StateMachine {}/{}", self.namespace, self.name)
    }
}

/// A client for the cluster, and the namespace of bare names.
pub async fn connect(args: &ClusterArgs) -> anyhow::Result<(kube::Client, String)> {
    let options = KubeConfigOptions {
        context: args.context.clone(),
        ..KubeConfigOptions::default()
    };
    let config = match (&args.kubeconfig, &args.context) {
        (Some(path), _) => {
            let kubeconfig = Kubeconfig::read_from(path)
                .with_context(|| format!("reading the kubeconfig {}", path.display()))?;
            kube::Config::from_custom_kubeconfig(kubeconfig, &options)
                .await
                .with_context(|| format!("loading the kubeconfig {}", path.display()))?
        }
        (None, Some(_)) => kube::Config::from_kubeconfig(&options)
            .await
            .context("loading the kubeconfig")?,
        // Without a context asked for, in-cluster credentials are a fallback, as for kubectl in a pod.
        (None, None) => kube::Config::infer().await.context(
            "finding a kubeconfig (KUBECONFIG, ~/.kube/config) or in-cluster credentials",
        )?,
    };
    let namespace = args
        .namespace
        .clone()
        .unwrap_or_else(|| config.default_namespace.clone());
    let client = kube::Client::try_from(config).context("building the Kubernetes client")?;
    Ok((client, namespace))
}

/// `NAMESPACE/NAME` or a bare `NAME` (in `namespace`), as (namespace, name).
pub fn split_reference(reference: &str, namespace: &str) -> anyhow::Result<(String, String)> {
    let (ns, name) = match reference.split_once('/') {
        Some((ns, name)) => (ns, name),
        None => (namespace, reference),
    };
    if ns.is_empty() || name.is_empty() || name.contains('/') {
        bail!("{reference:?} is not NAME or NAMESPACE/NAME of a StateMachine");
    }
    Ok((ns.to_owned(), name.to_owned()))
}

/// Reads the StateMachine and takes its ARN from the status; an object that is missing or has no ARN yet
/// is an error naming it.
pub async fn resolve(args: &ClusterArgs, reference: &str) -> anyhow::Result<Machine> {
    let (client, default_namespace) = connect(args).await?;
    let (namespace, name) = split_reference(reference, &default_namespace)?;
    let api: kube::Api<StateMachine> = kube::Api::namespaced(client, &namespace);
    let object = match api.get_opt(&name).await {
        Ok(Some(object)) => object,
        Ok(None) => bail!("StateMachine {namespace}/{name} not found"),
        Err(e) => {
            return Err(e).with_context(|| format!("reading StateMachine {namespace}/{name}"));
        }
    };
    machine_of(&object, &namespace, &name)
}

/// The machine of a StateMachine object read from the cluster.
pub fn machine_of(object: &StateMachine, namespace: &str, name: &str) -> anyhow::Result<Machine> {
    let status = object.status.as_ref();
    let Some(arn) = status.and_then(|s| s.state_machine_arn.clone()) else {
        let why = status
            .and_then(|s| {
                sfn_api::status::find_condition(&s.conditions, sfn_api::status::CONDITION_READY)
            })
            .map(|c| {
                format!(
                    " (Ready={}, {}: {})",
                    c.status.as_str(),
                    c.reason,
                    c.message
                )
            })
            .unwrap_or_default();
        bail!(
            "StateMachine {namespace}/{name} has no status.stateMachineArn yet: the operator has not created it in AWS{why}"
        );
    };
    let Some(region) = sfn_aws::executions::region_of_arn(&arn) else {
        bail!(
            "StateMachine {namespace}/{name}: status.stateMachineArn {arn:?} is not a Step Functions ARN"
        );
    };
    Ok(Machine {
        namespace: namespace.to_owned(),
        name: name.to_owned(),
        region: region.to_owned(),
        arn,
    })
}

/// An execution given as its name or its full ARN, as an ARN of `machine`.
pub fn execution_arn(machine: &Machine, execution: &str) -> anyhow::Result<String> {
    if execution.starts_with("arn:") {
        return Ok(execution.to_owned());
    }
    sfn_aws::executions::execution_arn(&machine.arn, execution).with_context(|| {
        format!(
            "{}: status.stateMachineArn {} is not a state machine ARN",
            machine.object(),
            machine.arn
        )
    })
}

/// A Step Functions client for the machine's region.
pub async fn sfn_client(machine: &Machine) -> aws_sdk_sfn::Client {
    sfn_aws::executions::client_for_region(&machine.region).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references() {
        assert_eq!(
            split_reference("demo/job-poller", "x").unwrap(),
            ("demo".into(), "job-poller".into())
        );
        assert_eq!(
            split_reference("job-poller", "team").unwrap(),
            ("team".into(), "job-poller".into())
        );
        for bad in ["", "/x", "x/", "a/b/c"] {
            assert!(split_reference(bad, "n").is_err(), "{bad}");
        }
    }

    #[test]
    fn a_machine_without_an_arn_is_named_in_the_error() {
        let object: StateMachine = serde_json::from_value(serde_json::json!({
            "apiVersion": "sfn.operator.dev/v1alpha1", "kind": "StateMachine",
            "metadata": {"name": "jp", "namespace": "demo"},
            "spec": {"definition": {"states": [{"name": "A", "type": "Pass", "end": true}]}},
            "status": {"conditions": [{"type": "Ready", "status": "False", "reason": "InvalidSpec", "message": "state A is wrong"}]}
        }))
        .unwrap();
        let err = machine_of(&object, "demo", "jp").unwrap_err().to_string();
        assert!(
            err.contains("StateMachine demo/jp has no status.stateMachineArn"),
            "{err}"
        );
        assert!(err.contains("InvalidSpec: state A is wrong"), "{err}");
    }
}
