//! Walks a compiled definition and hands every state that needs permissions to the catalogue: Task states at any
//! depth (Parallel branches, Map processors, the legacy `Iterator`), and distributed Map states, which start
//! child executions and may read and write S3 themselves.

use serde_json::Value;

use super::policy::Grant;
use super::{IamError, RoleContext, Widening, catalogue};

pub(crate) fn walk(
    asl: &Value,
    ctx: &RoleContext,
    grants: &mut Vec<Grant>,
    warnings: &mut Vec<Widening>,
) -> Result<(), IamError> {
    if !asl.is_object() {
        return Err(IamError::InvalidDefinition {
            path: "$".into(),
            message: "a definition must be a JSON object".into(),
        });
    }
    states(asl, "States", ctx, grants, warnings)
}

fn states(
    container: &Value,
    path: &str,
    ctx: &RoleContext,
    grants: &mut Vec<Grant>,
    warnings: &mut Vec<Widening>,
) -> Result<(), IamError> {
    let Some(map) = container.get("States").and_then(Value::as_object) else {
        return Err(IamError::InvalidDefinition {
            path: path.to_string(),
            message: "States must be an object of named states".into(),
        });
    };
    for (name, state) in map {
        let here = format!("{path}.{name}");
        match state.get("Type").and_then(Value::as_str) {
            Some("Task") => catalogue::task_grants(name, state, ctx, grants, warnings)?,
            Some("Parallel") => {
                let Some(branches) = state.get("Branches").and_then(Value::as_array) else {
                    return Err(IamError::InvalidField {
                        state: name.clone(),
                        field: "Branches".into(),
                        message: "a Parallel state needs a Branches array".into(),
                    });
                };
                for (i, b) in branches.iter().enumerate() {
                    states(
                        b,
                        &format!("{here}.Branches[{i}].States"),
                        ctx,
                        grants,
                        warnings,
                    )?;
                }
            }
            Some("Map") => {
                let (key, processor) = match (state.get("ItemProcessor"), state.get("Iterator")) {
                    (Some(p), _) => ("ItemProcessor", p),
                    (None, Some(p)) => ("Iterator", p),
                    (None, None) => {
                        return Err(IamError::InvalidField {
                            state: name.clone(),
                            field: "ItemProcessor".into(),
                            message: "a Map state needs an ItemProcessor".into(),
                        });
                    }
                };
                catalogue::map_grants(name, state, ctx, grants, warnings)?;
                states(
                    processor,
                    &format!("{here}.{key}.States"),
                    ctx,
                    grants,
                    warnings,
                )?;
            }
            Some(_) => {}
            None => {
                return Err(IamError::InvalidField {
                    state: name.clone(),
                    field: "Type".into(),
                    message: "every state needs a Type".into(),
                });
            }
        }
    }
    Ok(())
}
