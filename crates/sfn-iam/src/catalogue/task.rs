//! The Task state being granted: its service, action, pattern and parameters, and the grants and
//! widenings the service files add through it. Kept apart from the catalogue's entry points so that the
//! SDK and service files, which the entry points call, depend on it and not on them.

use serde_json::Value;

use super::pattern::Pattern;
use crate::arn::Scope;
use crate::params::Params;
use crate::policy::Grant;
use crate::{IamError, RoleContext, TaskHints, Widening};

/// Collects what one Task state needs. Services add grants and warnings through it.
pub(crate) struct Task<'a> {
    pub state: &'a str,
    pub service: &'a str,
    pub action: &'a str,
    pub pattern: Pattern,
    pub params: Params<'a>,
    pub scope: Scope<'a>,
    pub ctx: &'a RoleContext,
    pub hints: Option<&'a TaskHints>,
    // Visible to the catalogue's entry points, which build a Task (and reword the reason of an SDK call);
    // the service files only go through the methods below.
    pub(super) reason: String,
    pub(super) params_are_arguments: bool,
    pub(super) grants: &'a mut Vec<Grant>,
    pub(super) warnings: &'a mut Vec<Widening>,
}

impl Task<'_> {
    /// Grants `actions` on `resources`, explained by this state.
    pub fn grant<A, R>(&mut self, actions: A, resources: R)
    where
        A: IntoIterator,
        A::Item: Into<String>,
        R: IntoIterator,
        R::Item: Into<String>,
    {
        let g = Grant::new(actions, resources, self.reason.clone());
        self.grants.push(g);
    }

    /// Grants a prepared grant (with conditions), explained by this state.
    pub fn push(&mut self, mut g: Grant) {
        g.reason = self.reason.clone();
        self.grants.push(g);
    }

    /// Records that a statement of this state had to be wider than an exact ARN.
    pub fn widen(&mut self, message: impl Into<String>) {
        self.warnings.push(Widening {
            state: self.state.to_string(),
            message: message.into(),
        });
    }

    /// An ARN in the role's partition, region and account.
    pub fn arn(&self, service: &str, resource: &str) -> String {
        self.scope.arn(service, resource)
    }

    /// The EventBridge managed rule a `.sync` integration needs
    /// ("How Step Functions generates IAM policies for integrated services": `.sync` tasks create a managed rule).
    pub fn managed_rule(&mut self, rule: &str) {
        let arn = self.arn("events", &format!("rule/{rule}"));
        self.grant(
            ["events:DescribeRule", "events:PutRule", "events:PutTargets"],
            [arn],
        );
    }

    /// `iam:PassRole` on `roles`, always limited to the service principals the roles go to.
    pub fn pass_role(&mut self, roles: &[String], services: &[&str]) {
        if roles.is_empty() {
            return;
        }
        let g = Grant::new(["iam:PassRole"], roles.iter().cloned(), String::new()).when(
            "StringEquals",
            "iam:PassedToService",
            services,
        );
        self.push(g);
    }

    /// Roles declared for this state by its TaskIntegration.
    pub fn hinted_roles(&self) -> Vec<String> {
        self.hints
            .map(|h| h.pass_role_arns.clone())
            .unwrap_or_default()
    }

    /// An error about one parameter of this state.
    pub fn bad_param(&self, field: &str, message: impl Into<String>) -> IamError {
        let prefix = if self.params_are_arguments {
            "Arguments"
        } else {
            "Parameters"
        };
        IamError::InvalidField {
            state: self.state.to_string(),
            field: format!("{prefix}.{field}"),
            message: message.into(),
        }
    }
}

impl Task<'_> {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn new<'b>(
        state: &'b str,
        service: &'b str,
        action: &'b str,
        pattern: Pattern,
        task: &'b Value,
        ctx: &'b RoleContext,
        grants: &'b mut Vec<Grant>,
        warnings: &'b mut Vec<Widening>,
    ) -> Task<'b> {
        let reason = format!("state {state}: {service}:{action}{}", pattern.suffix());
        Task {
            state,
            service,
            action,
            pattern,
            params: Params::of(task),
            scope: ctx.scope(),
            ctx,
            hints: ctx.task_hints.get(state),
            reason,
            params_are_arguments: task.get("Arguments").is_some(),
            grants,
            warnings,
        }
    }
}
