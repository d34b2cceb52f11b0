//! IAM action names from Step Functions names: a service's IAM prefix and an API action in PascalCase.
//! Used both by the optimized integrations and by the AWS SDK integrations, so it belongs to neither.

/// The IAM service prefix of an AWS SDK service name.
pub fn iam_prefix(sdk_service: &str) -> &str {
    match sdk_service {
        "sfn" => "states",
        "cloudwatchlogs" => "logs",
        "cloudwatchevents" | "eventbridge" => "events",
        "emr" => "elasticmapreduce",
        "emrcontainers" => "emr-containers",
        "emrserverless" => "emr-serverless",
        "elasticloadbalancingv2" => "elasticloadbalancing",
        "efs" => "elasticfilesystem",
        "sesv2" => "ses",
        "cognitoidentityprovider" => "cognito-idp",
        "cognitoidentity" => "cognito-identity",
        "opensearch" | "elasticsearch" => "es",
        "kinesisanalyticsv2" => "kinesisanalytics",
        "dynamodbstreams" => "dynamodb",
        "applicationautoscaling" => "application-autoscaling",
        "costexplorer" => "ce",
        "configservice" => "config",
        "databasemigration" => "dms",
        "directoryservice" => "ds",
        "acmpca" => "acm-pca",
        "docdb" | "neptune" => "rds",
        "sagemakerruntime" => "sagemaker",
        "bedrockruntime" | "bedrockagent" | "bedrockagentruntime" => "bedrock",
        "s3control" => "s3",
        "timestreamwrite" | "timestreamquery" => "timestream",
        "iotdataplane" => "iot",
        "lexruntimev2" | "lexmodelsv2" => "lex",
        "mediastoredata" => "mediastore",
        "marketplacecatalog" => "aws-marketplace",
        "serverlessapplicationrepository" => "serverlessrepo",
        "ssooidc" => "sso-oauth",
        "apigatewaymanagementapi" => "execute-api",
        "redshiftdata" => "redshift-data",
        "ssmincidents" => "ssm-incidents",
        "ssmcontacts" => "ssm-contacts",
        other => other,
    }
}

/// `createTrainingJob` → `CreateTrainingJob`.
pub(crate) fn pascal(action: &str) -> String {
    let mut c = action.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}
