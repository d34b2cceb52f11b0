//! The controllers' view of AWS: four calls (reconcile/delete a machine, reconcile/delete an activity), AWS's
//! own validation of a definition (optional, see [`DefinitionReview`]), the policies of a bring-your-own role
//! (for its audit, see [`RolePolicyDocuments`]), the sample of a machine's newest executions (for
//! `status.executions`) and the per-API call counters for `/metrics`.
//!
//! A trait rather than the AWS clients directly, so the reconcile logic (status, events, error policy) is
//! tested with an in-memory fake, and the AWS layer's own result types stay its own business: the adapter
//! below translates them into the few facts the controllers act on.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;

use sfn_api::ExecutionsStatus;
use sfn_api::versions::{AliasStatus, RolloutStatus, VersionStatus};
use sfn_plan::{DesiredActivity, DesiredMachine, Identity, MachineType};

use super::AwsEnvironment;

/// What a successful machine reconcile left in AWS.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MachineApplied {
    pub state_machine_arn: String,
    pub role_arn: Option<String>,
    pub version_arn: Option<String>,
    pub alarm_names: Vec<String>,
    /// Write operations applied (0 = AWS was already in line).
    pub operations: usize,
    /// The AWS layer found live state that differed from what it last applied.
    pub drift_corrected: bool,
    /// The previous reconcile's writes to this machine changed nothing in what AWS shows.
    pub previous_writes_were_noops: bool,
    /// Published versions, newest first (`status.versions`).
    pub versions: Vec<VersionStatus>,
    /// Aliases with their ARN and routing (`status.aliases`).
    pub aliases: Vec<AliasStatus>,
    /// The rollout of the alias with a Canary or Linear strategy (`status.rollout`).
    pub rollout: Option<RolloutStatus>,
    /// When a rollout needs another look (its next step, or watching its alarms), sooner than a resync.
    pub requeue_after: Option<std::time::Duration>,
    /// One event per rollout transition of this reconcile.
    pub rollout_events: Vec<sfn_plan::rollout::RolloutEvent>,
}

/// What a successful activity reconcile left in AWS.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ActivityApplied {
    pub activity_arn: String,
    pub operations: usize,
}

/// An AWS failure, classified for the error policy and the metrics.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct BackendError {
    pub message: String,
    /// Retry with backoff (throttling, 5xx, IAM propagation, conflicts).
    pub transient: bool,
    /// The failure was throttling (reason `Throttled` rather than `AwsError`).
    pub throttled: bool,
    /// Retry after this long rather than with backoff: the client-side rate limit said when a token is free.
    pub retry_after: Option<std::time::Duration>,
}

/// AWS's opinion of a definition (`ValidateStateMachineDefinition`), each finding already worded for a status:
/// its code, location and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DefinitionReview {
    /// AWS would create it; its warnings, if any.
    Accepted { warnings: Vec<String> },
    /// AWS would refuse it.
    Rejected {
        errors: Vec<String>,
        warnings: Vec<String>,
    },
    /// No verdict (no permission, throttled, unreachable, not implemented by the endpoint): the reconcile
    /// goes on as if it had not asked.
    Unavailable { reason: String },
}

/// The permission policy documents of a bring-your-own role, for the audit of what its definition needs.
#[derive(Debug, Clone, PartialEq)]
pub enum RolePolicyDocuments {
    /// Every inline policy and the default version of every attached managed policy.
    Read(Vec<serde_json::Value>),
    /// They could not be read (another account, not found, access denied, throttled, unreachable): why.
    Unavailable { reason: String },
}

/// A backend working as one identity, and the account and region it lands in.
pub struct Scoped {
    pub backend: Arc<dyn AwsBackend>,
    pub environment: AwsEnvironment,
}

