//! TLS for scrapes: the rustls client configuration of a job's `tls_config`.
//!
//! Trust comes from the system's certificates (through the platform verifier, as reqwest does) or
//! from `ca` / `ca_file`; a client certificate from `cert` / `cert_file` with `key` / `key_file`.
//! `server_name` replaces the target's host when the server's certificate is checked,
//! `insecure_skip_verify` skips that check (the handshake's signatures are still verified), and
//! `min_version` / `max_version` bound the protocol (rustls speaks TLS 1.2 and 1.3 only).
//!
//! Certificate and key files are checked for changes at each handshake and read again when they
//! changed, so certificates rotated on disk are picked up without a reload, as Prometheus does. A
//! changed file that does not parse is reported and the previous certificates stay in use.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use rustls::client::ResolvesClientCert;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::sign::CertifiedKey;
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::client::{Secret, TlsSettings};
use crate::error::Error;

/// Builds the rustls configuration of one job's `tls_config`. Files are read now, so a missing or
/// invalid one is reported when the configuration is loaded.
pub(crate) fn client_config(tls: &TlsSettings) -> Result<rustls::ClientConfig, Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let versions = versions(tls.min_version.as_deref(), tls.max_version.as_deref())?;
    let server_name = match &tls.server_name {
        Some(name) => Some(
            ServerName::try_from(name.clone())
                .map_err(|e| Error::Http(format!("invalid tls_config server_name {name:?}: {e}")))?,
        ),
        None => None,
    };
    let trust = if tls.insecure_skip_verify {
        Trust::Insecure
    } else if let Some(ca) = &tls.ca {
        Trust::Roots(Reloading::new(vec![ca.clone()], "ca", provider.clone(), parse_roots)?)
    } else {
        let platform = rustls_platform_verifier::Verifier::new(provider.clone())
            .map_err(|e| Error::Http(format!("loading the system's certificates: {e}")))?;
        Trust::System(Arc::new(platform))
    };
    let verifier = Arc::new(Verifier {
        trust,
        server_name,
        provider: provider.clone(),
    });
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions)
        .map_err(|e| Error::Http(format!("tls_config versions: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let mut config = match (&tls.cert, &tls.key) {
        (Some(cert), Some(key)) => {
            let sources = vec![cert.clone(), key.clone()];
            let resolver = ClientCert(Reloading::new(sources, "client certificate", provider, parse_identity)?);
            builder.with_client_cert_resolver(Arc::new(resolver))
        }
        (None, None) => builder.with_no_client_auth(),
        _ => return Err(Error::Http("tls_config needs both a certificate and its key".into())),
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// The protocol versions between `min` (default TLS 1.2, as Prometheus) and `max`, spelled as in
/// Prometheus (`TLS10` … `TLS13`).
fn versions(min: Option<&str>, max: Option<&str>) -> Result<Vec<&'static rustls::SupportedProtocolVersion>, Error> {
    fn rank(name: &str, key: &str) -> Result<u8, Error> {
        match name {
            "TLS10" => Ok(0),
            "TLS11" => Ok(1),
            "TLS12" => Ok(2),
            "TLS13" => Ok(3),
            other => Err(Error::Http(format!(
                "unknown TLS version {other:?} in tls_config {key}"
            ))),
        }
    }
    let low = min.map(|m| rank(m, "min_version")).transpose()?.unwrap_or(2);
    let high = max.map(|m| rank(m, "max_version")).transpose()?.unwrap_or(3);
    if high < 2 {
        return Err(Error::Http(format!(
            "tls_config max_version {}: Loupe speaks TLS 1.2 and 1.3 only",
            max.unwrap_or_default()
        )));
    }
    if low > high {
        return Err(Error::Http(format!(
            "tls_config max_version {} is older than min_version {}",
            max.unwrap_or_default(),
            min.unwrap_or_default()
        )));
    }
    // TLS 1.0 and 1.1 as the minimum mean TLS 1.2: rustls has no older versions.
    let mut versions = Vec::new();
    if high >= 3 {
        versions.push(&rustls::version::TLS13);
    }
    if low <= 2 {
        versions.push(&rustls::version::TLS12);
    }
    Ok(versions)
}

/// PEM text of CA certificates → a verifier trusting exactly them.
fn parse_roots(pems: &[String], provider: &Arc<CryptoProvider>) -> Result<Arc<WebPkiServerVerifier>, String> {
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(pems[0].as_bytes()) {
        let cert = cert.map_err(|e| format!("invalid PEM: {e}"))?;
        roots.add(cert).map_err(|e| format!("invalid certificate: {e}"))?;
    }
    if roots.is_empty() {
        return Err("no certificate found".into());
    }
    WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| e.to_string())
}

/// PEM texts of a certificate chain and its private key → a client identity.
fn parse_identity(pems: &[String], provider: &Arc<CryptoProvider>) -> Result<Arc<CertifiedKey>, String> {
    let chain = CertificateDer::pem_slice_iter(pems[0].as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("invalid certificate PEM: {e}"))?;
    if chain.is_empty() {
        return Err("no certificate found".into());
    }
    let key = PrivateKeyDer::from_pem_slice(pems[1].as_bytes()).map_err(|e| format!("invalid key PEM: {e}"))?;
    CertifiedKey::from_der(chain, key, provider)
        .map(Arc::new)
        .map_err(|e| format!("certificate and key: {e}"))
}

/// When a file was last changed and its length; `None` for inline values and unreadable files.
type Stamp = Option<(SystemTime, u64)>;

fn stamps(sources: &[Secret]) -> Vec<Stamp> {
    sources
        .iter()
        .map(|source| match source {
            Secret::Inline(_) => None,
            Secret::File(path) => std::fs::metadata(path)
                .ok()
                .and_then(|m| Some((m.modified().ok()?, m.len()))),
        })
        .collect()
}

type Parse<T> = fn(&[String], &Arc<CryptoProvider>) -> Result<T, String>;

/// A value built from secrets (inline or files), built again when one of the files changes.
struct Reloading<T> {
    sources: Vec<Secret>,
    what: &'static str,
    provider: Arc<CryptoProvider>,
    parse: Parse<T>,
    state: Mutex<(Vec<Stamp>, T)>,
}

impl<T: Clone> Reloading<T> {
    fn new(
        sources: Vec<Secret>,
        what: &'static str,
        provider: Arc<CryptoProvider>,
        parse: Parse<T>,
    ) -> Result<Self, Error> {
        let stamps = stamps(&sources);
        let value =
            Self::build(&sources, &provider, parse).map_err(|e| Error::Http(format!("tls_config {what}: {e}")))?;
        Ok(Reloading {
            sources,
            what,
            provider,
            parse,
            state: Mutex::new((stamps, value)),
        })
    }

    fn build(sources: &[Secret], provider: &Arc<CryptoProvider>, parse: Parse<T>) -> Result<T, String> {
        let texts = sources
            .iter()
            .map(|s| s.read().map_err(|e| e.to_string()))
            .collect::<Result<Vec<_>, _>>()?;
        parse(&texts, provider)
    }

    /// The current value, read again first if a file changed since the last time.
    fn get(&self) -> T {
        let now = stamps(&self.sources);
        let mut state = self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if state.0 != now {
            match Self::build(&self.sources, &self.provider, self.parse) {
                Ok(value) => {
                    tracing::info!(what = self.what, "tls files changed, reloaded");
                    state.1 = value;
                }
                Err(error) => {
                    tracing::warn!(what = self.what, %error, "tls files changed but do not load, keeping the previous ones");
                }
            }
            state.0 = now;
        }
        state.1.clone()
    }
}

impl<T> fmt::Debug for Reloading<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reloading")
            .field("what", &self.what)
            .field("sources", &self.sources.len())
            .finish()
    }
}

