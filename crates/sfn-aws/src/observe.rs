//! Reading live AWS state into the planner's `Observed…` types. A missing resource is an observation
//! (`None`), never an error.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{AwsClients, AwsError};
use sfn_alarms::AlarmSpec;
use sfn_api::naming;
use sfn_api::versions::RouteStatus;
use sfn_plan::rollout::AlarmState;
use sfn_plan::{
    DesiredActivity, DesiredMachine, DesiredRole, EncryptionSpec, LoggingSpec, MachineType,
    ObservedActivity, ObservedAlarm, ObservedAlias, ObservedLogGroup, ObservedMachine,
    ObservedManagedPolicy, ObservedRole, ObservedStateMachine, ObservedVersion, SPEC_HASH_TAG,
};

/// How much to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Depth {
    /// What a reconcile needs; alarm tags are read later, only where the plan needs them.
    Reconcile,
    /// What a deletion needs: tags of every alarm, managed policies attached to the role.
    Delete,
}

fn not_found<T>(result: Result<T, AwsError>) -> Result<Option<T>, AwsError> {
    match result {
        Ok(v) => Ok(Some(v)),
        Err(AwsError::NotFound { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// IAM returns policy documents URL-encoded (RFC 3986), as the IAM API reference says for
/// `AssumeRolePolicyDocument` and `PolicyDocument`; emulators sometimes do not. Either way the result is
/// parsed JSON.
pub fn decode_policy(api: &'static str, raw: &str) -> Result<Value, AwsError> {
    let trimmed = raw.trim_start();
    let text = if trimmed.starts_with('{') {
        std::borrow::Cow::Borrowed(raw)
    } else {
        percent_encoding::percent_decode_str(raw)
            .decode_utf8()
            .map_err(|e| AwsError::Unexpected {
                api,
                message: format!("policy document is not valid URL-encoded UTF-8: {e}"),
            })?
    };
    serde_json::from_str(&text).map_err(|e| AwsError::Unexpected {
        api,
        message: format!("policy document is not JSON: {e}"),
    })
}

/// Reads the state machine (if any) at `arn`, with its tags.
pub async fn state_machine(
    clients: &AwsClients,
    arn: &str,
    with_versions: bool,
) -> Result<Option<ObservedStateMachine>, AwsError> {
    let Some(out) = not_found(
        clients
            .call(
                "sfn:DescribeStateMachine",
                clients
                    .sfn
                    .describe_state_machine()
                    .state_machine_arn(arn)
                    .send(),
            )
            .await,
    )?
    else {
        return Ok(None);
    };
    let machine_type = match out.r#type().as_str() {
        "EXPRESS" => MachineType::Express,
        _ => MachineType::Standard,
    };
    let logging = out.logging_configuration().map(|l| LoggingSpec {
        level: l
            .level()
            .map(|v| v.as_str().to_string())
            .unwrap_or_else(|| "OFF".into()),
        include_execution_data: l.include_execution_data(),
        log_group_arn: l
            .destinations()
            .iter()
            .find_map(|d| d.cloud_watch_logs_log_group()?.log_group_arn())
            .map(str::to_string),
    });
    let encryption = out
        .encryption_configuration()
        .filter(|e| e.r#type().as_str() == "CUSTOMER_MANAGED_KMS_KEY")
        .and_then(|e| {
            Some(EncryptionSpec {
                kms_key_id: e.kms_key_id()?.to_string(),
                kms_data_key_reuse_period_seconds: e.kms_data_key_reuse_period_seconds(),
            })
        });
    let status = out
        .status()
        .map(|s| s.as_str().to_string())
        .unwrap_or_else(|| "ACTIVE".into());
    let tags = if status == "DELETING" {
        BTreeMap::new()
    } else {
        match sfn_tags(clients, arn).await? {
            Some(tags) => tags,
            // Deleted between the two reads: as good as absent (not "present without our tags").
            None => return Ok(None),
        }
    };
    let (versions, aliases) = if with_versions && status != "DELETING" {
        (versions(clients, arn).await?, aliases(clients, arn).await?)
    } else {
        (Vec::new(), Vec::new())
    };
    Ok(Some(ObservedStateMachine {
        arn: out.state_machine_arn().to_string(),
        name: out.name().to_string(),
        machine_type,
        definition: out.definition().to_string(),
        role_arn: out.role_arn().to_string(),
        status,
        logging,
        tracing: out.tracing_configuration().is_some_and(|t| t.enabled()),
        encryption,
        revision_id: out.revision_id().map(str::to_string),
        tags,
        versions,
        aliases,
    }))
}

/// The number in a version ARN (`…:stateMachine:NAME:N`).
pub(crate) fn version_number(arn: &str) -> Option<u32> {
    let parts: Vec<&str> = arn.split(':').collect();
    (parts.len() == 8 && parts[5] == "stateMachine")
        .then(|| parts[7].parse().ok())
        .flatten()
}

fn rfc3339(d: &aws_smithy_types::DateTime) -> Option<String> {
    d.fmt(aws_smithy_types::date_time::Format::DateTime).ok()
}

/// Every published version of the machine at `arn`, newest first (AWS keeps at most 1000). The newest
/// one is described too, for its revision id and description: versions are immutable, and only the
/// newest decides whether the current revision is published.
pub(crate) async fn versions(
    clients: &AwsClients,
    arn: &str,
) -> Result<Vec<ObservedVersion>, AwsError> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let Some(page) = not_found(
            clients
                .call(
                    "sfn:ListStateMachineVersions",
                    clients
                        .sfn
                        .list_state_machine_versions()
                        .state_machine_arn(arn)
                        .max_results(1000)
                        .set_next_token(token.clone())
                        .send(),
                )
                .await,
        )?
        else {
            return Ok(Vec::new());
        };
        for v in page.state_machine_versions() {
            let version_arn = v.state_machine_version_arn();
            let Some(number) = version_number(version_arn) else {
                return Err(AwsError::Unexpected {
                    api: "sfn:ListStateMachineVersions",
                    message: format!("{version_arn} is not a version ARN"),
                });
            };
            out.push(ObservedVersion {
                arn: version_arn.to_string(),
                number,
                creation_time: rfc3339(v.creation_date()),
                description: None,
                revision_id: None,
            });
        }
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    // Newest first whatever order the pages came in.
    out.sort_by_key(|v| std::cmp::Reverse(v.number));
    if let Some(newest) = out.first_mut()
        && let Some(described) = not_found(
            clients
                .call(
                    "sfn:DescribeStateMachine",
                    clients
                        .sfn
                        .describe_state_machine()
                        .state_machine_arn(&newest.arn)
                        .send(),
                )
                .await,
        )?
    {
        newest.description = described.description().map(str::to_string);
        newest.revision_id = described.revision_id().map(str::to_string);
    }
    Ok(out)
}

/// Every alias of the machine at `arn`, described for its routing.
async fn aliases(clients: &AwsClients, arn: &str) -> Result<Vec<ObservedAlias>, AwsError> {
    let mut arns = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let Some(page) = not_found(
            clients
                .call(
                    "sfn:ListStateMachineAliases",
                    clients
                        .sfn
                        .list_state_machine_aliases()
                        .state_machine_arn(arn)
                        .set_next_token(token.clone())
                        .send(),
                )
                .await,
        )?
        else {
            return Ok(Vec::new());
        };
        arns.extend(
            page.state_machine_aliases()
                .iter()
                .map(|a| a.state_machine_alias_arn().to_string()),
        );
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    let mut out = Vec::new();
    for alias_arn in arns {
        let Some(d) = not_found(
            clients
                .call(
                    "sfn:DescribeStateMachineAlias",
                    clients
                        .sfn
                        .describe_state_machine_alias()
                        .state_machine_alias_arn(&alias_arn)
                        .send(),
                )
                .await,
        )?
        else {
            continue;
        };
        let mut routing = Vec::new();
        for r in d.routing_configuration() {
            let Some(version) = version_number(r.state_machine_version_arn()) else {
                return Err(AwsError::Unexpected {
                    api: "sfn:DescribeStateMachineAlias",
                    message: format!("{} is not a version ARN", r.state_machine_version_arn()),
                });
            };
            routing.push(RouteStatus {
                version,
                weight: r.weight().max(0) as u32,
            });
        }
        let name = d
            .name()
            .map(str::to_string)
            .or_else(|| alias_arn.rsplit(':').next().map(str::to_string))
            .unwrap_or_default();
        out.push(ObservedAlias {
            name,
            arn: alias_arn,
            description: d.description().map(str::to_string),
            routing,
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// Tags of a Step Functions resource (state machine or activity); `None` if it vanished meanwhile.
async fn sfn_tags(
    clients: &AwsClients,
    arn: &str,
) -> Result<Option<BTreeMap<String, String>>, AwsError> {
    let out = not_found(
        clients
            .call(
                "sfn:ListTagsForResource",
                clients
                    .sfn
                    .list_tags_for_resource()
                    .resource_arn(arn)
                    .send(),
            )
            .await,
    )?;
    Ok(out.map(|out| {
        out.tags()
            .iter()
            .filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or("").to_string())))
            .collect()
    }))
}

/// Reads a role with its trust policy, inline policies (decoded), attached policies (with the documents of
/// the operator's own managed policies) and tags. Every depth reads the same here; [`machine`] skips the
/// attached policies when they cannot have changed.
pub async fn role(
    clients: &AwsClients,
    name: &str,
    _depth: Depth,
) -> Result<Option<ObservedRole>, AwsError> {
    role_reading(clients, name, true).await
}

async fn role_reading(
    clients: &AwsClients,
    name: &str,
    with_attached: bool,
) -> Result<Option<ObservedRole>, AwsError> {
    let Some(out) = not_found(
        clients
            .call("iam:GetRole", clients.iam.get_role().role_name(name).send())
            .await,
    )?
    else {
        return Ok(None);
    };
    let Some(role) = out.role() else {
        return Ok(None);
    };
    let trust_policy = match role.assume_role_policy_document() {
        Some(doc) => decode_policy("iam:GetRole", doc)?,
        None => Value::Null,
    };
    let Some(policies) = inline_policies(clients, name).await? else {
        return Ok(None);
    };
    // The policies the operator manages for a role are found among the attached ones.
    let attached_policy_arns = if with_attached {
        attached_policy_arns(clients, name)
            .await?
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    let prefix = naming::managed_policy_prefix(name);
    let mut managed_policies = Vec::new();
    for arn in &attached_policy_arns {
        let is_ours = arn
            .split_once(&format!(":policy{}", naming::ROLE_PATH))
            .is_some_and(|(_, policy_name)| policy_name.starts_with(&prefix));
        if is_ours && let Some(policy) = managed_policy(clients, arn).await? {
            managed_policies.push(policy);
        }
    }
    Ok(Some(ObservedRole {
        arn: role.arn().to_string(),
        name: role.role_name().to_string(),
        path: role.path().to_string(),
        trust_policy,
        policies,
        permissions_boundary: role
            .permissions_boundary()
            .and_then(|b| b.permissions_boundary_arn())
            .map(str::to_string),
        tags: role
            .tags()
            .iter()
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect(),
        attached_policy_arns,
        managed_policies,
    }))
}

/// The inline policies of a role by name, decoded; `None` when the role does not exist.
async fn inline_policies(
    clients: &AwsClients,
    name: &str,
) -> Result<Option<BTreeMap<String, Value>>, AwsError> {
    let mut policies = BTreeMap::new();
    let mut marker: Option<String> = None;
    loop {
        let Some(page) = not_found(
            clients
                .call(
                    "iam:ListRolePolicies",
                    clients
                        .iam
                        .list_role_policies()
                        .role_name(name)
                        .set_marker(marker.clone())
                        .send(),
                )
                .await,
        )?
        else {
            return Ok(None);
        };
        for policy_name in page.policy_names() {
            if let Some(doc) = not_found(
                clients
                    .call(
                        "iam:GetRolePolicy",
                        clients
                            .iam
                            .get_role_policy()
                            .role_name(name)
                            .policy_name(policy_name)
                            .send(),
                    )
                    .await,
            )? {
                policies.insert(
                    policy_name.clone(),
                    decode_policy("iam:GetRolePolicy", doc.policy_document())?,
                );
            }
        }
        match (page.is_truncated(), page.marker()) {
            (true, Some(m)) => marker = Some(m.to_string()),
            _ => break,
        }
    }
    Ok(Some(policies))
}

/// The ARNs of the managed policies attached to a role; `None` when the role does not exist.
async fn attached_policy_arns(
    clients: &AwsClients,
    name: &str,
) -> Result<Option<Vec<String>>, AwsError> {
    let mut arns = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let Some(page) = not_found(
            clients
                .call(
                    "iam:ListAttachedRolePolicies",
                    clients
                        .iam
                        .list_attached_role_policies()
                        .role_name(name)
                        .set_marker(marker.clone())
                        .send(),
                )
                .await,
        )?
        else {
            return Ok(None);
        };
        arns.extend(
            page.attached_policies()
                .iter()
                .filter_map(|p| p.policy_arn().map(str::to_string)),
        );
        match (page.is_truncated(), page.marker()) {
            (true, Some(m)) => marker = Some(m.to_string()),
            _ => break,
        }
    }
    Ok(Some(arns))
}

/// The default version's document of any managed policy (the caller's own, another team's or an AWS managed
/// one); `None` when it vanished meanwhile. Unlike [`managed_policy`] the other versions are not listed: only
/// the default one is in force.
async fn default_policy_document(
    clients: &AwsClients,
    arn: &str,
) -> Result<Option<Value>, AwsError> {
    let Some(out) = not_found(
        clients
            .call(
                "iam:GetPolicy",
                clients.iam.get_policy().policy_arn(arn).send(),
            )
            .await,
    )?
    else {
        return Ok(None);
    };
    let Some(version_id) = out.policy().and_then(|p| p.default_version_id()) else {
        return Err(AwsError::Unexpected {
            api: "iam:GetPolicy",
            message: format!("{arn} has no default version"),
        });
    };
    match policy_version_document(clients, arn, version_id).await? {
        Some(Some(doc)) => decode_policy("iam:GetPolicyVersion", &doc).map(Some),
        _ => Ok(None),
    }
}

/// The raw document of one version of a managed policy: `None` when the policy or version is gone, `Some(None)`
/// when AWS returned the version without a document.
async fn policy_version_document(
    clients: &AwsClients,
    arn: &str,
    version_id: &str,
) -> Result<Option<Option<String>>, AwsError> {
    let out = not_found(
        clients
            .call(
                "iam:GetPolicyVersion",
                clients
                    .iam
                    .get_policy_version()
                    .policy_arn(arn)
                    .version_id(version_id)
                    .send(),
            )
            .await,
    )?;
    Ok(out.map(|out| {
        out.policy_version()
            .and_then(|v| v.document())
            .map(str::to_owned)
    }))
}

/// The permission policies of a role for the audit of a bring-your-own role: every inline policy and the
/// default version of every attached managed policy, labelled (`inline policy NAME`, `managed policy ARN`).
/// `None` when the role does not exist. The trust policy, tags and boundary are not read: the audit does not
/// evaluate them.
pub async fn role_permission_policies(
    clients: &AwsClients,
    name: &str,
) -> Result<Option<Vec<(String, Value)>>, AwsError> {
    let Some(inline) = inline_policies(clients, name).await? else {
        return Ok(None);
    };
    let Some(attached) = attached_policy_arns(clients, name).await? else {
        return Ok(None);
    };
    let mut out: Vec<(String, Value)> = inline
        .into_iter()
        .map(|(n, doc)| (format!("inline policy {n}"), doc))
        .collect();
    for arn in attached {
        if let Some(doc) = default_policy_document(clients, &arn).await? {
            out.push((format!("managed policy {arn}"), doc));
        }
    }
    Ok(Some(out))
}

/// One of the operator's managed policies: its versions and the default version's document. `None` when it
/// vanished meanwhile.
async fn managed_policy(
    clients: &AwsClients,
    arn: &str,
) -> Result<Option<ObservedManagedPolicy>, AwsError> {
    let mut version_ids = Vec::new();
    let mut default_version_id = None;
    let mut marker: Option<String> = None;
    loop {
        let Some(page) = not_found(
            clients
                .call(
                    "iam:ListPolicyVersions",
                    clients
                        .iam
                        .list_policy_versions()
                        .policy_arn(arn)
                        .set_marker(marker.clone())
                        .send(),
                )
                .await,
        )?
        else {
            return Ok(None);
        };
        for v in page.versions() {
            let Some(id) = v.version_id() else { continue };
            if v.is_default_version() {
                default_version_id = Some(id.to_string());
            }
            version_ids.push(id.to_string());
        }
        match (page.is_truncated(), page.marker()) {
            (true, Some(m)) => marker = Some(m.to_string()),
            _ => break,
        }
    }
    let Some(default_version_id) = default_version_id else {
        return Err(AwsError::Unexpected {
            api: "iam:ListPolicyVersions",
            message: format!("{arn} has no default version"),
        });
    };
    let Some(document) = policy_version_document(clients, arn, &default_version_id).await? else {
        return Ok(None);
    };
    let document = match document {
        Some(doc) => decode_policy("iam:GetPolicyVersion", &doc)?,
        None => Value::Null,
    };
    Ok(Some(ObservedManagedPolicy {
        arn: arn.to_string(),
        document,
        version_ids,
        default_version_id,
    }))
}

/// Every metric alarm whose name starts with `prefix`, tags not read.
pub async fn alarms(clients: &AwsClients, prefix: &str) -> Result<Vec<ObservedAlarm>, AwsError> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = clients
            .call(
                "cloudwatch:DescribeAlarms",
                clients
                    .cloudwatch
                    .describe_alarms()
                    .alarm_name_prefix(prefix)
                    .set_next_token(token.clone())
                    .send(),
            )
            .await?;
        for a in page.metric_alarms() {
            let (Some(name), Some(arn)) = (a.alarm_name(), a.alarm_arn()) else {
                continue;
            };
            // The prefix filter is the server's; a name that merely shares it with a longer machine
            // name (`sfn-operator/a/` vs `sfn-operator/a/b`) cannot happen, as names end in `/`.
            out.push(ObservedAlarm {
                arn: arn.to_string(),
                spec: AlarmSpec {
                    name: name.to_string(),
                    description: a.alarm_description().map(str::to_string),
                    namespace: a.namespace().unwrap_or("").to_string(),
                    metric_name: a.metric_name().unwrap_or("").to_string(),
                    dimensions: a
                        .dimensions()
                        .iter()
                        .filter_map(|d| Some((d.name()?.to_string(), d.value()?.to_string())))
                        .collect(),
                    statistic: a
                        .statistic()
                        .map(|s| s.as_str().to_string())
                        .unwrap_or_default(),
                    period: a.period().unwrap_or(0),
                    evaluation_periods: a.evaluation_periods().unwrap_or(0),
                    datapoints_to_alarm: a.datapoints_to_alarm(),
                    threshold: a.threshold().unwrap_or(0.0),
                    comparison_operator: a
                        .comparison_operator()
                        .map(|c| c.as_str().to_string())
                        .unwrap_or_default(),
                    // CloudWatch's default when the alarm was created without it.
                    treat_missing_data: a.treat_missing_data().unwrap_or("missing").to_string(),
                    alarm_actions: a.alarm_actions().to_vec(),
                    ok_actions: a.ok_actions().to_vec(),
                    insufficient_data_actions: a.insufficient_data_actions().to_vec(),
                },
                tags: None,
            });
        }
        match page.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_string()),
            _ => break,
        }
    }
    Ok(out)
}

