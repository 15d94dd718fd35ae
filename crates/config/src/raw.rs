//! Shared pieces of the private YAML structs.
//!
//! Prometheus inlines the HTTP client settings and the service-discovery lists into several
//! sections (scrape configs, Alertmanager configs, remote write/read). Serde cannot combine
//! `flatten` with `deny_unknown_fields`, so [`raw_section!`] writes those fields into each
//! struct and adds `take_*` methods that lift them out for validation.

use crate::error::Position;
use serde::{Deserialize, Deserializer};
use std::path::{Path, PathBuf};

/// Deserializes a field whose YAML value may be `null` (e.g. `scrape_configs:` with
/// nothing after it) as its default.
pub(crate) fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// A list entry with its position; `None` when the YAML entry is `null`.
pub(crate) type Entry<T> = serde_saphyr::Spanned<Option<T>>;

/// Splits a list entry into its value and position, rejecting `null` entries with `message`.
pub(crate) fn entry<T>(
    entry: Entry<T>,
    message: &str,
) -> Result<(T, Position), crate::error::Violation> {
    let position = Position::of(&entry);
    match entry.value {
        Some(value) => Ok((value, position)),
        None => Err(crate::error::Violation::new(message).at(position)),
    }
}

/// Resolves relative paths in the config against the config file's directory, as
/// Prometheus's `SetDirectory` does. Without a directory (text loaded from a string) paths
/// stay as written.
#[derive(Clone, Debug, Default)]
pub(crate) struct BaseDir(pub(crate) Option<PathBuf>);

impl BaseDir {
    pub(crate) fn file(&self, path: String) -> PathBuf {
        match &self.0 {
            Some(dir) if !path.is_empty() && !Path::new(&path).is_absolute() => dir.join(path),
            _ => PathBuf::from(path),
        }
    }

    pub(crate) fn optional_file(&self, path: Option<String>) -> Option<PathBuf> {
        path.filter(|p| !p.is_empty()).map(|p| self.file(p))
    }

    /// A glob pattern; the directory is joined as text so the pattern survives.
    pub(crate) fn glob(&self, pattern: String) -> String {
        self.file(pattern).to_string_lossy().into_owned()
    }
}

/// True when no `/` follows the first `*`: Prometheus allows wildcards only in the last
/// path element of rule-file and file-SD globs.
pub(crate) fn stars_only_in_last_element(pattern: &str) -> bool {
    pattern
        .find('*')
        .is_none_or(|star| !pattern[star..].contains('/'))
}

