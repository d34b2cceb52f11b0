//! sfn-operator: declare AWS Step Functions workflows as Kubernetes objects and keep AWS in line with them.
//!
//! This crate is the edge where I/O meets the pure pipeline: [`run`] starts the controllers
//! (`sfn-controller`), [`apply`] runs the same observe → plan → apply for manifest files against AWS
//! (`sfn-aws`), [`validate`] adds AWS's own opinion (`--aws`) to the offline checks, and [`import`] reads live machines for `sfn-import`. The offline commands come from `sfn-cli`; `docs/architecture.md` draws the whole crate graph.

pub mod apply;
pub mod guardrails;
pub mod import;
pub mod run;
pub mod validate;
pub mod webhook;