/// DescribeAlarms takes at most this many names per request.
const DESCRIBE_ALARMS_MAX_NAMES: usize = 100;

/// The state of each named alarm, in the order asked, `None` for a name with no alarm in this account
/// and region. Metric and composite alarms both count (DescribeAlarms returns only metric alarms unless
/// asked for both; composite ones need the permission on `*`, which the operator's policy grants).
/// Names repeated in `names` are answered each time.
pub async fn alarm_states(
    clients: &AwsClients,
    names: &[String],
) -> Result<Vec<(String, Option<AlarmState>)>, AwsError> {
    let mut found: BTreeMap<String, AlarmState> = BTreeMap::new();
    let mut wanted: Vec<&String> = names.iter().collect();
    wanted.sort();
    wanted.dedup();
    for chunk in wanted.chunks(DESCRIBE_ALARMS_MAX_NAMES) {
        let chunk: Vec<String> = chunk.iter().map(|n| n.to_string()).collect();
        let mut token: Option<String> = None;
        loop {
            let page = clients
                .call(
                    "cloudwatch:DescribeAlarms",
                    clients
                        .cloudwatch
                        .describe_alarms()
                        .set_alarm_names(Some(chunk.clone()))
                        .alarm_types(aws_sdk_cloudwatch::types::AlarmType::MetricAlarm)
                        .alarm_types(aws_sdk_cloudwatch::types::AlarmType::CompositeAlarm)
                        .set_next_token(token.clone())
                        .send(),
                )
                .await?;
            let metric = page
                .metric_alarms()
                .iter()
                .map(|a| (a.alarm_name(), a.state_value()));
            let composite = page
                .composite_alarms()
                .iter()
                .map(|a| (a.alarm_name(), a.state_value()));
            for (name, state) in metric.chain(composite) {
                let Some(name) = name else { continue };
                // The server filters by name; an answer for a name not asked is ignored.
                if !chunk.iter().any(|n| n == name) {
                    continue;
                }
                found.insert(name.to_string(), alarm_state(name, state)?);
            }
            match page.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => break,
            }
        }
    }
    Ok(names
        .iter()
        .map(|n| (n.clone(), found.get(n).copied()))
        .collect())
}

