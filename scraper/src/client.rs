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
    pub(crate) fn read(&self) -> Result<String, Error> {
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
    /// PEM CA certificates to trust instead of the system's (`ca` or `ca_file`).
    pub ca: Option<Secret>,
    /// PEM client certificate (`cert` or `cert_file`), with `key`.
    pub cert: Option<Secret>,
    /// PEM client key (`key` or `key_file`), with `cert`.
    pub key: Option<Secret>,
    /// The name the server's certificate must be valid for, instead of the target's host.
    pub server_name: Option<String>,
    /// Accept any server certificate.
    pub insecure_skip_verify: bool,
    /// Oldest TLS version accepted: `TLS10` … `TLS13` (default `TLS12`; rustls has none below).
    pub min_version: Option<String>,
    /// Newest TLS version offered: `TLS12` or `TLS13` (default).
    pub max_version: Option<String>,
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
    let builder = reqwest::Client::builder()
        .user_agent(concat!("Loupe/", env!("CARGO_PKG_VERSION")))
        .redirect(if settings.follow_redirects {
            reqwest::redirect::Policy::limited(10)
        } else {
            reqwest::redirect::Policy::none()
        })
        .pool_idle_timeout(Duration::from_secs(300))
        .tls_backend_preconfigured(crate::tls::client_config(&settings.tls)?);
    builder
        .build()
        .map_err(|e| Error::Http(format!("building http client: {e}")))
}

/// A fetched scrape body.
#[derive(Debug)]
pub struct Fetched {
    /// The body as received (gzip-compressed when `gzip`).
    pub body: Vec<u8>,
    /// The response's `Content-Type`.
    pub content_type: String,
    /// The body is gzip-compressed: [`Fetched::decoded`] inflates it.
    pub gzip: bool,
    /// The body size limit after decompression (0: unlimited).
    pub limit: u64,
}

impl Fetched {
    /// The uncompressed body, bounded by the body size limit. CPU work: call it off the async
    /// threads.
    pub fn decoded(self) -> Result<Vec<u8>, Error> {
        if !self.gzip {
            return Ok(self.body);
        }
        let limit = if self.limit == 0 { u64::MAX } else { self.limit };
        let mut decoded = Vec::with_capacity(self.body.len().saturating_mul(4).min(64 << 20));
        flate2::read::GzDecoder::new(self.body.as_slice())
            .take(limit.saturating_add(1))
            .read_to_end(&mut decoded)
            .map_err(|e| Error::Http(format!("decompressing gzip body: {e}")))?;
        if decoded.len() as u64 > limit {
            return Err(Error::BodySizeLimit(limit));
        }
        Ok(decoded)
    }
}

/// One scrape request: GET `url` with Prometheus's headers, the whole exchange bounded by `timeout`,
/// the body by `body_size_limit` (0: unlimited; after decompression, see [`Fetched::decoded`]).
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
        // A compressed body is bounded too: gzip makes incompressible data only slightly larger.
        let bound = if gzip {
            limit.saturating_add(limit / 16 + 4096)
        } else {
            limit
        };
        if body.len() as u64 > bound {
            return Err(Error::BodySizeLimit(limit));
        }
    }
    Ok(Fetched {
        body,
        content_type,
        gzip,
        limit: settings.body_size_limit,
    })
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

    fn tls(tls: TlsSettings) -> HttpSettings {
        HttpSettings {
            tls,
            ..Default::default()
        }
    }

    #[test]
    fn client_settings_are_checked() {
        assert!(build_client(&HttpSettings::default()).is_ok());
        let insecure = tls(TlsSettings {
            insecure_skip_verify: true,
            min_version: Some("TLS13".into()),
            ..Default::default()
        });
        assert!(build_client(&insecure).is_ok());
        let missing_ca = tls(TlsSettings {
            ca: Some(Secret::File("/nonexistent/ca.pem".into())),
            ..Default::default()
        });
        let error = build_client(&missing_ca).expect_err("missing file");
        assert!(
            error
                .to_string()
                .starts_with("tls_config ca: reading /nonexistent/ca.pem"),
            "{error}"
        );
        let not_pem = tls(TlsSettings {
            ca: Some(Secret::Inline("not a certificate".into())),
            ..Default::default()
        });
        assert_eq!(
            build_client(&not_pem).expect_err("no PEM").to_string(),
            "tls_config ca: no certificate found"
        );
        let half = tls(TlsSettings {
            cert: Some(Secret::File("/x.pem".into())),
            ..Default::default()
        });
        assert_eq!(
            build_client(&half).expect_err("needs both").to_string(),
            "tls_config needs both a certificate and its key"
        );
        // rustls has nothing older than TLS 1.2: a TLS 1.0 minimum is TLS 1.2, a TLS 1.1 maximum
        // cannot be honoured.
        let old = tls(TlsSettings {
            min_version: Some("TLS10".into()),
            ..Default::default()
        });
        assert!(build_client(&old).is_ok());
        let too_old = tls(TlsSettings {
            max_version: Some("TLS11".into()),
            ..Default::default()
        });
        assert_eq!(
            build_client(&too_old).expect_err("TLS 1.1").to_string(),
            "tls_config max_version TLS11: Loupe speaks TLS 1.2 and 1.3 only"
        );
        let inverted = tls(TlsSettings {
            min_version: Some("TLS13".into()),
            max_version: Some("TLS12".into()),
            ..Default::default()
        });
        assert_eq!(
            build_client(&inverted).expect_err("inverted").to_string(),
            "tls_config max_version TLS12 is older than min_version TLS13"
        );
        let unknown = tls(TlsSettings {
            min_version: Some("SSL3".into()),
            ..Default::default()
        });
        assert_eq!(
            build_client(&unknown).expect_err("unknown").to_string(),
            "unknown TLS version \"SSL3\" in tls_config min_version"
        );
        let bad_name = tls(TlsSettings {
            server_name: Some("not a name".into()),
            ..Default::default()
        });
        assert!(build_client(&bad_name).is_err());
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(bytes).expect("compress");
        encoder.finish().expect("finish")
    }

    #[test]
    fn bodies_are_inflated_within_the_size_limit() {
        let fetched = |body: Vec<u8>, gzip: bool, limit: u64| Fetched {
            body,
            content_type: String::new(),
            gzip,
            limit,
        };
        let text = b"up 1\n".repeat(100);
        assert_eq!(fetched(text.clone(), false, 0).decoded().expect("plain"), text);
        assert_eq!(fetched(gzip(&text), true, 500).decoded().expect("at the limit"), text);
        // A small compressed body that inflates past the limit stops there.
        let bomb = gzip(&vec![b'a'; 10 << 20]);
        assert!(bomb.len() < 20_000);
        assert_eq!(
            fetched(bomb, true, 499).decoded().expect_err("too large").to_string(),
            "body size limit exceeded (limit: 499 bytes)"
        );
        let error = fetched(b"not gzip".to_vec(), true, 0).decoded().expect_err("corrupt");
        assert!(error.to_string().starts_with("decompressing gzip body"), "{error}");
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
