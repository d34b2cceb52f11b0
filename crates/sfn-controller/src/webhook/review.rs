//! The admission decision: an `admission.k8s.io/v1` AdmissionReview request in, the AdmissionReview response
//! out. Pure (no cluster, no AWS): the objects a reviewed object refers to are handed in as a [`Bundle`], which
//! the HTTPS layer fills from the API server before calling [`review`].
//!
//! The checks are those of `sfn validate` and the controller, in their order: [`desired::integration`] for a
//! TaskIntegration, [`desired::activity`] for an Activity, [`desired::build`] (CRD rules again, AWS name,
//! compile, ASL validation, IAM derivation, alarms) for a StateMachine, each against the offline resolver of
//! the object's namespace ([`offline_resolver`]). What differs from `validate` is the verdict on a reference
//! that does not resolve: GitOps tools apply objects in any order, so a TaskIntegration, Activity or
//! StateMachine that does not exist yet is a warning here, never a denial (the controller reports it as
//! `ReferenceNotFound` and retries). An Activity or StateMachine that is missing is given the ARN it would
//! have, so everything else about the reviewed object is still checked.
//!
//! Updates that cannot make a spec worse are admitted without a look: an object being deleted (its
//! finalizer must always be removable), and an update that leaves `spec` unchanged (the operator adding its
//! finalizer, a label edit) — otherwise an object stored before a stricter release could never be deleted
//! or relabelled. This is the webhook's form of Kubernetes' validation ratcheting.

use std::cell::RefCell;
use std::collections::BTreeSet;

use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use sfn_api::manifest::Bundle;
use sfn_api::{Activity, StateMachine, TaskIntegration, TaskIntegrationSpec, naming};
use sfn_asl::bundle::{namespace_of, offline_resolver};
use sfn_asl::{MapResolver, RefKind, Resolver};
use sfn_plan::desired::{self, DesiredError, Settings};

/// The API group of the three kinds.
pub const GROUP: &str = "sfn.operator.dev";

/// What the webhook says about one request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Decision {
    pub allowed: bool,
    /// Why it was denied: one line per problem, each naming the object (and the state and field when there
    /// is one). Empty when allowed.
    pub message: String,
    /// Shown by kubectl as `Warning: ...` lines; each names the object.
    pub warnings: Vec<String>,
}

impl Decision {
    fn allow(warnings: Vec<String>) -> Self {
        Decision {
            allowed: true,
            message: String::new(),
            warnings,
        }
    }

    fn deny(lines: Vec<String>, warnings: Vec<String>) -> Self {
        Decision {
            allowed: false,
            message: lines.join("\n"),
            warnings,
        }
    }
}

/// The parts of an AdmissionReview request the decision reads.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub uid: String,
    /// `request.kind.kind`.
    pub kind: String,
    /// `request.kind.group`.
    pub group: String,
    /// CREATE, UPDATE, DELETE or CONNECT.
    pub operation: String,
    pub namespace: String,
    pub name: String,
    pub object: Value,
    pub old_object: Option<Value>,
    pub dry_run: bool,
}

/// Why an AdmissionReview could not be read at all (answered with HTTP 400, not with a decision).
#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    #[error("the body is not JSON: {0}")]
    NotJson(#[from] serde_json::Error),
    #[error(
        "not an admission.k8s.io/v1 AdmissionReview (apiVersion {api_version:?}, kind {kind:?})"
    )]
    NotAReview { api_version: String, kind: String },
    #[error("the AdmissionReview has no request.uid")]
    NoUid,
}

/// Reads an AdmissionReview request.
pub fn parse(body: &[u8]) -> Result<Request, ReviewError> {
    let doc: Value = serde_json::from_slice(body)?;
    fn text<'v>(v: &'v Value, ptr: &str) -> &'v str {
        v.pointer(ptr).and_then(Value::as_str).unwrap_or_default()
    }
    let (api_version, kind) = (text(&doc, "/apiVersion"), text(&doc, "/kind"));
    if api_version != "admission.k8s.io/v1" || kind != "AdmissionReview" {
        return Err(ReviewError::NotAReview {
            api_version: api_version.to_owned(),
            kind: kind.to_owned(),
        });
    }
    let req = doc.get("request").cloned().unwrap_or(Value::Null);
    let uid = text(&req, "/uid");
    if uid.is_empty() {
        return Err(ReviewError::NoUid);
    }
    let object = req.get("object").cloned().unwrap_or(Value::Null);
    // `request.name` is empty on a create with generateName; the object then carries no name either.
    let name = match text(&req, "/name") {
        "" => text(&object, "/metadata/name"),
        n => n,
    };
    Ok(Request {
        uid: uid.to_owned(),
        kind: text(&req, "/kind/kind").to_owned(),
        group: text(&req, "/kind/group").to_owned(),
        operation: text(&req, "/operation").to_owned(),
        namespace: text(&req, "/namespace").to_owned(),
        name: name.to_owned(),
        old_object: req.get("oldObject").filter(|o| !o.is_null()).cloned(),
        dry_run: req.get("dryRun").and_then(Value::as_bool).unwrap_or(false),
        object,
    })
}