/// CloudWatch's `StateValue`. A state this code does not know is an error rather than a guess: reading
/// it as OK could let a rollout pass an alarm it should stop on.
fn alarm_state(
    name: &str,
    state: Option<&aws_sdk_cloudwatch::types::StateValue>,
) -> Result<AlarmState, AwsError> {
    use aws_sdk_cloudwatch::types::StateValue;
    match state {
        Some(StateValue::Ok) => Ok(AlarmState::Ok),
        Some(StateValue::Alarm) => Ok(AlarmState::Alarm),
        Some(StateValue::InsufficientData) => Ok(AlarmState::InsufficientData),
        other => Err(AwsError::Unexpected {
            api: "cloudwatch:DescribeAlarms",
            message: format!(
                "alarm {name}: unknown state {}",
                other.map(|s| s.as_str()).unwrap_or("(none)")
            ),
        }),
    }
}

/// Tags of one alarm; an alarm that vanished has none.
pub async fn alarm_tags(
    clients: &AwsClients,
    alarm_arn: &str,
) -> Result<BTreeMap<String, String>, AwsError> {
    let out = not_found(
        clients
            .call(
                "cloudwatch:ListTagsForResource",
                clients
                    .cloudwatch
                    .list_tags_for_resource()
                    .resource_arn(alarm_arn)
                    .send(),
            )
            .await,
    )?;
    Ok(out
        .map(|o| {
            o.tags()
                .iter()
                .filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or("").to_string())))
                .collect()
        })
        .unwrap_or_default())
}

