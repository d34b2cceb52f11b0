//! Names and ownership markers of the AWS resources the operator manages. Pure.
//!
//! Every AWS name is derived here, deterministically, so that a restarted operator finds exactly what an
//! earlier run created. AWS limits (from the API references):
//! - state machine and activity names: 1–80 characters, no whitespace, brackets, wildcards or
//!   `"#%\^|~`$&,;:/` (CreateStateMachine / CreateActivity `name`); we keep to `[A-Za-z0-9._-]`, which also
//!   satisfies the stricter rule for Express logging (`A-Z a-z 0-9 - _`, minus the dot, which Kubernetes
//!   namespaces never contain and names rarely do).
//! - IAM role names: 1–64 characters of `[\w+=,.@-]` (CreateRole `RoleName`).
//! - CloudWatch alarm names: 1–255 characters.
//! - CloudWatch Logs log group names: 1–512 characters of `[.\-_/#A-Za-z0-9]` (CreateLogGroup
//!   `logGroupName`). Groups under `/aws/vendedlogs/` are the ones Step Functions can deliver to without
//!   adding each group to the account's CloudWatch Logs resource policy, whose size is limited.

use sha2::{Digest, Sha256};

/// The ARN partition of a region.
pub fn partition_of(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else if region.starts_with("us-iso-") {
        "aws-iso"
    } else if region.starts_with("us-isob-") {
        "aws-iso-b"
    } else {
        "aws"
    }
}

/// Tag key carrying `<namespace>/<name>` of the owning Kubernetes object.
pub const OWNER_TAG: &str = "sfn.operator.dev/owner";
/// Tag key carrying the uid of the owning Kubernetes object (a re-created object with the same name is a
/// different owner).
pub const OWNER_UID_TAG: &str = "sfn.operator.dev/owner-uid";
/// Annotation that allows taking over an existing AWS resource that carries no (or other) owner tags.
pub const ADOPT_ANNOTATION: &str = "sfn.operator.dev/adopt";

/// Annotation carrying the git revision the object was applied from. Neither Argo CD nor Flux writes a
/// revision onto the objects they apply, so the GitOps pipeline sets this one (see docs/versions.md); it
/// goes into each published version's description.
pub const GIT_REVISION_ANNOTATION: &str = "sfn.operator.dev/git-revision";

/// AWS's limit on a state machine version's description, in characters.
pub const MAX_VERSION_DESCRIPTION: usize = 256;

/// The description of a version published for `generation`: `generation N`, then `, revision R` when
/// the object names its git revision, then `: TEXT` for the user's text; cut to AWS's 256 characters.
pub fn version_description(generation: i64, revision: Option<&str>, text: Option<&str>) -> String {
    let mut out = format!("generation {generation}");
    if let Some(r) = revision.map(str::trim).filter(|r| !r.is_empty()) {
        out.push_str(", revision ");
        out.push_str(r);
    }
    if let Some(t) = text.filter(|t| !t.is_empty()) {
        out.push_str(": ");
        out.push_str(t);
    }
    out.chars().take(MAX_VERSION_DESCRIPTION).collect()
}
/// Finalizer that keeps an object until its AWS resources are deleted (or released, with `Retain`).
pub const FINALIZER: &str = "sfn.operator.dev/finalizer";
/// IAM path of every role the operator creates, so the operator's own permissions can be scoped to it.
pub const ROLE_PATH: &str = "/sfn-operator/";
/// Every alarm the operator creates starts with this, followed by the state machine name and a `/`.
pub const ALARM_PREFIX: &str = "sfn-operator/";

/// Longest state machine / activity name AWS accepts.
pub const STATE_MACHINE_NAME_MAX: usize = 80;
/// Longest IAM role name AWS accepts.
pub const ROLE_NAME_MAX: usize = 64;
/// Longest CloudWatch alarm name AWS accepts.
pub const ALARM_NAME_MAX: usize = 255;

