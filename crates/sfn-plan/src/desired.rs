//! From Kubernetes objects to the desired AWS state. Pure: the controller and the one-shot commands call the
//! same functions, so what `sfn-operator plan` shows is what `run` applies.
//!
//! A StateMachine goes through resolve → compile (`asl`) → derive the role (`iam`) and the alarms
//! (`alarms`) → a [`DesiredMachine`] for the AWS layer. Errors keep the step they came from, because the
//! controller reports them differently: a missing reference heals by itself (`ReferenceNotFound`, retried),
//! an invalid definition needs a user edit (`InvalidDefinition`, waits for a change).

use std::collections::BTreeMap;

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

pub use crate::DeletionPolicy;
use crate::{
    DesiredActivity, DesiredMachine, DesiredRole, MachineType, ManagedRole, Owner, PublishSpec,
};
use sfn_api::naming;
use sfn_api::{Activity, StateMachine, StateMachineSpec, TaskIntegration};
use sfn_asl::Resolver;
use sfn_iam::{self as iam, RoleContext, TaskHints};

/// The account-level facts and operator defaults a desired state depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub partition: String,
    pub region: String,
    pub account_id: String,
    pub default_deletion_policy: DeletionPolicy,
    /// Retention of the log groups the operator creates when `spec.logging.retentionInDays` is unset.
    pub default_log_retention_days: u32,
    /// Cluster-wide rules for the roles the operator generates.
    pub guardrails: crate::Guardrails,
}

/// An invalid definition: the message status and events show (every problem, the object named), and the
/// validator's diagnostics behind it with their codes (empty for problems found outside the ASL validator,
/// such as the CRD rules or the IAM derivation), for front ends that print them structured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub message: String,
    pub diagnostics: Vec<sfn_asl::Diagnostic>,
}

impl Invalid {
    /// A problem with no validator diagnostic behind it.
    pub fn message(message: String) -> Self {
        Invalid {
            message,
            diagnostics: Vec::new(),
        }
    }
}

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Why no desired state could be built. Messages name the object, and the state and field when there is one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DesiredError {
    /// A TaskIntegration, Activity or StateMachine named in the spec is missing or has no ARN yet.
    #[error("{0}")]
    ReferenceNotFound(String),
    /// The definition does not compile or validate.
    #[error("{0}")]
    InvalidDefinition(Invalid),
    /// Another part of the spec is unusable (AWS name, alarms, role).
    #[error("{0}")]
    InvalidSpec(String),
}

/// A desired state machine and what the status reports about it.
#[derive(Debug, Clone, PartialEq)]
pub struct Built {
    pub desired: DesiredMachine,
    /// Hash of the compiled definition (canonical JSON), for `status.definitionHash`.
    pub definition_hash: String,
    /// The ASL warnings as the validator reported them (severity, code, state, field, pointer).
    pub diagnostics: Vec<sfn_asl::Diagnostic>,
    /// The warnings that are not ASL diagnostics: the IAM widenings, and what later steps add (AWS's own
    /// validation). [`Built::warnings`] lists them after the diagnostics.
    pub other_warnings: Vec<String>,
    /// The compiled definition as a typed model (what `plan` summarises).
    pub model: sfn_asl::model::Definition,
    /// What the definition needs from its role. Derived for bring-your-own roles too, so that every front end
    /// refuses the same definitions and `plan` can show what such a role must allow.
    pub policy: iam::DerivedPolicy,
    /// The ARN the state machine has (or will have) in the account.
    pub state_machine_arn: String,
}

impl Built {
    /// Everything that does not block but deserves a look, for `status.warnings` and events: the ASL warnings
    /// (`CODE: state ..., field ...: message`), then the others.
    pub fn warnings(&self) -> Vec<String> {
        self.diagnostics
            .iter()
            .map(sfn_asl::Diagnostic::coded)
            .chain(self.other_warnings.iter().cloned())
            .collect()
    }
}

fn object_name(kind: &str, meta: &sfn_api::ObjectMeta) -> String {
    format!(
        "{kind} {}/{}",
        meta.namespace.as_deref().unwrap_or("default"),
        meta.name.as_deref().unwrap_or_default()
    )
}

fn owner_of(meta: &sfn_api::ObjectMeta) -> Owner {
    Owner {
        namespace: meta
            .namespace
            .clone()
            .unwrap_or_else(|| "default".to_owned()),
        name: meta.name.clone().unwrap_or_default(),
        uid: meta.uid.clone().unwrap_or_default(),
    }
}

fn adopt(meta: &sfn_api::ObjectMeta) -> bool {
    meta.annotations
        .as_ref()
        .and_then(|a| a.get(naming::ADOPT_ANNOTATION))
        .is_some_and(|v| v == "true")
}

fn allow_replacement(meta: &sfn_api::ObjectMeta) -> bool {
    meta.annotations
        .as_ref()
        .and_then(|a| a.get(sfn_api::ALLOW_REPLACEMENT_ANNOTATION))
        .is_some_and(|v| v == "true")
}

fn policy_of(
    p: Option<sfn_api::state_machine::DeletionPolicy>,
    default: DeletionPolicy,
) -> DeletionPolicy {
    match p {
        Some(sfn_api::state_machine::DeletionPolicy::Delete) => DeletionPolicy::Delete,
        Some(sfn_api::state_machine::DeletionPolicy::Retain) => DeletionPolicy::Retain,
        None => default,
    }
}

/// The deletion policy of a StateMachine (the operator default when unset).
pub fn deletion_policy(sm: &StateMachine, settings: &Settings) -> DeletionPolicy {
    policy_of(sm.spec.deletion_policy, settings.default_deletion_policy)
}

/// The deletion policy of an Activity (the operator default when unset).
pub fn activity_deletion_policy(act: &Activity, settings: &Settings) -> DeletionPolicy {
    policy_of(act.spec.deletion_policy, settings.default_deletion_policy)
}

/// Retention of created log groups when neither the spec nor the operator says otherwise.
pub const DEFAULT_LOG_RETENTION_DAYS: u32 = 30;