/// The AWS operations the controllers need.
#[async_trait]
pub trait AwsBackend: Send + Sync + 'static {
    /// This backend as `identity` (`None`: the operator's own credentials), with the account and region
    /// it lands in. An error means the identity's credentials could not be had; its message names the role.
    async fn scoped(self: Arc<Self>, identity: Option<&Identity>) -> Result<Scoped, BackendError>;
    async fn reconcile_machine(
        &self,
        desired: &DesiredMachine,
    ) -> Result<MachineApplied, BackendError>;
    async fn delete_machine(&self, desired: &DesiredMachine) -> Result<(), BackendError>;
    async fn reconcile_activity(
        &self,
        desired: &DesiredActivity,
    ) -> Result<ActivityApplied, BackendError>;
    async fn delete_activity(&self, desired: &DesiredActivity) -> Result<(), BackendError>;
    /// AWS's validation of `definition` for a machine of `machine_type`. Never an error: a failed call is
    /// [`DefinitionReview::Unavailable`].
    async fn validate_definition(
        &self,
        definition: &serde_json::Value,
        machine_type: MachineType,
    ) -> DefinitionReview;
    /// The permission policies of the role `role_arn`. Never an error: a failed read is
    /// [`RolePolicyDocuments::Unavailable`].
    async fn role_policies(&self, role_arn: &str) -> RolePolicyDocuments;
    /// The summary of the newest executions of the Standard machine `state_machine_arn`, reusing what
    /// `previous` (its summary so far) already describes. A failed read is `Err` with the reason; the caller
    /// keeps the previous summary.
    async fn sample_executions(
        &self,
        state_machine_arn: &str,
        previous: Option<&ExecutionsStatus>,
    ) -> Result<ExecutionsStatus, String>;
    /// Cumulative AWS calls per API operation since start.
    fn call_counts(&self) -> BTreeMap<String, u64>;
}

/// The real AWS (or an emulator behind `AWS_ENDPOINT_URL`), through the AWS layer's entry points.
#[derive(Debug, Clone)]
pub struct AwsSdkBackend {
    clients: sfn_aws::AwsClients,
    /// The clients of every identity, shared by all scoped backends; `None` for a backend built from
    /// bare clients, which knows no identity but its own.
    pool: Option<Arc<sfn_aws::ClientPool>>,
    /// The identity these clients act as (`None`: the operator's own).
    identity: Option<Identity>,
}

impl AwsSdkBackend {
    /// Clients from the standard AWS environment (region, credentials, endpoint).
    pub async fn from_env(settings: sfn_aws::AwsSettings) -> Result<Self, sfn_aws::AwsError> {
        let config = sfn_aws::load_config(&settings).await;
        Self::from_sdk_config_with(&config, settings).await
    }

    /// Clients from an already loaded SDK configuration (tests point it at the emulator).
    pub async fn from_sdk_config(
        config: &aws_config::SdkConfig,
    ) -> Result<Self, sfn_aws::AwsError> {
        Self::from_sdk_config_with(config, Default::default()).await
    }

    /// [`AwsSdkBackend::from_sdk_config`] with explicit settings.
    pub async fn from_sdk_config_with(
        config: &aws_config::SdkConfig,
        settings: sfn_aws::AwsSettings,
    ) -> Result<Self, sfn_aws::AwsError> {
        let clients = sfn_aws::AwsClients::from_sdk_config(config, settings).await?;
        Ok(Self {
            pool: Some(Arc::new(sfn_aws::ClientPool::new(
                config.clone(),
                clients.clone(),
            ))),
            clients,
            identity: None,
        })
    }

    /// A backend over clients built elsewhere; it cannot act as any other identity.
    pub fn from_clients(clients: sfn_aws::AwsClients) -> Self {
        Self {
            clients,
            pool: None,
            identity: None,
        }
    }

    pub fn clients(&self) -> &sfn_aws::AwsClients {
        &self.clients
    }

    /// Classifies a failed call; a failure of an identity's clients that is not about pacing or the plan
    /// drops them, so that the next reconcile checks the role chain again (it may have been revoked) and
    /// reports which role fails.
    fn failed(&self, err: sfn_aws::AwsError) -> BackendError {
        if let (Some(pool), Some(identity)) = (&self.pool, &self.identity)
            && !matches!(
                err,
                sfn_aws::AwsError::Throttled { .. }
                    | sfn_aws::AwsError::RateLimited { .. }
                    | sfn_aws::AwsError::Conflict { .. }
                    | sfn_aws::AwsError::Plan(_)
                    | sfn_aws::AwsError::RoleNotAssumable { .. }
            )
        {
            pool.forget(identity);
        }
        classify(err)
    }

    fn environment(&self) -> AwsEnvironment {
        AwsEnvironment {
            partition: sfn_aws::partition_of(self.clients.region()).to_owned(),
            region: self.clients.region().to_owned(),
            account_id: self.clients.account_id().to_owned(),
        }
    }
}