/// Everything live for one StateMachine object, read directly.
pub async fn machine(
    clients: &AwsClients,
    desired: &DesiredMachine,
    depth: Depth,
) -> Result<ObservedMachine, AwsError> {
    Ok(machine_reading(clients, desired, depth, false).await?.0)
}

/// [`machine`], taking the managed role from the shared role listing where `listed_role_ok` and the
/// listing can serve it (see [`crate::role_directory`]). The flag returned says whether it did.
pub(crate) async fn machine_reading(
    clients: &AwsClients,
    desired: &DesiredMachine,
    depth: Depth,
    listed_role_ok: bool,
) -> Result<(ObservedMachine, bool), AwsError> {
    let arn = clients.state_machine_arn(&desired.name);
    // Versions and aliases are read whenever publishing is on (to publish once per change, resolve
    // `latest`, collect old versions), also on deletion (aliases go before the machine). A machine that
    // never published has neither, and DeleteStateMachine removes any left anyway, so its deletion
    // does not pay for the two listings.
    let with_versions = desired.publish.is_some();
    let state_machine = state_machine(clients, &arn, with_versions).await?;
    let previous_state_machine = match &desired.previous_arn {
        Some(prev) if *prev != arn => state_machine_at(clients, prev).await?,
        _ => None,
    };
    // Attached policies matter when managed policies are wanted, when deleting, and when the spec changed
    // since the last complete apply (some may have to go). Otherwise the last apply left none of ours
    // attached and the call can be saved, as with the alarms below.
    let spec_unchanged = state_machine
        .as_ref()
        .and_then(|m| m.tags.get(SPEC_HASH_TAG))
        .is_some_and(|h| *h == desired.spec_hash());
    let mut role_from_listing = false;
    let role = match &desired.role {
        DesiredRole::Managed(r) => {
            let with_attached =
                depth == Depth::Delete || !r.managed_policies.is_empty() || !spec_unchanged;
            let listed = match &clients.roles {
                Some(directory) if listed_role_ok && !with_attached => {
                    directory.lookup(clients, &r.name).await
                }
                _ => None,
            };
            match listed {
                Some(role) => {
                    role_from_listing = true;
                    Some(role)
                }
                None => role_reading(clients, &r.name, with_attached).await?,
            }
        }
        DesiredRole::External { .. } => None,
    };
    // Alarms are listed to compare them and to find ours that are no longer wanted. With none wanted and
    // the spec unchanged since the last complete apply (the spec-hash tag is written last), none of ours
    // can be left over, and others' alarms are none of our business: the call can be saved.
    let unchanged_without_alarms =
        depth == Depth::Reconcile && desired.alarms.is_empty() && spec_unchanged;
    let mut alarms = if unchanged_without_alarms {
        Vec::new()
    } else {
        alarms(clients, &naming::alarm_name_prefix(&desired.name)).await?
    };
    if depth == Depth::Delete {
        for alarm in &mut alarms {
            alarm.tags = Some(alarm_tags(clients, &alarm.arn).await?);
        }
    }
    let log_group = match &desired.log_group {
        Some(g) => log_group(clients, &g.name).await?,
        None => None,
    };
    Ok((
        ObservedMachine {
            state_machine,
            role,
            alarms,
            previous_state_machine,
            log_group,
        },
        role_from_listing,
    ))
}