/// The log group the operator creates for a StateMachine: logging on and no `logGroupArn`. Its retention
/// must be one CloudWatch Logs accepts (the CRD checks the field; the operator default is checked here too).
pub fn owned_log_group(
    sm: &StateMachine,
    settings: &Settings,
) -> Result<Option<crate::DesiredLogGroup>, DesiredError> {
    let Some(logging) = sm
        .spec
        .logging
        .as_ref()
        .filter(|l| l.wants_owned_log_group())
    else {
        return Ok(None);
    };
    let (days, field) = match logging.retention_in_days {
        Some(d) => (d, "spec.logging.retentionInDays"),
        None => (
            settings.default_log_retention_days,
            "the operator's default log retention",
        ),
    };
    if !naming::LOG_RETENTION_DAYS.contains(&days) {
        return Err(DesiredError::InvalidSpec(format!(
            "{}: {field}: {days} is not a retention CloudWatch Logs accepts (one of {:?})",
            object_name("StateMachine", &sm.metadata),
            naming::LOG_RETENTION_DAYS
        )));
    }
    let meta = &sm.metadata;
    Ok(Some(crate::DesiredLogGroup {
        name: naming::owned_log_group_name(
            meta.namespace.as_deref().unwrap_or("default"),
            meta.name.as_deref().unwrap_or_default(),
        ),
        retention_in_days: days as i32,
        kms_key_id: logging.kms_key_id.clone(),
    }))
}

/// The AWS name of a StateMachine.
/// The name of the role the operator creates for `sm` (AWS name `name`), and the name it had before role
/// names carried the region, when that is another (`None` once the status shows the object uses it).
///
/// New roles are named [`naming::regional_role_name`]. A role created before that keeps its name: the
/// status's `roleArn` says so in the cluster, and [`crate::adopt_legacy_role`] finds it on the live machine
/// otherwise (`sfn-operator apply`, or an object restored without its status).
pub fn managed_role_name(
    sm: &StateMachine,
    name: &str,
    settings: &Settings,
) -> (String, Option<String>) {
    let prefix = &settings.guardrails.role_name_prefix;
    let legacy = naming::prefixed_role_name(prefix, name);
    let regional = naming::regional_role_name(prefix, name, &settings.region);
    let recorded = sm
        .status
        .as_ref()
        .and_then(|s| s.role_arn.as_deref())
        .and_then(naming::role_name_from_arn);
    if recorded == Some(legacy.as_str()) {
        (legacy, None)
    } else {
        (regional, Some(legacy))
    }
}

pub fn machine_name(sm: &StateMachine) -> Result<String, DesiredError> {
    let meta = &sm.metadata;
    naming::state_machine_name(
        meta.namespace.as_deref().unwrap_or("default"),
        meta.name.as_deref().unwrap_or_default(),
        sm.spec.name.as_deref(),
    )
    .map_err(|e| DesiredError::InvalidSpec(e.to_string()))
}

/// Hash of a JSON document independent of key order and formatting.
pub fn definition_hash(definition: &Value) -> String {
    // The bytes are those of `canonical_json(definition).to_string()`, written straight out rather than
    // through a sorted copy of the whole document: this runs on every reconcile and every `validate`.
    let mut canonical = Vec::with_capacity(4096);
    write_canonical(definition, &mut canonical);
    hex::encode(&Sha256::digest(&canonical)[..16])
}

/// Compact JSON with object keys in sorted order, as [`crate::canonical_json`] then `to_string` give it.
fn write_canonical(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push(b'{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                let _ = serde_json::to_writer(&mut *out, k);
                out.push(b':');
                write_canonical(v, out);
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(v, out);
            }
            out.push(b']');
        }
        scalar => write_scalar(scalar, out),
    }
}

fn write_scalar(value: &Value, out: &mut Vec<u8>) {
    // Writing a scalar into a Vec cannot fail; an error here would be a serde_json bug, and the hash of
    // what was written so far is still deterministic.
    let _ = serde_json::to_writer(&mut *out, value);
}

/// What the TaskIntegrations of a spec declare beyond the compiled ASL (roles passed to ECS / SageMaker, the
/// resources of `awsSdk` calls), keyed by the Task state name as it appears in the compiled definition: fragment
/// instances prefix the names of their states, nested instances prefix the prefix.
pub fn task_hints(spec: &StateMachineSpec, resolver: &dyn Resolver) -> BTreeMap<String, TaskHints> {
    let fragments: BTreeMap<&str, Vec<Value>> = spec
        .fragments
        .iter()
        .map(|f| {
            let states = f
                .states
                .iter()
                .filter_map(|s| serde_json::to_value(s).ok())
                .collect();
            (f.name.as_str(), states)
        })
        .collect();
    let top: Vec<Value> = spec
        .definition
        .iter()
        .flat_map(|d| d.states.iter())
        .filter_map(|s| serde_json::to_value(s).ok())
        .collect();
    let mut out = BTreeMap::new();
    hints_in(&top, "", &fragments, resolver, 0, &mut out);
    out
}

/// Fragments may use fragments; the compiler reports cycles, this only needs to stop.
const MAX_FRAGMENT_DEPTH: usize = 16;