fn classify(err: sfn_aws::AwsError) -> BackendError {
    BackendError {
        message: err.to_string(),
        transient: err.is_transient(),
        throttled: matches!(
            err,
            sfn_aws::AwsError::Throttled { .. } | sfn_aws::AwsError::RateLimited { .. }
        ),
        retry_after: err.retry_after(),
    }
}

#[async_trait]
impl AwsBackend for AwsSdkBackend {
    async fn scoped(self: Arc<Self>, identity: Option<&Identity>) -> Result<Scoped, BackendError> {
        let backend = match (identity, &self.pool) {
            (None, _) => self.clone(),
            (Some(identity), Some(pool)) => Arc::new(AwsSdkBackend {
                clients: pool.clients(Some(identity)).await.map_err(classify)?,
                pool: Some(pool.clone()),
                identity: Some(identity.clone()),
            }),
            (Some(identity), None) => {
                return Err(BackendError {
                    message: format!(
                        "AwsIdentity {}: this operator was started with fixed clients and cannot assume roles",
                        identity.name
                    ),
                    transient: false,
                    throttled: false,
                    retry_after: None,
                });
            }
        };
        let environment = backend.environment();
        Ok(Scoped {
            backend,
            environment,
        })
    }

    async fn reconcile_machine(
        &self,
        desired: &DesiredMachine,
    ) -> Result<MachineApplied, BackendError> {
        let outcome = match sfn_aws::reconcile::reconcile_machine(&self.clients, desired).await {
            Ok(outcome) => outcome,
            Err(err) => return Err(self.failed(err)),
        };
        let Some(state_machine_arn) = outcome.state_machine_arn.filter(|_| !outcome.requeue) else {
            // A replaced machine is still DELETING: not an error, but not done either.
            return Err(BackendError {
                message: format!(
                    "waiting for the previous state machine {} to finish deleting",
                    desired.name
                ),
                transient: true,
                throttled: false,
                retry_after: None,
            });
        };
        Ok(MachineApplied {
            state_machine_arn,
            role_arn: outcome.role_arn,
            version_arn: outcome.version_arn,
            alarm_names: outcome.alarm_names,
            operations: outcome.operations.len(),
            drift_corrected: outcome.drift_corrected,
            previous_writes_were_noops: outcome.previous_writes_were_noops,
            versions: outcome
                .versions
                .into_iter()
                .map(|v| VersionStatus {
                    version: v.number,
                    arn: v.arn,
                    creation_time: v.creation_time,
                    description: v.description,
                })
                .collect(),
            aliases: outcome
                .aliases
                .into_iter()
                .map(|a| AliasStatus {
                    name: a.name,
                    arn: a.arn,
                    routing: a.routing,
                })
                .collect(),
            rollout: outcome.rollout,
            requeue_after: outcome.requeue_after,
            rollout_events: outcome.rollout_events,
        })
    }

    async fn delete_machine(&self, desired: &DesiredMachine) -> Result<(), BackendError> {
        match sfn_aws::reconcile::delete_machine(&self.clients, desired).await {
            Ok(_) => Ok(()),
            Err(err) => Err(self.failed(err)),
        }
    }

    async fn reconcile_activity(
        &self,
        desired: &DesiredActivity,
    ) -> Result<ActivityApplied, BackendError> {
        let outcome = match sfn_aws::reconcile::reconcile_activity(&self.clients, desired).await {
            Ok(outcome) => outcome,
            Err(err) => return Err(self.failed(err)),
        };
        Ok(ActivityApplied {
            activity_arn: outcome.activity_arn,
            operations: outcome.operations.len(),
        })
    }

    async fn delete_activity(&self, desired: &DesiredActivity) -> Result<(), BackendError> {
        match sfn_aws::reconcile::delete_activity(&self.clients, desired).await {
            Ok(_) => Ok(()),
            Err(err) => Err(self.failed(err)),
        }
    }

    async fn validate_definition(
        &self,
        definition: &serde_json::Value,
        machine_type: MachineType,
    ) -> DefinitionReview {
        match sfn_aws::validate_definition(&self.clients, definition, machine_type).await {
            sfn_aws::Validation::Checked(verdict) => {
                let words = |d: &sfn_aws::Diagnostic| d.to_string();
                let mut warnings: Vec<String> = verdict.warnings().map(words).collect();
                if verdict.truncated {
                    warnings.push("AWS listed only its first findings".to_owned());
                }
                if verdict.ok {
                    DefinitionReview::Accepted { warnings }
                } else {
                    DefinitionReview::Rejected {
                        errors: verdict.errors().map(words).collect(),
                        warnings,
                    }
                }
            }
            sfn_aws::Validation::Unavailable { reason, .. } => {
                DefinitionReview::Unavailable { reason }
            }
        }
    }

