//! Jobs on managed Spark and Kubernetes: EMR Serverless and EMR on EKS `startJobRun`, and the EKS Kubernetes API
//! integrations `runJob` and `call`.

use crate::IamError;
use crate::catalogue::task::Task;

use super::common::resolve;

// --- EMR Serverless -----------------------------------------------------------------------------------------
// "IAM policies for Amazon EMR Serverless" (emr-serverless-iam.html): emr-serverless:StartJobRun on the
// application; `.sync` adds GetJobRun and CancelJobRun on the application's job runs and the managed rule
// StepFunctionsGetEventsForEMRServerlessJobRule; iam:PassRole on the job's ExecutionRoleArn to
// emr-serverless.amazonaws.com (EMR Serverless checks it on StartJobRun).
pub(super) fn emr_serverless(t: &mut Task<'_>) -> Result<(), IamError> {
    let w = t.arn("emr-serverless", "/applications/*");
    let p = t.params.str("ApplicationId");
    let apps = resolve(t, "ApplicationId", p, true, &w, |t, s| {
        Ok(vec![t.arn("emr-serverless", &format!("/applications/{s}"))])
    })?
    .unwrap_or_default();
    let mut actions = vec!["emr-serverless:StartJobRun"];
    if !t.params.str("Tags").is_absent() {
        actions.push("emr-serverless:TagResource");
    }
    t.grant(actions, apps.clone());
    if t.pattern.is_sync() {
        let runs: Vec<String> = apps.iter().map(|a| format!("{a}/jobruns/*")).collect();
        t.grant(
            ["emr-serverless:CancelJobRun", "emr-serverless:GetJobRun"],
            runs,
        );
        t.managed_rule("StepFunctionsGetEventsForEMRServerlessJobRule");
    }
    let wr = t.scope.global_arn("iam", "role/*");
    let p = t.params.str("ExecutionRoleArn");
    let mut roles = t.hinted_roles();
    if let Some(r) = resolve(t, "ExecutionRoleArn", p, true, &wr, |t, s| {
        Ok(vec![t.scope.role_arn(s)])
    })? {
        roles.extend(r);
    }
    t.pass_role(&roles, &["emr-serverless.amazonaws.com"]);
    Ok(())
}

// --- EMR on EKS ---------------------------------------------------------------------------------------------
// "IAM policies for Amazon EMR on EKS" (emr-eks-iam.html): emr-containers:StartJobRun on the virtual cluster;
// `.sync` adds DescribeJobRun and CancelJobRun on its job runs. Step Functions polls these jobs, so there is no
// managed rule. The job's ExecutionRoleArn is not passed (the job's pods assume it through the cluster's OIDC
// provider), so the guide lists no iam:PassRole; StartJobRun can be limited by it with the
// `emr-containers:ExecutionRoleArn` condition key, which we add when the role is static.
pub(super) fn emr_containers(t: &mut Task<'_>) -> Result<(), IamError> {
    let w = t.arn("emr-containers", "/virtualclusters/*");
    let p = t.params.str("VirtualClusterId");
    let clusters = resolve(t, "VirtualClusterId", p, true, &w, |t, s| {
        Ok(vec![
            t.arn("emr-containers", &format!("/virtualclusters/{s}")),
        ])
    })?
    .unwrap_or_default();
    let mut g = crate::policy::Grant::new(
        ["emr-containers:StartJobRun"],
        clusters.clone(),
        String::new(),
    );
    if let Some(role) = t.params.str("ExecutionRoleArn").as_str() {
        let role = t.scope.role_arn(role);
        g = g.when("StringEquals", "emr-containers:ExecutionRoleArn", &[&role]);
    }
    t.push(g);
    if !t.params.str("Tags").is_absent() {
        t.grant(["emr-containers:TagResource"], clusters.clone());
    }
    if t.pattern.is_sync() {
        let runs: Vec<String> = clusters.iter().map(|c| format!("{c}/jobruns/*")).collect();
        t.grant(
            [
                "emr-containers:CancelJobRun",
                "emr-containers:DescribeJobRun",
            ],
            runs,
        );
    }
    Ok(())
}

// --- EKS Kubernetes API -------------------------------------------------------------------------------------
// "IAM policies for Amazon EKS" (eks-iam.html): `runJob[.sync]` and `call` talk to the cluster's Kubernetes API
// with the role's identity, so what the job may do is decided by the cluster's RBAC (access entries), not by IAM;
// the role needs only eks:DescribeCluster on the cluster, to find the endpoint and authenticate. `.sync` polls
// the job through the Kubernetes API, so there is no managed rule and no role is passed.
pub(super) fn eks_kubernetes(t: &mut Task<'_>) -> Result<(), IamError> {
    let w = t.arn("eks", "cluster/*");
    let p = t.params.str("ClusterName");
    let clusters = resolve(t, "ClusterName", p, true, &w, |t, s| {
        Ok(vec![t.scope.named("eks", "cluster/", s)])
    })?
    .unwrap_or_default();
    t.grant(["eks:DescribeCluster"], clusters);
    Ok(())
}
