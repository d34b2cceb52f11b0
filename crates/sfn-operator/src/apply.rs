//! `sfn-operator apply -f FILE…`: the controller's observe → plan → apply for the objects in manifest
//! files, without a cluster (CI pipelines, and a way to exercise the AWS pipeline on its own).
//! `--dry-run` (and `sfn-operator plan --live`, through [`plan_live`]) shows the operations against the
//! live account without changing anything. Both reach AWS through the standard environment, so
//! `AWS_ENDPOINT_URL`, `AWS_REGION` and the credentials chain apply.
//!
//! AwsIdentity objects in the files are honoured as the controller honours them: each StateMachine and
//! Activity is reconciled with the identity it resolves to among them (account, region and the role chain,
//! assumed from the caller's credentials), and objects without one use the caller's own.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use sfn_aws::{self as aws, AwsClients, AwsError};
use sfn_plan::desired;
use sfn_plan::{self as plan, DesiredActivity, DesiredMachine, Identity};

/// Observe, plan and apply the objects in the given files against AWS, without a cluster.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Manifest files (multi-document YAML) holding StateMachine, TaskIntegration, Activity and AwsIdentity
    /// objects.
    #[arg(short = 'f', long = "filename", required = true, num_args = 1..)]
    pub files: Vec<PathBuf>,
    /// Show what would change in AWS, change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Allow deleting and re-creating a state machine whose type or AWS name changed.
    #[arg(long)]
    pub allow_replace: bool,
    /// Client-side AWS rate limits, `API=PER_SECOND[/BURST],...` (`sfn:CreateStateMachine=1/20`,
    /// `default=5`), on top of the built-in ones.
    #[arg(long, env = "SFN_OPERATOR_AWS_RATE_LIMITS")]
    pub rate_limits: Option<String>,
    #[command(flatten)]
    pub guardrails: crate::guardrails::GuardrailArgs,
}

/// One object of the manifests, resolved to what it wants in AWS.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    Activity(DesiredActivity),
    Machine(Box<DesiredMachine>),
}

impl Target {
    fn describe(&self) -> String {
        match self {
            Target::Activity(a) => format!(
                "Activity {}/{} ({})",
                a.owner.namespace, a.owner.name, a.name
            ),
            Target::Machine(m) => format!(
                "StateMachine {}/{} ({})",
                m.owner.namespace, m.owner.name, m.name
            ),
        }
    }

    /// Activities first: state machines name their ARNs.
    fn order(&self) -> u8 {
        match self {
            Target::Activity(_) => 0,
            Target::Machine(_) => 1,
        }
    }
}

/// Account facts the desired state depends on (ARNs in policies and alarm dimensions).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub partition: String,
    pub region: String,
    pub account_id: String,
    /// The cluster's rules for generated roles, as `run` is given them.
    pub guardrails: plan::Guardrails,
}

/// Reads the manifests and builds the desired AWS state of every StateMachine and Activity in them.
pub fn load_targets(files: &[PathBuf], account: &Account) -> anyhow::Result<Vec<Target>> {
    let bundle = sfn_api::manifest::load_paths(files)?;
    from_bundle(&bundle, account)
}