    async fn role_policies(&self, role_arn: &str) -> RolePolicyDocuments {
        match sfn_aws::read_role_policies(&self.clients, role_arn).await {
            sfn_aws::RolePolicies::Read(policies) => {
                RolePolicyDocuments::Read(policies.into_iter().map(|(_, doc)| doc).collect())
            }
            sfn_aws::RolePolicies::Unavailable { reason } => {
                RolePolicyDocuments::Unavailable { reason }
            }
        }
    }

    async fn sample_executions(
        &self,
        state_machine_arn: &str,
        previous: Option<&ExecutionsStatus>,
    ) -> Result<ExecutionsStatus, String> {
        sfn_aws::sample_executions(
            &self.clients,
            state_machine_arn,
            previous,
            jiff::Timestamp::now(),
        )
        .await
        .map_err(|e| e.to_string())
    }

    fn call_counts(&self) -> BTreeMap<String, u64> {
        // The pool's counter is shared by the clients of every identity.
        let calls = match &self.pool {
            Some(pool) => pool.calls(),
            None => self.clients.calls(),
        };
        calls
            .0
            .into_iter()
            .map(|(api, n)| (api.to_owned(), n))
            .collect()
    }
}

/// An in-memory AWS used by the controller tests: it keeps the last applied desired state per name, counts
/// calls, and fails on demand, so status, events and the error policy can be exercised without an emulator.
pub mod memory {
    use std::collections::{BTreeMap, VecDeque};
    use std::sync::Mutex;

    use async_trait::async_trait;

    use std::sync::Arc;

    use super::{
        ActivityApplied, AwsBackend, AwsEnvironment, BackendError, DefinitionReview,
        MachineApplied, RolePolicyDocuments, Scoped,
    };
    use sfn_api::ExecutionsStatus;
    use sfn_plan::executions::{self, Listed, Page};
    use sfn_plan::{DesiredActivity, DesiredMachine, DesiredRole, Identity, MachineType};

    /// What DescribeExecution says of a failure.
    type ErrorAndCause = (Option<String>, Option<String>);

    /// The in-memory backend.
    #[derive(Debug, Default)]
    pub struct InMemoryBackend {
        pub account_id: String,
        pub region: String,
        /// Per name: the live state and the spec hash it was last applied with.
        machines: Mutex<BTreeMap<String, (DesiredMachine, String)>>,
        activities: Mutex<BTreeMap<String, DesiredActivity>>,
        failures: Mutex<VecDeque<BackendError>>,
        /// What every validation answers; `None` accepts without warnings.
        review: Mutex<Option<DefinitionReview>>,
        /// Policy documents of bring-your-own roles by ARN; an unknown role is "not found".
        role_policies: Mutex<BTreeMap<String, Vec<serde_json::Value>>>,
        /// The executions each machine ARN lists (newest first) and whether more exist beyond them.
        executions: Mutex<BTreeMap<String, Page>>,
        /// Error and cause of executions by ARN, as DescribeExecution gives them.
        execution_details: Mutex<BTreeMap<String, ErrorAndCause>>,
        /// The next execution sample fails with this reason.
        sample_failure: Mutex<Option<String>>,
        calls: Mutex<BTreeMap<String, u64>>,
        /// The backends of the identities that can be assumed, by identity name: each is its own account.
        identities: Mutex<BTreeMap<String, Arc<InMemoryBackend>>>,
    }

    impl InMemoryBackend {
        pub fn new(region: &str, account_id: &str) -> Self {
            Self {
                account_id: account_id.to_owned(),
                region: region.to_owned(),
                ..Default::default()
            }
        }

        /// The identity `name` can be assumed from now on, and lands in `account_id` and `region`.
        pub fn grant_identity(&self, name: &str, region: &str, account_id: &str) {
            self.identities
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(
                    name.to_owned(),
                    Arc::new(InMemoryBackend::new(region, account_id)),
                );
        }