/// Reads the log group of exactly this name, with its tags: one DescribeLogGroups (by prefix, the
/// exact name picked out) and, when it exists, one ListTagsForResource.
pub async fn log_group(
    clients: &AwsClients,
    name: &str,
) -> Result<Option<ObservedLogGroup>, AwsError> {
    let logs = clients.logs("logs:DescribeLogGroups")?;
    let out = clients
        .call(
            "logs:DescribeLogGroups",
            logs.describe_log_groups()
                .log_group_name_prefix(name)
                .limit(50)
                .send(),
        )
        .await?;
    let Some(group) = out
        .log_groups()
        .iter()
        .find(|g| g.log_group_name() == Some(name))
    else {
        return Ok(None);
    };
    let arn = group
        .arn()
        .map(|a| a.strip_suffix(":*").unwrap_or(a).to_string())
        .unwrap_or_else(|| {
            let full = clients.log_group_arn(name);
            full.strip_suffix(":*").unwrap_or(&full).to_string()
        });
    let tags = not_found(
        clients
            .call(
                "logs:ListTagsForResource",
                logs.list_tags_for_resource().resource_arn(&arn).send(),
            )
            .await,
    )?;
    let Some(tags) = tags else {
        // Deleted between the two reads.
        return Ok(None);
    };
    Ok(Some(ObservedLogGroup {
        arn,
        name: name.to_string(),
        retention_in_days: group.retention_in_days(),
        kms_key_id: group.kms_key_id().map(str::to_string),
        tags: tags
            .tags()
            .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default(),
    }))
}

