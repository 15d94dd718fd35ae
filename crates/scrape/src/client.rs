//! Builds the HTTP client of a scrape pool from its `HttpClientConfig`: authentication
//! headers, TLS (CA, client certificate, `server_name`, `insecure_skip_verify`), proxy,
//! redirects and HTTP/2.

use base64::Engine;
use ember_config::{HttpClientConfig, Secret, TlsConfig};
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime, pem::PemObject};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::path::Path;
use std::sync::Arc;

/// Builds a client; errors name the setting that failed.
pub fn build_client(cfg: &HttpClientConfig) -> Result<reqwest::Client, String> {
    let mut builder = reqwest::Client::builder()
        .default_headers(auth_headers(cfg)?)
        .tls_backend_preconfigured(tls_config(&cfg.tls)?)
        .redirect(if cfg.follow_redirects {
            reqwest::redirect::Policy::limited(10)
        } else {
            reqwest::redirect::Policy::none()
        });
    if !cfg.enable_http2 {
        builder = builder.http1_only();
    }
    match &cfg.proxy.proxy_url {
        Some(url) => {
            builder = builder
                .proxy(reqwest::Proxy::all(url).map_err(|e| format!("invalid proxy_url: {e}"))?)
        }
        None if !cfg.proxy.proxy_from_environment => builder = builder.no_proxy(),
        None => {}
    }
    builder
        .build()
        .map_err(|e| format!("error creating HTTP client: {e}"))
}

fn read_secret(inline: Option<&Secret>, file: Option<&Path>, what: &str) -> Result<String, String> {
    match (inline, file) {
        (Some(s), _) => Ok(s.expose().to_string()),
        (None, Some(f)) => std::fs::read_to_string(f)
            .map(|s| s.trim().to_string())
            .map_err(|e| format!("unable to read {what} file {}: {e}", f.display())),
        (None, None) => Ok(String::new()),
    }
}

fn auth_headers(cfg: &HttpClientConfig) -> Result<HeaderMap, String> {
    let mut headers = HeaderMap::new();
    let value = if let Some(b) = &cfg.basic_auth {
        let user = match &b.username_file {
            Some(f) => read_secret(None, Some(f), "username")?,
            None => b.username.clone(),
        };
        let password = read_secret(b.password.as_ref(), b.password_file.as_deref(), "password")?;
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        Some(format!("Basic {token}"))
    } else if let Some(a) = &cfg.authorization {
        let credentials = read_secret(
            a.credentials.as_ref(),
            a.credentials_file.as_deref(),
            "credentials",
        )?;
        Some(format!("{} {credentials}", a.kind))
    } else {
        None
    };
    if let Some(v) = value {
        let mut v =
            HeaderValue::from_str(&v).map_err(|e| format!("invalid authorization header: {e}"))?;
        v.set_sensitive(true);
        headers.insert(AUTHORIZATION, v);
    }
    for (name, h) in &cfg.http_headers {
        let name = reqwest::header::HeaderName::from_bytes(name.as_bytes())
            .map_err(|e| format!("invalid header {name:?}: {e}"))?;
        let mut values: Vec<String> = h.values.clone();
        values.extend(h.secrets.iter().map(|s| s.expose().to_string()));
        for f in &h.files {
            values.push(read_secret(None, Some(f), "http_headers")?);
        }
        for v in values {
            headers.append(
                &name,
                HeaderValue::from_str(&v)
                    .map_err(|e| format!("invalid header value for {name}: {e}"))?,
            );
        }
    }
    Ok(headers)
}

fn pem_or_file(
    inline: Option<&str>,
    file: Option<&Path>,
    what: &str,
) -> Result<Option<Vec<u8>>, String> {
    match (inline, file) {
        (Some(s), _) => Ok(Some(s.as_bytes().to_vec())),
        (None, Some(f)) => std::fs::read(f)
            .map(Some)
            .map_err(|e| format!("unable to read {what} {}: {e}", f.display())),
        (None, None) => Ok(None),
    }
}

fn tls_config(tls: &TlsConfig) -> Result<rustls::ClientConfig, String> {
    let mut roots = RootCertStore::empty();
    match pem_or_file(tls.ca.as_deref(), tls.ca_file.as_deref(), "CA cert")? {
        Some(pem) => {
            for cert in CertificateDer::pem_slice_iter(&pem) {
                let cert = cert.map_err(|e| format!("unable to use specified CA cert: {e}"))?;
                roots
                    .add(cert)
                    .map_err(|e| format!("unable to use specified CA cert: {e}"))?;
            }
        }
        None => {
            for cert in rustls_native_certs::load_native_certs().certs {
                let _ = roots.add(cert);
            }
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?;
    let verifier: Arc<dyn ServerCertVerifier> = {
        let webpki = rustls::client::WebPkiServerVerifier::builder_with_provider(
            Arc::new(roots),
            provider.clone(),
        )
        .build()
        .map_err(|e| format!("unable to build TLS verifier: {e}"))?;
        Arc::new(Verifier {
            inner: webpki,
            server_name: tls.server_name.clone(),
            skip: tls.insecure_skip_verify,
        })
    };
    let builder = builder
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let cert = pem_or_file(tls.cert.as_deref(), tls.cert_file.as_deref(), "client cert")?;
    let key = pem_or_file(
        tls.key.as_ref().map(|k| k.expose()),
        tls.key_file.as_deref(),
        "client key",
    )?;
    let mut config = match (cert, key) {
        (Some(cert), Some(key)) => {
            let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert)
                .collect::<Result<_, _>>()
                .map_err(|e| format!("unable to load client cert: {e}"))?;
            let key = PrivateKeyDer::from_pem_slice(&key)
                .map_err(|e| format!("unable to load client key: {e}"))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| format!("unable to use client cert: {e}"))?
        }
        _ => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// Verifies against `server_name` when set, or accepts any certificate when
/// `insecure_skip_verify` is on (signatures are still checked).
#[derive(Debug)]
struct Verifier {
    inner: Arc<rustls::client::WebPkiServerVerifier>,
    server_name: Option<String>,
    skip: bool,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if self.skip {
            return Ok(ServerCertVerified::assertion());
        }
        match &self.server_name {
            Some(name) => {
                let name = ServerName::try_from(name.as_str())
                    .map_err(|e| rustls::Error::General(e.to_string()))?;
                self.inner
                    .verify_server_cert(end_entity, intermediates, &name, ocsp, now)
            }
            None => {
                self.inner
                    .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
            }
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}