        /// The identity `name` can no longer be assumed (what it created stays, as in AWS).
        pub fn revoke_identity(&self, name: &str) -> Option<Arc<InMemoryBackend>> {
            self.identities
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(name)
        }

        /// The account of identity `name`, while it can be assumed.
        pub fn identity(&self, name: &str) -> Option<Arc<InMemoryBackend>> {
            self.identities
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(name)
                .cloned()
        }

        /// The next call (of any kind) fails with `err`.
        pub fn fail_next(&self, err: BackendError) {
            self.failures
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push_back(err);
        }

        /// Every later validation answers `review`.
        pub fn set_review(&self, review: DefinitionReview) {
            *self.review.lock().unwrap_or_else(|e| e.into_inner()) = Some(review);
        }

        /// The role `role_arn` has these permission policies from now on.
        pub fn set_role_policies(&self, role_arn: &str, documents: Vec<serde_json::Value>) {
            self.role_policies
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(role_arn.to_owned(), documents);
        }

        /// The machine `state_machine_arn` lists these executions from now on (newest first; `more`: a
        /// listing would have a next page).
        pub fn set_executions(&self, state_machine_arn: &str, executions: Vec<Listed>, more: bool) {
            self.executions
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(state_machine_arn.to_owned(), Page { executions, more });
        }

        /// DescribeExecution of `execution_arn` gives this error and cause.
        pub fn set_execution_detail(&self, execution_arn: &str, error: &str, cause: &str) {
            self.execution_details
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(
                    execution_arn.to_owned(),
                    (Some(error.to_owned()), Some(cause.to_owned())),
                );
        }

        /// The next execution sample fails (its reads go unanswered).
        pub fn fail_next_sample(&self, reason: &str) {
            *self
                .sample_failure
                .lock()
                .unwrap_or_else(|e| e.into_inner()) = Some(reason.to_owned());
        }

        fn count(&self, api: &str) {
            *self
                .calls
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .entry(api.to_owned())
                .or_default() += 1;
        }

        /// The state machine as last applied.
        pub fn machine(&self, name: &str) -> Option<DesiredMachine> {
            self.machines
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(name)
                .map(|(m, _)| m.clone())
        }

        pub fn machine_names(&self) -> Vec<String> {
            self.machines
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .keys()
                .cloned()
                .collect()
        }

        pub fn activity_names(&self) -> Vec<String> {
            self.activities
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .keys()
                .cloned()
                .collect()
        }

        /// Changes the live definition behind the operator's back.
        pub fn drift_definition(&self, name: &str, definition: serde_json::Value) {
            if let Some(m) = self
                .machines
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get_mut(name)
            {
                m.0.definition = definition;
            }
        }

        fn call(&self, api: &str) -> Result<(), BackendError> {
            *self
                .calls
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .entry(api.to_owned())
                .or_default() += 1;
            match self
                .failures
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .pop_front()
            {
                Some(err) => Err(err),
                None => Ok(()),
            }
        }

        fn arn(&self, service: &str, resource: &str) -> String {
            format!(
                "arn:aws:{service}:{}:{}:{resource}",
                self.region, self.account_id
            )
        }
    }

    /// What AWS would hold for `desired`: the bookkeeping fields that are not resource state are cleared.
    fn normalized(desired: &DesiredMachine) -> DesiredMachine {
        let mut m = desired.clone();
        m.previous_arn = None;
        m.adopt = false;
        m.allow_replace = false;
        m
    }

    #[async_trait]
    impl AwsBackend for InMemoryBackend {
        async fn scoped(
            self: Arc<Self>,
            identity: Option<&Identity>,
        ) -> Result<Scoped, BackendError> {
            let backend = match identity {
                None => self,
                Some(identity) => self.identity(&identity.name).ok_or_else(|| BackendError {
                    message: format!(
                        "AwsIdentity {}: cannot assume role {}: AccessDenied",
                        identity.name,
                        identity.final_role().unwrap_or("(none)")
                    ),
                    transient: true,
                    throttled: false,
                    retry_after: None,
                })?,
            };
            let environment = AwsEnvironment {
                partition: "aws".into(),
                region: backend.region.clone(),
                account_id: backend.account_id.clone(),
            };
            Ok(Scoped {
                backend,
                environment,
            })
        }

