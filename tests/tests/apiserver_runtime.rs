//! The kube-runtime building blocks the operator's controllers use, run against the API server: a
//! `Controller` with the `finalizer` helper writing status, the event `Recorder` (create, then series
//! patches), and leader election with kube-lease-manager (server-side apply conflicts decide the holder).

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::events::v1::Event as K8sEvent;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::runtime::finalizer::{Event as Finalizer, finalizer};
use kube::{CustomResource, Resource, ResourceExt};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sfn_operator_tests::cluster::TestCluster;
use sfn_operator_tests::fixtures;

#[derive(CustomResource, Clone, Debug, Serialize, Deserialize)]
#[kube(
    group = "fixtures.sfn.operator.dev",
    version = "v1",
    kind = "Widget",
    namespaced,
    status = "WidgetStatus",
    schema = "disabled"
)]
pub struct WidgetSpec {
    size: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    mode: Option<String>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WidgetStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    phase: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    observed_generation: Option<i64>,
}

const FINALIZER: &str = "sfn.operator.dev/finalizer";

struct Ctx {
    client: kube::Client,
    recorder: Recorder,
    cleaned: tokio::sync::Mutex<Vec<String>>,
}

#[derive(Debug, thiserror::Error)]
enum Error {
    #[error(transparent)]
    Kube(#[from] kube::Error),
    #[error(transparent)]
    Finalizer(#[from] Box<kube::runtime::finalizer::Error<kube::Error>>),
}

async fn reconcile(w: Arc<Widget>, ctx: Arc<Ctx>) -> Result<Action, Error> {
    let api: Api<Widget> = Api::namespaced(ctx.client.clone(), &w.namespace().unwrap_or_default());
    finalizer(&api, FINALIZER, w, |event| async {
        match event {
            Finalizer::Apply(w) => {
                let status = json!({"status": {"phase": "Ready", "observedGeneration": w.metadata.generation}});
                api.patch_status(&w.name_any(), &PatchParams::default(), &Patch::Merge(status)).await?;
                ctx.recorder
                    .publish(
                        &Event {
                            type_: EventType::Normal,
                            reason: "Reconciled".into(),
                            note: Some("widget is ready".into()),
                            action: "Reconcile".into(),
                            secondary: None,
                        },
                        &w.object_ref(&()),
                    )
                    .await?;
                Ok(Action::await_change())
            }
            Finalizer::Cleanup(w) => {
                ctx.cleaned.lock().await.push(w.name_any());
                Ok(Action::await_change())
            }
        }
    })
    .await
    .map_err(|e| Error::Finalizer(Box::new(e)))
}

fn error_policy(_: Arc<Widget>, _: &Error, _: Arc<Ctx>) -> Action {
    Action::requeue(Duration::from_millis(200))
}

async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..200 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test]
async fn controller_with_finalizer_status_and_events() {
    let cluster = TestCluster::start().await;
    cluster.install_crd(&fixtures::widget_crd()).await.unwrap();
    let api: Api<Widget> = Api::namespaced(cluster.client.clone(), &cluster.namespace);
    let ctx = Arc::new(Ctx {
        client: cluster.client.clone(),
        recorder: Recorder::new(
            cluster.client.clone(),
            Reporter {
                controller: "sfn-test".into(),
                instance: None,
            },
        ),
        cleaned: Default::default(),
    });
    let running = tokio::spawn(
        Controller::new(api.clone(), Default::default())
            .run(reconcile, error_policy, ctx.clone())
            .for_each(|_| async {}),
    );
    api.create(
        &PostParams::default(),
        &Widget::new(
            "w",
            WidgetSpec {
                size: 1,
                mode: None,
            },
        ),
    )
    .await
    .unwrap();
    eventually("status of generation 1", || async {
        let w = api.get("w").await.unwrap();
        w.status.and_then(|s| s.observed_generation) == Some(1)
            && w.metadata.finalizers == Some(vec![FINALIZER.into()])
    })
    .await;
    api.patch(
        "w",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"size": 2}})),
    )
    .await
    .unwrap();
    eventually("status of generation 2", || async {
        api.get("w")
            .await
            .unwrap()
            .status
            .and_then(|s| s.observed_generation)
            == Some(2)
    })
    .await;
    let events: Api<K8sEvent> = Api::namespaced(cluster.client.clone(), &cluster.namespace);
    eventually("a Reconciled event", || async {
        events
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .iter()
            .any(|e| {
                e.reason.as_deref() == Some("Reconciled")
                    && e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some("w")
            })
    })
    .await;
    api.delete("w", &DeleteParams::default()).await.unwrap();
    eventually("the widget to be gone after cleanup", || async {
        api.get_opt("w").await.unwrap().is_none()
    })
    .await;
    assert_eq!(*ctx.cleaned.lock().await, vec!["w".to_string()]);
    running.abort();
    cluster.cleanup().await;
}

#[tokio::test]
async fn leader_election_with_kube_lease_manager() {
    let cluster = TestCluster::start().await;
    let build = |id: &str| {
        kube_lease_manager::LeaseManagerBuilder::new(cluster.client.clone(), "sfn-operator-leader")
            .with_namespace(cluster.namespace.clone())
            .with_identity(id)
            .with_duration(3)
            .with_grace(1)
            .build()
    };
    let a = build("a").await.unwrap();
    let b = build("b").await.unwrap();
    assert!(
        tokio::time::timeout(Duration::from_secs(5), a.changed())
            .await
            .unwrap()
            .unwrap(),
        "a becomes leader"
    );
    assert!(
        tokio::time::timeout(Duration::from_millis(1500), b.changed())
            .await
            .is_err(),
        "b does not take a held lease"
    );
    a.release().await.unwrap();
    assert!(
        tokio::time::timeout(Duration::from_secs(10), b.changed())
            .await
            .unwrap()
            .unwrap(),
        "b takes the released lease"
    );
    cluster.cleanup().await;
}
