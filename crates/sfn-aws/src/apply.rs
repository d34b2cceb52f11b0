//! Turning planned operations into AWS calls, in order.
//!
//! Each operation is one call (DeleteAlarms is chunked by CloudWatch's 100-name limit). The ARNs that only
//! exist once something is created (the managed role, the state machine) are carried in an
//! [`ApplyContext`] from one operation to the next. CreateStateMachine and UpdateStateMachine are retried,
//! bounded, while Step Functions cannot assume a just-created or just-changed role yet.

use std::collections::BTreeMap;
use std::future::Future;

use aws_sdk_sfn::types as sfn;

use super::{AwsClients, AwsError};
use sfn_plan::{
    EncryptionSpec, LoggingSpec, ObservedMachine, Operation, PublishSpec, RoleRef,
    STATE_MACHINE_ARN_PLACEHOLDER, StateMachineUpdate, resolve_alarm,
};

/// What applying has learnt and done so far.
#[derive(Debug, Clone, Default)]
pub struct ApplyContext {
    /// ARNs of managed roles by name, from observation or CreateRole.
    pub role_arns: BTreeMap<String, String>,
    pub state_machine_arn: Option<String>,
    /// A version published by this apply.
    pub version_arn: Option<String>,
    pub activity_arn: Option<String>,
    /// Operations that completed, in order.
    pub applied: Vec<Operation>,
    /// Applying stopped at an [`Operation::AwaitDeletion`].
    pub waiting_for_deletion: bool,
}

impl ApplyContext {
    pub fn from_observed(observed: &ObservedMachine) -> Self {
        let mut ctx = ApplyContext::default();
        if let Some(role) = &observed.role {
            ctx.role_arns.insert(role.name.clone(), role.arn.clone());
        }
        ctx.state_machine_arn = observed
            .state_machine
            .as_ref()
            .filter(|m| !m.is_deleting())
            .map(|m| m.arn.clone());
        ctx
    }
}

pub(crate) fn to_json(api: &'static str, v: &serde_json::Value) -> Result<String, AwsError> {
    serde_json::to_string(v).map_err(|e| AwsError::Unexpected {
        api,
        message: e.to_string(),
    })
}

fn iam_tags(tags: &BTreeMap<String, String>) -> Result<Vec<aws_sdk_iam::types::Tag>, AwsError> {
    tags.iter()
        .map(|(k, v)| {
            aws_sdk_iam::types::Tag::builder()
                .key(k)
                .value(v)
                .build()
                .map_err(|e| AwsError::Unexpected {
                    api: "iam:TagRole",
                    message: e.to_string(),
                })
        })
        .collect()
}

fn sfn_tags(tags: &BTreeMap<String, String>) -> Vec<sfn::Tag> {
    tags.iter()
        .map(|(k, v)| sfn::Tag::builder().key(k).value(v).build())
        .collect()
}

fn cw_tags(tags: &BTreeMap<String, String>) -> Vec<aws_sdk_cloudwatch::types::Tag> {
    tags.iter()
        .map(|(k, v)| {
            aws_sdk_cloudwatch::types::Tag::builder()
                .key(k)
                .value(v)
                .build()
        })
        .collect()
}

