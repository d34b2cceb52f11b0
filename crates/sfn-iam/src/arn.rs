//! ARN helpers: building ARNs in the state machine's partition, region and account, and reading the few
//! identifiers Step Functions accepts in place of an ARN (a Lambda function name, an SQS queue URL, ...).
//!
//! ARN formats follow the "Actions, resources, and condition keys" pages of the Service Authorization Reference.

/// The parts of an ARN, borrowed from the string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Arn<'a> {
    pub partition: &'a str,
    pub service: &'a str,
    pub region: &'a str,
    pub account: &'a str,
    pub resource: &'a str,
}

impl<'a> Arn<'a> {
    /// Parses `arn:partition:service:region:account:resource` (the resource may contain `:` and `/`).
    pub fn parse(s: &'a str) -> Option<Self> {
        let mut it = s.splitn(6, ':');
        if it.next()? != "arn" {
            return None;
        }
        let partition = it.next()?;
        let service = it.next()?;
        let region = it.next()?;
        let account = it.next()?;
        let resource = it.next()?;
        if partition.is_empty() || service.is_empty() {
            return None;
        }
        Some(Arn {
            partition,
            service,
            region,
            account,
            resource,
        })
    }
}

/// Where the role lives: the defaults for ARNs that the definition gives by name only.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scope<'a> {
    pub partition: &'a str,
    pub region: &'a str,
    pub account: &'a str,
}

impl Scope<'_> {
    /// `arn:P:service:R:A:resource`.
    pub fn arn(&self, service: &str, resource: &str) -> String {
        format!(
            "arn:{}:{}:{}:{}:{}",
            self.partition, service, self.region, self.account, resource
        )
    }

    /// `arn:P:service::A:resource` (global services such as IAM).
    pub fn global_arn(&self, service: &str, resource: &str) -> String {
        format!(
            "arn:{}:{}::{}:{}",
            self.partition, service, self.account, resource
        )
    }

    /// `arn:P:iam::A:role/NAME`, or the ARN itself when one is given.
    pub fn role_arn(&self, name_or_arn: &str) -> String {
        if name_or_arn.starts_with("arn:") {
            name_or_arn.to_string()
        } else {
            self.global_arn("iam", &format!("role/{name_or_arn}"))
        }
    }

    /// Resource ARN of `service` given either as a full ARN or a bare name that goes after `prefix`.
    pub fn named(&self, service: &str, prefix: &str, name_or_arn: &str) -> String {
        if name_or_arn.starts_with("arn:") {
            name_or_arn.to_string()
        } else {
            self.arn(service, &format!("{prefix}{name_or_arn}"))
        }
    }
}

/// A Lambda function reference as `FunctionName` accepts it: a name (`my-fn`), a name with qualifier
/// (`my-fn:prod`), a partial ARN (`123456789012:function:my-fn`) or a full ARN, optionally qualified.
/// Returns the unqualified function ARN and the qualifier, if any.
pub(crate) fn lambda_function(
    scope: &Scope<'_>,
    reference: &str,
) -> Option<(String, Option<String>)> {
    let (partition, region, account, rest) = if let Some(arn) = Arn::parse(reference) {
        if arn.service != "lambda" {
            return None;
        }
        (arn.partition, arn.region, arn.account, arn.resource)
    } else if let Some((account, rest)) = reference.split_once(":function:") {
        (scope.partition, scope.region, account, rest)
    } else {
        (scope.partition, scope.region, scope.account, reference)
    };
    let rest = rest.strip_prefix("function:").unwrap_or(rest);
    let (name, qualifier) = match rest.split_once(':') {
        Some((n, q)) => (n, Some(q.to_string())),
        None => (rest, None),
    };
    if name.is_empty() || name.contains('/') {
        return None;
    }
    // A malformed qualifier (`fn:`, `fn:$*#`) would otherwise be granted on verbatim.
    if qualifier
        .as_deref()
        .is_some_and(|q| !is_lambda_qualifier(q))
    {
        return None;
    }
    Some((
        format!("arn:{partition}:lambda:{region}:{account}:function:{name}"),
        qualifier,
    ))
}