        async fn reconcile_machine(
            &self,
            desired: &DesiredMachine,
        ) -> Result<MachineApplied, BackendError> {
            self.call("ReconcileStateMachine")?;
            let mut machines = self.machines.lock().unwrap_or_else(|e| e.into_inner());
            let hash = desired.spec_hash();
            let live = normalized(desired);
            let existing = machines.get(&desired.name);
            let differs = existing.is_none_or(|(m, _)| *m != live);
            let drift = differs && existing.is_some_and(|(_, h)| *h == hash);
            let operations = usize::from(differs);
            machines.insert(desired.name.clone(), (live, hash));
            let role_arn = match &desired.role {
                DesiredRole::External { arn } => arn.clone(),
                DesiredRole::Managed(r) => {
                    format!("arn:aws:iam::{}:role{}{}", self.account_id, r.path, r.name)
                }
            };
            Ok(MachineApplied {
                state_machine_arn: self.arn("states", &format!("stateMachine:{}", desired.name)),
                role_arn: Some(role_arn),
                version_arn: None,
                alarm_names: desired.alarms.iter().map(|a| a.name.clone()).collect(),
                operations,
                drift_corrected: drift,
                previous_writes_were_noops: false,
                ..MachineApplied::default()
            })
        }

        async fn delete_machine(&self, desired: &DesiredMachine) -> Result<(), BackendError> {
            self.call("DeleteStateMachine")?;
            self.machines
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&desired.name);
            Ok(())
        }

        async fn reconcile_activity(
            &self,
            desired: &DesiredActivity,
        ) -> Result<ActivityApplied, BackendError> {
            self.call("ReconcileActivity")?;
            let mut acts = self.activities.lock().unwrap_or_else(|e| e.into_inner());
            let operations = usize::from(acts.get(&desired.name) != Some(desired));
            acts.insert(desired.name.clone(), desired.clone());
            Ok(ActivityApplied {
                activity_arn: self.arn("states", &format!("activity:{}", desired.name)),
                operations,
            })
        }

        async fn delete_activity(&self, desired: &DesiredActivity) -> Result<(), BackendError> {
            self.call("DeleteActivity")?;
            self.activities
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&desired.name);
            Ok(())
        }

        async fn validate_definition(
            &self,
            _definition: &serde_json::Value,
            _machine_type: MachineType,
        ) -> DefinitionReview {
            // Counted, but never failed by `fail_next`: the validation has no error to fail with.
            *self
                .calls
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .entry("ValidateStateMachineDefinition".to_owned())
                .or_default() += 1;
            self.review
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone()
                .unwrap_or(DefinitionReview::Accepted {
                    warnings: Vec::new(),
                })
        }

        async fn role_policies(&self, role_arn: &str) -> RolePolicyDocuments {
            // Counted, but never failed by `fail_next`, like the validation.
            *self
                .calls
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .entry("ReadRolePolicies".to_owned())
                .or_default() += 1;
            match self
                .role_policies
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(role_arn)
            {
                Some(documents) => RolePolicyDocuments::Read(documents.clone()),
                None => RolePolicyDocuments::Unavailable {
                    reason: format!("role {role_arn} not found"),
                },
            }
        }

        /// The reads the AWS layer makes, counted the same way, summarised by the same pure function.
        async fn sample_executions(
            &self,
            state_machine_arn: &str,
            previous: Option<&ExecutionsStatus>,
        ) -> Result<ExecutionsStatus, String> {
            self.count("ListExecutions");
            if let Some(reason) = self
                .sample_failure
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take()
            {
                return Err(reason);
            }
            let page = self
                .executions
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(state_machine_arn)
                .cloned()
                .unwrap_or_default();
            if page.needs_older_failure() {
                // The FAILED listing beyond the page finds nothing here: the page is all the fake holds.
                self.count("ListExecutions");
            }
            let summary = executions::summarize(&page, None, previous, jiff::Timestamp::now());
            let Some(arn) = summary.describe.clone() else {
                return Ok(summary.status);
            };
            self.count("DescribeExecution");
            let (error, cause) = self
                .execution_details
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(&arn)
                .cloned()
                .unwrap_or_default();
            Ok(summary.with_detail(error.as_deref(), cause.as_deref()))
        }

        fn call_counts(&self) -> BTreeMap<String, u64> {
            self.calls.lock().unwrap_or_else(|e| e.into_inner()).clone()
        }
    }
}
