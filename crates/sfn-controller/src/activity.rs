//! The Activity kind: keeps one Step Functions activity per Activity object and reports its ARN, which
//! StateMachines (through TaskIntegrations with `activityRef`) wait for. Only what is particular to
//! activities is here; the reconcile itself is the shared [`pipeline`](super::pipeline).

use async_trait::async_trait;

use sfn_api::{Activity, ActivityStatus, IdentityStatus};
use sfn_plan::DesiredActivity;
use sfn_plan::desired;

use super::backend::{ActivityApplied, BackendError};
use super::error::BuildError;
use super::identity::Scope;
use super::pipeline::{
    Deletion, Kind, KindStatus, Note, Synced, Teardown, conditions_and_generation,
};
use super::refindex::RefKey;
use super::status::Outcome;
use super::{Config, Context, resync_action};

/// Kind label in metrics and logs.
pub const KIND: &str = "Activity";

impl KindStatus for ActivityStatus {
    conditions_and_generation!();

    fn set_identity(&mut self, identity: IdentityStatus) {
        self.identity = Some(identity);
    }
}

fn previous_arn(act: &Activity) -> Option<&str> {
    act.status.as_ref().and_then(|s| s.activity_arn.as_deref())
}

#[async_trait]
impl Kind for Activity {
    const KIND: &'static str = KIND;
    const BUILD_ACTION: &'static str = "Validate";
    // One AWS call: nothing worth a `Deleting` condition, and a failure is simply retried.
    const TEARDOWN: Teardown = Teardown::Finalize {
        deleting: None,
        in_gauge_until_gone: false,
        warn_on_failure: false,
    };

    type Status = ActivityStatus;
    type Desired = DesiredActivity;
    type Applied = ActivityApplied;
    type Target = DesiredActivity;

    fn status(&self) -> Option<&ActivityStatus> {
        self.status.as_ref()
    }

    const USES_IDENTITY: bool = true;

    fn identity_ref(&self) -> Option<&str> {
        self.spec.identity_ref.as_ref().map(|r| r.name.as_str())
    }

    fn recorded_identity(&self) -> Option<&IdentityStatus> {
        self.status.as_ref().and_then(|s| s.identity.as_ref())
    }

    fn build(
        &self,
        _ctx: &Context,
        scope: &Scope,
    ) -> (Result<DesiredActivity, BuildError>, Vec<RefKey>) {
        // An activity references nothing, so whatever the builder says is about its own spec.
        let built = desired::activity(self, &scope.settings).map_err(|e| BuildError::Invalid {
            subject: "spec",
            message: e.to_string(),
        });
        (built, Vec::new())
    }

    async fn apply(
        &self,
        target: &DesiredActivity,
        ctx: &Context,
        scope: &Scope,
    ) -> Result<ActivityApplied, BackendError> {
        let applied = scope.backend.reconcile_activity(target).await?;
        retire_renamed(self, target, ctx, scope).await?;
        Ok(applied)
    }

    fn synced(
        &self,
        _target: &DesiredActivity,
        applied: &ActivityApplied,
        config: &Config,
        status: &mut ActivityStatus,
    ) -> Synced {
        let existed = previous_arn(self).is_some_and(|a| !a.is_empty());
        status.activity_arn = Some(applied.activity_arn.clone());
        let (reason, verb) = if existed {
            ("Updated", "updated")
        } else {
            ("Created", "created")
        };
        Synced {
            outcome: Outcome::Synced {
                drift_corrected: false,
                message: format!("activity {} exists", applied.activity_arn),
            },
            wrote_aws: applied.operations > 0,
            event: (applied.operations > 0).then(|| Note {
                reason,
                action: "Apply",
                note: format!("{verb} activity {}", applied.activity_arn),
            }),
            notes: Vec::new(),
            warnings: Vec::new(),
            // An unusable resync annotation has nowhere to show in an Activity's status.
            requeue: resync_action(self, config).0,
        }
    }

    fn deletion(&self, _ctx: &Context, scope: &Scope) -> Deletion<DesiredActivity> {
        let settings = &scope.settings;
        // A spec that never produced an activity has nothing to clean up.
        let Ok(target) = desired::activity(self, settings) else {
            return Deletion::Nothing;
        };
        if desired::activity_deletion_policy(self, settings) == desired::DeletionPolicy::Retain {
            return Deletion::Retain {
                note: "deletionPolicy Retain: the activity stays in AWS",
            };
        }
        Deletion::Delete(target)
    }

    async fn delete(
        &self,
        target: &DesiredActivity,
        _ctx: &Context,
        scope: &Scope,
    ) -> Result<String, BackendError> {
        scope.backend.delete_activity(target).await?;
        Ok("deleted the activity".to_owned())
    }
}

/// After an AWS name change (`spec.name`), deletes the activity under the previous name, which the status
/// still points at: without this it would be orphaned. The AWS layer deletes it only if it carries this
/// object's ownership tags.
async fn retire_renamed(
    act: &Activity,
    target: &DesiredActivity,
    ctx: &Context,
    scope: &Scope,
) -> Result<(), BackendError> {
    let previous = previous_arn(act).and_then(sfn_api::naming::name_from_sfn_arn);
    match previous {
        Some(old) if old != target.name => {
            let mut retired = target.clone();
            retired.name = old.to_owned();
            scope.backend.delete_activity(&retired).await?;
            ctx.event(
                act,
                false,
                "Updated",
                "Rename",
                format!(
                    "deleted the activity {old} after the rename to {}",
                    target.name
                ),
            )
            .await;
            Ok(())
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_config as config;

    fn activity(arn: Option<&str>) -> Activity {
        let mut act: Activity = serde_json::from_value(serde_json::json!({
            "apiVersion": "sfn.operator.dev/v1alpha1",
            "kind": "Activity",
            "metadata": {"name": "approve", "namespace": "ns", "generation": 1},
            "spec": {}
        }))
        .expect("a valid Activity");
        act.status = arn.map(|a| ActivityStatus {
            activity_arn: Some(a.to_owned()),
            ..Default::default()
        });
        act
    }

    fn synced(act: &Activity, operations: usize) -> (Synced, ActivityStatus) {
        let settings = desired::Settings::from(&config());
        let target = desired::activity(act, &settings).expect("a valid activity");
        let applied = ActivityApplied {
            activity_arn: "arn:aws:states:us-east-1:123456789012:activity:ns-approve".into(),
            operations,
        };
        let mut st = act.status.clone().unwrap_or_default();
        let synced = act.synced(&target, &applied, &config(), &mut st);
        (synced, st)
    }

    #[test]
    fn creation_update_and_idle_resync() {
        let (created, st) = synced(&activity(None), 1);
        assert_eq!(
            created.event.map(|e| (e.reason, e.action)),
            Some(("Created", "Apply"))
        );
        assert_eq!(
            st.activity_arn.as_deref(),
            Some("arn:aws:states:us-east-1:123456789012:activity:ns-approve")
        );
        let (updated, _) = synced(&activity(Some("arn:old")), 1);
        assert_eq!(updated.event.map(|e| e.reason), Some("Updated"));
        let (idle, _) = synced(&activity(Some("arn:old")), 0);
        assert_eq!(idle.event, None);
        assert!(!idle.wrote_aws);
    }
}