/// The AdmissionReview response for `uid`. A denial carries code 403 and reason `Forbidden`, which
/// kube-apiserver passes on to the client after prefixing the message with the webhook's name.
pub fn response(uid: &str, decision: &Decision) -> Value {
    let mut resp = json!({"uid": uid, "allowed": decision.allowed});
    if !decision.allowed {
        resp["status"] = json!({
            "status": "Failure",
            "code": 403,
            "reason": "Forbidden",
            "message": decision.message,
        });
    }
    if !decision.warnings.is_empty() {
        resp["warnings"] = json!(decision.warnings);
    }
    json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "response": resp})
}

/// The whole exchange: an AdmissionReview request body → the response document, with `known` holding the
/// objects the reviewed one may refer to (in its namespace; others are ignored).
pub fn review(body: &[u8], known: &Bundle, settings: &Settings) -> Result<Value, ReviewError> {
    let req = parse(body)?;
    Ok(response(&req.uid, &decide(&req, known, settings)))
}

/// The objects a request's object refers to by name, which the caller looks up before [`decide`]: the
/// TaskIntegrations of a StateMachine (found at any depth of its definition and fragments), and the Activity
/// or StateMachine of a TaskIntegration. The second level (what those TaskIntegrations refer to) comes from
/// [`integration_targets`] once they are fetched.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Wanted {
    pub task_integrations: BTreeSet<String>,
    pub activities: BTreeSet<String>,
    pub state_machines: BTreeSet<String>,
    /// The AwsIdentity `spec.identityRef` names (cluster-scoped, so by name alone).
    pub identity: Option<String>,
}

impl Wanted {
    /// Whether nothing needs to be looked up.
    pub fn is_empty(&self) -> bool {
        self.task_integrations.is_empty()
            && self.activities.is_empty()
            && self.state_machines.is_empty()
            && self.identity.is_none()
    }

    /// Adds what `spec` refers to.
    pub fn add_targets_of(&mut self, spec: &TaskIntegrationSpec) {
        let (activity, machine) = integration_targets(spec);
        self.activities.extend(activity);
        self.state_machines.extend(machine);
    }
}

/// The Activity and StateMachine a TaskIntegration names (`activityRef`, `stateMachineRef`).
pub fn integration_targets(spec: &TaskIntegrationSpec) -> (Option<String>, Option<String>) {
    (
        spec.activity
            .as_ref()
            .and_then(|a| a.activity_ref.as_ref())
            .map(|r| r.name.clone()),
        spec.step_functions
            .as_ref()
            .and_then(|s| s.state_machine_ref.as_ref())
            .map(|r| r.name.clone()),
    )
}

/// What to look up for `req` before deciding (nothing for a request that is admitted without a look or whose
/// object does not parse).
pub fn wanted(req: &Request) -> Wanted {
    let mut out = Wanted::default();
    if skipped(req) || req.group != GROUP {
        return out;
    }
    match req.kind.as_str() {
        "StateMachine" => {
            if let Ok(sm) = serde_json::from_value::<StateMachine>(req.object.clone()) {
                out.task_integrations = crate::resolver::integration_names(&sm.spec);
                out.identity = sm.spec.identity_ref.map(|r| r.name);
            }
        }
        "TaskIntegration" => {
            if let Ok(ti) = serde_json::from_value::<TaskIntegration>(req.object.clone()) {
                out.add_targets_of(&ti.spec);
            }
        }
        "Activity" => {
            if let Ok(act) = serde_json::from_value::<Activity>(req.object.clone()) {
                out.identity = act.spec.identity_ref.map(|r| r.name);
            }
        }
        _ => {}
    }
    out
}

/// Requests admitted without running the checks: not a create or update, an object being deleted, or an
/// update that leaves the spec as it was.
fn skipped(req: &Request) -> bool {
    match req.operation.as_str() {
        "CREATE" => false,
        "UPDATE" => {
            let deleting = req
                .object
                .pointer("/metadata/deletionTimestamp")
                .is_some_and(|t| !t.is_null());
            let same_spec = req
                .old_object
                .as_ref()
                .is_some_and(|old| old.get("spec") == req.object.get("spec"));
            deleting || same_spec
        }
        _ => true,
    }
}

/// The decision on one request, with `known` the objects it may refer to.
pub fn decide(req: &Request, known: &Bundle, settings: &Settings) -> Decision {
    if skipped(req) || req.group != GROUP {
        return Decision::allow(Vec::new());
    }
    match req.kind.as_str() {
        "StateMachine" => with_object::<StateMachine>(req, |sm| {
            decide_machine(sm, old::<StateMachine>(req).as_ref(), known, settings)
        }),
        "TaskIntegration" => {
            with_object::<TaskIntegration>(req, |ti| decide_integration(ti, known, settings))
        }
        "Activity" => with_object::<Activity>(req, |act| decide_activity(act, known, settings)),
        // Not one of ours: the webhook configuration should not send it, and it is not ours to refuse.
        _ => Decision::allow(Vec::new()),
    }
}

