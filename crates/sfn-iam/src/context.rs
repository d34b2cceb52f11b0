//! What decides a role's permissions besides the definition: the account, region and state machine, log
//! delivery, tracing, the KMS key, extra statements and per-state TaskIntegration hints. Plain data with
//! its constructors from the API types, kept out of the crate root so that the walker and the catalogue
//! can read it without importing the root that calls them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::arn;
use crate::policy::{Effect, Statement};

/// Log delivery settings of the state machine, as far as the role is concerned.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoggingCtx {
    /// The destination log group. Log delivery actions do not support resource-level permissions, so this is only
    /// carried for explanations.
    pub log_group_arn: Option<String>,
}

/// What a TaskIntegration knows about one Task state that the compiled ASL does not carry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskHints {
    /// Roles the task passes to the service (ECS task and execution roles, a SageMaker role, ...).
    #[serde(default)]
    pub pass_role_arns: Vec<String>,
    /// Explicit IAM resources for an `aws-sdk` call (TaskIntegration `awsSdk.resources`).
    #[serde(default)]
    pub resources: Vec<String>,
}

/// Everything besides the definition that decides the role's permissions. Plain types only, so that the `plan`
/// command, the AWS layer and tests can build one without Kubernetes objects.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleContext {
    /// `aws`, `aws-cn`, `aws-us-gov`.
    pub partition: String,
    pub region: String,
    pub account_id: String,
    /// The AWS name of the state machine (needed for its own ARN: KMS context, distributed maps, HTTP tasks).
    pub state_machine_name: String,
    pub logging: Option<LoggingCtx>,
    pub tracing: bool,
    /// Customer managed key of the state machine. A key id or alias is turned into an ARN in the role's region.
    pub kms_key_arn: Option<String>,
    /// `spec.role.extraStatements`, appended verbatim after the derived statements.
    pub extra_statements: Vec<Statement>,
    /// `spec.role.permissionsBoundary`, carried through to the role.
    pub permissions_boundary: Option<String>,
    /// Per Task state name (state names are unique in a whole state machine), what its TaskIntegration declares.
    #[serde(default)]
    pub task_hints: BTreeMap<String, TaskHints>,
}

impl RoleContext {
    /// A context for `state_machine_name` in an account and region, in the `aws` partition, with no extras.
    pub fn new(region: &str, account_id: &str, state_machine_name: &str) -> Self {
        RoleContext {
            partition: "aws".into(),
            region: region.into(),
            account_id: account_id.into(),
            state_machine_name: state_machine_name.into(),
            ..Default::default()
        }
    }

    /// ARN of the state machine this role is for.
    pub fn state_machine_arn(&self) -> String {
        self.scope().arn(
            "states",
            &format!("stateMachine:{}", self.state_machine_name),
        )
    }

    pub(crate) fn scope(&self) -> arn::Scope<'_> {
        arn::Scope {
            partition: if self.partition.is_empty() {
                "aws"
            } else {
                &self.partition
            },
            region: &self.region,
            account: &self.account_id,
        }
    }
}

impl TaskHints {
    /// What a TaskIntegration declares that its compiled Task state does not show: the roles ECS tasks and
    /// SageMaker transform jobs run with, and the explicit resources of an `awsSdk` call.
    pub fn from_integration(spec: &sfn_api::TaskIntegrationSpec) -> Self {
        let mut hints = TaskHints::default();
        if let Some(ecs) = &spec.ecs {
            hints
                .pass_role_arns
                .extend(ecs.pass_role_arns.iter().cloned());
        }
        if let Some(role) = spec
            .sagemaker_transform
            .as_ref()
            .and_then(|t| t.role_arn.as_ref())
        {
            hints.pass_role_arns.push(role.clone());
        }
        if let Some(sdk) = &spec.aws_sdk {
            hints.resources.extend(sdk.resources.iter().cloned());
        }
        hints
    }
}

impl From<&sfn_api::PolicyStatement> for Statement {
    fn from(s: &sfn_api::PolicyStatement) -> Self {
        Statement {
            sid: s.sid.clone(),
            effect: match s.effect {
                sfn_api::Effect::Allow => Effect::Allow,
                sfn_api::Effect::Deny => Effect::Deny,
            },
            actions: s.actions.clone(),
            resources: s.resources.clone(),
            condition: s.condition.clone().map(Value::Object),
        }
    }
}

impl RoleContext {
    /// The role context of a StateMachine spec, for the state machine `state_machine_name` (its AWS name) in an
    /// account and region. `task_hints` maps Task state names to what their TaskIntegration declares
    /// ([`TaskHints::from_integration`]); the compiler knows which state uses which integration.
    pub fn from_spec(
        spec: &sfn_api::StateMachineSpec,
        partition: &str,
        region: &str,
        account_id: &str,
        state_machine_name: &str,
        task_hints: BTreeMap<String, TaskHints>,
    ) -> Self {
        let logging = spec
            .logging
            .as_ref()
            .filter(|l| l.level != sfn_api::LogLevel::Off)
            .map(|l| LoggingCtx {
                log_group_arn: l.log_group_arn.clone(),
            });
        let role = spec.role.as_ref();
        RoleContext {
            partition: partition.into(),
            region: region.into(),
            account_id: account_id.into(),
            state_machine_name: state_machine_name.into(),
            logging,
            tracing: spec.tracing.as_ref().is_some_and(|t| t.enabled),
            kms_key_arn: spec.encryption.as_ref().map(|e| e.kms_key_id.clone()),
            extra_statements: role
                .map(|r| r.extra_statements.iter().map(Statement::from).collect())
                .unwrap_or_default(),
            permissions_boundary: role.and_then(|r| r.permissions_boundary.clone()),
            task_hints,
        }
    }
}
