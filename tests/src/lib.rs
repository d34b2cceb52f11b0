//! Test harness for sfn-operator: the in-process Kubernetes API server the controller tests run against,
//! and [`cluster::TestCluster`], which gives a test a client and a fresh namespace either on that server or,
//! when `SFN_TEST_KUBECONFIG` is set, on a real cluster; and [`fault_proxy`], which puts AWS-style faults
//! between the operator and the AWS emulator.

pub mod apiserver;
pub mod cluster;
pub mod fault_proxy;
pub mod fixtures;
pub mod webhook;