fn hints_in(
    states: &[Value],
    prefix: &str,
    fragments: &BTreeMap<&str, Vec<Value>>,
    resolver: &dyn Resolver,
    depth: usize,
    out: &mut BTreeMap<String, TaskHints>,
) {
    let str_of =
        |m: &Map<String, Value>, k: &str| m.get(k).and_then(Value::as_str).map(str::to_owned);
    for state in states {
        let Value::Object(m) = state else { continue };
        let name = str_of(m, "name").unwrap_or_default();
        match m.get("type").and_then(Value::as_str) {
            Some("Task") => {
                if let Some(spec) = str_of(m, "integration")
                    .as_deref()
                    .and_then(|i| resolver.task_integration(i))
                {
                    let hints = TaskHints::from_integration(spec);
                    if hints != TaskHints::default() {
                        out.insert(format!("{prefix}{name}"), hints);
                    }
                }
            }
            Some("Fragment") if depth < MAX_FRAGMENT_DEPTH => {
                if let (Some(f), Some(p)) = (str_of(m, "fragment"), str_of(m, "prefix"))
                    && let Some(inner) = fragments.get(f.as_str())
                {
                    hints_in(
                        inner,
                        &format!("{prefix}{p}"),
                        fragments,
                        resolver,
                        depth + 1,
                        out,
                    );
                }
            }
            _ => {}
        }
        let mut nested: Vec<&Value> = Vec::new();
        for key in ["branches", "choices"] {
            if let Some(Value::Array(items)) = m.get(key) {
                nested.extend(items.iter().filter_map(|b| b.get("states")));
            }
        }
        nested.extend(m.get("itemProcessor").and_then(|p| p.get("states")));
        nested.extend(m.get("defaultStates"));
        for list in nested {
            if let Value::Array(list) = list {
                hints_in(list, prefix, fragments, resolver, depth, out);
            }
        }
    }
}

/// Builds the desired AWS state of a StateMachine.
pub fn build(
    sm: &StateMachine,
    resolver: &dyn Resolver,
    settings: &Settings,
) -> Result<Built, DesiredError> {
    let object = object_name("StateMachine", &sm.metadata);
    let spec = &sm.spec;
    // The CRD's CEL rules, again: an API server without CEL (or an object stored before the rules existed)
    // must not get an ambiguous spec through.
    let rule_errors = sfn_api::validate_state_machine(spec);
    if !rule_errors.is_empty() {
        return Err(DesiredError::InvalidDefinition(Invalid::message(
            field_errors(&object, &rule_errors),
        )));
    }
    let name = machine_name(sm)?;
    let refused = settings.guardrails.check(&object, spec);
    if !refused.is_empty() {
        return Err(DesiredError::InvalidSpec(refused.join("; ")));
    }

    let compiled = sfn_asl::compile_state_machine(spec, resolver)
        .map_err(|errors| compile_error(&object, errors))?;
    let sfn_asl::Compiled {
        definition: model,
        json: definition,
        warnings: diagnostics,
    } = compiled;
    let definition_hash = definition_hash(&definition);

    let ctx = RoleContext::from_spec(
        spec,
        &settings.partition,
        &settings.region,
        &settings.account_id,
        &name,
        task_hints(spec, resolver),
    );
    let state_machine_arn = ctx.state_machine_arn();
    let policy = iam::derive(&definition, &ctx)
        .map_err(|e| DesiredError::InvalidDefinition(Invalid::message(format!("{object}: {e}"))))?;
    let mut other_warnings: Vec<String> = policy
        .warnings
        .iter()
        .map(|w| format!("state {:?}: {}", w.state, w.message))
        .collect();
    let log_group = owned_log_group(sm, settings)?;
    if let Some(arn) = spec
        .logging
        .as_ref()
        .and_then(|l| l.log_group_arn.as_deref())
    {
        other_warnings.extend(crate::vended_logs_warning(arn));
    }
    let role = match &spec.role_arn {
        Some(arn) => DesiredRole::External { arn: arn.clone() },
        None => {
            let guardrails = &settings.guardrails;
            let role_name = managed_role_name(sm, &name, settings).0;
            // IAM caps the sum of a role's inline policies; past it the documents become customer
            // managed policies (each under its own, smaller, limit).
            let (policies, managed_policies) = if policy.fits_inline() {
                (policy.documents(), Vec::new())
            } else {
                let managed = policy
                    .managed_documents()
                    .into_iter()
                    .enumerate()
                    .map(|(i, (_, document))| {
                        let policy_name = naming::managed_policy_name(&role_name, i);
                        crate::ManagedPolicySpec {
                            arn: naming::managed_policy_arn(
                                &settings.partition,
                                &settings.account_id,
                                guardrails.role_path(),
                                &policy_name,
                            ),
                            name: policy_name,
                            path: guardrails.role_path().to_owned(),
                            document,
                        }
                    })
                    .collect();
                (Vec::new(), managed)
            };
            DesiredRole::Managed(ManagedRole {
                name: role_name,
                path: guardrails.role_path().to_owned(),
                trust_policy: iam::trust_policy(&settings.account_id),
                policies,
                managed_policies,
                permissions_boundary: guardrails
                    .boundary_for(policy.permissions_boundary.as_deref()),
                tags: guardrails.role_tags.clone(),
            })
        }
    };

    let alarms = alarms_for(sm, &name, &definition, settings)
        .map_err(|e| DesiredError::InvalidSpec(format!("{object}: {e}")))?;
    check_progressive_aliases(&object, &spec.aliases)?;

    let legacy_role_name = legacy_role_name(sm, &name, settings);
    let desired = DesiredMachine {
        owner: owner_of(&sm.metadata),
        name,
        machine_type: match spec.type_ {
            Some(sfn_api::definition::WorkflowType::Express) => MachineType::Express,
            _ => MachineType::Standard,
        },
        definition,
        role,
        logging: spec.logging.as_ref().map(|l| crate::LoggingSpec {
            level: l.level.as_str().to_owned(),
            include_execution_data: l.include_execution_data.unwrap_or(false),
            log_group_arn: l.log_group_arn.clone().or_else(|| {
                log_group.as_ref().map(|g| {
                    naming::log_group_arn(
                        &settings.partition,
                        &settings.region,
                        &settings.account_id,
                        &g.name,
                    )
                })
            }),
        }),
        log_group,
        tracing: spec.tracing.as_ref().is_some_and(|t| t.enabled),
        encryption: spec.encryption.as_ref().map(|e| crate::EncryptionSpec {
            kms_key_id: e.kms_key_id.clone(),
            kms_data_key_reuse_period_seconds: e
                .kms_data_key_reuse_period_seconds
                .map(|s| s as i32),
        }),
        tags: spec.tags.clone(),
        alarms,
        publish: spec.publishes_versions().then(|| PublishSpec {
            description: Some(naming::version_description(
                sm.metadata.generation.unwrap_or(0),
                sm.metadata
                    .annotations
                    .as_ref()
                    .and_then(|a| a.get(naming::GIT_REVISION_ANNOTATION))
                    .map(String::as_str),
                spec.version_description.as_deref(),
            )),
        }),
        deletion_policy: deletion_policy(sm, settings),
        adopt: adopt(&sm.metadata),
        allow_replace: allow_replacement(&sm.metadata),
        previous_arn: sm.status.as_ref().and_then(|s| s.state_machine_arn.clone()),
        known_version_arn: sm.status.as_ref().and_then(|s| s.version_arn.clone()),
        retain_versions: spec.retained_versions(),
        aliases: spec.aliases.clone(),
        rollout_memory: rollout_memory(sm),
        legacy_role_name,
    };
    Ok(Built {
        desired,
        definition_hash,
        diagnostics,
        other_warnings,
        model,
        policy,
        state_machine_arn,
    })
}

