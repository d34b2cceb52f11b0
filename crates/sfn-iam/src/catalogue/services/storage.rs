//! Storage: DynamoDB item calls, and the S3 reads and writes of a Distributed Map (`ItemReader`,
//! `ResultWriter`), which are granted like an integration although they are not a Task.

use crate::IamError;
use crate::catalogue::task::Task;
use crate::params::Param;

use super::common::{resolve, unknown};
use crate::catalogue::names::pascal;

// --- DynamoDB -----------------------------------------------------------------------------------------------
// "IAM policies for DynamoDB" (dynamo-iam.html): the item action on the table.
pub(super) fn dynamodb(t: &mut Task<'_>) -> Result<(), IamError> {
    let w = t.arn("dynamodb", "table/*");
    let p = t.params.str("TableName");
    let r = resolve(t, "TableName", p, true, &w, |t, s| {
        Ok(vec![t.scope.named("dynamodb", "table/", s)])
    })?
    .unwrap_or_default();
    let action = format!("dynamodb:{}", pascal(t.action));
    t.grant([action], r);
    Ok(())
}

// --- Distributed Map S3 I/O ---------------------------------------------------------------------------------
// "IAM policies for using Distributed Map states" (iam-policies-eg-dist-map.html): ItemReader s3:getObject needs
// s3:GetObject on the object, s3:listObjectsV2 needs s3:ListBucket on the bucket; ResultWriter s3:putObject needs
// PutObject, GetObject, ListMultipartUploadParts and AbortMultipartUpload under the prefix.
pub(crate) fn s3_item_io(t: &mut Task<'_>, field: &str) -> Result<(), IamError> {
    let p = t.scope.partition;
    let bucket = match t.params.str("Bucket") {
        Param::Static(v) => v.as_str().map(str::to_string),
        _ => None,
    };
    let widen_all = |t: &mut Task<'_>, what: &str| {
        let w = format!("arn:{p}:s3:::*");
        t.widen(format!(
            "{field}.{what} is chosen at run time: granted on {w}"
        ));
        w
    };
    match (t.service, t.action) {
        ("s3", "getObject") => {
            let r = match (&bucket, t.params.str("Key").as_str()) {
                (Some(b), Some(k)) => format!("arn:{p}:s3:::{b}/{k}"),
                (Some(b), None) => {
                    let w = format!("arn:{p}:s3:::{b}/*");
                    t.widen(format!("{field}.Key is chosen at run time: granted on {w}"));
                    w
                }
                _ => widen_all(t, "Bucket"),
            };
            t.grant(["s3:GetObject"], [r]);
        }
        ("s3", "listObjectsV2") => {
            let r = match &bucket {
                Some(b) => format!("arn:{p}:s3:::{b}"),
                None => widen_all(t, "Bucket"),
            };
            t.grant(["s3:ListBucket"], [r]);
        }
        ("s3", "putObject") => {
            let prefix = t.params.str("Prefix").as_str().unwrap_or("").to_string();
            let r = match &bucket {
                Some(b) => format!("arn:{p}:s3:::{b}/{prefix}*"),
                None => widen_all(t, "Bucket"),
            };
            t.grant(
                [
                    "s3:AbortMultipartUpload",
                    "s3:GetObject",
                    "s3:ListMultipartUploadParts",
                    "s3:PutObject",
                ],
                [r],
            );
        }
        _ => return Err(unknown(t)),
    }
    Ok(())
}