/// Whether `q` is a Lambda qualifier the Lambda API accepts: `$LATEST`, a version number, or an alias name.
/// Lambda's `Qualifier` pattern is `(|[a-zA-Z0-9$_-]+)` with at most 128 characters, and an alias name is
/// `(?!^[0-9]+$)([a-zA-Z0-9-_]+)` (API reference, `Invoke` and `CreateAlias`): so apart from `$LATEST` a `$`
/// never appears, and digits only are a version.
pub fn is_lambda_qualifier(q: &str) -> bool {
    q == "$LATEST"
        || (!q.is_empty()
            && q.len() <= 128
            && q.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'))
}

/// The queue ARN of an SQS queue URL (`https://sqs.REGION.amazonaws.com/ACCOUNT/NAME`, the legacy
/// `https://REGION.queue.amazonaws.com/...` and `https://queue.amazonaws.com/...` forms, or a VPC endpoint
/// host, for which the role's region is assumed).
pub(crate) fn sqs_queue_arn(scope: &Scope<'_>, url: &str) -> Option<String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let (host, path) = rest.split_once('/')?;
    let mut segs = path.trim_end_matches('/').split('/');
    let account = segs.next()?;
    let name = segs.next()?;
    if segs.next().is_some() || account.is_empty() || name.is_empty() {
        return None;
    }
    let region = if let Some(r) = host.strip_prefix("sqs.") {
        r.split('.').next().unwrap_or(scope.region)
    } else if host == "queue.amazonaws.com" {
        "us-east-1"
    } else if let Some((r, _)) = host.split_once(".queue.") {
        r
    } else {
        scope.region
    };
    Some(format!(
        "arn:{}:sqs:{region}:{account}:{name}",
        partition_of_host(host).unwrap_or(scope.partition)
    ))
}

fn partition_of_host(host: &str) -> Option<&'static str> {
    if host.ends_with(".amazonaws.com.cn") {
        Some("aws-cn")
    } else if host.contains("us-gov-") {
        Some("aws-us-gov")
    } else {
        None
    }
}

/// Splits an S3 URI `s3://bucket/key/prefix` into bucket and key (the key may be empty).
pub(crate) fn s3_uri(uri: &str) -> Option<(&str, &str)> {
    let rest = uri.strip_prefix("s3://")?;
    let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return None;
    }
    Some((bucket, key))
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Scope<'static> = Scope {
        partition: "aws",
        region: "us-east-1",
        account: "123456789012",
    };

    #[test]
    fn lambda_references_in_every_accepted_form() {
        let f = "arn:aws:lambda:us-east-1:123456789012:function:fn".to_string();
        assert_eq!(lambda_function(&S, "fn"), Some((f.clone(), None)));
        assert_eq!(
            lambda_function(&S, "fn:prod"),
            Some((f.clone(), Some("prod".into())))
        );
        assert_eq!(
            lambda_function(&S, "123456789012:function:fn"),
            Some((f.clone(), None))
        );
        assert_eq!(
            lambda_function(&S, "arn:aws:lambda:us-east-1:123456789012:function:fn:7"),
            Some((f, Some("7".into())))
        );
        assert_eq!(
            lambda_function(&S, "arn:aws-cn:lambda:cn-north-1:999999999999:function:x"),
            Some((
                "arn:aws-cn:lambda:cn-north-1:999999999999:function:x".into(),
                None
            ))
        );
        assert_eq!(lambda_function(&S, "arn:aws:sns:us-east-1:1:t"), None);
        assert_eq!(
            lambda_function(&S, "fn:$LATEST"),
            Some((
                "arn:aws:lambda:us-east-1:123456789012:function:fn".into(),
                Some("$LATEST".into())
            ))
        );
    }

    #[test]
    fn malformed_lambda_qualifiers_are_not_function_references() {
        for bad in [
            "arn:aws:lambda:us-east-1:123456789012:function:F:",
            "arn:aws:lambda:us-east-1:123456789012:function:F:$*#",
            "F:a:b",
            "F:$latest",
        ] {
            assert_eq!(lambda_function(&S, bad), None, "{bad}");
        }
        for ok in ["prod", "7", "$LATEST", "blue-green_2"] {
            assert!(is_lambda_qualifier(ok), "{ok}");
        }
    }

    #[test]
    fn sqs_urls_become_queue_arns() {
        assert_eq!(
            sqs_queue_arn(
                &S,
                "https://sqs.eu-west-1.amazonaws.com/111122223333/q.fifo"
            )
            .as_deref(),
            Some("arn:aws:sqs:eu-west-1:111122223333:q.fifo")
        );
        assert_eq!(
            sqs_queue_arn(&S, "https://queue.amazonaws.com/111122223333/q").as_deref(),
            Some("arn:aws:sqs:us-east-1:111122223333:q")
        );
        assert_eq!(
            sqs_queue_arn(&S, "https://ap-south-1.queue.amazonaws.com/111122223333/q").as_deref(),
            Some("arn:aws:sqs:ap-south-1:111122223333:q")
        );
        assert_eq!(
            sqs_queue_arn(&S, "https://sqs.cn-north-1.amazonaws.com.cn/111122223333/q").as_deref(),
            Some("arn:aws-cn:sqs:cn-north-1:111122223333:q")
        );
        assert_eq!(sqs_queue_arn(&S, "not a url"), None);
    }

    #[test]
    fn arns_parse_with_colons_in_the_resource() {
        let a = Arn::parse("arn:aws:states:us-east-1:1:execution:sm:run-1").unwrap();
        assert_eq!(a.service, "states");
        assert_eq!(a.resource, "execution:sm:run-1");
        assert!(Arn::parse("states:::lambda:invoke").is_none());
    }
}
