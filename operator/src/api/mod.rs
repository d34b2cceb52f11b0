//! Custom resource types of the `sfn.operator.dev/v1alpha1` API: StateMachine, TaskIntegration, Activity.
