//! How to reach S3 and how to write there: the endpoint, the region and server-side
//! encryption, each checked when it is parsed so a bad value is a one-line error, not an
//! unreachable endpoint or a refused request later.

/// How to reach S3: an endpoint for S3-compatible stores or an emulator, and a region override.
/// Credentials always come from the standard AWS chain.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StorageOptions {
    pub endpoint_url: Option<String>,
    pub region: Option<String>,
    /// Server-side encryption of every object agsl writes to S3 (table files, rejects, state,
    /// the local catalog file); `None` leaves it to the bucket's default.
    pub encryption: Option<Encryption>,
}

/// Checks a `--region` / `region` value; a malformed one would otherwise surface as an
/// unreachable endpoint.
pub fn check_region(region: &str) -> Result<(), String> {
    if agsl_formats::looks_like_region(region) {
        Ok(())
    } else {
        Err(format!(
            "unknown region `{region}`; AWS regions look like us-east-1 or eu-central-2"
        ))
    }
}

/// Server-side encryption asked for on every S3 write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Encryption {
    /// SSE-S3 (`AES256`): keys managed by S3.
    S3Managed,
    /// SSE-KMS (`aws:kms`), with the given key (ID, ARN or alias) or the account's default
    /// `aws/s3` key.
    Kms { key_id: Option<String> },
}

impl Encryption {
    /// The `--sse` / `sse` value (`AES256` or `aws:kms`) with the optional KMS key; a key
    /// without `aws:kms` is refused, as S3 would refuse the request.
    pub fn parse(kind: Option<&str>, kms_key_id: Option<String>) -> Result<Option<Self>, String> {
        match (kind, kms_key_id) {
            (None, None) => Ok(None),
            (Some("AES256"), None) => Ok(Some(Encryption::S3Managed)),
            (Some("aws:kms"), key_id) => Ok(Some(Encryption::Kms { key_id })),
            (Some("AES256"), Some(_)) | (None, Some(_)) => {
                Err("a KMS key id needs `aws:kms` server-side encryption".into())
            }
            (Some(other), _) => Err(format!(
                "unknown server-side encryption `{other}`; expected `AES256` or `aws:kms`"
            )),
        }
    }
}