/// `UpdateStateMachine`, then (for `publish`) the version of the revision it made.
async fn update_state_machine(
    clients: &AwsClients,
    ctx: &mut ApplyContext,
    arn: &str,
    update: &StateMachineUpdate,
    publish: Option<&PublishSpec>,
) -> Result<(), AwsError> {
    let role_arn = match &update.role {
        Some(r) => Some(role_arn(clients, ctx, r).await?),
        None => None,
    };
    let definition = update
        .definition
        .as_ref()
        .map(|d| to_json("sfn:UpdateStateMachine", d))
        .transpose()?;
    let encryption = update
        .encryption
        .as_ref()
        .map(|e| encryption_config(e.as_ref()))
        .transpose()?;
    let out = retry_role_propagation(clients, || {
        clients.call(
            "sfn:UpdateStateMachine",
            clients
                .sfn
                .update_state_machine()
                .state_machine_arn(arn)
                .set_definition(definition.clone())
                .set_role_arn(role_arn.clone())
                .set_logging_configuration(
                    update.logging.as_ref().map(|l| logging_config(l.as_ref())),
                )
                .set_tracing_configuration(
                    update
                        .tracing
                        .map(|t| sfn::TracingConfiguration::builder().enabled(t).build()),
                )
                .set_encryption_configuration(encryption.clone())
                .send(),
        )
    })
    .await?;
    // The version is published by its own call, pinned to the revision this update made:
    // PublishStateMachineVersion is idempotent for a revision, so a retry after a lost answer
    // (by the SDK, or by the next reconcile) finds the version instead of publishing a second
    // one; what `publish: true` on the update does when retried is not documented.
    if let Some(publish) = publish {
        let revision = out.revision_id().map(str::to_owned);
        let description = publish.description.clone();
        let version = publish_revision(clients, arn, revision, description).await?;
        ctx.version_arn = Some(version);
    }
    Ok(())
}

/// Publishes the revision `revision` of the machine at `arn` (the current one when `None`); returns the
/// version's ARN, a new one or the one that revision already has.
async fn publish_revision(
    clients: &AwsClients,
    arn: &str,
    revision: Option<String>,
    description: Option<String>,
) -> Result<String, AwsError> {
    let out = clients
        .call(
            "sfn:PublishStateMachineVersion",
            clients
                .sfn
                .publish_state_machine_version()
                .state_machine_arn(arn)
                .set_revision_id(revision)
                .set_description(description)
                .send(),
        )
        .await?;
    Ok(out.state_machine_version_arn().to_string())
}

fn logging_config(logging: Option<&LoggingSpec>) -> sfn::LoggingConfiguration {
    match logging {
        Some(l) => sfn::LoggingConfiguration::builder()
            .level(sfn::LogLevel::from(l.level.as_str()))
            .include_execution_data(l.include_execution_data)
            .set_destinations(l.log_group_arn.as_ref().map(|arn| {
                vec![
                    sfn::LogDestination::builder()
                        .cloud_watch_logs_log_group(
                            sfn::CloudWatchLogsLogGroup::builder()
                                .log_group_arn(arn)
                                .build(),
                        )
                        .build(),
                ]
            }))
            .build(),
        None => sfn::LoggingConfiguration::builder()
            .level(sfn::LogLevel::Off)
            .include_execution_data(false)
            .build(),
    }
}

fn encryption_config(
    encryption: Option<&EncryptionSpec>,
) -> Result<sfn::EncryptionConfiguration, AwsError> {
    let builder = match encryption {
        Some(e) => sfn::EncryptionConfiguration::builder()
            .r#type(sfn::EncryptionType::CustomerManagedKmsKey)
            .kms_key_id(&e.kms_key_id)
            .set_kms_data_key_reuse_period_seconds(e.kms_data_key_reuse_period_seconds),
        None => sfn::EncryptionConfiguration::builder().r#type(sfn::EncryptionType::AwsOwnedKey),
    };
    builder.build().map_err(|e| AwsError::Unexpected {
        api: "sfn:EncryptionConfiguration",
        message: e.to_string(),
    })
}

/// Runs `attempt` again while it fails because the role cannot be assumed yet, with bounded backoff.
async fn retry_role_propagation<T, F, Fut>(
    clients: &AwsClients,
    mut attempt: F,
) -> Result<T, AwsError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, AwsError>>,
{
    let policy = clients.settings().propagation_retry;
    let mut failed = 0;
    loop {
        match attempt().await {
            Err(AwsError::RoleNotAssumable { api, message }) => {
                failed += 1;
                if failed >= policy.attempts {
                    return Err(AwsError::RoleNotAssumable { api, message });
                }
                tracing::debug!(api, failed, "role not assumable yet, retrying");
                tokio::time::sleep(policy.delay(failed)).await;
            }
            other => return other,
        }
    }
}

