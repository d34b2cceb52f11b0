//! What the service family files share: resolving a parameter to exact ARNs (or a widened pattern with a
//! warning), and the error for an integration the catalogue does not know.

use crate::IamError;
use crate::catalogue::task::Task;
use crate::params::Param;

/// An integration the catalogue does not know. Step Functions has no such optimized integration (the table in
/// `catalogue` lists all of them), so the definition is wrong; granting the action named like the API on `"*"`
/// would hide that until the task fails at run time.
pub(super) fn unknown(t: &Task<'_>) -> IamError {
    IamError::UnknownIntegration {
        state: t.state.to_string(),
        message: format!(
            "{}:{} is not an optimized Step Functions integration; use arn:aws:states:::aws-sdk:{}:{} for an AWS SDK integration",
            t.service, t.action, t.service, t.action
        ),
    }
}

/// The value of a string parameter resolved to ARNs, or a widened pattern with a warning.
/// `exact` maps a static value to its ARN(s) (or an error message).
pub(super) fn resolve(
    t: &mut Task<'_>,
    field: &str,
    param: Param<'_>,
    required: bool,
    wide: &str,
    exact: impl Fn(&Task<'_>, &str) -> Result<Vec<String>, String>,
) -> Result<Option<Vec<String>>, IamError> {
    match param {
        Param::Static(v) => {
            let s = v
                .as_str()
                .ok_or_else(|| t.bad_param(field, "must be a string"))?;
            exact(t, s).map(Some).map_err(|m| t.bad_param(field, m))
        }
        Param::Dynamic => {
            t.widen(format!(
                "{field} is chosen at run time: the {}:{} statement covers {wide}",
                t.service, t.action
            ));
            Ok(Some(vec![wide.to_string()]))
        }
        Param::Absent if required => Err(t.bad_param(field, "is required")),
        Param::Absent => Ok(None),
    }
}
