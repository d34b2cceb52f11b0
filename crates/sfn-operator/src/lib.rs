//! sfn-operator: declare AWS Step Functions workflows as Kubernetes objects and keep AWS in line with them.
//!
//! This crate is the edge where I/O meets the pure pipeline: [`run`] starts the controllers
//! (`sfn-controller`), [`apply`] runs the same observe → plan → apply for manifest files against AWS
//! (`sfn-aws`), [`validate`] adds AWS's own opinion (`--aws`) to the offline checks, [`import`] reads live machines for `sfn-import`, and [`ops`] starts, lists, describes, stops and redrives executions of the machines StateMachine objects name. The offline commands come from `sfn-cli`; `docs/architecture.md` draws the whole crate graph.

pub mod apply;
pub mod guardrails;
pub mod import;
pub mod ops;
pub mod run;
pub mod validate;
pub mod webhook;
