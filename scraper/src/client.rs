//! The HTTP side of a scrape: one client per job (authentication, TLS), one bounded GET per target.

use std::io::Read;
use std::path::PathBuf;
use std::sync::Once;
use std::time::Duration;

use crate::error::Error;

/// The `Accept` header Prometheus 3 sends by default: OpenMetrics preferred, then the text format.
pub const DEFAULT_ACCEPT: &str = "application/openmetrics-text;version=1.0.0;q=0.5,\
application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;q=0.3,\
text/plain;version=0.0.4;q=0.2,*/*;q=0.1";

/// A secret given inline or read from a file at each scrape (so rotated files are picked up).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Secret {
    /// The value itself.
    Inline(String),
    /// A file holding the value (trailing newline trimmed).
    File(PathBuf),
}

impl Secret {
    fn read(&self) -> Result<String, Error> {
        match self {
            Secret::Inline(value) => Ok(value.clone()),
            Secret::File(path) => std::fs::read_to_string(path)
                .map(|s| s.trim_end_matches(['\n', '\r']).to_string())
                .map_err(|e| Error::Http(format!("reading {}: {e}", path.display()))),
        }
    }
}

/// `basic_auth` or `authorization` of a job.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Auth {
    /// No credentials.
    #[default]
    None,
    /// HTTP basic authentication.
    Basic {
        /// The user name.
        username: Secret,
        /// The password (may be empty).
        password: Option<Secret>,
    },
    /// `Authorization: <type> <credentials>` (`Bearer` by default).
    Authorization {
        /// The scheme, e.g. `Bearer`.
        kind: String,
        /// The credentials.
        credentials: Secret,
    },
}

/// `tls_config` of a job.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TlsSettings {
    /// PEM file with the CA certificates to trust instead of the system's.
    pub ca_file: Option<PathBuf>,
    /// PEM client certificate, with `key_file`.
    pub cert_file: Option<PathBuf>,
    /// PEM client key, with `cert_file`.
    pub key_file: Option<PathBuf>,
    /// Accept any server certificate.
    pub insecure_skip_verify: bool,
    /// Oldest TLS version accepted: `TLS12` or `TLS13`.
    pub min_version: Option<String>,
}

/// How a job's client connects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpSettings {
    /// Credentials.
    pub auth: Auth,
    /// TLS options.
    pub tls: TlsSettings,
    /// Follow HTTP redirects (default true).
    pub follow_redirects: bool,
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            auth: Auth::None,
            tls: TlsSettings::default(),
            follow_redirects: true,
        }
    }
}

static CRYPTO: Once = Once::new();