/// The alarms of `spec.alarms`. The owner passed to the alarm derivation is the machine's AWS name, so
/// that every alarm name falls under the prefix the AWS layer lists to find stale alarms.
fn alarms_for(
    sm: &StateMachine,
    name: &str,
    definition: &Value,
    settings: &Settings,
) -> Result<Vec<sfn_alarms::AlarmSpec>, String> {
    if sm.spec.alarms.is_empty() {
        return Ok(Vec::new());
    }
    // The API's Alarm and the derivation's AlarmInput carry the same camelCase fields.
    let inputs: Vec<sfn_alarms::AlarmInput> = serde_json::to_value(&sm.spec.alarms)
        .and_then(serde_json::from_value)
        .map_err(|e| format!("spec.alarms: {e}"))?;
    let ctx = sfn_alarms::AlarmContext {
        state_machine_name: name.to_owned(),
        state_machine_arn: format!(
            "arn:{}:states:{}:{}:stateMachine:{name}",
            settings.partition, settings.region, settings.account_id
        ),
        owner: name.to_owned(),
        task_resources: sfn_alarms::task_targets(definition),
    };
    sfn_alarms::desired_alarms(&ctx, &inputs).map_err(|e| e.to_string())
}

/// What to delete for a StateMachine. Deletion must work even when the spec no longer compiles (a broken
/// edit followed by `kubectl delete`): the AWS layer deletes by name and ownership, so the definition and
/// policies are left empty then.
pub fn for_deletion(
    sm: &StateMachine,
    resolver: &dyn Resolver,
    settings: &Settings,
) -> DesiredMachine {
    if let Ok(built) = build(sm, resolver, settings) {
        return built.desired;
    }
    let name = machine_name(sm).unwrap_or_else(|_| {
        naming::state_machine_name(
            sm.metadata.namespace.as_deref().unwrap_or("default"),
            sm.metadata.name.as_deref().unwrap_or_default(),
            None,
        )
        .unwrap_or_default()
    });
    let role = match &sm.spec.role_arn {
        Some(arn) => DesiredRole::External { arn: arn.clone() },
        None => DesiredRole::Managed(ManagedRole {
            name: managed_role_name(sm, &name, settings).0,
            path: settings.guardrails.role_path().to_owned(),
            trust_policy: iam::trust_policy(&settings.account_id),
            policies: Vec::new(),
            managed_policies: Vec::new(),
            permissions_boundary: None,
            tags: BTreeMap::new(),
        }),
    };
    let legacy_role_name = legacy_role_name(sm, &name, settings);
    DesiredMachine {
        owner: owner_of(&sm.metadata),
        name,
        machine_type: MachineType::Standard,
        definition: Value::Object(Default::default()),
        role,
        logging: None,
        // Still found and deleted by its name when the spec no longer builds.
        log_group: owned_log_group(sm, settings).ok().flatten(),
        tracing: false,
        encryption: None,
        tags: BTreeMap::new(),
        alarms: Vec::new(),
        publish: None,
        deletion_policy: deletion_policy(sm, settings),
        adopt: adopt(&sm.metadata),
        allow_replace: allow_replacement(&sm.metadata),
        previous_arn: sm.status.as_ref().and_then(|s| s.state_machine_arn.clone()),
        known_version_arn: sm.status.as_ref().and_then(|s| s.version_arn.clone()),
        retain_versions: sfn_api::versions::DEFAULT_RETAINED_VERSIONS,
        aliases: Vec::new(),
        rollout_memory: Default::default(),
        legacy_role_name,
    }
}

/// `status.rollout` reports one rollout, so at most one alias may move progressively (Canary or Linear);
/// the others route all at once.
fn check_progressive_aliases(
    object: &str,
    aliases: &[sfn_api::versions::AliasSpec],
) -> Result<(), DesiredError> {
    let progressive: Vec<usize> = aliases
        .iter()
        .enumerate()
        .filter(|(_, a)| {
            a.rollout
                .as_ref()
                .is_some_and(|r| r.rollout_type() != sfn_api::versions::RolloutType::AllAtOnce)
        })
        .map(|(i, _)| i)
        .collect();
    match progressive.as_slice() {
        [_, second, ..] => Err(DesiredError::InvalidSpec(format!(
            "{object}: spec.aliases[{second}].rollout: only one alias may have a Canary or Linear rollout \
             (spec.aliases[{}] has one already); route the others AllAtOnce",
            progressive[0]
        ))),
        _ => Ok(()),
    }
}

/// The rollout status last reported and the promote/abort/retry annotations of `sm`.
/// [`managed_role_name`]'s legacy name, for a machine whose role the operator creates.
fn legacy_role_name(sm: &StateMachine, name: &str, settings: &Settings) -> Option<String> {
    match &sm.spec.role_arn {
        Some(_) => None,
        None => managed_role_name(sm, name, settings).1,
    }
}

fn rollout_memory(sm: &StateMachine) -> crate::model::RolloutMemory {
    use sfn_api::versions::{ABORT_ANNOTATION, PROMOTE_ANNOTATION, RETRY_ANNOTATION};
    let annotation = |key: &str| {
        sm.metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(key))
            .filter(|v| !v.is_empty())
            .cloned()
    };
    crate::model::RolloutMemory {
        previous: sm.status.as_ref().and_then(|s| s.rollout.clone()),
        requests: crate::rollout::RolloutRequests {
            promote: annotation(PROMOTE_ANNOTATION),
            abort: annotation(ABORT_ANNOTATION),
            retry: annotation(RETRY_ANNOTATION),
        },
    }
}

