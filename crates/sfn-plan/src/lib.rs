//! Desired versus observed AWS state, turned into ordered operations. Pure.
//!
//! The controller (and `sfn-operator apply`) describe what a StateMachine or Activity should look like in
//! AWS as a [`DesiredMachine`] / [`DesiredActivity`]; the AWS layer reads what is live into an
//! [`ObservedMachine`] / [`ObservedActivity`]; the functions here compare both and return the
//! [`Operation`]s that close the gap, in an order that is safe to interrupt at any point:
//! role and its policies first (the state machine needs an assumable role), then the state machine, then
//! the alarms (their dimensions name the state machine); deletion in reverse.
//!
//! Comparison is semantic so that reformatting never causes an update: JSON documents are compared in a
//! canonical form (object keys sorted), IAM policies additionally with statements as a set and
//! single-string `Action`/`Resource`/`Principal` values equal to one-element arrays, tags and alarm
//! actions as sets.
//!
//! Ownership: a resource carrying another owner's tags (or none) is never changed or deleted, unless the
//! object asked to adopt it, in which case it is tagged first and then managed.

pub mod desired;
pub mod executions;
pub mod guardrails;
pub mod identity;

mod activity;
mod alarms;
mod compare;
mod echo;
mod error;
mod log_group;
mod machine;
mod model;
mod operation;
mod ownership;
mod role;
pub mod role_audit;
pub mod rollout;
pub mod versions;

pub use activity::{plan_activity, plan_activity_deletion};
pub use alarms::{alarms_needing_tags, resolve_alarm};
pub use compare::{
    canonical_json, canonical_policy, diff_tags, same_alarm, same_definition, same_policy,
};
pub use echo::{DEFAULT_KMS_DATA_KEY_REUSE_PERIOD_SECONDS, same_encryption, same_logging};
pub use error::PlanError;
pub use guardrails::Guardrails;
pub use identity::{Identity, IdentityError};
pub use log_group::vended_logs_warning;
pub use machine::{plan_machine, plan_machine_deletion};
pub use model::{
    DeletionPolicy, DesiredActivity, DesiredLogGroup, DesiredMachine, DesiredRole, EncryptionSpec,
    LoggingSpec, MAX_POLICY_VERSIONS, MachineType, ManagedPolicySpec, ManagedRole,
    ObservedActivity, ObservedAlarm, ObservedAlias, ObservedLogGroup, ObservedMachine,
    ObservedManagedPolicy, ObservedRole, ObservedStateMachine, ObservedVersion, Owner, PublishSpec,
    RolloutMemory, SPEC_HASH_TAG, STATE_MACHINE_ARN_PLACEHOLDER, adopt_legacy_role,
};
pub use operation::{Operation, RoleRef, StateMachineUpdate};

#[cfg(test)]
mod tests;
