//! MediaConvert `createJob`.

use crate::IamError;
use crate::catalogue::task::Task;

use super::common::resolve;

// --- MediaConvert -------------------------------------------------------------------------------------------
// "IAM policies for AWS Elemental MediaConvert" (mediaconvert-iam.html): mediaconvert:CreateJob on "*" (as the
// guide grants it: the job, queue and template resources it checks are not all in the request), iam:PassRole on
// the job role to mediaconvert.amazonaws.com; `.sync` adds GetJob/CancelJob on jobs and the managed rule
// StepFunctionsGetEventsForMediaConvertJobRule.
pub(super) fn mediaconvert(t: &mut Task<'_>) -> Result<(), IamError> {
    t.grant(["mediaconvert:CreateJob"], ["*"]);
    let w = t.scope.global_arn("iam", "role/*");
    let p = t.params.str("Role");
    let mut roles = t.hinted_roles();
    if let Some(r) = resolve(t, "Role", p, true, &w, |t, s| Ok(vec![t.scope.role_arn(s)]))? {
        roles.extend(r);
    }
    t.pass_role(&roles, &["mediaconvert.amazonaws.com"]);
    if t.pattern.is_sync() {
        let jobs = t.arn("mediaconvert", "jobs/*");
        t.grant(["mediaconvert:CancelJob", "mediaconvert:GetJob"], [jobs]);
        t.managed_rule("StepFunctionsGetEventsForMediaConvertJobRule");
    }
    Ok(())
}
