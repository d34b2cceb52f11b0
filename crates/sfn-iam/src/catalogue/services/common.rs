//! What the service family files share: resolving a parameter to exact ARNs (or a widened pattern with a
//! warning), and the fallback grant for an integration the catalogue does not know.

use crate::IamError;
use crate::catalogue::names::{iam_prefix, pascal};
use crate::catalogue::task::Task;
use crate::params::Param;

/// An integration the catalogue does not know: the IAM action named like the API, on `"*"`, with a warning.
pub(super) fn unknown(t: &mut Task<'_>) {
    let action = format!("{}:{}", iam_prefix(t.service), pascal(t.action));
    t.grant([action.clone()], ["*"]);
    t.widen(format!(
        "{}:{} is not in the integration catalogue: granted {action} on \"*\"; add exact resources with spec.role.extraStatements and a TaskIntegration if this is too broad",
        t.service, t.action
    ));
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