/// Declares a raw YAML struct with the inlined HTTP client fields, and optionally the
/// service-discovery lists, after the struct's own fields.
macro_rules! raw_section {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident with http_client, service_discovery { $($body:tt)* }
    ) => {
        raw_section! {
            $(#[$meta])*
            $vis struct $name with http_client {
                $($body)*
                #[serde(default, deserialize_with = "crate::raw::null_as_default")]
                static_configs: Vec<crate::raw::Entry<crate::discovery::RawStaticConfig>>,
                #[serde(default, deserialize_with = "crate::raw::null_as_default")]
                file_sd_configs: Vec<crate::raw::Entry<crate::discovery::RawFileSdConfig>>,
                #[serde(default, deserialize_with = "crate::raw::null_as_default")]
                dns_sd_configs: Vec<crate::raw::Entry<crate::discovery::RawDnsSdConfig>>,
                #[serde(default)] azure_sd_configs: Option<Vec<serde::de::IgnoredAny>>,
                #[serde(default)] consul_sd_configs: Option<Vec<serde::de::IgnoredAny>>,
                #[serde(default)] digitalocean_sd_configs: Option<Vec<serde::de::IgnoredAny>>,
                #[serde(default)] docker_sd_configs: Option<Vec<serde::de::IgnoredAny>>,
                #[serde(default)] dockerswarm_sd_configs: Option<Vec<serde::de::IgnoredAny>>,
                #[serde(default)] ec2_sd_configs: Option<Vec<serde::de::IgnoredAny>>,
                #[serde(default)] eureka_sd_configs: Option<Vec<serde::de::IgnoredAny>>,
                #[serde(default)] gce_sd_configs: Option<Vec<serde::de::IgnoredAny>>,
                #[serde(default)] hetzner_sd_configs: Option<Vec<serde::de::IgnoredAny>>,
                #[serde(default)] http_sd_configs: Option<Vec<serde::de::IgnoredAny>>,
                #[serde(default)] ionos_sd_configs: Option<Vec<serde::de::IgnoredAny>>,
                #[serde(default)] kubernetes_sd_configs: Option<Vec<serde::de::IgnoredAny>>,
                #[serde(default)] kuma_sd_configs: Option<Vec<serde::de::IgnoredAny>>,
                #[serde(default)] lightsail_sd_configs: Option<Vec<serde::de::IgnoredAny>>,
                #[serde(default)] linode_sd_configs: Option<Vec<serde::de::IgnoredAny>>,
                #[serde(default)] marathon_sd_configs: Option<Vec<serde::de::IgnoredAny>>,
                #[serde(default)] nerve_sd_configs: Option<Vec<serde::de::IgnoredAny>>,
                #[serde(default)] nomad_sd_configs: Option<Vec<serde::de::IgnoredAny>>,
                #[serde(default)] openstack_sd_configs: Option<Vec<serde::de::IgnoredAny>>,
                #[serde(default)] ovhcloud_sd_configs: Option<Vec<serde::de::IgnoredAny>>,
                #[serde(default)] puppetdb_sd_configs: Option<Vec<serde::de::IgnoredAny>>,
                #[serde(default)] scaleway_sd_configs: Option<Vec<serde::de::IgnoredAny>>,
                #[serde(default)] serverset_sd_configs: Option<Vec<serde::de::IgnoredAny>>,
                #[serde(default)] stackit_sd_configs: Option<Vec<serde::de::IgnoredAny>>,
                #[serde(default)] triton_sd_configs: Option<Vec<serde::de::IgnoredAny>>,
                #[serde(default)] uyuni_sd_configs: Option<Vec<serde::de::IgnoredAny>>,
                #[serde(default)] vultr_sd_configs: Option<Vec<serde::de::IgnoredAny>>,
            }
        }

        impl $name {
            /// Moves the service-discovery lists out of the raw struct.
            fn take_service_discovery(&mut self) -> crate::discovery::RawServiceDiscovery {
                let unsupported = [
                    ("azure_sd_configs", &self.azure_sd_configs),
                    ("consul_sd_configs", &self.consul_sd_configs),
                    ("digitalocean_sd_configs", &self.digitalocean_sd_configs),
                    ("docker_sd_configs", &self.docker_sd_configs),
                    ("dockerswarm_sd_configs", &self.dockerswarm_sd_configs),
                    ("ec2_sd_configs", &self.ec2_sd_configs),
                    ("eureka_sd_configs", &self.eureka_sd_configs),
                    ("gce_sd_configs", &self.gce_sd_configs),
                    ("hetzner_sd_configs", &self.hetzner_sd_configs),
                    ("http_sd_configs", &self.http_sd_configs),
                    ("ionos_sd_configs", &self.ionos_sd_configs),
                    ("kubernetes_sd_configs", &self.kubernetes_sd_configs),
                    ("kuma_sd_configs", &self.kuma_sd_configs),
                    ("lightsail_sd_configs", &self.lightsail_sd_configs),
                    ("linode_sd_configs", &self.linode_sd_configs),
                    ("marathon_sd_configs", &self.marathon_sd_configs),
                    ("nerve_sd_configs", &self.nerve_sd_configs),
                    ("nomad_sd_configs", &self.nomad_sd_configs),
                    ("openstack_sd_configs", &self.openstack_sd_configs),
                    ("ovhcloud_sd_configs", &self.ovhcloud_sd_configs),
                    ("puppetdb_sd_configs", &self.puppetdb_sd_configs),
                    ("scaleway_sd_configs", &self.scaleway_sd_configs),
                    ("serverset_sd_configs", &self.serverset_sd_configs),
                    ("stackit_sd_configs", &self.stackit_sd_configs),
                    ("triton_sd_configs", &self.triton_sd_configs),
                    ("uyuni_sd_configs", &self.uyuni_sd_configs),
                    ("vultr_sd_configs", &self.vultr_sd_configs),
                ]
                .into_iter()
                .filter(|(_, list)| list.as_ref().is_some_and(|l| !l.is_empty()))
                .map(|(name, _)| name.to_string())
                .collect();
                crate::discovery::RawServiceDiscovery {
                    static_configs: std::mem::take(&mut self.static_configs),
                    file_sd_configs: std::mem::take(&mut self.file_sd_configs),
                    dns_sd_configs: std::mem::take(&mut self.dns_sd_configs),
                    unsupported,
                }
            }
        }
    };
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident with http_client { $($body:tt)* }
    ) => {
        $(#[$meta])*
        $vis struct $name {
            $($body)*
            #[serde(default)]
            basic_auth: Option<crate::http_client::RawBasicAuth>,
            #[serde(default)]
            authorization: Option<crate::http_client::RawAuthorization>,
            #[serde(default)]
            oauth2: Option<crate::http_client::RawOAuth2>,
            #[serde(default)]
            bearer_token: Option<crate::secret::Secret>,
            #[serde(default)]
            bearer_token_file: Option<String>,
            #[serde(default)]
            tls_config: Option<crate::http_client::RawTlsConfig>,
            #[serde(default)]
            follow_redirects: Option<bool>,
            #[serde(default)]
            enable_http2: Option<bool>,
            #[serde(default)]
            proxy_url: Option<String>,
            #[serde(default)]
            no_proxy: Option<String>,
            #[serde(default)]
            proxy_from_environment: Option<bool>,
            #[serde(default, deserialize_with = "crate::raw::null_as_default")]
            proxy_connect_header: std::collections::BTreeMap<String, Vec<crate::secret::Secret>>,
            #[serde(default, deserialize_with = "crate::raw::null_as_default")]
            http_headers: std::collections::BTreeMap<String, crate::http_client::RawHttpHeader>,
        }

        impl $name {
            /// Moves the inlined HTTP client settings out of the raw struct.
            fn take_http_client(&mut self) -> crate::http_client::RawHttpClient {
                crate::http_client::RawHttpClient {
                    basic_auth: self.basic_auth.take(),
                    authorization: self.authorization.take(),
                    oauth2: self.oauth2.take(),
                    bearer_token: self.bearer_token.take(),
                    bearer_token_file: self.bearer_token_file.take(),
                    tls_config: self.tls_config.take(),
                    follow_redirects: self.follow_redirects.take(),
                    enable_http2: self.enable_http2.take(),
                    proxy: crate::http_client::RawProxy {
                        proxy_url: self.proxy_url.take(),
                        no_proxy: self.no_proxy.take(),
                        proxy_from_environment: self.proxy_from_environment.take(),
                        proxy_connect_header: std::mem::take(&mut self.proxy_connect_header),
                    },
                    http_headers: std::mem::take(&mut self.http_headers),
                }
            }
        }
    };
}

pub(crate) use raw_section;
