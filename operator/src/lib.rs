//! sfn-operator: declare AWS Step Functions workflows as Kubernetes objects and keep AWS in line with them.
//!
//! The pure layers (`api`, `asl`, `iam`, `alarms`, `plan`, `simulate`) never touch a Kubernetes or AWS
//! client; all I/O lives in `aws` and `controller`.

pub mod alarms;
pub mod api;
pub mod asl;
pub mod aws;
pub mod cli;
pub mod controller;
pub mod desired;
pub mod iam;
pub mod manifest;
pub mod naming;
pub mod plan;
pub mod simulate;