/// Where the server's certificate chain is checked against.
#[derive(Debug)]
enum Trust {
    /// Any certificate (`insecure_skip_verify`).
    Insecure,
    /// The system's trust store.
    System(Arc<rustls_platform_verifier::Verifier>),
    /// `ca` / `ca_file`.
    Roots(Reloading<Arc<WebPkiServerVerifier>>),
}

/// Checks the server's certificate for `server_name` when set, else for the target's host.
#[derive(Debug)]
struct Verifier {
    trust: Trust,
    server_name: Option<ServerName<'static>>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let name = self.server_name.as_ref().unwrap_or(server_name);
        match &self.trust {
            Trust::Insecure => Ok(ServerCertVerified::assertion()),
            Trust::System(verifier) => verifier.verify_server_cert(end_entity, intermediates, name, ocsp_response, now),
            Trust::Roots(roots) => roots
                .get()
                .verify_server_cert(end_entity, intermediates, name, ocsp_response, now),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

/// The client certificate, read again when its files change.
#[derive(Debug)]
struct ClientCert(Reloading<Arc<CertifiedKey>>);

impl ResolvesClientCert for ClientCert {
    fn resolve(&self, _root_hint_subjects: &[&[u8]], _sigschemes: &[SignatureScheme]) -> Option<Arc<CertifiedKey>> {
        Some(self.0.get())
    }

    fn has_certs(&self) -> bool {
        true
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod tests {
    use super::*;
    use rcgen::{BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair};
    use rustls::server::WebPkiClientVerifier;
    use rustls::{ClientConnection, ServerConfig, ServerConnection};

    /// A certificate authority that signs server and client certificates.
    pub(crate) struct TestCa {
        /// The CA certificate, PEM.
        pub pem: String,
        issuer: Issuer<'static, KeyPair>,
    }

    impl TestCa {
        pub(crate) fn new(name: &str) -> TestCa {
            let key = KeyPair::generate().unwrap();
            let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
            params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            params.distinguished_name.push(DnType::CommonName, name);
            let cert = params.self_signed(&key).unwrap();
            TestCa {
                pem: cert.pem(),
                issuer: Issuer::new(params, key),
            }
        }

        /// A certificate for `names` (server) or for a client; returns (certificate PEM, key PEM).
        pub(crate) fn issue(&self, names: &[&str], client: bool) -> (String, String) {
            let key = KeyPair::generate().unwrap();
            let mut params = CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap();
            params.extended_key_usages = vec![if client {
                ExtendedKeyUsagePurpose::ClientAuth
            } else {
                ExtendedKeyUsagePurpose::ServerAuth
            }];
            let cert = params.signed_by(&key, &self.issuer).unwrap();
            (cert.pem(), key.serialize_pem())
        }
    }

    /// A server configuration with this certificate, requiring client certificates from `clients`.
    pub(crate) fn server_config(cert: &(String, String), clients: Option<&TestCa>) -> Arc<ServerConfig> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let chain = CertificateDer::pem_slice_iter(cert.0.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        let key = PrivateKeyDer::from_pem_slice(cert.1.as_bytes()).unwrap();
        let builder = ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .unwrap();
        let builder = match clients {
            Some(ca) => {
                let mut roots = RootCertStore::empty();
                roots
                    .add(CertificateDer::from_pem_slice(ca.pem.as_bytes()).unwrap())
                    .unwrap();
                let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                    .build()
                    .unwrap();
                builder.with_client_cert_verifier(verifier)
            }
            None => builder.with_no_client_auth(),
        };
        Arc::new(builder.with_single_cert(chain, key).unwrap())
    }

    /// Runs a handshake in memory; the first error of either side.
    fn handshake(client: &TlsSettings, server: Arc<ServerConfig>, host: &str) -> Result<(), rustls::Error> {
        handshake_with(Arc::new(client_config(client).unwrap()), server, host)
    }

    fn handshake_with(
        config: Arc<rustls::ClientConfig>,
        server: Arc<ServerConfig>,
        host: &str,
    ) -> Result<(), rustls::Error> {
        let mut c = ClientConnection::new(config, ServerName::try_from(host.to_string()).unwrap())?;
        let mut s = ServerConnection::new(server)?;
        for _ in 0..20 {
            let mut buf = Vec::new();
            while c.wants_write() {
                c.write_tls(&mut buf).unwrap();
            }
            if !buf.is_empty() {
                s.read_tls(&mut buf.as_slice()).unwrap();
                s.process_new_packets()?;
            }
            let mut buf = Vec::new();
            while s.wants_write() {
                s.write_tls(&mut buf).unwrap();
            }
            if !buf.is_empty() {
                c.read_tls(&mut buf.as_slice()).unwrap();
                c.process_new_packets()?;
            }
            if !c.is_handshaking() && !s.is_handshaking() && !c.wants_write() {
                return Ok(());
            }
        }
        Err(rustls::Error::General("handshake stalled".into()))
    }

    fn inline(text: &str) -> Option<Secret> {
        Some(Secret::Inline(text.to_string()))
    }

    #[test]
    fn server_certificates_are_checked_for_the_server_name() {
        let ca = TestCa::new("scrape ca");
        let server = server_config(&ca.issue(&["scrape.test"], false), None);
        let trusting = TlsSettings {
            ca: inline(&ca.pem),
            ..Default::default()
        };
        handshake(&trusting, server.clone(), "scrape.test").unwrap();
        // Reached by address, the certificate's name does not match…
        let error = handshake(&trusting, server.clone(), "127.0.0.1").unwrap_err();
        assert!(error.to_string().contains("not valid for name"), "{error}");
        // …unless server_name says which name to check.
        let named = TlsSettings {
            server_name: Some("scrape.test".into()),
            ..trusting.clone()
        };
        handshake(&named, server.clone(), "127.0.0.1").unwrap();
        let wrong = TlsSettings {
            server_name: Some("other.test".into()),
            ..trusting.clone()
        };
        assert!(handshake(&wrong, server.clone(), "scrape.test").is_err());
        // Another CA is not trusted; insecure_skip_verify trusts anything.
        let other = TlsSettings {
            ca: inline(&TestCa::new("other").pem),
            ..Default::default()
        };
        let error = handshake(&other, server.clone(), "scrape.test").unwrap_err();
        assert!(error.to_string().contains("UnknownIssuer"), "{error}");
        let insecure = TlsSettings {
            insecure_skip_verify: true,
            ..Default::default()
        };
        handshake(&insecure, server.clone(), "127.0.0.1").unwrap();
        // The system's store does not know the test CA.
        assert!(handshake(&TlsSettings::default(), server, "scrape.test").is_err());
    }

    #[test]
    fn client_certificates_are_presented() {
        let ca = TestCa::new("scrape ca");
        let clients = TestCa::new("client ca");
        let server = server_config(&ca.issue(&["scrape.test"], false), Some(&clients));
        let (cert, key) = clients.issue(&["loupe"], true);
        let with_cert = TlsSettings {
            ca: inline(&ca.pem),
            cert: inline(&cert),
            key: inline(&key),
            ..Default::default()
        };
        handshake(&with_cert, server.clone(), "scrape.test").unwrap();
        let without = TlsSettings {
            ca: inline(&ca.pem),
            ..Default::default()
        };
        let error = handshake(&without, server.clone(), "scrape.test").unwrap_err();
        assert!(error.to_string().contains("no certificates"), "{error}");
        // A key that is not the certificate's is refused when the configuration loads.
        let (_, other_key) = clients.issue(&["loupe"], true);
        let mismatched = TlsSettings {
            key: inline(&other_key),
            ..with_cert
        };
        let error = client_config(&mismatched).unwrap_err();
        assert!(
            error.to_string().starts_with("tls_config client certificate:"),
            "{error}"
        );
    }

    #[test]
    fn rotated_files_are_read_again() {
        let dir = tempfile::tempdir().unwrap();
        let ca_file = dir.path().join("ca.pem");
        let old_ca = TestCa::new("old");
        let new_ca = TestCa::new("new");
        std::fs::write(&ca_file, &old_ca.pem).unwrap();
        let settings = TlsSettings {
            ca: Some(Secret::File(ca_file.clone())),
            ..Default::default()
        };
        let config = Arc::new(client_config(&settings).unwrap());
        let old_server = server_config(&old_ca.issue(&["scrape.test"], false), None);
        let new_server = server_config(&new_ca.issue(&["scrape.test"], false), None);
        let run = |server: &Arc<ServerConfig>| handshake_with(config.clone(), server.clone(), "scrape.test");
        run(&old_server).unwrap();
        assert!(run(&new_server).is_err());
        // The file is replaced (a longer bundle: both CAs), without a reload.
        std::fs::write(&ca_file, format!("{}{}", new_ca.pem, old_ca.pem)).unwrap();
        run(&new_server).unwrap();
        run(&old_server).unwrap();
        // A broken file keeps the previous certificates.
        std::fs::write(&ca_file, "garbage").unwrap();
        run(&new_server).unwrap();
    }
}
