//! Hand-written fixtures for the API server's own tests: a `Widget` CRD (group `fixtures.sfn.operator.dev`)
//! whose schema exercises every validation feature the server implements, so the same tests can run against a
//! real cluster.

use serde_json::{Value, json};

pub const GROUP: &str = "fixtures.sfn.operator.dev";
pub const API_VERSION: &str = "fixtures.sfn.operator.dev/v1";
pub const KIND: &str = "Widget";
pub const PLURAL: &str = "widgets";

/// The `Widget` CRD: namespaced, status subresource, defaults, enums, bounds, patterns, CEL rules.
pub fn widget_crd() -> Value {
    let mut crd = widget_crd_base();
    crd["spec"]["versions"][0]["selectableFields"] = json!([{"jsonPath": ".spec.mode"}]);
    crd
}

fn widget_crd_base() -> Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": format!("{PLURAL}.{GROUP}")},
        "spec": {
            "group": GROUP,
            "scope": "Namespaced",
            "names": {"plural": PLURAL, "singular": "widget", "kind": KIND, "listKind": "WidgetList", "shortNames": ["wd"]},
            "versions": [{
                "name": "v1",
                "served": true,
                "storage": true,
                "subresources": {"status": {}},
                "schema": {"openAPIV3Schema": {
                    "type": "object",
                    "properties": {
                        "spec": {
                            "type": "object",
                            "required": ["size"],
                            "x-kubernetes-validations": [
                                {"rule": "!(has(self.definition) && has(self.definitionJson))", "message": "definition and definitionJson are mutually exclusive"},
                                {"rule": "self.mode == oldSelf.mode", "message": "mode is immutable"}
                            ],
                            "properties": {
                                "size": {"type": "integer", "minimum": 1, "maximum": 10},
                                "mode": {"type": "string", "enum": ["STANDARD", "EXPRESS"], "default": "STANDARD"},
                                "name": {"type": "string", "minLength": 1, "maxLength": 12, "pattern": "^[a-z][a-z0-9-]*$"},
                                "ratio": {"type": "number", "nullable": true},
                                "port": {"x-kubernetes-int-or-string": true},
                                "tags": {"type": "array", "maxItems": 3, "items": {"type": "string"}},
                                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                                "definition": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                                "definitionJson": {"type": "string"},
                                "nested": {
                                    "type": "object",
                                    "properties": {"enabled": {"type": "boolean", "default": false}},
                                    "default": {}
                                }
                            }
                        },
                        "status": {
                            "type": "object",
                            "properties": {
                                "phase": {"type": "string"},
                                "observedGeneration": {"type": "integer"},
                                "conditions": {
                                    "type": "array",
                                    "x-kubernetes-list-type": "map",
                                    "x-kubernetes-list-map-keys": ["type"],
                                    "items": {
                                        "type": "object",
                                        "required": ["type", "status"],
                                        "properties": {
                                            "type": {"type": "string"},
                                            "status": {"type": "string", "enum": ["True", "False", "Unknown"]},
                                            "reason": {"type": "string"},
                                            "message": {"type": "string"}
                                        }
                                    }
                                }
                            }
                        }
                    }
                }}
            }]
        }
    })
}

/// A valid `Widget` named `name`.
pub fn widget(name: &str, size: i64) -> Value {
    json!({
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {"name": name},
        "spec": {"size": size}
    })
}

/// A cluster-scoped `Gadget` CRD without a status subresource.
pub fn gadget_crd() -> Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": format!("gadgets.{GROUP}")},
        "spec": {
            "group": GROUP,
            "scope": "Cluster",
            "names": {"plural": "gadgets", "singular": "gadget", "kind": "Gadget"},
            "versions": [{
                "name": "v1",
                "served": true,
                "storage": true,
                "schema": {"openAPIV3Schema": {
                    "type": "object",
                    "properties": {
                        "spec": {"type": "object", "properties": {"color": {"type": "string"}}},
                        "status": {"type": "object", "properties": {"phase": {"type": "string"}}}
                    }
                }}
            }]
        }
    })
}

/// A minimal namespaced CRD with the given plural and kind in the fixture group, for tests that delete
/// their CRD (a unique plural keeps parallel tests on a real cluster apart).
pub fn simple_crd(plural: &str, kind: &str) -> Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": format!("{plural}.{GROUP}")},
        "spec": {
            "group": GROUP,
            "scope": "Namespaced",
            "names": {"plural": plural, "kind": kind},
            "versions": [{"name": "v1", "served": true, "storage": true, "schema": {"openAPIV3Schema": {
                "type": "object",
                "properties": {"spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}
            }}}]
        }
    })
}