/// Where the log groups the operator creates live: `<prefix><namespace>/<name>`.
pub const OWNED_LOG_GROUP_PREFIX: &str = "/aws/vendedlogs/states/";
/// The prefix under which CloudWatch Logs does not need a resource policy entry per log group.
pub const VENDED_LOGS_PREFIX: &str = "/aws/vendedlogs/";
/// Longest log group name CloudWatch Logs accepts.
pub const LOG_GROUP_NAME_MAX: usize = 512;
/// The retention periods CloudWatch Logs accepts (PutRetentionPolicy `retentionInDays`).
pub const LOG_RETENTION_DAYS: [u32; 22] = [
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

/// Length of the hash suffix that keeps shortened names unique.
const HASH_LEN: usize = 8;

/// A name given explicitly in a spec that AWS would reject.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NamingError {
    #[error("{object}: spec.name {name:?} is invalid: {reason}")]
    InvalidName {
        object: String,
        name: String,
        reason: String,
    },
}

/// The value of the [`OWNER_TAG`] for an object.
pub fn owner_value(namespace: &str, name: &str) -> String {
    format!("{namespace}/{name}")
}

/// The AWS name of a state machine: `spec.name` when given (validated, never rewritten: the user asked for
/// exactly that name), else `<namespace>-<name>`, shortened with a hash suffix past 80 characters.
pub fn state_machine_name(
    namespace: &str,
    name: &str,
    override_name: Option<&str>,
) -> Result<String, NamingError> {
    aws_name("StateMachine", namespace, name, override_name)
}

/// The AWS name of an activity; the same rules as [`state_machine_name`].
pub fn activity_name(
    namespace: &str,
    name: &str,
    override_name: Option<&str>,
) -> Result<String, NamingError> {
    aws_name("Activity", namespace, name, override_name)
}

fn aws_name(
    kind: &str,
    namespace: &str,
    name: &str,
    override_name: Option<&str>,
) -> Result<String, NamingError> {
    match override_name {
        Some(explicit) => {
            let invalid = |reason: String| NamingError::InvalidName {
                object: format!("{kind} {namespace}/{name}"),
                name: explicit.to_string(),
                reason,
            };
            if explicit.is_empty() {
                return Err(invalid("must not be empty".into()));
            }
            if explicit.chars().count() > STATE_MACHINE_NAME_MAX {
                return Err(invalid(format!(
                    "longer than {STATE_MACHINE_NAME_MAX} characters"
                )));
            }
            if let Some(bad) = explicit.chars().find(|c| !is_sfn_name_char(*c)) {
                return Err(invalid(format!(
                    "character {bad:?} is not allowed (use letters, digits, '.', '-' and '_')"
                )));
            }
            Ok(explicit.to_string())
        }
        None => Ok(shorten(
            &sanitize(&format!("{namespace}-{name}"), is_sfn_name_char),
            STATE_MACHINE_NAME_MAX,
        )),
    }
}

/// The IAM role created for a state machine: the machine's AWS name, shortened to 64 characters.
pub fn role_name(state_machine_name: &str) -> String {
    shorten(
        &sanitize(state_machine_name, is_role_name_char),
        ROLE_NAME_MAX,
    )
}

/// The IAM role created for a state machine under a cluster-wide name prefix: `prefix` + the machine's
/// AWS name, shortened to 64 characters as a whole (the prefix is kept, the hash covers both). An empty
/// prefix gives exactly [`role_name`], so roles created before prefixes existed keep their names.
pub fn prefixed_role_name(prefix: &str, state_machine_name: &str) -> String {
    role_name(&format!("{prefix}{state_machine_name}"))
}

/// The role created for a state machine in `region`: [`prefixed_role_name`] with the region's
/// [`region_code`] at the end, so that the same object deployed to two regions of one account (IAM names
/// are account-wide) gets two roles. The account needs no place in the name: another account is another
/// IAM namespace.
pub fn regional_role_name(prefix: &str, state_machine_name: &str, region: &str) -> String {
    role_name(&format!(
        "{prefix}{state_machine_name}-{}",
        region_code(region)
    ))
}

