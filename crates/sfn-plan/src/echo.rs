//! What Step Functions answers for settings the caller left to its defaults, folded before comparing, so
//! that a setting AWS echoes back in its own spelling never plans an `UpdateStateMachine` that changes
//! nothing. The JSON documents (definition, policies) have their own canonical forms in [`crate::compare`];
//! this module holds the state machine's configuration blocks:
//!
//! - logging: a machine created without a logging configuration is described with level `OFF`, no
//!   destination and `includeExecutionData: false`, which is the same as none; a log group destination is
//!   written `arn:…:log-group:NAME:*` (Step Functions requires the `:*`), and may be declared without it;
//! - tracing: absent and `enabled: false` are the same (the observation is already a plain flag);
//! - encryption: the AWS owned key is the same as no encryption configuration (the AWS layer observes it
//!   as `None`, and AWS reports a reuse period of 0 for it, which is ignored), and a customer managed key
//!   declared without `kmsDataKeyReusePeriodSeconds` gets AWS's default of 300 seconds;
//! - revision IDs are never compared: `DescribeStateMachine` may return the previous one for a moment after
//!   an update (eventual consistency), and they change on every update anyway.

use crate::model::{EncryptionSpec, LoggingSpec};

/// The data key reuse period Step Functions applies to a customer managed key when none is given (the AWS
/// CDK documents the same default; the API reference gives only the range, 60 to 900).
pub const DEFAULT_KMS_DATA_KEY_REUSE_PERIOD_SECONDS: i32 = 300;

/// Whether two logging configurations mean the same to Step Functions.
pub fn same_logging(live: Option<&LoggingSpec>, want: Option<&LoggingSpec>) -> bool {
    /// `None` for "no logging", else (level, include data, log group without a trailing `:*`).
    fn norm(l: Option<&LoggingSpec>) -> Option<(&str, bool, Option<&str>)> {
        let l = l?;
        let group = l
            .log_group_arn
            .as_deref()
            .map(|g| g.strip_suffix(":*").unwrap_or(g));
        if l.level == "OFF" && group.is_none() {
            return None;
        }
        Some((l.level.as_str(), l.include_execution_data, group))
    }
    norm(live) == norm(want)
}

/// Whether two encryption configurations mean the same to Step Functions.
pub fn same_encryption(live: Option<&EncryptionSpec>, want: Option<&EncryptionSpec>) -> bool {
    fn norm(e: Option<&EncryptionSpec>) -> Option<(&str, i32)> {
        let e = e?;
        Some((
            e.kms_key_id.as_str(),
            e.kms_data_key_reuse_period_seconds
                .unwrap_or(DEFAULT_KMS_DATA_KEY_REUSE_PERIOD_SECONDS),
        ))
    }
    norm(live) == norm(want)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn logging(level: &str, data: bool, group: Option<&str>) -> LoggingSpec {
        LoggingSpec {
            level: level.into(),
            include_execution_data: data,
            log_group_arn: group.map(str::to_owned),
        }
    }

    const GROUP: &str = "arn:aws:logs:us-east-1:123456789012:log-group:/sfn/demo";

    #[test]
    fn logging_off_without_a_destination_is_no_logging() {
        let off = logging("OFF", false, None);
        assert!(same_logging(Some(&off), None));
        assert!(same_logging(None, Some(&off)));
        assert!(!same_logging(
            Some(&logging("ERROR", false, Some(GROUP))),
            None
        ));
    }

    #[test]
    fn a_log_group_echoed_with_the_wildcard_suffix_is_the_same_group() {
        let echoed = logging("ALL", true, Some(&format!("{GROUP}:*")));
        let declared = logging("ALL", true, Some(GROUP));
        assert!(same_logging(Some(&echoed), Some(&declared)));
        // A different level or group is still a change.
        assert!(!same_logging(
            Some(&echoed),
            Some(&logging("ERROR", true, Some(GROUP)))
        ));
        assert!(!same_logging(
            Some(&echoed),
            Some(&logging("ALL", true, Some(&format!("{GROUP}-2"))))
        ));
        assert!(!same_logging(
            Some(&echoed),
            Some(&logging("ALL", false, Some(GROUP)))
        ));
    }

    #[test]
    fn the_default_reuse_period_is_echoed_for_a_customer_managed_key() {
        let key = "arn:aws:kms:us-east-1:123456789012:key/k";
        let echoed = EncryptionSpec {
            kms_key_id: key.into(),
            kms_data_key_reuse_period_seconds: Some(300),
        };
        let declared = EncryptionSpec {
            kms_key_id: key.into(),
            kms_data_key_reuse_period_seconds: None,
        };
        assert!(same_encryption(Some(&echoed), Some(&declared)));
        let shorter = EncryptionSpec {
            kms_data_key_reuse_period_seconds: Some(60),
            ..declared.clone()
        };
        assert!(!same_encryption(Some(&echoed), Some(&shorter)));
        // The AWS owned key (observed as no configuration) against a customer managed one is a change.
        assert!(!same_encryption(None, Some(&declared)));
        assert!(same_encryption(None, None));
    }
}
