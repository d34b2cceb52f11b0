//! Analytics and data jobs: Glue, Athena, EMR and Glue DataBrew.

use crate::IamError;
use crate::arn::s3_uri;
use crate::catalogue::task::Task;
use crate::params::Param;

use super::common::{resolve, unknown};
use crate::catalogue::names::pascal;

// --- Glue ---------------------------------------------------------------------------------------------------
// "IAM policies for AWS Glue" (glue-iam.html): glue:StartJobRun on the job; `.sync` polls the run, so it adds
// GetJobRun, GetJobRuns and BatchStopJobRun on the same job (no managed rule).
pub(super) fn glue(t: &mut Task<'_>) -> Result<(), IamError> {
    let w = t.arn("glue", "job/*");
    let p = t.params.str("JobName");
    let r = resolve(t, "JobName", p, true, &w, |t, s| {
        Ok(vec![t.scope.named("glue", "job/", s)])
    })?
    .unwrap_or_default();
    if t.pattern.is_sync() {
        t.grant(
            [
                "glue:BatchStopJobRun",
                "glue:GetJobRun",
                "glue:GetJobRuns",
                "glue:StartJobRun",
            ],
            r,
        );
    } else {
        t.grant(["glue:StartJobRun"], r);
    }
    Ok(())
}

// --- Athena -------------------------------------------------------------------------------------------------
// "IAM policies for Amazon Athena" (athena-iam.html). The guide grants the query's S3 and Glue catalog access on
// wide patterns because a query can touch any table. We keep Athena actions on the work group and data catalog,
// S3 writes on the output location when it is static, Glue catalog reads on the query's database, and warn that
// reading table data needs access we cannot see (granted on `arn:aws:s3:::*` for reads only). Catalog writes
// are only added when the query is not a plain SELECT.
pub(super) fn athena(t: &mut Task<'_>) -> Result<(), IamError> {
    let workgroup = match t.params.str("WorkGroup") {
        Param::Static(v) => t.arn(
            "athena",
            &format!("workgroup/{}", v.as_str().unwrap_or("primary")),
        ),
        Param::Absent if t.action == "startQueryExecution" => t.arn("athena", "workgroup/primary"),
        _ => t.arn("athena", "workgroup/*"),
    };
    match t.action {
        "startQueryExecution" => {
            let mut actions = vec!["athena:StartQueryExecution", "athena:GetDataCatalog"];
            if t.pattern.is_sync() {
                actions.extend(["athena:GetQueryExecution", "athena:StopQueryExecution"]);
            }
            let catalog = match t.params.get(&["QueryExecutionContext", "Catalog"]) {
                Param::Static(v) => v.as_str().unwrap_or("AwsDataCatalog").to_string(),
                Param::Absent => "AwsDataCatalog".into(),
                Param::Dynamic => "*".into(),
            };
            let dc = t.arn("athena", &format!("datacatalog/{catalog}"));
            t.grant(actions, [workgroup, dc]);

            let location = t.params.get(&["ResultConfiguration", "OutputLocation"]);
            match location.as_str().and_then(s3_uri) {
                Some((bucket, key)) => {
                    let p = t.scope.partition;
                    t.grant(
                        [
                            "s3:GetBucketLocation",
                            "s3:ListBucket",
                            "s3:ListBucketMultipartUploads",
                        ],
                        [format!("arn:{p}:s3:::{bucket}")],
                    );
                    t.grant(
                        [
                            "s3:AbortMultipartUpload",
                            "s3:GetObject",
                            "s3:ListMultipartUploadParts",
                            "s3:PutObject",
                        ],
                        [format!("arn:{p}:s3:::{bucket}/{key}*")],
                    );
                }
                None => {
                    let w = format!("arn:{}:s3:::*", t.scope.partition);
                    t.grant(
                        [
                            "s3:AbortMultipartUpload",
                            "s3:GetBucketLocation",
                            "s3:ListBucketMultipartUploads",
                            "s3:ListMultipartUploadParts",
                            "s3:PutObject",
                        ],
                        [w.clone()],
                    );
                    t.widen(format!(
                        "ResultConfiguration.OutputLocation is not given in the definition (work group default or run time): Athena result writes granted on {w}"
                    ));
                }
            }
            let w = format!("arn:{}:s3:::*", t.scope.partition);
            t.grant(
                ["s3:GetBucketLocation", "s3:GetObject", "s3:ListBucket"],
                [w.clone()],
            );
            t.widen(format!(
                "the tables a query reads are not visible in the definition: S3 reads granted on {w}"
            ));
            t.grant(["lakeformation:GetDataAccess"], ["*"]);

            let db = match t.params.get(&["QueryExecutionContext", "Database"]) {
                Param::Static(v) => v.as_str().unwrap_or("*").to_string(),
                _ => "*".into(),
            };
            let glue = vec![
                t.arn("glue", "catalog"),
                t.arn("glue", &format!("database/{db}")),
                t.arn("glue", &format!("table/{db}/*")),
                t.arn("glue", &format!("userDefinedFunction/{db}/*")),
            ];
            t.grant(
                [
                    "glue:BatchGetPartition",
                    "glue:GetDatabase",
                    "glue:GetDatabases",
                    "glue:GetPartition",
                    "glue:GetPartitions",
                    "glue:GetTable",
                    "glue:GetTables",
                ],
                glue.clone(),
            );
            let read_only = t
                .params
                .str("QueryString")
                .as_str()
                .map(|q| {
                    let q = q.trim_start().to_ascii_uppercase();
                    q.starts_with("SELECT") || q.starts_with("WITH")
                })
                .unwrap_or(false);
            if !read_only {
                t.grant(
                    [
                        "glue:BatchCreatePartition",
                        "glue:BatchDeletePartition",
                        "glue:BatchDeleteTable",
                        "glue:CreateDatabase",
                        "glue:CreatePartition",
                        "glue:CreateTable",
                        "glue:DeleteDatabase",
                        "glue:DeletePartition",
                        "glue:DeleteTable",
                        "glue:UpdateDatabase",
                        "glue:UpdatePartition",
                        "glue:UpdateTable",
                    ],
                    glue,
                );
                t.widen("QueryString is not a static SELECT: Glue catalog writes granted on the query's database");
            }
        }
        "getQueryResults" => {
            t.grant(["athena:GetQueryResults"], [workgroup]);
            let w = format!("arn:{}:s3:::*", t.scope.partition);
            t.grant(["s3:GetObject"], [w.clone()]);
            t.widen(format!(
                "the query's output location is only known at run time: s3:GetObject granted on {w}"
            ));
        }
        "getQueryExecution" | "stopQueryExecution" => {
            t.grant([format!("athena:{}", pascal(t.action))], [workgroup]);
        }
        _ => return Err(unknown(t)),
    }
    Ok(())
}

