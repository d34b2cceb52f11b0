//! `AwsClients::from_env` honours the standard AWS environment, `AWS_ENDPOINT_URL` included, which is how
//! `sfn-operator run` and `sfn-operator apply` reach an emulator or a VPC endpoint. Its own test binary:
//! it sets process environment variables, which no other test may see.

mod aws_support;

use aws_support::*;
use sfn_aws::{self as aws, AwsClients, AwsSettings};

#[tokio::test]
async fn from_env_uses_the_standard_variables() {
    let endpoint = endpoint();
    // SAFETY: this binary has a single test, so no other thread reads the environment concurrently.
    unsafe {
        std::env::set_var("AWS_ENDPOINT_URL", &endpoint);
        std::env::set_var("AWS_REGION", "eu-west-1");
        std::env::set_var("AWS_ACCESS_KEY_ID", "testing");
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "testing");
        std::env::remove_var("AWS_PROFILE");
    }
    let clients = AwsClients::from_env_with(AwsSettings {
        propagation_retry: test_settings().propagation_retry,
        ..AwsSettings::default()
    })
    .await
    .unwrap();
    assert_eq!(clients.region(), "eu-west-1");
    assert_eq!(clients.account_id(), "123456789012");
    let d = desired_machine(&clients, "env", "machine");
    let out = aws::reconcile_machine(&clients, &d).await.unwrap();
    assert_eq!(
        out.state_machine_arn.as_deref(),
        Some("arn:aws:states:eu-west-1:123456789012:stateMachine:env-machine")
    );
}
