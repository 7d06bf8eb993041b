//! One clear line for a failed storage request. S3 answers refusals with an error document
//! (`<Code>AccessDenied</Code>`), which `object_store` passes on as text inside a long generic
//! message; this names what was refused (bucket, key, the IAM action) and what to do, and
//! keeps the request details for `-v`.

/// Why no AWS credentials could be had: every provider of the standard chain came up empty.
#[derive(Debug, thiserror::Error)]
#[error(
    "no AWS credentials found (tried the environment's AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, the shared config and credentials files with AWS_PROFILE or the default profile, SSO, web identity, the container role and the EC2 instance role); set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, pick a profile with AWS_PROFILE, or run `aws sso login`"
)]
pub struct NoCredentials;

/// A credentials provider of the chain failed (a profile that does not parse, an SSO session
/// that needs a login, a credential process that exited non-zero).
#[derive(Debug, thiserror::Error)]
#[error("cannot load AWS credentials: {0}")]
pub struct CredentialsFailed(pub String);

/// The IAM action an agsl storage operation needs.
fn action(operation: &str) -> &'static str {
    match operation {
        "list" => "s3:ListBucket",
        "read" => "s3:GetObject",
        "delete" => "s3:DeleteObject",
        "copy" => "s3:GetObject and s3:PutObject",
        _ => "s3:PutObject",
    }
}

/// The text between `<tag>` and `</tag>` in `text`.
fn element<'a>(text: &'a str, tag: &str) -> Option<&'a str> {
    let start = text.find(&format!("<{tag}>"))? + tag.len() + 2;
    let end = start + text[start..].find(&format!("</{tag}>"))?;
    Some(&text[start..end])
}

/// The bucket of an `s3://bucket/key` location.
fn bucket(location: &str) -> &str {
    let rest = location.strip_prefix("s3://").unwrap_or(location);
    rest.split('/').next().unwrap_or(rest)
}

/// Whether S3 refused the request to these credentials (HTTP 403 `AccessDenied`), rather
/// than failing it.
pub(super) fn is_access_denied(error: &object_store::Error) -> bool {
    matches!(error, object_store::Error::PermissionDenied { .. })
        || element(&error.to_string(), "Code") == Some("AccessDenied")
}

/// Whether S3 refused a read because the object is archived (`InvalidObjectState`: Glacier
/// Flexible Retrieval, Deep Archive, an Intelligent-Tiering archive tier) and not restored.
pub(super) fn is_archived(error: &object_store::Error) -> bool {
    element(&error.to_string(), "Code") == Some("InvalidObjectState")
}

/// The one-line message for `operation` on `location` failing with `error`.
pub(super) fn describe(operation: &str, location: &str, error: &object_store::Error) -> String {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = cause {
        if let Some(missing) = current.downcast_ref::<NoCredentials>() {
            return format!("cannot {operation} `{location}`: {missing}");
        }
        if let Some(failed) = current.downcast_ref::<CredentialsFailed>() {
            return format!("cannot {operation} `{location}`: {failed}");
        }
        cause = current.source();
    }
    if operation == "read" && matches!(error, object_store::Error::NotFound { .. }) {
        // agsl reads only what it has just listed or what its own state records.
        return format!(
            "cannot read `{location}`: the object is gone, deleted after agsl listed or recorded it (by a lifecycle expiration rule, or by hand)"
        );
    }
    let text = error.to_string();
    let message = element(&text, "Message").unwrap_or("");
    match element(&text, "Code") {
        Some("AccessDenied" | "AllAccessDisabled" | "AccountProblem") => format!(
            "access denied: {} on `{location}` was refused ({message}); the credentials' IAM policy, the bucket policy or the KMS key policy must allow it (the README lists what a run needs)",
            action(operation)
        ),
        Some("KMS.DisabledException" | "KMS.NotFoundException" | "KMSAccessDeniedException") => {
            format!("cannot {operation} `{location}`: the KMS key refused it ({message})")
        }
        Some("ExpiredToken" | "TokenRefreshRequired" | "RequestExpired") => format!(
            "cannot {operation} `{location}`: the AWS session token has expired; refresh the credentials (`aws sso login`, or new STS credentials) and run again"
        ),
        Some("InvalidAccessKeyId" | "SignatureDoesNotMatch" | "InvalidToken") => format!(
            "cannot {operation} `{location}`: S3 refused the AWS credentials ({message}); check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or the profile"
        ),
        Some("NoSuchBucket") => format!(
            "cannot {operation} `{location}`: bucket `{}` does not exist",
            bucket(location)
        ),
        Some(
            "PermanentRedirect"
            | "AuthorizationHeaderMalformed"
            | "IllegalLocationConstraintException",
        ) => format!(
            "cannot {operation} `{location}`: bucket `{}` is in another region than the one asked ({message}); leave out --region (agsl asks S3 for the bucket's region) or give the right one",
            bucket(location)
        ),
        Some("InvalidObjectState") => format!(
            "cannot {operation} `{location}`: the object is archived (S3 Glacier Flexible Retrieval or Deep Archive, or an Intelligent-Tiering archive tier) and must be restored before it can be read (`aws s3api restore-object`); --skip-archived converts the rest and leaves such objects for a later run, --since leaves them out of the window"
        ),
        Some(code) => format!("cannot {operation} `{location}`: S3 answered {code}: {message}"),
        None => format!("cannot {operation} `{location}`: {error}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(body: &str) -> object_store::Error {
        object_store::Error::Generic {
            store: "S3",
            source: format!("Server returned non-2xx status code: 403 Forbidden: {body}").into(),
        }
    }

    #[test]
    fn refusals_name_the_action_and_what_to_do() {
        let denied =
            refused("<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>");
        let line = describe("read", "s3://logs/a/b.gz", &denied);
        assert!(
            line.contains("s3:GetObject on `s3://logs/a/b.gz`"),
            "{line}"
        );
        let expired = refused("<Error><Code>ExpiredToken</Code><Message>x</Message></Error>");
        assert!(describe("list", "s3://logs/", &expired).contains("expired"));
        let missing = refused("<Error><Code>NoSuchBucket</Code><Message>x</Message></Error>");
        assert!(describe("list", "s3://logs/p", &missing).contains("bucket `logs` does not exist"));
        let archived = refused(
            "<Error><Code>InvalidObjectState</Code><Message>The operation is not valid for the object's storage class</Message></Error>",
        );
        let line = describe("read", "s3://logs/old.gz", &archived);
        assert!(
            line.contains("archived") && line.contains("--skip-archived"),
            "{line}"
        );
        let other = refused("<Error><Code>SlowDown</Code><Message>Reduce</Message></Error>");
        assert!(is_archived(&archived) && !is_archived(&other));
        assert_eq!(
            describe("write", "s3://b/k", &other),
            "cannot write `s3://b/k`: S3 answered SlowDown: Reduce"
        );
        let credentials = object_store::Error::Generic {
            store: "S3",
            source: Box::new(NoCredentials),
        };
        assert!(describe("list", "s3://b/", &credentials).contains("AWS_PROFILE"));
        let gone = object_store::Error::NotFound {
            path: "old.gz".into(),
            source: "404 Not Found".into(),
        };
        assert_eq!(
            describe("read", "s3://logs/old.gz", &gone),
            "cannot read `s3://logs/old.gz`: the object is gone, deleted after agsl listed or recorded it (by a lifecycle expiration rule, or by hand)"
        );
        assert!(describe("rename", "s3://logs/old.gz", &gone).contains("404 Not Found"));
        assert!(is_access_denied(&denied));
        assert!(!is_access_denied(&expired) && !is_access_denied(&credentials));
    }
}