async fn state_machine_at(
    clients: &AwsClients,
    arn: &str,
) -> Result<Option<ObservedStateMachine>, AwsError> {
    // A malformed ARN in an old status is as good as nothing there.
    match state_machine(clients, arn, false).await {
        Err(AwsError::Invalid { .. }) => Ok(None),
        other => other,
    }
}

/// Reads tags of the alarms the planner needs to know the owner of (see
/// [`sfn_plan::alarms_needing_tags`]).
pub async fn fill_alarm_tags(
    clients: &AwsClients,
    desired: &DesiredMachine,
    observed: &mut ObservedMachine,
) -> Result<(), AwsError> {
    let needed = sfn_plan::alarms_needing_tags(desired, observed);
    for alarm in observed.alarms.iter_mut() {
        if needed.contains(&alarm.spec.name) {
            alarm.tags = Some(alarm_tags(clients, &alarm.arn).await?);
        }
    }
    Ok(())
}

/// The live activity of this name, if any.
pub async fn activity(
    clients: &AwsClients,
    desired: &DesiredActivity,
) -> Result<Option<ObservedActivity>, AwsError> {
    let arn = clients.activity_arn(&desired.name);
    let Some(out) = not_found(
        clients
            .call(
                "sfn:DescribeActivity",
                clients.sfn.describe_activity().activity_arn(&arn).send(),
            )
            .await,
    )?
    else {
        return Ok(None);
    };
    let Some(tags) = sfn_tags(clients, out.activity_arn()).await? else {
        return Ok(None);
    };
    Ok(Some(ObservedActivity {
        arn: out.activity_arn().to_string(),
        name: out.name().to_string(),
        tags,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn policies_are_decoded_either_way() {
        let encoded = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%5D%7D";
        assert_eq!(
            decode_policy("x", encoded).unwrap(),
            json!({"Version": "2012-10-17", "Statement": []})
        );
        assert_eq!(
            decode_policy("x", r#"{"Version":"2012-10-17"}"#).unwrap(),
            json!({"Version": "2012-10-17"})
        );
        assert_eq!(
            decode_policy("x", "%7Bnot").unwrap_err().metric_label(),
            "other"
        );
    }
}