/// A short form of a region for names: the compass words shortened, the rest kept, the dashes dropped
/// (`us-east-1` → `use1`, `ap-southeast-2` → `apse2`, `us-gov-west-1` → `usgovw1`). Distinct regions
/// give distinct codes, because only the compass words are shortened and each to its own letters.
pub fn region_code(region: &str) -> String {
    region
        .split('-')
        .map(|part| match part {
            "north" => "n",
            "south" => "s",
            "east" => "e",
            "west" => "w",
            "central" => "c",
            "northeast" => "ne",
            "northwest" => "nw",
            "southeast" => "se",
            "southwest" => "sw",
            other => other,
        })
        .collect()
}

/// Name of the `index`th customer managed policy of a role (role names are at most 64 characters, policy
/// names 128, so this never needs shortening). The role name in it is how the AWS layer recognises the
/// policies of a role among those attached to it.
pub fn managed_policy_name(role_name: &str, index: usize) -> String {
    format!("{}{index}", managed_policy_prefix(role_name))
}

/// What every managed policy name of `role_name` starts with.
pub fn managed_policy_prefix(role_name: &str) -> String {
    format!("{role_name}-policy-")
}

/// The ARN of a customer managed policy under `path` (normally [`ROLE_PATH`]).
pub fn managed_policy_arn(
    partition: &str,
    account_id: &str,
    path: &str,
    policy_name: &str,
) -> String {
    format!("arn:{partition}:iam::{account_id}:policy{path}{policy_name}")
}

/// The prefix shared by all alarms of one state machine; the AWS layer lists alarms by it to find stale ones.
pub fn alarm_name_prefix(state_machine_name: &str) -> String {
    format!("{ALARM_PREFIX}{state_machine_name}/")
}

/// A full alarm name: the machine's prefix followed by the alarm's suffix, shortened to 255 characters.
pub fn alarm_name(state_machine_name: &str, suffix: &str) -> String {
    shorten(
        &format!("{}{suffix}", alarm_name_prefix(state_machine_name)),
        ALARM_NAME_MAX,
    )
}

/// The log group the operator creates for a machine's execution logs:
/// `/aws/vendedlogs/states/<namespace>/<name>`, shortened with a hash suffix past 512 characters.
pub fn owned_log_group_name(namespace: &str, name: &str) -> String {
    shorten(
        &sanitize(
            &format!("{OWNED_LOG_GROUP_PREFIX}{namespace}/{name}"),
            is_log_group_name_char,
        ),
        LOG_GROUP_NAME_MAX,
    )
}

/// The ARN Step Functions takes for a log group (`...:log-group:NAME:*`).
pub fn log_group_arn(partition: &str, region: &str, account_id: &str, name: &str) -> String {
    format!("arn:{partition}:logs:{region}:{account_id}:log-group:{name}:*")
}

/// The log group name inside a log group ARN, with or without the trailing `:*`.
pub fn log_group_name_from_arn(arn: &str) -> Option<&str> {
    let rest = arn.split_once(":log-group:")?.1;
    let name = rest.strip_suffix(":*").unwrap_or(rest);
    (!name.is_empty()).then_some(name)
}

fn is_log_group_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '/' | '#')
}

/// The role name inside an IAM role ARN (`arn:aws:iam::123:role/path/name` → `name`).
pub fn role_name_from_arn(arn: &str) -> Option<&str> {
    let resource = arn.split(':').nth(5)?;
    let path = resource.strip_prefix("role/")?;
    path.rsplit('/').next().filter(|n| !n.is_empty())
}

/// The resource name at the end of a Step Functions ARN (`...:stateMachine:name` → `name`).
pub fn name_from_sfn_arn(arn: &str) -> Option<&str> {
    let mut parts = arn.split(':');
    let kind = parts.nth(5)?;
    if kind != "stateMachine" && kind != "activity" {
        return None;
    }
    parts.next().filter(|n| !n.is_empty())
}

