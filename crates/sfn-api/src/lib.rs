//! Custom resource types of the `sfn.operator.dev/v1alpha1` API: StateMachine, TaskIntegration, Activity,
//! and the CRDs generated from them.
//!
//! # Why nested state lists are opaque
//!
//! States nest: a Parallel branch, a Map item processor and a Choice inline chain each hold a list of
//! states, which may hold more. Rust can describe that recursion, but a CRD schema cannot: the API server
//! requires a structural schema with every node spelled out, without `$ref`, so a recursive type would
//! have to be unrolled to some fixed depth. Unrolling multiplies the schema size by the depth (the CRD
//! must stay well under the 1.5 MiB object limit, and every CEL rule's cost is multiplied by every list
//! bound above it), and any fixed depth is an arbitrary limit users would hit.
//!
//! So only the top level is typed: `spec.definition.states` (and `spec.fragments[].states`) are lists of
//! [`State`] with every field, enum and bound in the schema, which is what most definitions use and what
//! `kubectl explain statemachine.spec.definition.states` documents. The nested lists
//! (`branches[].states`, `itemProcessor.states`, `choices[].states`, `defaultStates`) are
//! `Vec<serde_json::Value>` with an opaque schema (`type: array` of `type: object` with
//! `x-kubernetes-preserve-unknown-fields`). They have exactly the same shape as the top level: the
//! compiler (`sfn_asl`) deserialises each item into [`State`] and reports errors with the full state
//! path, and the controller sets `Ready=False` with that message before anything reaches AWS. The price is
//! that a typo in a nested state is caught by the operator rather than by `kubectl apply`.
//!
//! # Layout
//! - [`definition`]: the typed definition (State, Retrier, Catcher, ChoiceRule, Branch, ItemProcessor, Fragment).
//! - [`state_machine`], [`task_integration`], [`activity`]: the three kinds, their specs and statuses.
//! - [`versions`]: published versions, aliases and rollouts. [`executions`]: the summary of recent executions.
//! - [`identity`]: the cluster-scoped AwsIdentity kind (account, region, role chain) and its grants.
//! - [`reference_grant`]: the ReferenceGrant kind, which opens a namespace's objects to references from others.
//! - [`alarm`]: alarm declarations. [`status`]: conditions and helpers.
//! - [`rules`]: the CEL rules the CRDs carry and the equivalent Rust checks; [`cel`]: the rule texts alone.
//! - [`field_error`]: field-path errors shared by the checks, state parsing and the manifest loader.
//! - [`schema`]: schema helpers and the structural post-processing of the generated CRDs.
//! - [`naming`]: the AWS names and ownership tags every object maps to, shared by the controller and the CLI.
//! - [`manifest`]: the strict loader of manifest files (YAML, JSON, raw ASL) into typed objects.

pub mod activity;
pub mod alarm;
pub mod cel;
pub mod definition;
pub mod executions;
pub mod field_error;
pub mod identity;
pub mod manifest;
pub mod naming;
pub mod reference_grant;
pub mod render;
pub mod rules;
pub mod schema;
pub mod state_machine;
pub mod status;
pub mod task_integration;
pub mod versions;

pub use activity::{Activity, ActivitySpec, ActivityStatus};
pub use alarm::{Alarm, ComparisonOperator, Statistic, TreatMissingData};
pub use definition::{
    Branch, Catcher, ChoiceRule, Definition, Fragment, IntOrString, ItemProcessor, JitterStrategy,
    JsonObject, Nullable, ProcessorMode, QueryLanguage, Retrier, State, StateType, WorkflowType,
    parse_states,
};
pub use executions::{ExecutionSummaryMode, ExecutionsStatus, FailedExecution, StartedExecution};
pub use field_error::FieldError;
pub use identity::{
    AssumeRoleHop, AwsIdentity, AwsIdentitySpec, IdentityNamespaces, IdentityRef, IdentityStatus,
};
pub use reference_grant::{GrantFrom, GrantKind, GrantTo, ReferenceGrant, ReferenceGrantSpec};
pub use rules::{validate_state_machine, validate_state_machine_update, validate_task_integration};
pub use state_machine::{
    DeletionPolicy, Effect, EncryptionSpec, IamAudit, LogLevel, LoggingSpec,
    MAX_MISSING_PERMISSIONS, MissingPermission, PolicyStatement, RoleSpec, StateMachine,
    StateMachineSpec, StateMachineStatus, TracingSpec,
};
pub use status::{
    CONDITION_READY, CONDITION_ROLE_COVERS_DEFINITION, CONDITION_SYNCED, Condition,
    ConditionStatus, find_condition, is_ready, reasons, set_condition,
};
pub use task_integration::{
    ActivityIntegration, AwsSdkIntegration, BatchIntegration, DynamoDbAction, DynamoDbIntegration,
    EcsIntegration, EventBridgeIntegration, GlueIntegration, HttpIntegration, HttpMethod,
    IntegrationPattern, LambdaIntegration, LaunchType, ObjectRef, SagemakerTrainingIntegration,
    SagemakerTransformIntegration, Service, SnsIntegration, SqsIntegration,
    StepFunctionsIntegration, TaskIntegration, TaskIntegrationSpec, TaskIntegrationStatus,
};

pub use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube_core::CustomResourceExt;

/// API group of the three kinds.
pub const GROUP: &str = "sfn.operator.dev";
/// API version of the three kinds.
pub const VERSION: &str = "v1alpha1";
/// `apiVersion` as written in manifests.
pub const API_VERSION: &str = "sfn.operator.dev/v1alpha1";
/// Finalizer the controller puts on every object it manages.
pub const FINALIZER: &str = "sfn.operator.dev/finalizer";
/// Annotation allowing the operator to delete and re-create a state machine whose type or AWS name changed.
pub const ALLOW_REPLACEMENT_ANNOTATION: &str = "sfn.operator.dev/allow-replacement";
/// Annotation asking the operator to adopt an existing AWS resource of the same name.
pub const ADOPT_ANNOTATION: &str = "sfn.operator.dev/adopt";
/// AWS tag naming the owning object as `<namespace>/<name>`.
pub const OWNER_TAG: &str = "sfn.operator.dev/owner";
/// AWS tag holding the owning object's uid.
pub const OWNER_UID_TAG: &str = "sfn.operator.dev/owner-uid";
/// IAM path of the roles the operator creates.
pub const ROLE_PATH: &str = "/sfn-operator/";

/// The CRDs (StateMachine, TaskIntegration, Activity, AwsIdentity, ReferenceGrant), structural and ready
/// to install.
pub fn crds() -> Vec<CustomResourceDefinition> {
    [
        StateMachine::crd(),
        TaskIntegration::crd(),
        Activity::crd(),
        AwsIdentity::crd(),
        ReferenceGrant::crd(),
    ]
    .into_iter()
    .map(finish_crd)
    .collect()
}

/// Applies [`schema::make_structural`] to every version's schema.
fn finish_crd(crd: CustomResourceDefinition) -> CustomResourceDefinition {
    let mut value = match serde_json::to_value(&crd) {
        Ok(value) => value,
        Err(_) => return crd,
    };
    if let Some(versions) = value
        .pointer_mut("/spec/versions")
        .and_then(serde_json::Value::as_array_mut)
    {
        for version in versions {
            if let Some(schema) = version.pointer_mut("/schema/openAPIV3Schema") {
                schema::make_structural(schema);
            }
        }
    }
    serde_json::from_value(value).unwrap_or(crd)
}
