//! kube-runtime controllers: the only Kubernetes I/O.
