//! The CRDs as YAML, exactly as `crds/` in the repository and the Helm chart hold them. Lives beside the types so
//! that the CLI, the tests and the chart check all render through one function.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;

/// Why a CRD could not be rendered as YAML.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("serialising the CRD: {0}")]
    Json(#[from] serde_json::Error),
    #[error("rendering the CRD as YAML: {0}")]
    Yaml(#[from] serde_saphyr::SerializeError),
}

/// The file name a CRD is committed under: `statemachines.sfn.operator.dev.yaml`.
pub fn file_name(crd: &CustomResourceDefinition) -> String {
    format!("{}.yaml", crd.metadata.name.as_deref().unwrap_or("unnamed"))
}

/// One CRD as a YAML document (no leading `---`).
pub fn to_yaml(crd: &CustomResourceDefinition) -> Result<String, RenderError> {
    // Through serde_json::Value so the key order is the Kubernetes one and empty fields are gone.
    let value = serde_json::to_value(crd)?;
    Ok(serde_saphyr::to_string(&value)?)
}

/// All CRDs as one multi-document YAML stream.
pub fn all_yaml() -> Result<String, RenderError> {
    let mut out = String::new();
    for crd in crate::crds() {
        out.push_str("---\n");
        out.push_str(&to_yaml(&crd)?);
    }
    Ok(out)
}
