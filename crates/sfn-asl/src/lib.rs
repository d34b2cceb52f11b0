//! Amazon States Language: the typed model, the compiler from the typed definition, the validator and the
//! condition expression language. Pure: no Kubernetes or AWS client.
//!
//! Entry point: [`compile_state_machine`] (spec → validated ASL). [`validate_json`] checks raw ASL,
//! [`model::Definition`] is the typed document others (IAM, simulator) read.

pub mod bundle;
pub mod compile;
pub mod condition;
pub mod diagnostic;
pub mod graph;
pub mod integration;
pub mod model;
mod parse;
pub mod paths;
mod size;
pub mod validate;

pub use compile::{CompileErrors, Compiled, MissingAlias, MissingReference, compile_state_machine};
pub use diagnostic::{Code, Diagnostic, Severity};
pub use integration::{MapResolver, NoReferences, RefKind, Resolver};
pub use parse::allowed_fields;
pub use validate::{check, check_json, validate, validate_json};