// --- EMR ----------------------------------------------------------------------------------------------------
// "IAM policies for Amazon EMR" (emr-iam.html). createCluster: RunJobFlow on "*" (no resource type) and
// DescribeCluster/TerminateJobFlows (+ AddTags when tagging) on `cluster/*`, the guide's "*" narrowed to clusters
// since the new cluster's id is unknown, iam:PassRole on the service role and
// the instance profile role; addStep/terminateCluster/... on the cluster (`cluster/*` when the id is a run-time
// value, which it almost always is); addStep's ExecutionRoleArn is passed too. `.sync` adds the managed rules
// StepFunctionsGetEventForEMR{RunJobFlow,AddJobFlowSteps,TerminateJobFlows}Rule.
pub(super) fn emr(t: &mut Task<'_>) -> Result<(), IamError> {
    let cluster = |t: &mut Task<'_>| -> Result<String, IamError> {
        let w = t.arn("elasticmapreduce", "cluster/*");
        let p = t.params.str("ClusterId");
        Ok(resolve(t, "ClusterId", p, true, &w, |t, s| {
            Ok(vec![t.arn("elasticmapreduce", &format!("cluster/{s}"))])
        })?
        .and_then(|v| v.into_iter().next())
        .unwrap_or(w))
    };
    match t.action {
        "createCluster" => {
            // RunJobFlow has no resource type; what follows on the new cluster can be scoped to clusters.
            t.grant(["elasticmapreduce:RunJobFlow"], ["*"]);
            let mut actions = vec![
                "elasticmapreduce:DescribeCluster",
                "elasticmapreduce:TerminateJobFlows",
            ];
            if !t.params.str("Tags").is_absent() {
                actions.push("elasticmapreduce:AddTags");
            }
            let clusters = t.arn("elasticmapreduce", "cluster/*");
            t.grant(actions, [clusters]);
            let mut roles = t.hinted_roles();
            let w = t.scope.global_arn("iam", "role/*");
            for field in ["ServiceRole", "JobFlowRole", "AutoScalingRole"] {
                let p = t.params.str(field);
                // The instance profile named by JobFlowRole conventionally has the role's name; a different
                // role behind it must be declared in the TaskIntegration.
                if let Some(r) =
                    resolve(t, field, p, false, &w, |t, s| Ok(vec![t.scope.role_arn(s)]))?
                {
                    roles.extend(r);
                }
            }
            t.pass_role(
                &roles,
                &["ec2.amazonaws.com", "elasticmapreduce.amazonaws.com"],
            );
            if t.pattern.is_sync() {
                t.managed_rule("StepFunctionsGetEventForEMRRunJobFlowRule");
            }
        }
        "addStep" => {
            let c = cluster(t)?;
            let mut actions = vec![
                "elasticmapreduce:AddJobFlowSteps",
                "elasticmapreduce:DescribeStep",
            ];
            if t.pattern.is_sync() {
                actions.push("elasticmapreduce:CancelSteps");
            }
            t.grant(actions, [c]);
            let w = t.scope.global_arn("iam", "role/*");
            let p = t.params.str("ExecutionRoleArn");
            if let Some(r) = resolve(t, "ExecutionRoleArn", p, false, &w, |t, s| {
                Ok(vec![t.scope.role_arn(s)])
            })? {
                t.pass_role(&r, &["elasticmapreduce.amazonaws.com"]);
            }
            if t.pattern.is_sync() {
                t.managed_rule("StepFunctionsGetEventForEMRAddJobFlowStepsRule");
            }
        }
        "terminateCluster" => {
            let c = cluster(t)?;
            t.grant(
                [
                    "elasticmapreduce:DescribeCluster",
                    "elasticmapreduce:TerminateJobFlows",
                ],
                [c],
            );
            if t.pattern.is_sync() {
                t.managed_rule("StepFunctionsGetEventForEMRTerminateJobFlowsRule");
            }
        }
        "cancelStep" => {
            let c = cluster(t)?;
            t.grant(["elasticmapreduce:CancelSteps"], [c]);
        }
        "setClusterTerminationProtection" => {
            let c = cluster(t)?;
            t.grant(["elasticmapreduce:SetTerminationProtection"], [c]);
        }
        "modifyInstanceFleetByName" => {
            let c = cluster(t)?;
            t.grant(
                [
                    "elasticmapreduce:ListInstanceFleets",
                    "elasticmapreduce:ModifyInstanceFleet",
                ],
                [c],
            );
        }
        "modifyInstanceGroupByName" => {
            let c = cluster(t)?;
            t.grant(
                [
                    "elasticmapreduce:ListInstanceGroups",
                    "elasticmapreduce:ModifyInstanceGroups",
                ],
                [c],
            );
        }
        _ => return Err(unknown(t)),
    }
    Ok(())
}

// --- Glue DataBrew ------------------------------------------------------------------------------------------
// "IAM policies for AWS Glue DataBrew" (databrew-iam.html): databrew:StartJobRun on the job; `.sync` adds
// ListJobRuns and StopJobRun on it.
pub(super) fn databrew(t: &mut Task<'_>) -> Result<(), IamError> {
    let w = t.arn("databrew", "job/*");
    let p = t.params.str("Name");
    let r = resolve(t, "Name", p, true, &w, |t, s| {
        Ok(vec![t.scope.named("databrew", "job/", s)])
    })?
    .unwrap_or_default();
    let mut actions = vec!["databrew:StartJobRun"];
    if t.pattern.is_sync() {
        actions.extend(["databrew:ListJobRuns", "databrew:StopJobRun"]);
    }
    t.grant(actions, r);
    Ok(())
}
