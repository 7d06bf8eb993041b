//! S3 through `object_store`, signed with credentials from the standard AWS chain (`aws-config`:
//! environment, shared profiles, SSO, web identity, container and instance roles), which
//! `object_store` alone does not cover. Credentials are never logged: only the bridge sees them.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_config::environment::EnvironmentVariableCredentialsProvider;
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey, AwsCredential};
use object_store::{ClientOptions, CredentialProvider, RetryConfig};
use tokio::sync::Mutex;

use super::failure::{CredentialsFailed, NoCredentials};
use super::{Encryption, StorageError, StorageOptions};

/// Transient failures (5xx, throttling, timeouts, connection resets) are retried with
/// exponential backoff and jitter by `object_store`'s client, within these bounds.
fn retry_config() -> RetryConfig {
    RetryConfig {
        max_retries: 10,
        retry_timeout: Duration::from_secs(180),
        ..RetryConfig::default()
    }
}

/// The standard AWS configuration (region, endpoint, credentials chain), `region` over it, for
/// S3 and Glue alike. With keys in the environment the credentials chain is that first link
/// alone: such keys win over every other source of the standard chain, and building the rest
/// of it builds an STS client, for requests it would never make, whose TLS setup reads and
/// parses the system's root certificates (a dry run from S3: 14.8 ms with it, 10.9 without).
pub(crate) async fn aws_sdk_config(region: Option<&str>) -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if let Some(region) = region {
        loader = loader.region(aws_config::Region::new(region.to_owned()));
    }
    let key_set = |name| std::env::var(name).is_ok_and(|value| !value.trim().is_empty());
    if key_set("AWS_ACCESS_KEY_ID") && key_set("AWS_SECRET_ACCESS_KEY") {
        loader = loader.credentials_provider(EnvironmentVariableCredentialsProvider::new());
    }
    loader.load().await
}

/// Builds the S3 store of `bucket`. With an endpoint (S3-compatible stores, the moto emulator)
/// requests are path-style and may be plain HTTP; without one the bucket's region is asked of S3.
pub(super) async fn s3_store(
    bucket: &str,
    options: &StorageOptions,
) -> Result<object_store::aws::AmazonS3, StorageError> {
    let config = aws_sdk_config(options.region.as_deref()).await;
    let credentials = config.credentials_provider().ok_or_else(|| {
        StorageError::Credentials("no AWS credentials provider is configured".into())
    })?;
    // `--endpoint-url`, else the standard `AWS_ENDPOINT_URL(_S3)` settings.
    let endpoint_url = options
        .endpoint_url
        .clone()
        .or_else(|| config.endpoint_url().map(str::to_owned));
    let client_options = ClientOptions::new().with_timeout(Duration::from_secs(60));
    let region = match (&endpoint_url, &options.region) {
        (_, Some(region)) => region.clone(),
        (Some(_), None) => config
            .region()
            .map_or_else(|| "us-east-1".to_owned(), ToString::to_string),
        (None, None) => object_store::aws::resolve_bucket_region(bucket, &client_options)
            .await
            .ok()
            .or_else(|| config.region().map(ToString::to_string))
            .unwrap_or_else(|| "us-east-1".to_owned()),
    };
    let mut builder = AmazonS3Builder::new()
        .with_bucket_name(bucket)
        .with_region(region)
        .with_credentials(Arc::new(CredentialBridge::new(credentials)))
        .with_retry(retry_config())
        .with_client_options(client_options);
    // object_store names SSE-S3 and key-less SSE-KMS only through its configuration keys.
    let sse: AmazonS3ConfigKey =
        "aws_server_side_encryption"
            .parse()
            .map_err(|error| StorageError::Request {
                operation: "configure S3 encryption",
                location: format!("s3://{bucket}"),
                error,
            })?;
    builder = match &options.encryption {
        None => builder,
        Some(Encryption::S3Managed) => builder.with_config(sse, "AES256"),
        Some(Encryption::Kms { key_id: None }) => builder.with_config(sse, "aws:kms"),
        Some(Encryption::Kms { key_id: Some(key) }) => builder.with_sse_kms_encryption(key),
    };
    if let Some(endpoint) = &endpoint_url {
        builder = builder
            .with_endpoint(endpoint)
            .with_allow_http(endpoint.starts_with("http://"))
            .with_virtual_hosted_style_request(false);
    }
    builder.build().map_err(|error| StorageError::Request {
        operation: "configure S3",
        location: format!("s3://{bucket}"),
        error,
    })
}

/// An error and its causes, `: `-separated (the SDK's messages put the useful part last).
fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(current) = cause {
        let next = current.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        cause = current.source();
    }
    text
}

/// Renew cached credentials this long before they expire.
const REFRESH_MARGIN: Duration = Duration::from_secs(300);

/// Hands `aws-config` credentials to `object_store`, cached until shortly before they expire
/// (the chain's providers would otherwise be asked on every request).
#[derive(Debug)]
struct CredentialBridge {
    provider: SharedCredentialsProvider,
    cached: Mutex<Option<(Arc<AwsCredential>, Option<SystemTime>)>>,
}

impl CredentialBridge {
    fn new(provider: SharedCredentialsProvider) -> Self {
        Self {
            provider,
            cached: Mutex::new(None),
        }
    }
}

#[async_trait::async_trait]
impl CredentialProvider for CredentialBridge {
    type Credential = AwsCredential;

    async fn get_credential(&self) -> object_store::Result<Arc<AwsCredential>> {
        let mut cached = self.cached.lock().await;
        if let Some((credential, expiry)) = cached.as_ref() {
            let fresh = expiry.is_none_or(|e| e > SystemTime::now() + REFRESH_MARGIN);
            if fresh {
                return Ok(credential.clone());
            }
        }
        let credentials = self.provider.provide_credentials().await.map_err(|error| {
            let detail = with_causes(&error);
            tracing::debug!(error = %detail, "loading AWS credentials failed");
            // The chain stops at the first provider that fails outright; the instance
            // metadata service is its last, so failing there means nothing earlier had any.
            let source: Box<dyn std::error::Error + Send + Sync> = match error {
                CredentialsError::CredentialsNotLoaded(_) => Box::new(NoCredentials),
                _ if detail.contains("IMDS") => Box::new(NoCredentials),
                _ => Box::new(CredentialsFailed(detail)),
            };
            object_store::Error::Generic {
                store: "S3",
                source,
            }
        })?;
        let credential = Arc::new(AwsCredential {
            key_id: credentials.access_key_id().to_owned(),
            secret_key: credentials.secret_access_key().to_owned(),
            token: credentials.session_token().map(str::to_owned),
        });
        *cached = Some((credential.clone(), credentials.expiry()));
        Ok(credential)
    }
}
