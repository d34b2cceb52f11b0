//! sfn-operator: declare AWS Step Functions workflows as Kubernetes objects and keep AWS in line with them.
//!
//! The pure layers (`api`, `asl`, `iam`, `alarms`, `plan`, `simulate`) never touch a Kubernetes or AWS
//! client; all I/O lives in `aws` and `controller`.

pub mod cli;