/// Cuts `name` to at most `max` characters, replacing the tail with `-` and a hash of the whole name, so
/// two long names that share a prefix still differ. Names that fit are returned unchanged.
pub fn shorten(name: &str, max: usize) -> String {
    if name.chars().count() <= max {
        return name.to_string();
    }
    let digest = hex::encode(Sha256::digest(name.as_bytes()));
    let keep = max.saturating_sub(HASH_LEN + 1);
    let head: String = name.chars().take(keep).collect();
    let head = head.trim_end_matches(['-', '.', '_']);
    format!("{head}-{}", &digest[..HASH_LEN])
}

fn sanitize(name: &str, allowed: fn(char) -> bool) -> String {
    name.chars()
        .map(|c| if allowed(c) { c } else { '-' })
        .collect()
}

fn is_sfn_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')
}

/// Whether IAM accepts `c` in a role name (`[\w+=,.@-]`).
pub fn is_role_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '+' | '=' | ',' | '.' | '@' | '_' | '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_get_short_distinct_codes() {
        let cases = [
            ("us-east-1", "use1"),
            ("us-west-2", "usw2"),
            ("eu-central-1", "euc1"),
            ("ap-southeast-2", "apse2"),
            ("ap-south-1", "aps1"),
            ("ap-northeast-3", "apne3"),
            ("us-gov-west-1", "usgovw1"),
            ("us-iso-east-1", "usisoe1"),
            ("us-isob-east-1", "usisobe1"),
            ("cn-northwest-1", "cnnw1"),
            ("il-central-1", "ilc1"),
        ];
        for (region, code) in cases {
            assert_eq!(region_code(region), code, "{region}");
        }
        let codes: std::collections::BTreeSet<String> =
            cases.iter().map(|(r, _)| region_code(r)).collect();
        assert_eq!(codes.len(), cases.len());
    }

    #[test]
    fn regional_role_names_differ_per_region_and_fit_iam() {
        let east = regional_role_name("", "team-a-orders", "us-east-1");
        let west = regional_role_name("", "team-a-orders", "eu-west-1");
        assert_eq!(east, "team-a-orders-use1");
        assert_eq!(west, "team-a-orders-euw1");
        let long = "x".repeat(80);
        let a = regional_role_name("tenant-", &long, "us-east-1");
        let b = regional_role_name("tenant-", &long, "us-east-2");
        assert!(a.len() <= 64 && b.len() <= 64);
        assert_ne!(a, b, "the hash covers the region");
        assert!(a.starts_with("tenant-"));
    }

    #[test]
    fn version_descriptions_carry_generation_revision_and_text() {
        assert_eq!(version_description(3, None, None), "generation 3");
        assert_eq!(
            version_description(4, Some("9f1c2ab"), Some("faster retries")),
            "generation 4, revision 9f1c2ab: faster retries"
        );
        assert_eq!(
            version_description(5, Some(" "), Some("")),
            "generation 5",
            "blank revision and text add nothing"
        );
        let long = version_description(6, Some("r"), Some(&"é".repeat(400)));
        assert_eq!(long.chars().count(), MAX_VERSION_DESCRIPTION);
        assert!(long.starts_with("generation 6, revision r: é"));
    }

    #[test]
    fn partitions() {
        assert_eq!(partition_of("us-east-1"), "aws");
        assert_eq!(partition_of("cn-north-1"), "aws-cn");
        assert_eq!(partition_of("us-gov-west-1"), "aws-us-gov");
    }

    #[test]
    fn default_name_is_namespace_dash_name() {
        assert_eq!(
            state_machine_name("demo", "job-poller", None).unwrap(),
            "demo-job-poller"
        );
    }

    #[test]
    fn long_names_are_shortened_deterministically_and_stay_distinct() {
        let a = state_machine_name("team", &"x".repeat(100), None).unwrap();
        let b = state_machine_name("team", &format!("{}y", "x".repeat(99)), None).unwrap();
        assert_eq!(a.chars().count(), 80);
        assert_eq!(b.chars().count(), 80);
        assert_ne!(a, b);
        assert_eq!(
            a,
            state_machine_name("team", &"x".repeat(100), None).unwrap()
        );
        assert!(a.starts_with("team-xxxx"));
    }

    #[test]
    fn explicit_names_are_validated_not_rewritten() {
        assert_eq!(
            state_machine_name("ns", "n", Some("MyMachine_1")).unwrap(),
            "MyMachine_1"
        );
        let err = state_machine_name("ns", "n", Some("bad name")).unwrap_err();
        assert!(err.to_string().contains("StateMachine ns/n"), "{err}");
        assert!(err.to_string().contains("spec.name"), "{err}");
        assert!(state_machine_name("ns", "n", Some(&"a".repeat(81))).is_err());
        assert!(activity_name("ns", "n", Some("")).is_err());
    }

    #[test]
    fn role_names_fit_iam() {
        let machine = state_machine_name("payments", &"m".repeat(70), None).unwrap();
        let role = role_name(&machine);
        assert!(role.chars().count() <= ROLE_NAME_MAX);
        assert_ne!(role, role_name(&format!("{machine}z")));
        assert_eq!(role_name("demo-a"), "demo-a");
    }

    #[test]
    fn arn_helpers() {
        assert_eq!(
            role_name_from_arn("arn:aws:iam::123456789012:role/sfn-operator/demo-a"),
            Some("demo-a")
        );
        assert_eq!(
            role_name_from_arn("arn:aws:iam::123456789012:role/plain"),
            Some("plain")
        );
        assert_eq!(role_name_from_arn("arn:aws:iam::123:policy/x"), None);
        assert_eq!(
            name_from_sfn_arn("arn:aws:states:us-east-1:123:stateMachine:demo-a"),
            Some("demo-a")
        );
        assert_eq!(
            name_from_sfn_arn("arn:aws:states:us-east-1:123:activity:act"),
            Some("act")
        );
    }

    #[test]
    fn owned_log_groups_are_vended_and_fit() {
        assert_eq!(
            owned_log_group_name("demo", "job-poller"),
            "/aws/vendedlogs/states/demo/job-poller"
        );
        let long = owned_log_group_name("team", &"x".repeat(600));
        assert_eq!(long.chars().count(), LOG_GROUP_NAME_MAX);
        assert!(long.starts_with("/aws/vendedlogs/states/team/xxx"));
        assert_ne!(long, owned_log_group_name("team", &"x".repeat(601)));
        assert_eq!(long, owned_log_group_name("team", &"x".repeat(600)));
        assert_eq!(
            owned_log_group_name("a", "b c"),
            "/aws/vendedlogs/states/a/b-c"
        );
        let arn = log_group_arn("aws", "us-east-1", "123", "/aws/vendedlogs/states/a/b");
        assert_eq!(
            arn,
            "arn:aws:logs:us-east-1:123:log-group:/aws/vendedlogs/states/a/b:*"
        );
        assert_eq!(
            log_group_name_from_arn(&arn),
            Some("/aws/vendedlogs/states/a/b")
        );
        assert_eq!(
            log_group_name_from_arn("arn:aws:logs:us-east-1:123:log-group:g"),
            Some("g")
        );
        assert_eq!(log_group_name_from_arn("arn:aws:iam::123:role/x"), None);
    }

    #[test]
    fn alarm_names_carry_the_machine_prefix() {
        assert_eq!(
            alarm_name("demo-a", "ExecutionsFailed"),
            "sfn-operator/demo-a/ExecutionsFailed"
        );
        assert!(alarm_name("m", &"s".repeat(300)).chars().count() <= ALARM_NAME_MAX);
    }
}
