//! kube-runtime controllers: the only Kubernetes I/O.

pub mod http;
pub mod leader;
pub mod metrics;
pub mod policy;
pub mod refindex;
pub mod status;