fn object_label(kind: &str, req: &Request) -> String {
    let ns = if req.namespace.is_empty() {
        sfn_api::manifest::DEFAULT_NAMESPACE
    } else {
        &req.namespace
    };
    format!("{kind} {ns}/{}", req.name)
}

/// Deserialises the request's object (with the request's namespace, which a create may leave out of the
/// object) and decides on it; an object that does not fit the type is denied with the reason.
fn with_object<K: DeserializeOwned + HasMeta>(
    req: &Request,
    decide: impl FnOnce(&K) -> Decision,
) -> Decision {
    match serde_json::from_value::<K>(req.object.clone()) {
        Ok(mut obj) => {
            let meta = obj.meta_mut();
            if meta.namespace.is_none() && !req.namespace.is_empty() {
                meta.namespace = Some(req.namespace.clone());
            }
            if meta.name.is_none() && !req.name.is_empty() {
                meta.name = Some(req.name.clone());
            }
            decide(&obj)
        }
        Err(e) => Decision::deny(
            vec![format!("{}: {e}", object_label(&req.kind, req))],
            Vec::new(),
        ),
    }
}

fn old<K: DeserializeOwned>(req: &Request) -> Option<K> {
    req.old_object
        .clone()
        .and_then(|o| serde_json::from_value(o).ok())
}

/// The three kinds' metadata, for [`with_object`].
trait HasMeta {
    fn meta_mut(&mut self) -> &mut sfn_api::ObjectMeta;
}

macro_rules! has_meta {
    ($($t:ty),*) => {$(
        impl HasMeta for $t {
            fn meta_mut(&mut self) -> &mut sfn_api::ObjectMeta {
                &mut self.metadata
            }
        }
    )*};
}
has_meta!(StateMachine, TaskIntegration, Activity);

fn label(kind: &str, meta: &sfn_api::ObjectMeta) -> String {
    format!(
        "{kind} {}/{}",
        namespace_of(meta),
        meta.name.as_deref().unwrap_or_default()
    )
}

/// A resolver over the known objects that answers for a missing Activity or StateMachine with the ARN it
/// would have (so the rest of the definition is still checked) and records every reference it could not
/// find, for the warnings. An alias of a missing StateMachine counts as declared: there is nothing to check
/// it against yet.
struct Lenient<'a> {
    known: MapResolver,
    namespace: String,
    settings: &'a Settings,
    missing: RefCell<BTreeSet<(&'static str, String)>>,
    /// (StateMachine, alias) pairs a known machine does not declare.
    missing_aliases: RefCell<BTreeSet<(String, String)>>,
}

impl<'a> Lenient<'a> {
    fn new(known: &Bundle, namespace: &str, settings: &'a Settings) -> Self {
        Lenient {
            known: offline_resolver(known, namespace, &settings.account_id, &settings.region),
            namespace: namespace.to_owned(),
            settings,
            missing: RefCell::new(BTreeSet::new()),
            missing_aliases: RefCell::new(BTreeSet::new()),
        }
    }

    fn placeholder(&self, kind: &str, aws_name: String) -> String {
        let s = self.settings;
        format!(
            "arn:{}:states:{}:{}:{kind}:{aws_name}",
            s.partition, s.region, s.account_id
        )
    }

    fn record(&self, kind: RefKind, name: &str) {
        self.missing
            .borrow_mut()
            .insert((kind.as_str(), name.to_owned()));
    }

    /// One warning per missing reference, naming the referring object.
    fn warnings(&self, object: &str) -> Vec<String> {
        self.missing
            .borrow()
            .iter()
            .map(|(kind, name)| {
                format!(
                    "{object}: {kind} {name:?} does not exist in namespace {:?} yet; the operator reports \
                     ReferenceNotFound and retries until it does",
                    self.namespace
                )
            })
            .chain(self.missing_aliases.borrow().iter().map(|(machine, alias)| {
                format!(
                    "{object}: StateMachine {machine:?} in namespace {:?} declares no alias {alias:?} \
                     (spec.aliases) yet; the operator reports ReferenceNotFound and retries until it does",
                    self.namespace
                )
            }))
            .collect()
    }
}

impl Resolver for Lenient<'_> {
    fn task_integration(&self, name: &str) -> Option<&TaskIntegrationSpec> {
        let found = self.known.task_integration(name);
        if found.is_none() {
            self.record(RefKind::TaskIntegration, name);
        }
        found
    }

    fn activity_arn(&self, name: &str) -> Option<String> {
        self.known.activity_arn(name).or_else(|| {
            self.record(RefKind::Activity, name);
            naming::activity_name(&self.namespace, name, None)
                .ok()
                .map(|aws| self.placeholder("activity", aws))
        })
    }

    fn state_machine_arn(&self, name: &str) -> Option<String> {
        self.known.state_machine_arn(name).or_else(|| {
            self.record(RefKind::StateMachine, name);
            naming::state_machine_name(&self.namespace, name, None)
                .ok()
                .map(|aws| self.placeholder("stateMachine", aws))
        })
    }

    fn state_machine_declares_alias(&self, name: &str, alias: &str) -> bool {
        if !self.known.state_machine_aliases.contains_key(name) {
            return true;
        }
        let declared = self.known.state_machine_declares_alias(name, alias);
        if !declared {
            self.missing_aliases
                .borrow_mut()
                .insert((name.to_owned(), alias.to_owned()));
        }
        declared
    }
}

