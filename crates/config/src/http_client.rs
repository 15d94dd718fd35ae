//! HTTP client settings shared by scrape configs, Alertmanagers, remote write and read:
//! authentication, TLS, proxy, redirects, HTTP/2 and extra headers.

use crate::error::{Violation, violation};
use crate::raw::BaseDir;
use crate::secret::{Secret, nonempty};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Resolved HTTP client settings.
#[derive(Clone, Debug, PartialEq)]
pub struct HttpClientConfig {
    /// `basic_auth`.
    pub basic_auth: Option<BasicAuth>,
    /// `authorization`, also set from the legacy `bearer_token` / `bearer_token_file`.
    pub authorization: Option<Authorization>,
    /// `oauth2` (client-credentials flow).
    pub oauth2: Option<OAuth2>,
    /// `tls_config`.
    pub tls: TlsConfig,
    /// Proxy settings.
    pub proxy: ProxyConfig,
    /// `follow_redirects` (default true).
    pub follow_redirects: bool,
    /// `enable_http2` (default true; false for remote write).
    pub enable_http2: bool,
    /// `http_headers`: extra request headers by name.
    pub http_headers: BTreeMap<String, HttpHeader>,
}

/// HTTP basic authentication.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BasicAuth {
    /// `username`.
    pub username: String,
    /// `username_file`, resolved against the config directory.
    pub username_file: Option<PathBuf>,
    /// `password`.
    pub password: Option<Secret>,
    /// `password_file`, resolved against the config directory.
    pub password_file: Option<PathBuf>,
}

/// The `Authorization` header: `<type> <credentials>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Authorization {
    /// `type` (default `Bearer`).
    pub kind: String,
    /// `credentials`.
    pub credentials: Option<Secret>,
    /// `credentials_file`, resolved against the config directory.
    pub credentials_file: Option<PathBuf>,
}

/// OAuth 2.0 client-credentials settings.
#[derive(Clone, Debug, PartialEq)]
pub struct OAuth2 {
    /// `client_id`.
    pub client_id: String,
    /// `client_secret`.
    pub client_secret: Option<Secret>,
    /// `client_secret_file`, resolved against the config directory.
    pub client_secret_file: Option<PathBuf>,
    /// `scopes`.
    pub scopes: Vec<String>,
    /// `token_url`.
    pub token_url: String,
    /// `endpoint_params`.
    pub endpoint_params: BTreeMap<String, String>,
    /// `tls_config` for the token endpoint.
    pub tls: TlsConfig,
    /// Proxy for the token endpoint.
    pub proxy: ProxyConfig,
}

/// TLS settings.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsConfig {
    /// `ca`: CA certificates as PEM text.
    pub ca: Option<String>,
    /// `ca_file`, resolved against the config directory.
    pub ca_file: Option<PathBuf>,
    /// `cert`: client certificate as PEM text.
    pub cert: Option<String>,
    /// `cert_file`, resolved against the config directory.
    pub cert_file: Option<PathBuf>,
    /// `key`: client key as PEM text.
    pub key: Option<Secret>,
    /// `key_file`, resolved against the config directory.
    pub key_file: Option<PathBuf>,
    /// `server_name` for SNI and verification.
    pub server_name: Option<String>,
    /// `insecure_skip_verify`.
    pub insecure_skip_verify: bool,
    /// `min_version`.
    pub min_version: Option<TlsVersion>,
    /// `max_version`.
    pub max_version: Option<TlsVersion>,
}

/// A TLS protocol version, spelled `TLS10` ... `TLS13` in the config.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TlsVersion {
    /// `TLS10`
    Tls10,
    /// `TLS11`
    Tls11,
    /// `TLS12`
    Tls12,
    /// `TLS13`
    Tls13,
}

impl TlsVersion {
    const ALL: [TlsVersion; 4] = [
        TlsVersion::Tls10,
        TlsVersion::Tls11,
        TlsVersion::Tls12,
        TlsVersion::Tls13,
    ];