/// Builds the HTTP client of a job.
pub fn build_client(settings: &HttpSettings) -> Result<reqwest::Client, Error> {
    CRYPTO.call_once(|| {
        // Fails only if another provider was installed first, which is as good.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
    let tls = &settings.tls;
    let mut builder = reqwest::Client::builder()
        .user_agent(concat!("Loupe/", env!("CARGO_PKG_VERSION")))
        .redirect(if settings.follow_redirects {
            reqwest::redirect::Policy::limited(10)
        } else {
            reqwest::redirect::Policy::none()
        })
        .pool_idle_timeout(Duration::from_secs(300))
        .danger_accept_invalid_certs(tls.insecure_skip_verify);
    if let Some(ca) = &tls.ca_file {
        let pem = std::fs::read(ca).map_err(|e| Error::Http(format!("reading ca_file {}: {e}", ca.display())))?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|e| Error::Http(format!("ca_file {}: {e}", ca.display())))?;
        if certs.is_empty() {
            return Err(Error::Http(format!("ca_file {}: no certificate found", ca.display())));
        }
        builder = builder.tls_certs_only(certs);
    }
    match (&tls.cert_file, &tls.key_file) {
        (Some(cert), Some(key)) => {
            let mut pem =
                std::fs::read(cert).map_err(|e| Error::Http(format!("reading cert_file {}: {e}", cert.display())))?;
            pem.push(b'\n');
            pem.extend(
                std::fs::read(key).map_err(|e| Error::Http(format!("reading key_file {}: {e}", key.display())))?,
            );
            let identity = reqwest::Identity::from_pem(&pem)
                .map_err(|e| Error::Http(format!("client certificate {}: {e}", cert.display())))?;
            builder = builder.identity(identity);
        }
        (None, None) => {}
        _ => return Err(Error::Http("tls_config needs both cert_file and key_file".into())),
    }
    match tls.min_version.as_deref() {
        None | Some("TLS12") => {}
        Some("TLS13") => builder = builder.tls_version_min(reqwest::tls::Version::TLS_1_3),
        Some(other) => return Err(Error::Http(format!("unsupported tls min_version {other:?}"))),
    }
    builder
        .build()
        .map_err(|e| Error::Http(format!("building http client: {e}")))
}

/// A fetched scrape body.
#[derive(Debug)]
pub struct Fetched {
    /// The uncompressed body.
    pub body: Vec<u8>,
    /// The response's `Content-Type`.
    pub content_type: String,
}

/// One scrape request: GET `url` with Prometheus's headers, the whole exchange bounded by `timeout`,
/// the body by `body_size_limit` (0: unlimited) after decompression.
pub async fn fetch(
    client: &reqwest::Client,
    url: &str,
    settings: &crate::target::ScrapeSettings,
    timeout: Duration,
) -> Result<Fetched, Error> {
    let mut request = client
        .get(url)
        .timeout(timeout)
        .header("Accept", &settings.accept)
        .header(
            "Accept-Encoding",
            if settings.enable_compression {
                "gzip"
            } else {
                "identity"
            },
        )
        .header(
            "X-Prometheus-Scrape-Timeout-Seconds",
            format!("{}", timeout.as_secs_f64()),
        );
    match &settings.http.auth {
        Auth::None => {}
        Auth::Basic { username, password } => {
            let password = password.as_ref().map(Secret::read).transpose()?;
            request = request.basic_auth(username.read()?, password);
        }
        Auth::Authorization { kind, credentials } => {
            request = request.header("Authorization", format!("{kind} {}", credentials.read()?));
        }
    }
    let mut response = request.send().await.map_err(|e| Error::Http(describe(&e)))?;
    let status = response.status();
    if !status.is_success() {
        return Err(Error::Http(format!("server returned HTTP status {status}")));
    }
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    let content_type = header("content-type");
    let gzip = header("content-encoding").eq_ignore_ascii_case("gzip");
    let limit = if settings.body_size_limit == 0 {
        u64::MAX
    } else {
        settings.body_size_limit
    };
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| Error::Http(describe(&e)))? {
        body.extend_from_slice(&chunk);
        if !gzip && body.len() as u64 > limit {
            return Err(Error::BodySizeLimit(limit));
        }
    }
    if gzip {
        let mut decoded = Vec::new();
        flate2::read::GzDecoder::new(body.as_slice())
            .take(limit.saturating_add(1))
            .read_to_end(&mut decoded)
            .map_err(|e| Error::Http(format!("decompressing gzip body: {e}")))?;
        if decoded.len() as u64 > limit {
            return Err(Error::BodySizeLimit(limit));
        }
        body = decoded;
    }
    Ok(Fetched { body, content_type })
}

fn describe(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        return "context deadline exceeded".into();
    }
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_settings_are_checked() {
        assert!(build_client(&HttpSettings::default()).is_ok());
        let insecure = HttpSettings {
            tls: TlsSettings {
                insecure_skip_verify: true,
                min_version: Some("TLS13".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        assert!(build_client(&insecure).is_ok());
        let missing_ca = HttpSettings {
            tls: TlsSettings {
                ca_file: Some("/nonexistent/ca.pem".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        let error = build_client(&missing_ca).expect_err("missing file");
        assert!(
            error.to_string().starts_with("reading ca_file /nonexistent/ca.pem"),
            "{error}"
        );
        let dir = tempfile::tempdir().expect("tempdir");
        let not_pem = dir.path().join("ca.pem");
        std::fs::write(&not_pem, "not a certificate").expect("write");
        let bad_ca = HttpSettings {
            tls: TlsSettings {
                ca_file: Some(not_pem),
                ..Default::default()
            },
            ..Default::default()
        };
        assert!(build_client(&bad_ca).is_err());
        let half = HttpSettings {
            tls: TlsSettings {
                cert_file: Some("/x.pem".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        assert_eq!(
            build_client(&half).expect_err("needs both").to_string(),
            "tls_config needs both cert_file and key_file"
        );
        let old = HttpSettings {
            tls: TlsSettings {
                min_version: Some("TLS10".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        assert!(build_client(&old).is_err());
    }

    #[test]
    fn secrets_from_files_are_trimmed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("token");
        std::fs::write(&file, "s3cret\n").expect("write");
        assert_eq!(Secret::File(file).read().expect("read"), "s3cret");
        assert!(Secret::File(dir.path().join("missing")).read().is_err());
    }
}
