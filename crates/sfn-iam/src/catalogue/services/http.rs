//! HTTP calls: the HTTP Task (`http:invoke`, through an EventBridge connection) and API Gateway
//! `invoke`.

use crate::IamError;
use crate::arn::Arn;
use crate::catalogue::task::Task;
use crate::params::Param;
use crate::policy::Grant;

use super::common::resolve;

// --- HTTP Task ----------------------------------------------------------------------------------------------
// "Call HTTPS APIs in Step Functions workflows" (connect-third-party-apis.html): events:RetrieveConnectionCredentials
// on the connection, secretsmanager:GetSecretValue/DescribeSecret on the connection's secret
// (`secret:events!connection/NAME/*`), and states:InvokeHTTPEndpoint on the state machine itself, limited by
// states:HTTPMethod and states:HTTPEndpoint.
pub(super) fn http(t: &mut Task<'_>) -> Result<(), IamError> {
    let wc = t.arn("events", "connection/*");
    // The connection is `Authentication.ConnectionArn`, or `InvocationConfig.ConnectionArn` (the form the HTTP
    // Task page documents alongside private APIs); the grants are the same either way.
    let (field, p) = match t.params.get(&["Authentication"]) {
        Param::Absent => (
            "InvocationConfig.ConnectionArn",
            t.params.get(&["InvocationConfig", "ConnectionArn"]),
        ),
        _ => (
            "Authentication.ConnectionArn",
            t.params.get(&["Authentication", "ConnectionArn"]),
        ),
    };
    let dynamic_connection = p.is_dynamic();
    let connections = resolve(t, field, p, true, &wc, |_, s| {
        let a = Arn::parse(s).ok_or("not an EventBridge connection ARN")?;
        if a.service != "events" || !a.resource.starts_with("connection/") {
            return Err("not an EventBridge connection ARN".into());
        }
        Ok(vec![s.to_string()])
    })?
    .unwrap_or_default();
    t.grant(
        ["events:RetrieveConnectionCredentials"],
        connections.clone(),
    );
    let secrets: Vec<String> = if dynamic_connection {
        vec![t.arn("secretsmanager", "secret:events!connection/*")]
    } else {
        connections
            .iter()
            .filter_map(|c| {
                let a = Arn::parse(c)?;
                let name = a.resource.strip_prefix("connection/")?.split('/').next()?;
                Some(format!(
                    "arn:{}:secretsmanager:{}:{}:secret:events!connection/{name}/*",
                    a.partition, a.region, a.account
                ))
            })
            .collect()
    };
    t.grant(
        [
            "secretsmanager:DescribeSecret",
            "secretsmanager:GetSecretValue",
        ],
        secrets,
    );
    let mut g = Grant::new(
        ["states:InvokeHTTPEndpoint"],
        [t.ctx.state_machine_arn()],
        String::new(),
    );
    match t.params.str("Method") {
        Param::Static(v) => {
            let m = v
                .as_str()
                .ok_or_else(|| t.bad_param("Method", "must be a string"))?;
            g = g.when("StringEquals", "states:HTTPMethod", &[m]);
        }
        Param::Dynamic => t.widen(
            "Method is chosen at run time: states:InvokeHTTPEndpoint is not limited by method",
        ),
        Param::Absent => return Err(t.bad_param("Method", "is required")),
    }
    match t.params.str("ApiEndpoint") {
        Param::Static(v) => {
            let e = v
                .as_str()
                .ok_or_else(|| t.bad_param("ApiEndpoint", "must be a string"))?;
            g = g.when("StringLike", "states:HTTPEndpoint", &[e]);
        }
        Param::Dynamic => t.widen(
            "ApiEndpoint is chosen at run time: states:InvokeHTTPEndpoint is not limited by endpoint",
        ),
        Param::Absent => return Err(t.bad_param("ApiEndpoint", "is required")),
    }
    t.push(g);
    Ok(())
}

// --- API Gateway --------------------------------------------------------------------------------------------
// "IAM policies for API Gateway" (api-gateway-iam.html): with AuthType IAM_ROLE, execute-api:Invoke on
// `arn:aws:execute-api:REGION:ACCOUNT:API_ID/STAGE/METHOD/PATH`; other auth types need no role permission. A
// WebSocket callback (a Path under `/@connections/`) needs execute-api:ManageConnections instead.
pub(super) fn apigateway(t: &mut Task<'_>) -> Result<(), IamError> {
    match t.params.str("AuthType") {
        Param::Static(v) if v.as_str() == Some("IAM_ROLE") => {}
        Param::Dynamic => {}
        _ => return Ok(()),
    }
    let mut widened = Vec::new();
    let api = match t.params.str("ApiEndpoint") {
        Param::Static(v) => {
            let e = v
                .as_str()
                .ok_or_else(|| t.bad_param("ApiEndpoint", "must be a string"))?;
            let host = e
                .trim_start_matches("https://")
                .split('/')
                .next()
                .unwrap_or(e);
            let mut parts = host.split('.');
            match (parts.next(), parts.next(), parts.next()) {
                (Some(id), Some("execute-api"), Some(region)) => {
                    Some((id.to_string(), region.to_string()))
                }
                _ => {
                    widened.push("ApiEndpoint is a custom domain");
                    None
                }
            }
        }
        Param::Dynamic => {
            widened.push("ApiEndpoint is chosen at run time");
            None
        }
        Param::Absent => return Err(t.bad_param("ApiEndpoint", "is required")),
    };
    let seg = |t: &mut Task<'_>,
               field: &'static str,
               default: &str,
               widened: &mut Vec<&'static str>|
     -> String {
        match t.params.str(field) {
            Param::Static(v) => v
                .as_str()
                .unwrap_or(default)
                .trim_start_matches('/')
                .to_string(),
            Param::Dynamic => {
                widened.push(field);
                "*".into()
            }
            Param::Absent => default.to_string(),
        }
    };
    let stage = seg(t, "Stage", "$default", &mut widened);
    let method = seg(t, "Method", "*", &mut widened);
    // A WebSocket API's `@connections` management endpoint (post to, get or delete a client connection) is
    // authorised by execute-api:ManageConnections, not Invoke ("Use @connections commands in your backend
    // service", API Gateway developer guide). The connection id is nearly always chosen at run time, so a
    // dynamic Path that builds `/@connections/...` is recognised from its expression.
    let dynamic_connections = t
        .params
        .expression("Path")
        .is_some_and(|e| e.contains("/@connections/") || e.contains("'@connections/"));
    let mut path = seg(t, "Path", "*", &mut widened);
    let connections = path.starts_with("@connections/") || dynamic_connections;
    if dynamic_connections {
        widened.retain(|w| *w != "Path");
        widened.push("the connection id is chosen at run time");
        path = "@connections/*".into();
    }
    let action = if connections {
        "execute-api:ManageConnections"
    } else {
        "execute-api:Invoke"
    };
    let resource = match api {
        Some((id, region)) => format!(
            "arn:{}:execute-api:{region}:{}:{id}/{stage}/{method}/{}",
            t.scope.partition,
            t.scope.account,
            if path.is_empty() { "*" } else { &path }
        ),
        None => t.arn("execute-api", "*"),
    };
    if !widened.is_empty() {
        t.widen(format!(
            "{}: {action} granted on {resource}",
            widened.join(", ")
        ));
    }
    t.grant([action], [resource]);
    Ok(())
}