async fn role_arn(
    clients: &AwsClients,
    ctx: &mut ApplyContext,
    role: &RoleRef,
) -> Result<String, AwsError> {
    match role {
        RoleRef::Arn(arn) => Ok(arn.clone()),
        RoleRef::Managed(name) => {
            if let Some(arn) = ctx.role_arns.get(name) {
                return Ok(arn.clone());
            }
            let out = clients
                .call("iam:GetRole", clients.iam.get_role().role_name(name).send())
                .await?;
            let arn =
                out.role()
                    .map(|r| r.arn().to_string())
                    .ok_or_else(|| AwsError::Unexpected {
                        api: "iam:GetRole",
                        message: format!("no role in the response for {name}"),
                    })?;
            ctx.role_arns.insert(name.clone(), arn.clone());
            Ok(arn)
        }
    }
}

/// Applies `ops` in order, recording progress in `ctx`. Stops at the first error (what was applied is in
/// `ctx.applied`; the next reconcile observes it and carries on) or at an `AwaitDeletion`.
/// The ARN of the role `name` if it carries the same owner tags as `tags` (the ones a create asked for).
async fn role_created_for(
    clients: &AwsClients,
    name: &str,
    tags: &BTreeMap<String, String>,
) -> Result<Option<String>, AwsError> {
    let out = match clients
        .call("iam:GetRole", clients.iam.get_role().role_name(name).send())
        .await
    {
        Ok(out) => out,
        Err(AwsError::NotFound { .. }) => return Ok(None),
        Err(e) => return Err(e),
    };
    let Some(role) = out.role() else {
        return Ok(None);
    };
    let live: BTreeMap<&str, &str> = role.tags().iter().map(|t| (t.key(), t.value())).collect();
    let ours = [sfn_api::naming::OWNER_TAG, sfn_api::naming::OWNER_UID_TAG]
        .iter()
        .all(|k| {
            tags.get(*k)
                .is_some_and(|v| live.get(k) == Some(&v.as_str()))
        });
    Ok(ours.then(|| role.arn().to_string()))
}

pub async fn apply(
    clients: &AwsClients,
    ops: &[Operation],
    ctx: &mut ApplyContext,
) -> Result<(), AwsError> {
    for op in ops {
        if let Operation::AwaitDeletion { .. } = op {
            ctx.waiting_for_deletion = true;
            return Ok(());
        }
        apply_one(clients, op, ctx).await?;
        tracing::info!(operation = %op.summary(), "applied");
        ctx.applied.push(op.clone());
    }
    Ok(())
}

