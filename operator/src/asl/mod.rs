//! Amazon States Language: the typed model, the compiler from the typed definition, the validator and the
//! condition expression language. Pure: no Kubernetes or AWS client.

pub mod condition;