/// The denial lines of a builder error: every line names the object, and the lines about missing
/// references (warnings here) are left out when the validator found real errors.
fn denial_lines(object: &str, err: &DesiredError) -> Vec<String> {
    let prefixed = |line: &str| {
        if line.starts_with(object) {
            line.to_owned()
        } else {
            format!("{object}: {line}")
        }
    };
    match err {
        DesiredError::InvalidDefinition(invalid) if !invalid.diagnostics.is_empty() => invalid
            .diagnostics
            .iter()
            .map(|d| prefixed(&d.to_string()))
            .collect(),
        other => other.to_string().lines().map(prefixed).collect(),
    }
}

fn decide_machine(
    sm: &StateMachine,
    old: Option<&StateMachine>,
    known: &Bundle,
    settings: &Settings,
) -> Decision {
    let object = label("StateMachine", &sm.metadata);
    if let Some(old) = old {
        let errors = sfn_api::validate_state_machine_update(&old.spec, &sm.spec);
        if !errors.is_empty() {
            let lines = errors
                .iter()
                .map(|e| format!("{object}: field {}: {}", e.field, e.message))
                .collect();
            return Decision::deny(lines, Vec::new());
        }
    }
    let identity_warnings =
        match identity_check(&object, &sm.metadata, sm.spec.identity_ref.as_ref(), known) {
            Ok(warnings) => warnings,
            Err(denial) => return denial,
        };
    let resolver = Lenient::new(known, &namespace_of(&sm.metadata), settings);
    let result = desired::build(sm, &resolver, settings);
    let mut missing = resolver.warnings(&object);
    missing.extend(identity_warnings);
    match result {
        Ok(built) => {
            let mut warnings = missing;
            warnings.extend(
                built
                    .warnings()
                    .into_iter()
                    .map(|w| format!("{object}: {w}")),
            );
            Decision::allow(warnings)
        }
        // Only references are missing: the rest compiled and validated.
        Err(DesiredError::ReferenceNotFound(_)) => Decision::allow(missing),
        Err(e) => Decision::deny(denial_lines(&object, &e), missing),
    }
}

fn decide_integration(ti: &TaskIntegration, known: &Bundle, settings: &Settings) -> Decision {
    let object = label("TaskIntegration", &ti.metadata);
    let mut with_self = known.clone();
    // The one-state machine the integration is checked with names the integration itself.
    with_self.task_integrations.retain(|k| {
        k.metadata.name != ti.metadata.name
            || namespace_of(&k.metadata) != namespace_of(&ti.metadata)
    });
    with_self.task_integrations.push(ti.clone());
    let resolver = Lenient::new(&with_self, &namespace_of(&ti.metadata), settings);
    let result = desired::integration(ti, &resolver, settings);
    let missing = resolver.warnings(&object);
    match result {
        Ok(_) | Err(DesiredError::ReferenceNotFound(_)) => Decision::allow(missing),
        Err(e) => Decision::deny(denial_lines(&object, &e), missing),
    }
}

fn decide_activity(act: &Activity, known: &Bundle, settings: &Settings) -> Decision {
    let object = label("Activity", &act.metadata);
    let warnings = match identity_check(
        &object,
        &act.metadata,
        act.spec.identity_ref.as_ref(),
        known,
    ) {
        Ok(warnings) => warnings,
        Err(denial) => return denial,
    };
    match desired::activity(act, settings) {
        Ok(_) => Decision::allow(warnings),
        Err(e) => Decision::deny(denial_lines(&object, &e), warnings),
    }
}