async fn apply_one(
    clients: &AwsClients,
    op: &Operation,
    ctx: &mut ApplyContext,
) -> Result<(), AwsError> {
    let iam = &clients.iam;
    let sfn_client = &clients.sfn;
    let cw = &clients.cloudwatch;
    match op {
        Operation::CreateRole {
            name,
            path,
            trust_policy,
            permissions_boundary,
            tags,
        } => {
            let created = clients
                .call(
                    "iam:CreateRole",
                    iam.create_role()
                        .role_name(name)
                        .path(path)
                        .assume_role_policy_document(to_json("iam:CreateRole", trust_policy)?)
                        .set_permissions_boundary(permissions_boundary.clone())
                        .set_tags(Some(iam_tags(tags)?))
                        .send(),
                )
                .await;
            let arn = match created {
                Ok(out) => out.role().map(|r| r.arn().to_string()),
                // When the answer to a CreateRole is lost, the SDK's retry finds the role the first attempt
                // made. Tagged with this object's owner and uid, it is that role: carry on with it instead of
                // failing the reconcile. Anyone else's role stays a conflict.
                Err(conflict @ AwsError::Conflict { .. }) => {
                    match role_created_for(clients, name, tags).await? {
                        Some(arn) => Some(arn),
                        None => return Err(conflict),
                    }
                }
                Err(e) => return Err(e),
            };
            if let Some(arn) = arn {
                ctx.role_arns.insert(name.clone(), arn);
            }
        }
        Operation::UpdateAssumeRolePolicy {
            role_name,
            trust_policy,
        } => {
            clients
                .call(
                    "iam:UpdateAssumeRolePolicy",
                    iam.update_assume_role_policy()
                        .role_name(role_name)
                        .policy_document(to_json("iam:UpdateAssumeRolePolicy", trust_policy)?)
                        .send(),
                )
                .await?;
        }
        Operation::PutRolePermissionsBoundary {
            role_name,
            boundary_arn,
        } => {
            clients
                .call(
                    "iam:PutRolePermissionsBoundary",
                    iam.put_role_permissions_boundary()
                        .role_name(role_name)
                        .permissions_boundary(boundary_arn)
                        .send(),
                )
                .await?;
        }
        Operation::DeleteRolePermissionsBoundary { role_name } => {
            clients
                .call(
                    "iam:DeleteRolePermissionsBoundary",
                    iam.delete_role_permissions_boundary()
                        .role_name(role_name)
                        .send(),
                )
                .await?;
        }
        Operation::PutRolePolicy {
            role_name,
            policy_name,
            document,
        } => {
            clients
                .call(
                    "iam:PutRolePolicy",
                    iam.put_role_policy()
                        .role_name(role_name)
                        .policy_name(policy_name)
                        .policy_document(to_json("iam:PutRolePolicy", document)?)
                        .send(),
                )
                .await?;
        }
        Operation::DeleteRolePolicy {
            role_name,
            policy_name,
        } => {
            ignore_not_found(
                clients
                    .call(
                        "iam:DeleteRolePolicy",
                        iam.delete_role_policy()
                            .role_name(role_name)
                            .policy_name(policy_name)
                            .send(),
                    )
                    .await,
            )?;
        }
        Operation::DetachRolePolicy {
            role_name,
            policy_arn,
        } => {
            ignore_not_found(
                clients
                    .call(
                        "iam:DetachRolePolicy",
                        iam.detach_role_policy()
                            .role_name(role_name)
                            .policy_arn(policy_arn)
                            .send(),
                    )
                    .await,
            )?;
        }
        Operation::AttachRolePolicy {
            role_name,
            policy_arn,
        } => {
            clients
                .call(
                    "iam:AttachRolePolicy",
                    iam.attach_role_policy()
                        .role_name(role_name)
                        .policy_arn(policy_arn)
                        .send(),
                )
                .await?;
        }
        Operation::CreatePolicy {
            name,
            path,
            document,
            tags,
        } => {
            let result = clients
                .call(
                    "iam:CreatePolicy",
                    iam.create_policy()
                        .policy_name(name)
                        .path(path)
                        .policy_document(to_json("iam:CreatePolicy", document)?)
                        .set_tags(Some(iam_tags(tags)?))
                        .send(),
                )
                .await;
            // Left over from an apply interrupted before the attachment (only attached policies are
            // observed): it is attached next, and the reconcile after that brings its document in line.
            match result {
                Ok(_) => {}
                Err(AwsError::Conflict { code, .. }) if code == "EntityAlreadyExists" => {}
                Err(e) => return Err(e),
            }
        }
        Operation::CreatePolicyVersion {
            policy_arn,
            document,
        } => {
            clients
                .call(
                    "iam:CreatePolicyVersion",
                    iam.create_policy_version()
                        .policy_arn(policy_arn)
                        .policy_document(to_json("iam:CreatePolicyVersion", document)?)
                        .set_as_default(true)
                        .send(),
                )
                .await?;
        }
        Operation::DeletePolicyVersion {
            policy_arn,
            version_id,
        } => {
            ignore_not_found(
                clients
                    .call(
                        "iam:DeletePolicyVersion",
                        iam.delete_policy_version()
                            .policy_arn(policy_arn)
                            .version_id(version_id)
                            .send(),
                    )
                    .await,
            )?;
        }
        Operation::DeletePolicy { policy_arn } => {
            ignore_not_found(
                clients
                    .call(
                        "iam:DeletePolicy",
                        iam.delete_policy().policy_arn(policy_arn).send(),
                    )
                    .await,
            )?;
        }
        Operation::TagRole { role_name, tags } => {
            clients
                .call(
                    "iam:TagRole",
                    iam.tag_role()
                        .role_name(role_name)
                        .set_tags(Some(iam_tags(tags)?))
                        .send(),
                )
                .await?;
        }
        Operation::UntagRole { role_name, keys } => {
            clients
                .call(
                    "iam:UntagRole",
                    iam.untag_role()
                        .role_name(role_name)
                        .set_tag_keys(Some(keys.clone()))
                        .send(),
                )
                .await?;
        }
        Operation::DeleteRole { role_name } => {
            ignore_not_found(
                clients
                    .call(
                        "iam:DeleteRole",
                        iam.delete_role().role_name(role_name).send(),
                    )
                    .await,
            )?;
        }
        Operation::CreateStateMachine {
            name,
            machine_type,
            definition,
            role,
            logging,
            tracing,
            encryption,
            tags,
            publish,
        } => {
            let role_arn = role_arn(clients, ctx, role).await?;
            let definition = to_json("sfn:CreateStateMachine", definition)?;
            let encryption = encryption
                .as_ref()
                .map(|e| encryption_config(Some(e)))
                .transpose()?;
            let out = retry_role_propagation(clients, || {
                clients.call(
                    "sfn:CreateStateMachine",
                    sfn_client
                        .create_state_machine()
                        .name(name)
                        .definition(&definition)
                        .role_arn(&role_arn)
                        .r#type(sfn::StateMachineType::from(machine_type.as_str()))
                        .set_logging_configuration(
                            logging.as_ref().map(|l| logging_config(Some(l))),
                        )
                        .tracing_configuration(
                            sfn::TracingConfiguration::builder()
                                .enabled(*tracing)
                                .build(),
                        )
                        .set_encryption_configuration(encryption.clone())
                        .set_tags(Some(sfn_tags(tags)))
                        .publish(publish.is_some())
                        .set_version_description(
                            publish.as_ref().and_then(|p| p.description.clone()),
                        )
                        .send(),
                )
            })
            .await?;
            ctx.state_machine_arn = Some(out.state_machine_arn().to_string());
            if let Some(v) = out.state_machine_version_arn() {
                ctx.version_arn = Some(v.to_string());
            }
        }
        Operation::UpdateStateMachine {
            arn,
            update,
            publish,
        } => {
            // Boxed: inline, this arm's builders push the poll frame of `apply` past a debug build's stack.
            Box::pin(update_state_machine(
                clients,
                ctx,
                arn,
                update,
                publish.as_ref(),
            ))
            .await?;
        }
        Operation::PublishStateMachineVersion {
            arn,
            revision_id,
            description,
        } => {
            let version = Box::pin(publish_revision(
                clients,
                arn,
                revision_id.clone(),
                description.clone(),
            ))
            .await?;
            ctx.version_arn = Some(version);
        }
        Operation::TagResource { arn, tags } => {
            clients
                .call(
                    "sfn:TagResource",
                    sfn_client
                        .tag_resource()
                        .resource_arn(arn)
                        .set_tags(Some(sfn_tags(tags)))
                        .send(),
                )
                .await?;
        }
        Operation::UntagResource { arn, keys } => {
            clients
                .call(
                    "sfn:UntagResource",
                    sfn_client
                        .untag_resource()
                        .resource_arn(arn)
                        .set_tag_keys(Some(keys.clone()))
                        .send(),
                )
                .await?;
        }
        Operation::DeleteStateMachine { arn } => {
            ignore_not_found(
                clients
                    .call(
                        "sfn:DeleteStateMachine",
                        sfn_client
                            .delete_state_machine()
                            .state_machine_arn(arn)
                            .send(),
                    )
                    .await,
            )?;
            if ctx.state_machine_arn.as_deref() == Some(arn.as_str()) {
                ctx.state_machine_arn = None;
            }
        }
        Operation::AwaitDeletion { .. } => {}
        Operation::PutMetricAlarm { alarm, tags } => {
            let alarm = match &ctx.state_machine_arn {
                Some(arn) => resolve_alarm(alarm, arn),
                None => alarm.clone(),
            };
            if alarm
                .dimensions
                .iter()
                .any(|(_, v)| v.contains(STATE_MACHINE_ARN_PLACEHOLDER))
            {
                return Err(AwsError::Unexpected {
                    api: "cloudwatch:PutMetricAlarm",
                    message: format!(
                        "alarm {} names the state machine ARN, which is not known",
                        alarm.name
                    ),
                });
            }
            clients
                .call(
                    "cloudwatch:PutMetricAlarm",
                    cw.put_metric_alarm()
                        .alarm_name(&alarm.name)
                        .set_alarm_description(alarm.description.clone())
                        .namespace(&alarm.namespace)
                        .metric_name(&alarm.metric_name)
                        .set_dimensions(Some(
                            alarm
                                .dimensions
                                .iter()
                                .map(|(k, v)| {
                                    aws_sdk_cloudwatch::types::Dimension::builder()
                                        .name(k)
                                        .value(v)
                                        .build()
                                })
                                .collect(),
                        ))
                        .statistic(aws_sdk_cloudwatch::types::Statistic::from(
                            alarm.statistic.as_str(),
                        ))
                        .period(alarm.period)
                        .evaluation_periods(alarm.evaluation_periods)
                        .set_datapoints_to_alarm(alarm.datapoints_to_alarm)
                        .threshold(alarm.threshold)
                        .comparison_operator(aws_sdk_cloudwatch::types::ComparisonOperator::from(
                            alarm.comparison_operator.as_str(),
                        ))
                        .treat_missing_data(&alarm.treat_missing_data)
                        .set_alarm_actions(Some(alarm.alarm_actions.clone()))
                        .set_ok_actions(Some(alarm.ok_actions.clone()))
                        .set_insufficient_data_actions(Some(
                            alarm.insufficient_data_actions.clone(),
                        ))
                        .set_tags(Some(cw_tags(tags)))
                        .send(),
                )
                .await?;
        }
        Operation::TagAlarm { alarm_arn, tags } => {
            clients
                .call(
                    "cloudwatch:TagResource",
                    cw.tag_resource()
                        .resource_arn(alarm_arn)
                        .set_tags(Some(cw_tags(tags)))
                        .send(),
                )
                .await?;
        }
        Operation::DeleteAlarms { names } => {
            // DeleteAlarms takes at most 100 names per call.
            for chunk in names.chunks(100) {
                clients
                    .call(
                        "cloudwatch:DeleteAlarms",
                        cw.delete_alarms()
                            .set_alarm_names(Some(chunk.to_vec()))
                            .send(),
                    )
                    .await?;
            }
        }
        Operation::CreateActivity { name, tags } => {
            let out = clients
                .call(
                    "sfn:CreateActivity",
                    sfn_client
                        .create_activity()
                        .name(name)
                        .set_tags(Some(sfn_tags(tags)))
                        .send(),
                )
                .await?;
            ctx.activity_arn = Some(out.activity_arn().to_string());
        }
        Operation::DeleteStateMachineVersion { version_arn } => {
            ignore_not_found(
                clients
                    .call(
                        "sfn:DeleteStateMachineVersion",
                        sfn_client
                            .delete_state_machine_version()
                            .state_machine_version_arn(version_arn)
                            .send(),
                    )
                    .await,
            )?;
        }
        Operation::CreateStateMachineAlias {
            machine_arn,
            name,
            description,
            routing,
        } => {
            let routing = alias_routing(machine_arn, routing)?;
            clients
                .call(
                    "sfn:CreateStateMachineAlias",
                    sfn_client
                        .create_state_machine_alias()
                        .name(name)
                        .set_description(description.clone())
                        .set_routing_configuration(Some(routing))
                        .send(),
                )
                .await?;
        }
        Operation::UpdateStateMachineAlias {
            alias_arn,
            machine_arn,
            description,
            routing,
        } => {
            let routing = alias_routing(machine_arn, routing)?;
            clients
                .call(
                    "sfn:UpdateStateMachineAlias",
                    sfn_client
                        .update_state_machine_alias()
                        .state_machine_alias_arn(alias_arn)
                        // An empty description clears the one AWS has.
                        .description(description.clone().unwrap_or_default())
                        .set_routing_configuration(Some(routing))
                        .send(),
                )
                .await?;
        }
        Operation::DeleteStateMachineAlias { alias_arn } => {
            ignore_not_found(
                clients
                    .call(
                        "sfn:DeleteStateMachineAlias",
                        sfn_client
                            .delete_state_machine_alias()
                            .state_machine_alias_arn(alias_arn)
                            .send(),
                    )
                    .await,
            )?;
        }
        Operation::DeleteActivity { arn } => {
            ignore_not_found(
                clients
                    .call(
                        "sfn:DeleteActivity",
                        sfn_client.delete_activity().activity_arn(arn).send(),
                    )
                    .await,
            )?;
        }
        Operation::CreateLogGroup {
            name,
            kms_key_id,
            tags,
        } => {
            let logs = clients.logs("logs:CreateLogGroup")?;
            clients
                .call(
                    "logs:CreateLogGroup",
                    logs.create_log_group()
                        .log_group_name(name)
                        .set_kms_key_id(kms_key_id.clone())
                        .set_tags(Some(tags.clone().into_iter().collect()))
                        .send(),
                )
                .await?;
        }
        Operation::PutRetentionPolicy {
            name,
            retention_in_days,
        } => {
            let logs = clients.logs("logs:PutRetentionPolicy")?;
            clients
                .call(
                    "logs:PutRetentionPolicy",
                    logs.put_retention_policy()
                        .log_group_name(name)
                        .retention_in_days(*retention_in_days)
                        .send(),
                )
                .await?;
        }
        Operation::AssociateKmsKey { name, kms_key_id } => {
            let logs = clients.logs("logs:AssociateKmsKey")?;
            clients
                .call(
                    "logs:AssociateKmsKey",
                    logs.associate_kms_key()
                        .log_group_name(name)
                        .kms_key_id(kms_key_id)
                        .send(),
                )
                .await?;
        }
        Operation::DisassociateKmsKey { name } => {
            let logs = clients.logs("logs:DisassociateKmsKey")?;
            clients
                .call(
                    "logs:DisassociateKmsKey",
                    logs.disassociate_kms_key().log_group_name(name).send(),
                )
                .await?;
        }
        Operation::TagLogGroup { arn, tags } => {
            let logs = clients.logs("logs:TagResource")?;
            clients
                .call(
                    "logs:TagResource",
                    logs.tag_resource()
                        .resource_arn(arn)
                        .set_tags(Some(tags.clone().into_iter().collect()))
                        .send(),
                )
                .await?;
        }
        Operation::UntagLogGroup { arn, keys } => {
            let logs = clients.logs("logs:UntagResource")?;
            clients
                .call(
                    "logs:UntagResource",
                    logs.untag_resource()
                        .resource_arn(arn)
                        .set_tag_keys(Some(keys.clone()))
                        .send(),
                )
                .await?;
        }
        Operation::DeleteLogGroup { name } => {
            let logs = clients.logs("logs:DeleteLogGroup")?;
            ignore_not_found(
                clients
                    .call(
                        "logs:DeleteLogGroup",
                        logs.delete_log_group().log_group_name(name).send(),
                    )
                    .await,
            )?;
        }
    }
    Ok(())
}

/// An alias's routing as Step Functions takes it: version ARNs of the machine and integer weights.
fn alias_routing(
    machine_arn: &str,
    routing: &[sfn_api::versions::RouteStatus],
) -> Result<Vec<sfn::RoutingConfigurationListItem>, AwsError> {
    routing
        .iter()
        .map(|r| {
            sfn::RoutingConfigurationListItem::builder()
                .state_machine_version_arn(format!("{machine_arn}:{}", r.version))
                .weight(r.weight as i32)
                .build()
                .map_err(|e| AwsError::Unexpected {
                    api: "sfn:RoutingConfigurationListItem",
                    message: e.to_string(),
                })
        })
        .collect()
}

/// Deleting what is already gone has reached its goal.
fn ignore_not_found<T>(result: Result<T, AwsError>) -> Result<(), AwsError> {
    match result {
        Ok(_) | Err(AwsError::NotFound { .. }) => Ok(()),
        Err(e) => Err(e),
    }
}