    /// The config spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            TlsVersion::Tls10 => "TLS10",
            TlsVersion::Tls11 => "TLS11",
            TlsVersion::Tls12 => "TLS12",
            TlsVersion::Tls13 => "TLS13",
        }
    }
}

impl<'de> Deserialize<'de> for TlsVersion {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        TlsVersion::ALL
            .into_iter()
            .find(|v| v.as_str() == text)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown TLS version: {text}")))
    }
}

/// Proxy settings.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProxyConfig {
    /// `proxy_url`.
    pub proxy_url: Option<String>,
    /// `no_proxy`: comma-separated hosts, domains and CIDRs that bypass the proxy.
    pub no_proxy: Option<String>,
    /// `proxy_from_environment`: use `HTTP_PROXY`, `HTTPS_PROXY` and `NO_PROXY`.
    pub proxy_from_environment: bool,
    /// `proxy_connect_header`: headers sent on `CONNECT`.
    pub proxy_connect_header: BTreeMap<String, Vec<Secret>>,
}

/// One `http_headers` entry: values sent as they are, secret values, and values read
/// from files.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HttpHeader {
    /// `values`.
    pub values: Vec<String>,
    /// `secrets`.
    pub secrets: Vec<Secret>,
    /// `files`, resolved against the config directory.
    pub files: Vec<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawBasicAuth {
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    username_file: Option<String>,
    #[serde(default)]
    password: Option<Secret>,
    #[serde(default)]
    password_file: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAuthorization {
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    credentials: Option<Secret>,
    #[serde(default)]
    credentials_file: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTlsConfig {
    #[serde(default)]
    ca: Option<String>,
    #[serde(default)]
    ca_file: Option<String>,
    #[serde(default)]
    cert: Option<String>,
    #[serde(default)]
    cert_file: Option<String>,
    #[serde(default)]
    key: Option<Secret>,
    #[serde(default)]
    key_file: Option<String>,
    #[serde(default)]
    server_name: Option<String>,
    #[serde(default)]
    insecure_skip_verify: Option<bool>,
    #[serde(default)]
    min_version: Option<TlsVersion>,
    #[serde(default)]
    max_version: Option<TlsVersion>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawOAuth2 {
    #[serde(default)]
    client_id: Option<String>,
    #[serde(default)]
    client_secret: Option<Secret>,
    #[serde(default)]
    client_secret_file: Option<String>,
    #[serde(default, deserialize_with = "crate::raw::null_as_default")]
    scopes: Vec<String>,
    #[serde(default)]
    token_url: Option<String>,
    #[serde(default, deserialize_with = "crate::raw::null_as_default")]
    endpoint_params: BTreeMap<String, String>,
    #[serde(default)]
    tls_config: Option<RawTlsConfig>,
    #[serde(default)]
    proxy_url: Option<String>,
    #[serde(default)]
    no_proxy: Option<String>,
    #[serde(default)]
    proxy_from_environment: Option<bool>,
    #[serde(default, deserialize_with = "crate::raw::null_as_default")]
    proxy_connect_header: BTreeMap<String, Vec<Secret>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawHttpHeader {
    #[serde(default, deserialize_with = "crate::raw::null_as_default")]
    values: Vec<String>,
    #[serde(default, deserialize_with = "crate::raw::null_as_default")]
    secrets: Vec<Secret>,
    #[serde(default, deserialize_with = "crate::raw::null_as_default")]
    files: Vec<String>,
}

#[derive(Debug, Default)]
pub(crate) struct RawProxy {
    pub(crate) proxy_url: Option<String>,
    pub(crate) no_proxy: Option<String>,
    pub(crate) proxy_from_environment: Option<bool>,
    pub(crate) proxy_connect_header: BTreeMap<String, Vec<Secret>>,
}

/// The inlined HTTP client fields lifted out of a raw section by `take_http_client`.
#[derive(Debug, Default)]
pub(crate) struct RawHttpClient {
    pub(crate) basic_auth: Option<RawBasicAuth>,
    pub(crate) authorization: Option<RawAuthorization>,
    pub(crate) oauth2: Option<RawOAuth2>,
    pub(crate) bearer_token: Option<Secret>,
    pub(crate) bearer_token_file: Option<String>,
    pub(crate) tls_config: Option<RawTlsConfig>,
    pub(crate) follow_redirects: Option<bool>,
    pub(crate) enable_http2: Option<bool>,
    pub(crate) proxy: RawProxy,
    pub(crate) http_headers: BTreeMap<String, RawHttpHeader>,
}

/// Headers `http_headers` may not set, lowercased.
const RESERVED_HTTP_HEADERS: [&str; 18] = [
    "authorization",
    "host",
    "content-encoding",
    "content-length",
    "content-type",
    "user-agent",
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "www-authenticate",
    "accept-encoding",
    "x-prometheus-remote-write-version",
    "x-prometheus-remote-read-version",
    "x-prometheus-scrape-timeout-seconds",
    "x-amz-date",
    "x-amz-security-token",
    "x-amz-content-sha256",
];

impl RawHttpClient {
    /// Validates the settings the way Prometheus's `HTTPClientConfig.Validate` does and
    /// applies defaults; `enable_http2_default` differs between sections.
    pub(crate) fn resolve(
        self,
        enable_http2_default: bool,
        dir: &BaseDir,
    ) -> Result<HttpClientConfig, Violation> {
        let bearer_token = nonempty(self.bearer_token);
        let bearer_token_file = self.bearer_token_file.filter(|f| !f.is_empty());
        let has_bearer = bearer_token.is_some() || bearer_token_file.is_some();
        if bearer_token.is_some() && bearer_token_file.is_some() {
            return violation("at most one of bearer_token & bearer_token_file must be configured");
        }
        if (self.basic_auth.is_some() || self.oauth2.is_some()) && has_bearer {
            return violation(
                "at most one of basic_auth, oauth2, bearer_token & bearer_token_file must be configured",
            );
        }
        let basic_auth = self
            .basic_auth
            .map(|b| resolve_basic_auth(b, dir))
            .transpose()?;
        let authorization = match self.authorization {
            Some(raw) => {
                if has_bearer {
                    return violation(
                        "authorization is not compatible with bearer_token & bearer_token_file",
                    );
                }
                let authorization = resolve_authorization(raw, dir)?;
                if basic_auth.is_some() || self.oauth2.is_some() {
                    return violation(
                        "at most one of basic_auth, oauth2 & authorization must be configured",
                    );
                }
                Some(authorization)
            }
            None if has_bearer => Some(Authorization {
                kind: "Bearer".to_string(),
                credentials: bearer_token,
                credentials_file: dir.optional_file(bearer_token_file),
            }),
            None => None,
        };
        let oauth2 = match self.oauth2 {
            Some(_) if basic_auth.is_some() => {
                return violation(
                    "at most one of basic_auth, oauth2 & authorization must be configured",
                );
            }
            Some(raw) => Some(resolve_oauth2(raw, dir)?),
            None => None,
        };
        let mut http_headers = BTreeMap::new();
        for (name, header) in self.http_headers {
            if RESERVED_HTTP_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
                return violation(format!("setting header {name:?} is not allowed"));
            }
            let header = HttpHeader {
                values: header.values,
                secrets: header.secrets,
                files: header.files.into_iter().map(|f| dir.file(f)).collect(),
            };
            http_headers.insert(name, header);
        }
        Ok(HttpClientConfig {
            basic_auth,
            authorization,
            oauth2,
            tls: resolve_tls(self.tls_config.unwrap_or_default(), dir)?,
            proxy: resolve_proxy(self.proxy)?,
            follow_redirects: self.follow_redirects.unwrap_or(true),
            enable_http2: self.enable_http2.unwrap_or(enable_http2_default),
            http_headers,
        })
    }
}

fn resolve_basic_auth(raw: RawBasicAuth, dir: &BaseDir) -> Result<BasicAuth, Violation> {
    let username = raw.username.unwrap_or_default();
    let username_file = raw.username_file.filter(|f| !f.is_empty());
    if !username.is_empty() && username_file.is_some() {
        return violation(
            "at most one of basic_auth username, username_file & username_ref must be configured",
        );
    }
    let password = nonempty(raw.password);
    let password_file = raw.password_file.filter(|f| !f.is_empty());
    if password.is_some() && password_file.is_some() {
        return violation(
            "at most one of basic_auth password, password_file & password_ref must be configured",
        );
    }
    Ok(BasicAuth {
        username,
        username_file: dir.optional_file(username_file),
        password,
        password_file: dir.optional_file(password_file),
    })
}

fn resolve_authorization(raw: RawAuthorization, dir: &BaseDir) -> Result<Authorization, Violation> {
    let credentials = nonempty(raw.credentials);
    let credentials_file = raw.credentials_file.filter(|f| !f.is_empty());
    if credentials.is_some() && credentials_file.is_some() {
        return violation(
            "at most one of authorization credentials & credentials_file must be configured",
        );
    }
    let kind = raw
        .kind
        .as_deref()
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .unwrap_or("Bearer");
    if kind.eq_ignore_ascii_case("basic") {
        return violation(
            r#"authorization type cannot be set to "basic", use "basic_auth" instead"#,
        );
    }
    Ok(Authorization {
        kind: kind.to_string(),
        credentials,
        credentials_file: dir.optional_file(credentials_file),
    })
}

fn resolve_oauth2(raw: RawOAuth2, dir: &BaseDir) -> Result<OAuth2, Violation> {
    let client_id = raw.client_id.unwrap_or_default();
    if client_id.is_empty() {
        return violation("oauth2 client_id must be configured");
    }
    let token_url = raw.token_url.unwrap_or_default();
    if token_url.is_empty() {
        return violation("oauth2 token_url must be configured");
    }
    let client_secret = nonempty(raw.client_secret);
    let client_secret_file = raw.client_secret_file.filter(|f| !f.is_empty());
    if client_secret.is_some() && client_secret_file.is_some() {
        return violation(
            "at most one of oauth2 client_secret, client_secret_file & client_secret_ref must be configured",
        );
    }
    let proxy = RawProxy {
        proxy_url: raw.proxy_url,
        no_proxy: raw.no_proxy,
        proxy_from_environment: raw.proxy_from_environment,
        proxy_connect_header: raw.proxy_connect_header,
    };
    Ok(OAuth2 {
        client_id,
        client_secret,
        client_secret_file: dir.optional_file(client_secret_file),
        scopes: raw.scopes,
        token_url,
        endpoint_params: raw.endpoint_params,
        tls: resolve_tls(raw.tls_config.unwrap_or_default(), dir)?,
        proxy: resolve_proxy(proxy)?,
    })
}

/// Validates TLS settings as Prometheus's `TLSConfig.Validate` does.
pub(crate) fn resolve_tls(raw: RawTlsConfig, dir: &BaseDir) -> Result<TlsConfig, Violation> {
    let text = |s: Option<String>| s.filter(|s| !s.is_empty());
    let ca = text(raw.ca);
    let ca_file = text(raw.ca_file);
    let cert = text(raw.cert);
    let cert_file = text(raw.cert_file);
    let key = nonempty(raw.key);
    let key_file = text(raw.key_file);
    if ca.is_some() && ca_file.is_some() {
        return violation("at most one of ca, ca_file & ca_ref must be configured");
    }
    if cert.is_some() && cert_file.is_some() {
        return violation("at most one of cert, cert_file & cert_ref must be configured");
    }
    if key.is_some() && key_file.is_some() {
        return violation("at most one of key and key_file must be configured");
    }
    let using_cert = cert.is_some() || cert_file.is_some();
    let using_key = key.is_some() || key_file.is_some();
    if using_cert && !using_key {
        return violation(
            "exactly one of key or key_file must be configured when a client certificate is configured",
        );
    }
    if using_key && !using_cert {
        return violation(
            "exactly one of cert or cert_file must be configured when a client key is configured",
        );
    }
    if let (Some(min), Some(max)) = (raw.min_version, raw.max_version)
        && max < min
    {
        return violation(
            "tls_config.max_version must be greater than or equal to tls_config.min_version if both are specified",
        );
    }
    Ok(TlsConfig {
        ca,
        ca_file: dir.optional_file(ca_file),
        cert,
        cert_file: dir.optional_file(cert_file),
        key,
        key_file: dir.optional_file(key_file),
        server_name: text(raw.server_name),
        insecure_skip_verify: raw.insecure_skip_verify.unwrap_or(false),
        min_version: raw.min_version,
        max_version: raw.max_version,
    })
}

fn resolve_proxy(raw: RawProxy) -> Result<ProxyConfig, Violation> {
    let proxy_url = raw.proxy_url.filter(|u| !u.is_empty());
    let no_proxy = raw.no_proxy.filter(|n| !n.is_empty());
    let from_environment = raw.proxy_from_environment.unwrap_or(false);
    if !raw.proxy_connect_header.is_empty() && !from_environment && proxy_url.is_none() {
        return violation(
            "if proxy_connect_header is configured, proxy_url or proxy_from_environment must also be configured",
        );
    }
    if from_environment && proxy_url.is_some() {
        return violation(
            "if proxy_from_environment is configured, proxy_url must not be configured",
        );
    }
    if from_environment && no_proxy.is_some() {
        return violation(
            "if proxy_from_environment is configured, no_proxy must not be configured",
        );
    }
    if proxy_url.is_none() && no_proxy.is_some() {
        return violation("if no_proxy is configured, proxy_url must also be configured");
    }
    Ok(ProxyConfig {
        proxy_url,
        no_proxy,
        proxy_from_environment: from_environment,
        proxy_connect_header: raw.proxy_connect_header,
    })
}

impl HttpClientConfig {
    /// True when any form of authentication (basic, authorization header, OAuth 2.0) is set.
    pub fn has_auth(&self) -> bool {
        self.basic_auth.is_some() || self.authorization.is_some() || self.oauth2.is_some()
    }

    /// Every file the client reads, with the config key that names it.
    pub fn referenced_files(&self) -> Vec<(&'static str, &PathBuf)> {
        let mut files = Vec::new();
        if let Some(b) = &self.basic_auth {
            files.extend(b.username_file.iter().map(|f| ("username_file", f)));
            files.extend(b.password_file.iter().map(|f| ("password_file", f)));
        }
        if let Some(a) = &self.authorization {
            files.extend(a.credentials_file.iter().map(|f| ("credentials_file", f)));
        }
        if let Some(o) = &self.oauth2 {
            files.extend(
                o.client_secret_file
                    .iter()
                    .map(|f| ("client_secret_file", f)),
            );
            files.extend(o.tls.referenced_files());
        }
        files.extend(self.tls.referenced_files());
        for header in self.http_headers.values() {
            files.extend(header.files.iter().map(|f| ("http_headers file", f)));
        }
        files
    }
}

impl TlsConfig {
    /// The CA, certificate and key files, with their config keys.
    pub fn referenced_files(&self) -> Vec<(&'static str, &PathBuf)> {
        [
            ("ca_file", &self.ca_file),
            ("cert_file", &self.cert_file),
            ("key_file", &self.key_file),
        ]
        .into_iter()
        .filter_map(|(key, file)| file.as_ref().map(|f| (key, f)))
        .collect()
    }
}