/// The verdict on `spec.identityRef`, with `known.identities` holding the named AwsIdentity if it exists:
/// an identity that does not allow the object's namespace is denied (the platform has not granted it, and
/// the controller would refuse it); one that does not exist yet is a warning, as GitOps tools may apply
/// it later. The identity an object without `identityRef` falls back to is the controller's to report: a
/// namespace's objects cannot cause, or fix, an ambiguous default.
fn identity_check(
    object: &str,
    meta: &sfn_api::ObjectMeta,
    requested: Option<&sfn_api::IdentityRef>,
    known: &Bundle,
) -> Result<Vec<String>, Decision> {
    let Some(requested) = requested else {
        return Ok(Vec::new());
    };
    let namespace = namespace_of(meta);
    match sfn_plan::identity::resolve(&namespace, Some(&requested.name), &known.identities) {
        Ok(_) => Ok(Vec::new()),
        Err(e @ sfn_plan::identity::IdentityError::NotFound { .. }) => Ok(vec![format!(
            "{object}: {e} yet; the object is not reconciled until it does and allows namespace {namespace:?}"
        )]),
        Err(e) => Err(Decision::deny(vec![format!("{object}: {e}")], Vec::new())),
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn settings() -> Settings {
        Settings {
            partition: "aws".into(),
            region: "us-east-1".into(),
            account_id: "123456789012".into(),
            default_deletion_policy: desired::DeletionPolicy::Delete,
            default_log_retention_days: desired::DEFAULT_LOG_RETENTION_DAYS,
            guardrails: Default::default(),
        }
    }

    fn yaml(text: &str) -> Value {
        serde_saphyr::from_str(text).expect("fixture YAML")
    }

    /// An AdmissionReview request as kube-apiserver sends it for `object`.
    fn request(operation: &str, object: &Value, old: Option<&Value>) -> Vec<u8> {
        let kind = object["kind"].as_str().unwrap_or_default();
        let plural = format!("{}s", kind.to_lowercase());
        let mut req = json!({
            "uid": "705ab4f5-6393-11e8-b7cc-42010a800002",
            "kind": {"group": GROUP, "version": "v1alpha1", "kind": kind},
            "resource": {"group": GROUP, "version": "v1alpha1", "resource": plural},
            "requestKind": {"group": GROUP, "version": "v1alpha1", "kind": kind},
            "requestResource": {"group": GROUP, "version": "v1alpha1", "resource": plural},
            "name": object["metadata"]["name"],
            "namespace": object["metadata"]["namespace"],
            "operation": operation,
            "userInfo": {"username": "admin", "groups": ["system:authenticated"]},
            "object": object,
            "oldObject": old,
            "dryRun": false,
            "options": {"apiVersion": "meta.k8s.io/v1", "kind": "CreateOptions"},
        });
        if old.is_none() {
            req["oldObject"] = Value::Null;
        }
        serde_json::to_vec(&json!({
            "apiVersion": "admission.k8s.io/v1",
            "kind": "AdmissionReview",
            "request": req,
        }))
        .unwrap()
    }

    fn decide_on(operation: &str, object: &Value, old: Option<&Value>, known: &Bundle) -> Decision {
        let req = parse(&request(operation, object, old)).expect("a valid review");
        decide(&req, known, &settings())
    }

    const BAD_NEXT: &str = r#"
apiVersion: sfn.operator.dev/v1alpha1
kind: StateMachine
metadata: {name: broken, namespace: demo}
spec:
  definition:
    states:
      - {name: Start, type: Pass, next: Nowhere}
      - {name: Done, type: Succeed}
"#;

    const GOOD: &str = r#"
apiVersion: sfn.operator.dev/v1alpha1
kind: StateMachine
metadata: {name: hello, namespace: demo}
spec:
  definition:
    states:
      - {name: Hello, type: Pass, end: true}
"#;

    const USES_INTEGRATION: &str = r#"
apiVersion: sfn.operator.dev/v1alpha1
kind: StateMachine
metadata: {name: caller, namespace: demo}
spec:
  definition:
    states:
      - {name: Call, type: Task, integration: submit-job, end: true}
"#;

    const LAMBDA: &str = r#"
apiVersion: sfn.operator.dev/v1alpha1
kind: TaskIntegration
metadata: {name: submit-job, namespace: demo}
spec:
  lambda: {functionArn: "arn:aws:lambda:us-east-1:123456789012:function:SubmitJob"}
"#;

    fn bundle_of(docs: &[&str]) -> Bundle {
        let mut b = Bundle::default();
        for d in docs {
            let v = yaml(d);
            match v["kind"].as_str() {
                Some("TaskIntegration") => {
                    b.task_integrations.push(serde_json::from_value(v).unwrap())
                }
                Some("Activity") => b.activities.push(serde_json::from_value(v).unwrap()),
                Some("StateMachine") => b.state_machines.push(serde_json::from_value(v).unwrap()),
                other => panic!("fixture kind {other:?}"),
            }
        }
        b
    }

    #[test]
    fn a_spec_conflicting_with_the_role_guardrails_is_denied() {
        let mut settings = settings();
        settings.guardrails.permissions_boundary =
            Some("arn:aws:iam::123456789012:policy/tenant-boundary".into());
        let mut object = yaml(GOOD);
        object["spec"]["role"] =
            json!({"permissionsBoundary": "arn:aws:iam::123456789012:policy/wide-open"});
        let req = parse(&request("CREATE", &object, None)).expect("a valid review");
        let d = decide(&req, &Bundle::default(), &settings);
        assert!(!d.allowed);
        assert!(
            d.message.contains(
                "StateMachine demo/hello: field spec.role.permissionsBoundary: \"arn:aws:iam::123456789012:policy/wide-open\" is not allowed"
            ),
            "{}",
            d.message
        );
        // The same object without a boundary of its own is admitted (it gets the required one).
        let req = parse(&request("CREATE", &yaml(GOOD), None)).expect("a valid review");
        assert!(decide(&req, &Bundle::default(), &settings).allowed);
    }

    #[test]
    fn an_invalid_definition_is_denied_naming_object_state_and_field() {
        let d = decide_on("CREATE", &yaml(BAD_NEXT), None, &Bundle::default());
        assert!(!d.allowed);
        assert!(
            d.message
                .starts_with("StateMachine demo/broken: state \"Start\", field Next"),
            "{}",
            d.message
        );
        assert!(d.message.contains("Nowhere"), "{}", d.message);
    }

    #[test]
    fn a_valid_machine_is_admitted_without_warnings() {
        let d = decide_on("CREATE", &yaml(GOOD), None, &Bundle::default());
        assert_eq!(d, Decision::allow(Vec::new()));
    }

    #[test]
    fn a_missing_integration_is_a_warning_and_a_known_one_none() {
        let d = decide_on("CREATE", &yaml(USES_INTEGRATION), None, &Bundle::default());
        assert!(d.allowed, "{d:?}");
        assert_eq!(d.warnings.len(), 1, "{:?}", d.warnings);
        assert!(
            d.warnings[0].starts_with(
                "StateMachine demo/caller: TaskIntegration \"submit-job\" does not exist in namespace \"demo\" yet"
            ),
            "{:?}",
            d.warnings
        );

        let known = bundle_of(&[LAMBDA]);
        let d = decide_on("CREATE", &yaml(USES_INTEGRATION), None, &known);
        assert_eq!(d, Decision::allow(Vec::new()));

        // The same name in another namespace does not count.
        let mut elsewhere = known.clone();
        elsewhere.task_integrations[0].metadata.namespace = Some("other".into());
        let d = decide_on("CREATE", &yaml(USES_INTEGRATION), None, &elsewhere);
        assert_eq!(d.warnings.len(), 1, "{d:?}");
    }

    #[test]
    fn a_missing_reference_beside_a_real_error_is_denied_for_the_error_only() {
        let mut sm = yaml(USES_INTEGRATION);
        sm["spec"]["definition"]["states"][0]["resultPath"] = json!("not a path");
        let d = decide_on("CREATE", &sm, None, &Bundle::default());
        assert!(!d.allowed);
        assert!(d.message.contains("field ResultPath"), "{}", d.message);
        assert!(!d.message.contains("submit-job"), "{}", d.message);
        assert!(
            d.warnings[0].contains("TaskIntegration \"submit-job\""),
            "{:?}",
            d.warnings
        );
    }

    #[test]
    fn integrations_are_checked_and_their_missing_targets_warned_about() {
        let mut bad = yaml(LAMBDA);
        bad["spec"]["pattern"] = json!("sync");
        let d = decide_on("CREATE", &bad, None, &Bundle::default());
        assert!(!d.allowed);
        assert!(
            d.message.starts_with("TaskIntegration demo/submit-job: "),
            "{}",
            d.message
        );
        assert!(d.message.contains("sync"), "{}", d.message);

        let approval = yaml(
            r#"
apiVersion: sfn.operator.dev/v1alpha1
kind: TaskIntegration
metadata: {name: approval, namespace: demo}
spec:
  activity: {activityRef: {name: manual-approval}}
"#,
        );
        let d = decide_on("CREATE", &approval, None, &Bundle::default());
        assert!(d.allowed, "{d:?}");
        assert_eq!(d.warnings.len(), 1);
        assert!(
            d.warnings[0].contains("Activity \"manual-approval\" does not exist"),
            "{:?}",
            d.warnings
        );

        let known = bundle_of(&[r#"
apiVersion: sfn.operator.dev/v1alpha1
kind: Activity
metadata: {name: manual-approval, namespace: demo}
spec: {}
"#]);
        let d = decide_on("CREATE", &approval, None, &known);
        assert_eq!(d, Decision::allow(Vec::new()));
    }

    /// An alias the target machine does not declare (yet) is a warning, as any missing reference: GitOps
    /// tools may apply the machine's new alias after the integration that starts it.
    #[test]
    fn an_alias_the_target_does_not_declare_is_a_warning() {
        let live = yaml(
            r#"
apiVersion: sfn.operator.dev/v1alpha1
kind: TaskIntegration
metadata: {name: run-live, namespace: demo}
spec:
  stepFunctions: {stateMachineRef: {name: orders}, alias: live}
  pattern: sync
"#,
        );
        let orders = |aliases: &str| {
            format!(
                "apiVersion: sfn.operator.dev/v1alpha1\nkind: StateMachine\nmetadata: {{name: orders, namespace: demo}}\nspec:\n  aliases: {aliases}\n  definition:\n    states: [{{name: Done, type: Succeed}}]\n"
            )
        };
        let d = decide_on(
            "CREATE",
            &live,
            None,
            &bundle_of(&[&orders("[{name: prod}]")]),
        );
        assert!(d.allowed, "{d:?}");
        assert_eq!(d.warnings.len(), 1, "{:?}", d.warnings);
        assert!(
            d.warnings[0].starts_with(
                "TaskIntegration demo/run-live: StateMachine \"orders\" in namespace \"demo\" declares no alias \"live\""
            ),
            "{:?}",
            d.warnings
        );
        let d = decide_on(
            "CREATE",
            &live,
            None,
            &bundle_of(&[&orders("[{name: live}]")]),
        );
        assert_eq!(d, Decision::allow(Vec::new()));
        // The machine itself unknown: one warning about it, none about an alias there is nothing to check on.
        let d = decide_on("CREATE", &live, None, &Bundle::default());
        assert_eq!(d.warnings.len(), 1, "{:?}", d.warnings);
        assert!(d.warnings[0].contains("does not exist"), "{:?}", d.warnings);
    }

    #[test]
    fn an_activity_with_an_unusable_aws_name_is_denied() {
        let act = yaml(&format!(
            "apiVersion: sfn.operator.dev/v1alpha1\nkind: Activity\nmetadata: {{name: a, namespace: demo}}\nspec: {{name: \"{}\"}}\n",
            "x".repeat(81)
        ));
        let d = decide_on("CREATE", &act, None, &Bundle::default());
        assert!(!d.allowed, "{d:?}");
        assert!(d.message.starts_with("Activity demo/a: "), "{}", d.message);
        let ok = yaml(
            "apiVersion: sfn.operator.dev/v1alpha1\nkind: Activity\nmetadata: {name: a, namespace: demo}\nspec: {}\n",
        );
        assert!(decide_on("CREATE", &ok, None, &Bundle::default()).allowed);
    }

    #[test]
    fn updates_that_leave_the_spec_alone_or_delete_are_admitted_unchecked() {
        let bad = yaml(BAD_NEXT);
        let mut relabelled = bad.clone();
        relabelled["metadata"]["labels"] = json!({"team": "x"});
        assert!(decide_on("UPDATE", &relabelled, Some(&bad), &Bundle::default()).allowed);

        let mut deleting = bad.clone();
        deleting["metadata"]["deletionTimestamp"] = json!("2026-01-01T00:00:00Z");
        deleting["spec"]["definition"]["states"][1]["name"] = json!("Other");
        assert!(decide_on("UPDATE", &deleting, Some(&bad), &Bundle::default()).allowed);

        // An update that changes the spec is checked like a create.
        let good = yaml(GOOD);
        let mut broken = good.clone();
        broken["metadata"]["name"] = json!("broken");
        broken["spec"] = bad["spec"].clone();
        assert!(!decide_on("UPDATE", &broken, Some(&good), &Bundle::default()).allowed);

        // DELETE is never ours to refuse.
        assert!(decide_on("DELETE", &bad, Some(&bad), &Bundle::default()).allowed);
    }

    #[test]
    fn the_type_stays_immutable_on_update() {
        let good = yaml(GOOD);
        let mut express = good.clone();
        express["spec"]["type"] = json!("EXPRESS");
        let d = decide_on("UPDATE", &express, Some(&good), &Bundle::default());
        assert!(!d.allowed);
        assert!(
            d.message
                .starts_with("StateMachine demo/hello: field spec.type: type is immutable"),
            "{}",
            d.message
        );
    }

    #[test]
    fn warnings_of_the_validator_are_passed_on_with_the_object() {
        let sm = yaml(
            r#"
apiVersion: sfn.operator.dev/v1alpha1
kind: StateMachine
metadata: {name: warned, namespace: demo}
spec:
  definition:
    states:
      - name: P
        type: Pass
        parameters: {"plain": "$.looks.like.a.path"}
        end: true
"#,
        );
        let d = decide_on("CREATE", &sm, None, &Bundle::default());
        assert!(d.allowed, "{d:?}");
        assert!(!d.warnings.is_empty(), "{d:?}");
        assert!(
            d.warnings
                .iter()
                .all(|w| w.starts_with("StateMachine demo/warned: ")),
            "{:?}",
            d.warnings
        );
    }

    #[test]
    fn the_response_echoes_the_uid_and_carries_status_and_warnings() {
        let body = request("CREATE", &yaml(BAD_NEXT), None);
        let resp = review(&body, &Bundle::default(), &settings()).unwrap();
        assert_eq!(resp["apiVersion"], "admission.k8s.io/v1");
        assert_eq!(resp["kind"], "AdmissionReview");
        assert_eq!(
            resp["response"]["uid"],
            "705ab4f5-6393-11e8-b7cc-42010a800002"
        );
        assert_eq!(resp["response"]["allowed"], false);
        assert_eq!(resp["response"]["status"]["code"], 403);
        assert!(
            resp["response"]["status"]["message"]
                .as_str()
                .unwrap()
                .contains("Nowhere")
        );
        let resp = review(
            &request("CREATE", &yaml(USES_INTEGRATION), None),
            &Bundle::default(),
            &settings(),
        )
        .unwrap();
        assert_eq!(resp["response"]["allowed"], true);
        assert!(resp["response"].get("status").is_none());
        assert_eq!(
            resp["response"]["warnings"].as_array().map(Vec::len),
            Some(1)
        );

        assert!(matches!(parse(b"{"), Err(ReviewError::NotJson(_))));
        assert!(matches!(
            parse(br#"{"apiVersion":"admission.k8s.io/v1beta1","kind":"AdmissionReview","request":{"uid":"x"}}"#),
            Err(ReviewError::NotAReview { .. })
        ));
        assert!(matches!(
            parse(br#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{}}"#),
            Err(ReviewError::NoUid)
        ));
    }

    #[test]
    fn what_to_look_up_comes_from_the_object() {
        let req = parse(&request("CREATE", &yaml(USES_INTEGRATION), None)).unwrap();
        assert_eq!(
            wanted(&req).task_integrations,
            BTreeSet::from(["submit-job".to_owned()])
        );
        let nested = yaml(
            r#"
apiVersion: sfn.operator.dev/v1alpha1
kind: TaskIntegration
metadata: {name: child, namespace: demo}
spec:
  stepFunctions: {stateMachineRef: {name: inner}}
  pattern: sync
"#,
        );
        let req = parse(&request("CREATE", &nested, None)).unwrap();
        assert_eq!(
            wanted(&req).state_machines,
            BTreeSet::from(["inner".to_owned()])
        );
        let req = parse(&request("CREATE", &yaml(GOOD), None)).unwrap();
        assert!(wanted(&req).is_empty());
    }

    /// The examples, reviewed one object at a time with the rest of their file known, get the verdict
    /// `sfn validate` gives them; and each StateMachine broken the same way is denied by both.
    #[test]
    fn the_webhook_and_validate_agree_on_the_examples() {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples");
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
            .collect();
        files.sort();
        assert!(files.len() >= 10, "{files:?}");
        for file in files {
            let bundle = sfn_api::manifest::load_paths(std::slice::from_ref(&file)).unwrap();
            let verdicts = sfn_cli::validate::verdicts(&bundle);
            let objects: Vec<Value> = bundle
                .task_integrations
                .iter()
                .map(|o| serde_json::to_value(o).unwrap())
                .chain(
                    bundle
                        .activities
                        .iter()
                        .map(|o| serde_json::to_value(o).unwrap()),
                )
                .chain(
                    bundle
                        .state_machines
                        .iter()
                        .map(|o| serde_json::to_value(o).unwrap()),
                )
                .collect();
            assert_eq!(objects.len(), verdicts.len());
            for (obj, verdict) in objects.iter().zip(&verdicts) {
                let d = decide_on("CREATE", obj, None, &bundle);
                assert_eq!(
                    d.allowed,
                    verdict.is_valid(),
                    "{}: {d:?} vs {verdict:?}",
                    file.display()
                );
            }
            for sm in &bundle.state_machines {
                let mut broken = sm.clone();
                let Some(def) = broken.spec.definition.as_mut() else {
                    continue;
                };
                def.states[0].next = Some("No Such State".into());
                def.states[0].end = None;
                let mut b = bundle.clone();
                b.state_machines = vec![broken.clone()];
                assert!(!sfn_cli::validate::verdicts(&b).last().unwrap().is_valid());
                let d = decide_on(
                    "CREATE",
                    &serde_json::to_value(&broken).unwrap(),
                    None,
                    &bundle,
                );
                assert!(!d.allowed, "{}", file.display());
                assert!(d.message.contains("No Such State"), "{}", d.message);
            }
        }
    }

    fn identity(name: &str, allowed: &[&str]) -> sfn_api::AwsIdentity {
        serde_json::from_value(json!({
            "apiVersion": "sfn.operator.dev/v1alpha1",
            "kind": "AwsIdentity",
            "metadata": {"name": name},
            "spec": {"namespaces": {"allowed": allowed}}
        }))
        .expect("a valid AwsIdentity")
    }

    #[test]
    fn an_identity_the_namespace_is_not_granted_is_denied_and_a_missing_one_warned() {
        let mut machine = yaml(GOOD);
        machine["spec"]["identityRef"] = json!({"name": "team-a"});
        let mut activity = json!({
            "apiVersion": "sfn.operator.dev/v1alpha1", "kind": "Activity",
            "metadata": {"name": "approve", "namespace": "demo"},
            "spec": {"identityRef": {"name": "team-a"}}
        });
        for (object, label) in [
            (&machine, "StateMachine demo/hello"),
            (&activity, "Activity demo/approve"),
        ] {
            let req = parse(&request("CREATE", object, None)).expect("a valid review");
            assert_eq!(wanted(&req).identity.as_deref(), Some("team-a"));

            let mut other_team = Bundle::default();
            other_team.identities.push(identity("team-a", &["team-a"]));
            let d = decide(&req, &other_team, &settings());
            assert!(!d.allowed, "{d:?}");
            assert_eq!(
                d.message,
                format!(
                    "{label}: field spec.identityRef: AwsIdentity \"team-a\" does not allow namespace \"demo\" (its spec.namespaces lists who may use it)"
                )
            );

            let mut granted = Bundle::default();
            granted.identities.push(identity("team-a", &["demo"]));
            assert_eq!(
                decide(&req, &granted, &settings()),
                Decision::allow(Vec::new())
            );

            let d = decide(&req, &Bundle::default(), &settings());
            assert!(d.allowed, "{d:?}");
            assert_eq!(d.warnings.len(), 1, "{:?}", d.warnings);
            assert!(
                d.warnings[0].starts_with(&format!(
                    "{label}: field spec.identityRef: AwsIdentity \"team-a\" does not exist yet"
                )),
                "{:?}",
                d.warnings
            );
        }
        // Without identityRef nothing is looked up.
        activity["spec"] = json!({});
        let req = parse(&request("CREATE", &activity, None)).expect("a valid review");
        assert!(wanted(&req).is_empty());
    }
}