/// An object of a bundle: `(kind, namespace, name)`.
pub type ObjectKey = (&'static str, String, String);

fn object_key(kind: &'static str, meta: &sfn_api::ObjectMeta) -> ObjectKey {
    (
        kind,
        sfn_asl::bundle::namespace_of(meta),
        meta.name.clone().unwrap_or_default(),
    )
}

/// The identity of each StateMachine and Activity of `bundle` among its AwsIdentities. Every refusal is
/// reported, and then nothing is applied.
pub fn identities_of(
    bundle: &sfn_api::manifest::Bundle,
) -> anyhow::Result<BTreeMap<ObjectKey, Option<Identity>>> {
    let mut out = BTreeMap::new();
    let mut errors = Vec::new();
    let objects = bundle
        .state_machines
        .iter()
        .map(|sm| ("StateMachine", &sm.metadata, sm.spec.identity_ref.as_ref()))
        .chain(
            bundle
                .activities
                .iter()
                .map(|a| ("Activity", &a.metadata, a.spec.identity_ref.as_ref())),
        );
    for (kind, meta, requested) in objects {
        let key = object_key(kind, meta);
        match plan::identity::resolve(
            &key.1,
            requested.map(|r| r.name.as_str()),
            &bundle.identities,
        ) {
            Ok(identity) => {
                out.insert(key, identity);
            }
            Err(e) => errors.push(format!("{kind} {}/{}: {e}", key.1, key.2)),
        }
    }
    if !errors.is_empty() {
        anyhow::bail!(
            "{} object(s) without a usable identity, nothing applied:\n{}",
            errors.len(),
            errors.join("\n")
        );
    }
    Ok(out)
}

/// The desired AWS state of every StateMachine and Activity of a bundle, built exactly as the controller builds
/// it ([`desired::build`], [`desired::activity`]), with references resolved among the objects of the same
/// namespace in the bundle. Every invalid object is reported, and none is applied then: invalid ASL never reaches
/// AWS, and a half-applied set of manifests is harder to reason about than none.
pub fn from_bundle(
    bundle: &sfn_api::manifest::Bundle,
    account: &Account,
) -> anyhow::Result<Vec<Target>> {
    from_bundle_where(bundle, account, &|_, _| true)
}

/// [`from_bundle`] for the objects `wanted` picks by kind and metadata; references still resolve among
/// every object of the bundle.
fn from_bundle_where(
    bundle: &sfn_api::manifest::Bundle,
    account: &Account,
    wanted: &dyn Fn(&'static str, &sfn_api::ObjectMeta) -> bool,
) -> anyhow::Result<Vec<Target>> {
    let settings = desired::Settings {
        partition: account.partition.clone(),
        region: account.region.clone(),
        account_id: account.account_id.clone(),
        // Objects applied from files are owned by the files: removing one is an explicit decision elsewhere.
        default_deletion_policy: desired::DeletionPolicy::Delete,
        default_log_retention_days: desired::DEFAULT_LOG_RETENTION_DAYS,
        guardrails: account.guardrails.clone(),
    };
    let mut targets = Vec::new();
    let mut errors = Vec::new();
    for act in bundle
        .activities
        .iter()
        .filter(|a| wanted("Activity", &a.metadata))
    {
        match desired::activity(act, &settings) {
            Ok(d) => targets.push(Target::Activity(d)),
            Err(e) => errors.push(e.to_string()),
        }
    }
    for sm in bundle
        .state_machines
        .iter()
        .filter(|sm| wanted("StateMachine", &sm.metadata))
    {
        let resolver = sfn_asl::bundle::offline_resolver(
            bundle,
            &sfn_asl::bundle::namespace_of(&sm.metadata),
            &account.account_id,
            &account.region,
        );
        match desired::build(sm, &resolver, &settings) {
            Ok(built) => targets.push(Target::Machine(Box::new(built.desired))),
            Err(e) => errors.push(e.to_string()),
        }
    }
    if !errors.is_empty() {
        anyhow::bail!(
            "{} invalid object(s), nothing applied:\n{}",
            errors.len(),
            errors.join("\n")
        );
    }
    Ok(targets)
}

/// What happened to one object.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub object: String,
    pub operations: Vec<plan::Operation>,
    pub error: Option<String>,
}

/// Observes and plans every target, changing nothing; prints one block per object.
pub async fn plan_live(
    clients: &AwsClients,
    targets: &[Target],
    out: &mut dyn Write,
) -> std::io::Result<Vec<Report>> {
    run_targets(clients, targets, false, out).await
}

/// Observes, plans and applies every target (activities first); an error on one object does not stop the
/// others. Prints one block per object.
pub async fn apply_targets(
    clients: &AwsClients,
    targets: &[Target],
    out: &mut dyn Write,
) -> std::io::Result<Vec<Report>> {
    run_targets(clients, targets, true, out).await
}

async fn run_targets(
    clients: &AwsClients,
    targets: &[Target],
    apply: bool,
    out: &mut dyn Write,
) -> std::io::Result<Vec<Report>> {
    let mut ordered: Vec<&Target> = targets.iter().collect();
    ordered.sort_by_key(|t| t.order());
    let mut reports = Vec::new();
    for target in ordered {
        let object = target.describe();
        let result = run_one(clients, target, apply).await;
        writeln!(out, "{object}:")?;
        let report = match result {
            Ok((operations, arn)) => {
                if operations.is_empty() {
                    writeln!(out, "  no changes")?;
                }
                for op in &operations {
                    writeln!(out, "  {} {}", if apply { "*" } else { "+" }, op.summary())?;
                }
                if let Some(arn) = arn {
                    writeln!(out, "  arn: {arn}")?;
                }
                Report {
                    object,
                    operations,
                    error: None,
                }
            }
            Err(err) => {
                writeln!(out, "  error ({}): {err}", err.metric_label())?;
                Report {
                    object,
                    operations: Vec::new(),
                    error: Some(err.to_string()),
                }
            }
        };
        reports.push(report);
    }
    Ok(reports)
}

async fn run_one(
    clients: &AwsClients,
    target: &Target,
    apply: bool,
) -> Result<(Vec<plan::Operation>, Option<String>), AwsError> {
    match (target, apply) {
        (Target::Machine(d), false) => Ok((aws::plan_machine_live(clients, d).await?, None)),
        (Target::Machine(d), true) => {
            let outcome = aws::reconcile_machine(clients, d).await?;
            Ok((outcome.operations, outcome.state_machine_arn))
        }
        (Target::Activity(d), false) => {
            let observed = aws::observe::activity(clients, d).await?;
            Ok((plan::plan_activity(d, observed.as_ref())?, None))
        }
        (Target::Activity(d), true) => {
            let outcome = aws::reconcile_activity(clients, d).await?;
            Ok((outcome.operations, Some(outcome.activity_arn)))
        }
    }
}

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        // One shot with nothing else to serve: wait for every rate limit token rather than give up.
        let mut settings = aws::AwsSettings {
            max_rate_wait: None,
            ..Default::default()
        };
        if let Some(spec) = &args.rate_limits {
            settings.rate_limits = settings.rate_limits.with_overrides(spec)?;
        }
        let config = aws::load_config(&settings).await;
        let own = AwsClients::from_sdk_config(&config, settings).await?;
        let pool = aws::ClientPool::new(config, own);
        let guardrails = args.guardrails.guardrails()?;
        let bundle = sfn_api::manifest::load_paths(&args.files)?;
        let identities = identities_of(&bundle)?;
        // Every identity is assumed, and every object built, before anything is applied.
        let mut groups = Vec::new();
        let mut distinct: Vec<&Option<Identity>> = Vec::new();
        for identity in identities.values() {
            if !distinct.contains(&identity) {
                distinct.push(identity);
            }
        }
        for identity in distinct {
            let clients = pool.clients(identity.as_ref()).await?;
            let account = Account {
                partition: aws::partition_of(clients.region()).to_string(),
                region: clients.region().to_string(),
                account_id: clients.account_id().to_string(),
                guardrails: guardrails.clone(),
            };
            let uses = |kind: &'static str, meta: &sfn_api::ObjectMeta| {
                identities.get(&object_key(kind, meta)) == Some(identity)
            };
            let mut targets = from_bundle_where(&bundle, &account, &uses)?;
            if args.allow_replace {
                for t in &mut targets {
                    if let Target::Machine(m) = t {
                        m.allow_replace = true;
                    }
                }
            }
            groups.push((clients, targets));
        }
        let mut stdout = std::io::stdout().lock();
        let mut reports = Vec::new();
        for (clients, targets) in &groups {
            reports.extend(if args.dry_run {
                plan_live(clients, targets, &mut stdout).await?
            } else {
                apply_targets(clients, targets, &mut stdout).await?
            });
        }
        let failed = reports.iter().filter(|r| r.error.is_some()).count();
        let calls = pool.calls();
        writeln!(
            stdout,
            "{} object(s), {} failed, {} AWS call(s), {} write(s)",
            reports.len(),
            failed,
            calls.total(),
            calls.writes()
        )?;
        Ok(if failed == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        })
    })
}
