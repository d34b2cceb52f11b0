//! Smoke test of the in-process API server: a CRD installs, its objects go through create / get / list /
//! status / watch with a plain kube::Client.

use futures::{StreamExt, TryStreamExt};
use kube::api::{Api, DynamicObject, PostParams, WatchEvent, WatchParams};
use serde_json::json;
use sfn_operator_tests::cluster::TestCluster;
use sfn_operator_tests::fixtures::{self, API_VERSION, KIND, PLURAL};

#[tokio::test]
async fn crd_crud_status_and_watch() {
    let cluster = TestCluster::start().await;
    cluster.install_crd(&fixtures::widget_crd()).await.unwrap();
    let api: Api<DynamicObject> = cluster.dynamic(API_VERSION, KIND, PLURAL);
    let created = api
        .create(
            &PostParams::default(),
            &serde_json::from_value(fixtures::widget("a", 2)).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(created.metadata.generation, Some(1));
    assert!(created.metadata.uid.is_some());
    assert_eq!(created.data["spec"]["mode"], json!("STANDARD"));
    let rv = created.metadata.resource_version.clone().unwrap();

    let mut stream = api
        .watch(&WatchParams::default(), &rv)
        .await
        .unwrap()
        .boxed();
    let mut with_status = created.clone();
    with_status.data["status"] = json!({"phase": "Ready"});
    let updated = api
        .replace_status("a", &PostParams::default(), &with_status)
        .await
        .unwrap();
    assert_eq!(updated.data["status"]["phase"], json!("Ready"));
    assert_eq!(updated.metadata.generation, Some(1));
    match stream.try_next().await.unwrap() {
        Some(WatchEvent::Modified(o)) => assert_eq!(o.data["status"]["phase"], json!("Ready")),
        other => panic!("expected MODIFIED, got {other:?}"),
    }
    let list = api.list(&Default::default()).await.unwrap();
    assert_eq!(list.items.len(), 1);
    cluster.cleanup().await;
}
