//! Amazon States Language: the typed model, the compiler from the typed definition, the validator and the
//! condition expression language. Pure: no Kubernetes or AWS client.

pub mod condition;
pub mod diagnostic;
pub mod model;
mod parse;
pub mod paths;
pub mod validate;

pub use diagnostic::Diagnostic;
pub use parse::allowed_fields;
pub use validate::{validate, validate_json};