/// Builds the desired AWS state of an Activity.
pub fn activity(act: &Activity, settings: &Settings) -> Result<DesiredActivity, DesiredError> {
    let meta = &act.metadata;
    let name = naming::activity_name(
        meta.namespace.as_deref().unwrap_or("default"),
        meta.name.as_deref().unwrap_or_default(),
        act.spec.name.as_deref(),
    )
    .map_err(|e| DesiredError::InvalidSpec(e.to_string()))?;
    Ok(DesiredActivity {
        owner: owner_of(meta),
        name,
        tags: act.spec.tags.clone(),
        deletion_policy: activity_deletion_policy(act, settings),
        adopt: adopt(meta),
    })
}

/// What a TaskIntegration resolves to, for its status.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedIntegration {
    /// The ASL `Resource` a Task using it gets.
    pub resource: String,
    /// The IAM statements it grants, each rendered as compact JSON.
    pub iam_statements: Vec<String>,
}

/// Resolves a TaskIntegration by compiling a one-state machine that uses it: the same code path as a real
/// Task, so the status never disagrees with what a StateMachine gets.
pub fn integration(
    ti: &TaskIntegration,
    resolver: &dyn Resolver,
    settings: &Settings,
) -> Result<ResolvedIntegration, DesiredError> {
    let object = object_name("TaskIntegration", &ti.metadata);
    let rule_errors = sfn_api::validate_task_integration(&ti.spec);
    if !rule_errors.is_empty() {
        return Err(DesiredError::InvalidSpec(field_errors(
            &object,
            &rule_errors,
        )));
    }
    let name = ti.metadata.name.clone().unwrap_or_default();
    let mut state = serde_json::json!({
        "name": "Task",
        "type": "Task",
        "integration": name,
        "end": true,
    });
    if matches!(
        ti.spec.pattern,
        Some(sfn_api::task_integration::IntegrationPattern::WaitForTaskToken)
    ) {
        // The compiler requires the token to be passed on for this pattern; any place will do here.
        state["parameters"] = serde_json::json!({"TaskToken.$": "$$.Task.Token"});
    }
    let spec: sfn_api::StateMachineSpec = serde_json::from_value(serde_json::json!({
        "definition": {"states": [state]},
    }))
    .map_err(|e| DesiredError::InvalidSpec(format!("{object}: {e}")))?;
    let compiled = sfn_asl::compile_state_machine(&spec, resolver)
        .map_err(|errors| compile_error(&object, errors))?;
    let task = compiled
        .json
        .pointer("/States/Task")
        .cloned()
        .unwrap_or(Value::Null);
    let resource = task
        .get("Resource")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let ctx = RoleContext::new(&settings.region, &settings.account_id, "integration");
    let derived = iam::derive_task("Task", &task, &ctx)
        .map_err(|e| DesiredError::InvalidSpec(format!("{object}: {e}")))?;
    let iam_statements = derived
        .plain_statements()
        .iter()
        .map(|s| s.to_json().to_string())
        .collect();
    Ok(ResolvedIntegration {
        resource,
        iam_statements,
    })
}

fn field_errors(object: &str, errors: &[sfn_api::FieldError]) -> String {
    errors
        .iter()
        .map(|e| format!("{object}: field {}: {}", e.field, e.message))
        .collect::<Vec<_>>()
        .join("\n")
}

