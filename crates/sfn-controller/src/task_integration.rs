//! The TaskIntegration kind: a TaskIntegration owns nothing in AWS; its reconcile resolves what it stands
//! for (the ASL `Resource`, the IAM statements it grants) into its status, so users see what a Task using it
//! will do, and reports `ReferenceNotFound` while its `activityRef` / `stateMachineRef` has no ARN, or the
//! referenced StateMachine does not declare its `stepFunctions.alias`. Only what is particular to it is
//! here; the reconcile itself is the shared [`pipeline`](super::pipeline).

use async_trait::async_trait;
use kube::ResourceExt;
use kube::runtime::controller::Action;

use sfn_api::{TaskIntegration, TaskIntegrationStatus};
use sfn_plan::desired::{self, ResolvedIntegration};

use super::backend::BackendError;
use super::error::BuildError;
use super::identity::Scope;
use super::pipeline::{Kind, KindStatus, Synced, Teardown, conditions_and_generation};
use super::refindex::{RefKey, RefKind, ReferenceIndex};
use super::resolver::StoreResolver;
use super::status::Outcome;
use super::{Config, Context};

/// Kind label in metrics and logs.
pub const KIND: &str = "TaskIntegration";

impl KindStatus for TaskIntegrationStatus {
    conditions_and_generation!();
}

#[async_trait]
impl Kind for TaskIntegration {
    const KIND: &'static str = KIND;
    const BUILD_ACTION: &'static str = "Resolve";
    const TEARDOWN: Teardown = Teardown::Forget;

    type Status = TaskIntegrationStatus;
    type Desired = ResolvedIntegration;
    type Applied = ();
    type Target = ();

    fn status(&self) -> Option<&TaskIntegrationStatus> {
        self.status.as_ref()
    }

    /// What each TaskIntegration references (an Activity or a StateMachine).
    fn reference_index(ctx: &Context) -> Option<&ReferenceIndex> {
        Some(&ctx.integration_refs)
    }

    fn build(
        &self,
        ctx: &Context,
        scope: &Scope,
    ) -> (Result<ResolvedIntegration, BuildError>, Vec<RefKey>) {
        let ns = self.namespace().unwrap_or_default();
        let name = self.name_any();
        let resolver = StoreResolver::new(&ns, [name.as_str()], &ctx.stores());
        let resolved = desired::integration(self, &resolver, &scope.settings)
            .map_err(|e| BuildError::from_desired(e, "spec"));
        // The integration resolves itself through the resolver too; only what it points at is a dependency.
        let refs = resolver
            .recorded()
            .into_iter()
            .filter(|r| r.kind != RefKind::TaskIntegration)
            .collect();
        (resolved, refs)
    }

    /// The Warning event has always carried the error with the step it failed at.
    fn build_failure_note(err: &BuildError) -> String {
        err.to_string()
    }

    async fn apply(
        &self,
        _resolved: &ResolvedIntegration,
        _ctx: &Context,
        _scope: &Scope,
    ) -> Result<(), BackendError> {
        Ok(())
    }

    fn synced(
        &self,
        resolved: &ResolvedIntegration,
        _applied: &(),
        _config: &Config,
        st: &mut TaskIntegrationStatus,
    ) -> Synced {
        st.resource = Some(resolved.resource.clone());
        st.iam_statements = resolved.iam_statements.clone();
        Synced {
            outcome: Outcome::Synced {
                drift_corrected: false,
                message: "resolved".to_owned(),
            },
            wrote_aws: false,
            event: None,
            notes: Vec::new(),
            warnings: Vec::new(),
            // A TaskIntegration owns nothing in AWS, so there is no drift to look for: it is reconciled
            // again only when it, or what it points at, changes.
            requeue: Action::await_change(),
        }
    }
}