fn compile_error(object: &str, errors: sfn_asl::CompileErrors) -> DesiredError {
    let message = format!("{object}: {errors}");
    if errors.is_reference_not_found() {
        DesiredError::ReferenceNotFound(message)
    } else {
        DesiredError::InvalidDefinition(Invalid {
            message,
            diagnostics: errors.diagnostics,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use sfn_api::manifest::{Bundle, load_paths};
    use sfn_asl::MapResolver;

    fn managed_role(d: &DesiredMachine) -> &crate::ManagedRole {
        match &d.role {
            DesiredRole::Managed(r) => r,
            DesiredRole::External { .. } => panic!("a managed role"),
        }
    }

    /// New roles carry the region; a role the status shows under the old name keeps it; a live machine
    /// running with the old role is adopted when the status does not know it.
    #[test]
    fn role_names_carry_the_region_and_old_roles_are_kept() {
        let bundle = example("job-poller.yaml");
        let sm = with_uid(bundle.state_machines[0].clone());
        let fresh = build(&sm, &resolver(&bundle), &settings()).unwrap().desired;
        let role = managed_role(&fresh);
        let region = naming::region_code(&settings().region);
        assert!(role.name.ends_with(&format!("-{region}")), "{}", role.name);
        let legacy = naming::role_name(&fresh.name);
        assert_eq!(fresh.legacy_role_name.as_deref(), Some(legacy.as_str()));

        let live_arn = format!("arn:aws:iam::123456789012:role/sfn-operator/{legacy}");
        let adopted = crate::adopt_legacy_role(&fresh, Some(&live_arn)).expect("adopted");
        assert_eq!(managed_role(&adopted).name, legacy);
        assert_eq!(adopted.legacy_role_name, None);
        assert!(
            crate::adopt_legacy_role(&fresh, Some("arn:aws:iam::123456789012:role/other"))
                .is_none()
        );
        assert!(crate::adopt_legacy_role(&fresh, None).is_none());

        let mut recorded = sm.clone();
        recorded.status = Some(sfn_api::StateMachineStatus {
            role_arn: Some(live_arn.clone()),
            ..Default::default()
        });
        let kept = build(&recorded, &resolver(&bundle), &settings())
            .unwrap()
            .desired;
        assert_eq!(managed_role(&kept).name, legacy);
        assert_eq!(kept.legacy_role_name, None, "nothing left to adopt");
        let deleted = for_deletion(&recorded, &resolver(&bundle), &settings());
        assert_eq!(managed_role(&deleted).name, legacy);
    }

    #[test]
    fn a_renamed_role_renames_its_managed_policies() {
        let role = crate::ManagedRole {
            name: "m-use1".into(),
            path: "/sfn-operator/".into(),
            trust_policy: Value::Null,
            policies: Vec::new(),
            managed_policies: vec![crate::ManagedPolicySpec {
                name: naming::managed_policy_name("m-use1", 0),
                path: "/sfn-operator/".into(),
                arn: naming::managed_policy_arn(
                    "aws",
                    "123456789012",
                    "/sfn-operator/",
                    &naming::managed_policy_name("m-use1", 0),
                ),
                document: Value::Null,
            }],
            permissions_boundary: None,
            tags: BTreeMap::new(),
        };
        let renamed = role.renamed("m");
        assert_eq!(renamed.name, "m");
        assert_eq!(
            renamed.managed_policies[0].name,
            naming::managed_policy_name("m", 0)
        );
        assert_eq!(
            renamed.managed_policies[0].arn,
            naming::managed_policy_arn("aws", "123456789012", "/sfn-operator/", "m-policy-0")
        );
    }

    #[test]
    fn definition_hash_is_the_hash_of_the_canonical_text() {
        for file in [
            "job-poller.yaml",
            "jsonata.yaml",
            "map.yaml",
            "fragments.yaml",
        ] {
            let bundle = example(file);
            for sm in &bundle.state_machines {
                let built = build(&with_uid(sm.clone()), &resolver(&bundle), &settings())
                    .expect("the example builds");
                let text = crate::canonical_json(&built.desired.definition).to_string();
                let expected = hex::encode(&Sha256::digest(text.as_bytes())[..16]);
                assert_eq!(built.definition_hash, expected, "{file}");
            }
        }
        let tricky = serde_json::json!({"b": [1, 2.5, "x\"y"], "a": {"é": null, "A": true}});
        let text = crate::canonical_json(&tricky).to_string();
        assert_eq!(
            definition_hash(&tricky),
            hex::encode(&Sha256::digest(text.as_bytes())[..16])
        );
    }

    fn settings() -> Settings {
        Settings {
            partition: "aws".into(),
            region: "us-east-1".into(),
            account_id: "123456789012".into(),
            default_deletion_policy: DeletionPolicy::Delete,
            default_log_retention_days: DEFAULT_LOG_RETENTION_DAYS,
            guardrails: Default::default(),
        }
    }

    fn example(file: &str) -> Bundle {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../examples")
            .join(file);
        load_paths(&[path]).expect("the example loads")
    }

    fn resolver(bundle: &Bundle) -> MapResolver {
        let mut r = MapResolver::default();
        for ti in &bundle.task_integrations {
            r.task_integrations
                .insert(ti.metadata.name.clone().unwrap(), ti.spec.clone());
        }
        for act in &bundle.activities {
            let name = act.metadata.name.clone().unwrap();
            r.activity_arns.insert(
                name.clone(),
                format!("arn:aws:states:us-east-1:123456789012:activity:demo-{name}"),
            );
        }
        r
    }

    fn with_uid(mut sm: StateMachine) -> StateMachine {
        sm.metadata.uid = Some("uid-1".into());
        sm
    }

    #[test]
    fn logging_without_a_log_group_gets_an_owned_vended_one() {
        let bundle = example("job-poller.yaml");
        let mut sm = with_uid(bundle.state_machines[0].clone());
        sm.spec.logging = Some(sfn_api::state_machine::LoggingSpec {
            level: sfn_api::LogLevel::Error,
            ..Default::default()
        });
        let built = build(&sm, &resolver(&bundle), &settings()).expect("builds");
        let group = built.desired.log_group.clone().expect("a log group");
        assert_eq!(group.name, "/aws/vendedlogs/states/demo/job-poller");
        assert_eq!(group.retention_in_days, 30);
        assert_eq!(
            built
                .desired
                .logging
                .as_ref()
                .unwrap()
                .log_group_arn
                .as_deref(),
            Some(
                "arn:aws:logs:us-east-1:123456789012:log-group:/aws/vendedlogs/states/demo/job-poller:*"
            )
        );
        assert!(built.warnings().iter().all(|w| !w.contains("vendedlogs")));
        // Deleting finds the same group even when the spec no longer builds.
        assert_eq!(
            for_deletion(&sm, &MapResolver::default(), &settings()).log_group,
            Some(group)
        );

        let mut seven = sm.clone();
        seven.spec.logging.as_mut().unwrap().retention_in_days = Some(7);
        let built = build(&seven, &resolver(&bundle), &settings()).expect("builds");
        assert_eq!(built.desired.log_group.unwrap().retention_in_days, 7);

        let mut bad = sm.clone();
        bad.spec.logging.as_mut().unwrap().retention_in_days = Some(31);
        let err = build(&bad, &resolver(&bundle), &settings())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("StateMachine demo/job-poller")
                && err.contains("spec.logging.retentionInDays"),
            "{err}"
        );

        let mut off = sm.clone();
        off.spec.logging.as_mut().unwrap().level = sfn_api::LogLevel::Off;
        assert_eq!(
            build(&off, &resolver(&bundle), &settings())
                .unwrap()
                .desired
                .log_group,
            None
        );

        let mut given = sm.clone();
        given.spec.logging.as_mut().unwrap().log_group_arn =
            Some("arn:aws:logs:us-east-1:123456789012:log-group:team-logs:*".into());
        let built = build(&given, &resolver(&bundle), &settings()).unwrap();
        assert_eq!(built.desired.log_group, None);
        assert!(
            built
                .warnings()
                .iter()
                .any(|w| w.contains("\"team-logs\"") && w.contains("resource policy")),
            "{:?}",
            built.warnings()
        );
    }

    #[test]
    fn roles_only_the_integration_names_may_be_passed() {
        // ECS passes the task and execution roles, which appear in the TaskIntegration, not in the ASL.
        let bundle = example("ecs-fargate.yaml");
        let sm = with_uid(bundle.state_machines[0].clone());
        let built = build(&sm, &resolver(&bundle), &settings()).expect("builds");
        let DesiredRole::Managed(role) = &built.desired.role else {
            panic!("a managed role")
        };
        let statements: Vec<&Value> = role
            .policies
            .iter()
            .flat_map(|(_, doc)| doc["Statement"].as_array().unwrap())
            .collect();
        let pass = statements
            .iter()
            .find(|s| s["Action"] == "iam:PassRole")
            .expect("an iam:PassRole statement");
        assert_eq!(
            pass["Resource"],
            serde_json::json!([
                "arn:aws:iam::123456789012:role/ecsTaskExecutionRole",
                "arn:aws:iam::123456789012:role/report-builder-task"
            ])
        );
    }

    #[test]
    fn the_job_poller_becomes_a_complete_desired_machine() {
        let bundle = example("job-poller.yaml");
        let sm = with_uid(bundle.state_machines[0].clone());
        let built = build(&sm, &resolver(&bundle), &settings()).expect("builds");
        let d = &built.desired;
        assert_eq!(d.name, "demo-job-poller");
        assert_eq!(
            d.owner,
            Owner {
                namespace: "demo".into(),
                name: "job-poller".into(),
                uid: "uid-1".into()
            }
        );
        assert_eq!(d.machine_type, MachineType::Standard);
        // The example's integrations call the function ARN directly (payloadResponseOnly).
        assert_eq!(
            d.definition["States"]["Submit Job"]["Resource"],
            "arn:aws:lambda:us-east-1:123456789012:function:SubmitJob"
        );
        let DesiredRole::Managed(role) = &d.role else {
            panic!("a role is created when roleArn is absent")
        };
        assert_eq!(role.path, "/sfn-operator/");
        assert_eq!(role.name, "demo-job-poller-use1");
        assert_eq!(
            role.trust_policy["Statement"][0]["Principal"]["Service"],
            "states.amazonaws.com"
        );
        let policy = serde_json::to_string(&role.policies).unwrap();
        assert!(policy.contains("lambda:InvokeFunction"), "{policy}");
        assert!(policy.contains("function:SubmitJob"), "{policy}");
        // Every alarm name falls under the prefix the AWS layer lists.
        assert_eq!(d.alarms.len(), 3);
        for alarm in &d.alarms {
            assert!(
                alarm.name.starts_with(&naming::alarm_name_prefix(&d.name)),
                "{}",
                alarm.name
            );
        }
        assert_eq!(d.tags.get("team").map(String::as_str), Some("batch"));
        assert_eq!(d.deletion_policy, DeletionPolicy::Delete);
        assert!(!d.adopt);
        assert_eq!(built.definition_hash, definition_hash(&d.definition));
        assert_eq!(built.definition_hash.len(), 32);
    }

    #[test]
    fn the_definition_hash_ignores_key_order() {
        let a = serde_json::json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}});
        let b = serde_json::json!({"States": {"A": {"End": true, "Type": "Pass"}}, "StartAt": "A"});
        assert_eq!(definition_hash(&a), definition_hash(&b));
        let c = serde_json::json!({"StartAt": "A", "States": {"A": {"Type": "Succeed"}}});
        assert_ne!(definition_hash(&a), definition_hash(&c));
    }

    #[test]
    fn missing_references_and_invalid_definitions_are_told_apart() {
        let bundle = example("job-poller.yaml");
        let sm = with_uid(bundle.state_machines[0].clone());
        let err = build(&sm, &MapResolver::default(), &settings()).unwrap_err();
        match err {
            DesiredError::ReferenceNotFound(m) => {
                assert!(m.contains("StateMachine demo/job-poller"), "{m}");
                assert!(m.contains("submit-job"), "{m}");
            }
            other => panic!("expected ReferenceNotFound, got {other:?}"),
        }

        let mut broken = sm.clone();
        let states = &mut broken.spec.definition.as_mut().unwrap().states;
        states[1].next = Some("Nowhere".into());
        let err = build(&broken, &resolver(&bundle), &settings()).unwrap_err();
        match err {
            DesiredError::InvalidDefinition(m) => {
                assert!(
                    m.message.contains("Wait X Seconds") && m.message.contains("Nowhere"),
                    "{m}"
                );
                assert_eq!(
                    m.diagnostics[0].code,
                    sfn_asl::Code::MissingTransitionTarget
                );
            }
            other => panic!("expected InvalidDefinition, got {other:?}"),
        }
    }

    #[test]
    fn the_crd_rules_are_checked_again() {
        let bundle = example("job-poller.yaml");
        let mut sm = with_uid(bundle.state_machines[0].clone());
        sm.spec.definition_json = Some("{}".into());
        match build(&sm, &resolver(&bundle), &settings()).unwrap_err() {
            DesiredError::InvalidDefinition(m) => {
                assert!(
                    m.message
                        .contains("StateMachine demo/job-poller: field spec"),
                    "{m}"
                )
            }
            other => panic!("expected InvalidDefinition, got {other:?}"),
        }
    }

    #[test]
    fn a_bring_your_own_role_is_not_managed() {
        let bundle = example("job-poller.yaml");
        let mut sm = with_uid(bundle.state_machines[0].clone());
        sm.spec.role_arn = Some("arn:aws:iam::123456789012:role/mine".into());
        let built = build(&sm, &resolver(&bundle), &settings()).unwrap();
        assert_eq!(
            built.desired.role,
            DesiredRole::External {
                arn: "arn:aws:iam::123456789012:role/mine".into()
            }
        );
    }

    #[test]
    fn deletion_policy_and_adoption_come_from_the_object_or_the_defaults() {
        let bundle = example("job-poller.yaml");
        let mut sm = with_uid(bundle.state_machines[0].clone());
        sm.spec.deletion_policy = None;
        let mut retain = settings();
        retain.default_deletion_policy = DeletionPolicy::Retain;
        assert_eq!(deletion_policy(&sm, &retain), DeletionPolicy::Retain);
        assert_eq!(deletion_policy(&sm, &settings()), DeletionPolicy::Delete);
        sm.spec.deletion_policy = Some(sfn_api::state_machine::DeletionPolicy::Retain);
        assert_eq!(deletion_policy(&sm, &settings()), DeletionPolicy::Retain);

        sm.metadata.annotations = Some(
            [(naming::ADOPT_ANNOTATION.to_owned(), "true".to_owned())]
                .into_iter()
                .collect(),
        );
        let built = build(&sm, &resolver(&bundle), &settings()).unwrap();
        assert!(built.desired.adopt);
        assert_eq!(built.desired.deletion_policy, DeletionPolicy::Retain);
    }

    #[test]
    fn deletion_works_even_when_the_spec_no_longer_compiles() {
        let bundle = example("job-poller.yaml");
        let mut sm = with_uid(bundle.state_machines[0].clone());
        sm.spec.definition.as_mut().unwrap().states[1].next = Some("Nowhere".into());
        let target = for_deletion(&sm, &MapResolver::default(), &settings());
        assert_eq!(target.name, "demo-job-poller");
        assert_eq!(target.owner.uid, "uid-1");
        let DesiredRole::Managed(role) = &target.role else {
            panic!("the created role must be deleted too")
        };
        assert_eq!(role.name, "demo-job-poller-use1");
    }

    #[test]
    fn activities_and_integrations_resolve() {
        let bundle = example("activity.yaml");
        let mut act = bundle.activities[0].clone();
        act.metadata.uid = Some("uid-a".into());
        let desired = activity(&act, &settings()).unwrap();
        assert_eq!(desired.name, "demo-manual-approval");
        assert_eq!(
            desired.tags.get("team").map(String::as_str),
            Some("payments")
        );
        assert_eq!(desired.owner.uid, "uid-a");

        let ti = bundle.task_integrations[0].clone();
        let r = resolver(&bundle);
        let resolved = integration(&ti, &r, &settings()).unwrap();
        assert_eq!(
            resolved.resource,
            "arn:aws:states:us-east-1:123456789012:activity:demo-manual-approval"
        );
        let missing = integration(
            &ti,
            &MapResolver {
                task_integrations: r.task_integrations.clone(),
                ..Default::default()
            },
            &settings(),
        )
        .unwrap_err();
        assert!(
            matches!(missing, DesiredError::ReferenceNotFound(_)),
            "{missing:?}"
        );

        let sns = example("sns-publish.yaml");
        let ti = sns.task_integrations[0].clone();
        let resolved = integration(&ti, &resolver(&sns), &settings()).unwrap();
        assert_eq!(resolved.resource, "arn:aws:states:::sns:publish");
        assert!(
            resolved
                .iam_statements
                .iter()
                .any(|s| s.contains("sns:Publish")),
            "{:?}",
            resolved.iam_statements
        );
    }

    fn lambda_chain(tasks: usize) -> StateMachine {
        let states: Vec<Value> = (0..tasks)
            .map(|i| {
                let mut state = serde_json::json!({
                    "name": format!("Step {i}"),
                    "type": "Task",
                    "resource": format!(
                        "arn:aws:lambda:us-east-1:123456789012:function:a-rather-long-function-name-{i}"
                    ),
                });
                if i + 1 < tasks {
                    state["next"] = serde_json::json!(format!("Step {}", i + 1));
                } else {
                    state["end"] = serde_json::json!(true);
                }
                state
            })
            .collect();
        serde_json::from_value(serde_json::json!({
            "apiVersion": "sfn.operator.dev/v1alpha1",
            "kind": "StateMachine",
            "metadata": {"name": "chain", "namespace": "big", "uid": "uid-1"},
            "spec": {"definition": {"states": states}},
        }))
        .unwrap()
    }

    #[test]
    fn a_policy_past_the_inline_quota_becomes_managed_policies() {
        let built = build(&lambda_chain(150), &MapResolver::default(), &settings()).unwrap();
        let DesiredRole::Managed(role) = &built.desired.role else {
            panic!("a managed role")
        };
        assert!(role.policies.is_empty(), "{:?}", role.policies);
        assert!(
            role.managed_policies.len() >= 2,
            "{:?}",
            role.managed_policies
        );
        for (i, policy) in role.managed_policies.iter().enumerate() {
            assert_eq!(policy.name, format!("big-chain-use1-policy-{i}"));
            assert_eq!(policy.path, "/sfn-operator/");
            assert_eq!(
                policy.arn,
                format!("arn:aws:iam::123456789012:policy/sfn-operator/big-chain-use1-policy-{i}")
            );
            assert!(iam::policy_size(&policy.document) <= iam::MANAGED_POLICY_LIMIT);
        }
        let all = serde_json::to_string(&role.managed_policies).unwrap();
        for i in [0, 75, 149] {
            assert!(
                all.contains(&format!("function:a-rather-long-function-name-{i}\"")),
                "function {i} missing"
            );
        }

        // A small machine keeps its inline policy.
        let built = build(&lambda_chain(3), &MapResolver::default(), &settings()).unwrap();
        let DesiredRole::Managed(role) = &built.desired.role else {
            panic!("a managed role")
        };
        assert!(role.managed_policies.is_empty());
        assert_eq!(role.policies.len(), 1);
    }

    #[test]
    fn two_progressive_aliases_are_refused_naming_the_second() {
        use sfn_api::versions::{AliasSpec, RolloutSpec, RolloutType};
        let canary = |name: &str| AliasSpec {
            name: name.into(),
            rollout: Some(RolloutSpec {
                type_: Some(RolloutType::Canary),
                ..RolloutSpec::default()
            }),
            ..AliasSpec::default()
        };
        let plain = AliasSpec {
            name: "beta".into(),
            ..AliasSpec::default()
        };
        assert!(check_progressive_aliases("demo/m", &[canary("live"), plain.clone()]).is_ok());
        let err = check_progressive_aliases("demo/m", &[canary("live"), plain, canary("prod")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("spec.aliases[2].rollout"), "{err}");
        assert!(err.contains("spec.aliases[0]"), "{err}");
    }
}
