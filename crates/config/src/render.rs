//! [`Config::to_yaml`]: the resolved config as YAML in the style of Prometheus's
//! `/api/v1/status/config` (Go struct field order, defaults filled in, empty optional
//! fields left out, durations canonical, secrets as `<secret>`).

use crate::discovery::ServiceDiscovery;
use crate::duration::format_duration;
use crate::http_client::{HttpClientConfig, ProxyConfig, TlsConfig};
use crate::scrape::{HistogramOptions, ScrapeLimits, ScrapeProtocol};
use crate::secret::Secret;
use crate::size::format_size;
use crate::{Config, ScrapeConfig};
use ember_relabel::{NameValidation, RelabelConfig};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// An ordered YAML tree.
enum Node {
    Str(String),
    Bool(bool),
    Int(i64),
    Float(f64),
    Seq(Vec<Node>),
    FlowSeq(Vec<String>),
    Map(Vec<(String, Node)>),
}

impl Serialize for Node {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Node::Str(s) => serializer.serialize_str(s),
            Node::Bool(b) => serializer.serialize_bool(*b),
            Node::Int(i) => serializer.serialize_i64(*i),
            Node::Float(f) => serializer.serialize_f64(*f),
            Node::Seq(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                items.iter().try_for_each(|i| seq.serialize_element(i))?;
                seq.end()
            }
            Node::FlowSeq(items) => serde_saphyr::FlowSeq(items).serialize(serializer),
            Node::Map(entries) => {
                let mut map = serializer.serialize_map(Some(entries.len()))?;
                entries
                    .iter()
                    .try_for_each(|(k, v)| map.serialize_entry(k, v))?;
                map.end()
            }
        }
    }
}

/// Builds a mapping in field order.
#[derive(Default)]
struct Map(Vec<(String, Node)>);

impl Map {
    fn node(mut self, key: &str, value: Node) -> Self {
        self.0.push((key.to_string(), value));
        self
    }

    fn str(self, key: &str, value: &str) -> Self {
        self.node(key, Node::Str(value.to_string()))
    }

    /// Left out when empty (Go's `omitempty`).
    fn str_nonempty(self, key: &str, value: &str) -> Self {
        if value.is_empty() {
            self
        } else {
            self.str(key, value)
        }
    }

    fn opt_str(self, key: &str, value: Option<&str>) -> Self {
        self.str_nonempty(key, value.unwrap_or(""))
    }

    fn path(self, key: &str, value: &Option<PathBuf>) -> Self {
        match value {
            Some(p) => self.str(key, &p.to_string_lossy()),
            None => self,
        }
    }

    fn secret(self, key: &str, value: &Option<Secret>) -> Self {
        match value {
            Some(_) => self.str(key, Secret::REDACTED),
            None => self,
        }
    }

    fn bool(self, key: &str, value: bool) -> Self {
        self.node(key, Node::Bool(value))
    }

    fn bool_true(self, key: &str, value: bool) -> Self {
        if value { self.bool(key, true) } else { self }
    }

    fn int_nonzero(self, key: &str, value: u64) -> Self {
        if value == 0 {
            self
        } else {
            self.node(key, Node::Int(i64::try_from(value).unwrap_or(i64::MAX)))
        }
    }

    fn duration(self, key: &str, value: Duration) -> Self {
        self.str(key, &format_duration(value))
    }

    fn duration_nonzero(self, key: &str, value: Duration) -> Self {
        if value.is_zero() {
            self
        } else {
            self.duration(key, value)
        }
    }

    fn strings(self, key: &str, values: &[String]) -> Self {
        if values.is_empty() {
            self
        } else {
            self.node(
                key,
                Node::Seq(values.iter().map(|v| Node::Str(v.clone())).collect()),
            )
        }
    }

    fn string_map(self, key: &str, values: &BTreeMap<String, String>) -> Self {
        if values.is_empty() {
            return self;
        }
        let entries = values
            .iter()
            .map(|(k, v)| (k.clone(), Node::Str(v.clone())))
            .collect();
        self.node(key, Node::Map(entries))
    }

    fn nonempty_map(self, key: &str, value: Map) -> Self {
        if value.0.is_empty() {
            self
        } else {
            self.node(key, value.build())
        }
    }

    fn list(self, key: &str, items: Vec<Node>) -> Self {
        if items.is_empty() {
            self
        } else {
            self.node(key, Node::Seq(items))
        }
    }

    fn merge(mut self, other: Map) -> Self {
        self.0.extend(other.0);
        self
    }

    fn build(self) -> Node {
        Node::Map(self.0)
    }
}

pub(crate) fn to_yaml(config: &Config) -> String {
    let global = &config.global;
    let global_node = Map::default()
        .duration("scrape_interval", global.scrape_interval)
        .duration("scrape_timeout", global.scrape_timeout)
        .list(
            "scrape_protocols",
            global
                .scrape_protocols
                .as_deref()
                .map(protocols)
                .unwrap_or_default(),
        )
        .duration("evaluation_interval", global.evaluation_interval)
        .duration_nonzero("rule_query_offset", global.rule_query_offset)
        .path("query_log_file", &global.query_log_file)
        .path("scrape_failure_log_file", &global.scrape_failure_log_file)
        .string_map(
            "external_labels",
            &global
                .external_labels
                .iter()
                .map(|l| (l.name.clone(), l.value.clone()))
                .collect(),
        )
        .merge(limits(&global.limits))
        .merge(histograms(&global.histograms))
        .bool_true("extra_scrape_metrics", global.extra_scrape_metrics)
        .str(
            "metric_name_validation_scheme",
            name_validation(global.name_validation),
        );

    let alerting = &config.alerting;
    let alertmanagers = alerting
        .alertmanagers
        .iter()
        .map(|am| {
            Map::default()
                .merge(http_client(&am.http_client))
                .str("scheme", am.scheme.as_str())
                .str_nonempty("path_prefix", &am.path_prefix)
                .duration("timeout", am.timeout)
                .str("api_version", &am.api_version)
                .list("relabel_configs", relabel(&am.relabel_configs))
                .list("alert_relabel_configs", relabel(&am.alert_relabel_configs))
                .merge(service_discovery(&am.service_discovery))
                .build()
        })
        .collect();
    let alerting_node = Map::default()
        .list(
            "alert_relabel_configs",
            relabel(&alerting.alert_relabel_configs),
        )
        .list("alertmanagers", alertmanagers);

    let storage = &config.storage;
    let tsdb = Map::default()
        .duration_nonzero(
            "out_of_order_time_window",
            storage.tsdb.out_of_order_time_window,
        )
        .nonempty_map(
            "retention",
            Map::default()
                .duration_nonzero("time", storage.tsdb.retention_time.unwrap_or_default())
                .opt_str(
                    "size",
                    storage.tsdb.retention_size.map(format_size).as_deref(),
                ),
        );
    let storage_node = Map::default().nonempty_map("tsdb", tsdb).node(
        "exemplars",
        Map::default()
            .node("max_exemplars", Node::Int(storage.exemplars.max_exemplars))
            .build(),
    );

    let root = Map::default()
        .node("global", global_node.build())
        .nonempty_map("alerting", alerting_node)
        .strings("rule_files", &config.rule_files)
        .strings("scrape_config_files", &config.scrape_config_files)
        .list(
            "scrape_configs",
            config.scrape_configs.iter().map(scrape_config).collect(),
        )
        .node("storage", storage_node.build())
        .nonempty_map(
            "tracing",
            config.tracing.as_ref().map(tracing).unwrap_or_default(),
        )
        .list(
            "remote_write",
            config.remote_write.iter().map(remote_write).collect(),
        )
        .list(
            "remote_read",
            config.remote_read.iter().map(remote_read).collect(),
        )
        .nonempty_map("otlp", otlp(&config.otlp));
    serde_saphyr::to_string(&root.build())
        .expect("a tree of strings, numbers, lists and maps always serializes")
}

/// Replaces the password of a `scheme://user:password@host/...` URL with `xxxxx`, as
/// Prometheus does when it prints URLs.
fn redact_url_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) if userinfo.contains(':') => {
            let user = userinfo.split_once(':').map_or(userinfo, |(user, _)| user);
            format!("{scheme}://{user}:xxxxx@{host}{path}")
        }
        _ => url.to_string(),
    }
}

fn protocols(list: &[ScrapeProtocol]) -> Vec<Node> {
    list.iter()
        .map(|p| Node::Str(p.as_str().to_string()))
        .collect()
}

fn name_validation(names: NameValidation) -> &'static str {
    match names {
        NameValidation::Legacy => "legacy",
        NameValidation::Utf8 => "utf8",
    }
}

fn limits(limits: &ScrapeLimits) -> Map {
    let body = (limits.body_size_limit != 0).then(|| format_size(limits.body_size_limit));
    Map::default()
        .opt_str("body_size_limit", body.as_deref())
        .int_nonzero("sample_limit", limits.sample_limit)
        .int_nonzero("target_limit", limits.target_limit)
        .int_nonzero("label_limit", limits.label_limit)
        .int_nonzero("label_name_length_limit", limits.label_name_length_limit)
        .int_nonzero("label_value_length_limit", limits.label_value_length_limit)
        .int_nonzero("keep_dropped_targets", limits.keep_dropped_targets)
}

fn histograms(options: &HistogramOptions) -> Map {
    Map::default()
        .bool_true("scrape_native_histograms", options.scrape_native_histograms)
        .bool_true(
            "always_scrape_classic_histograms",
            options.always_scrape_classic_histograms,
        )
        .bool_true(
            "convert_classic_histograms_to_nhcb",
            options.convert_classic_histograms_to_nhcb,
        )
}

fn scrape_config(c: &ScrapeConfig) -> Node {
    let params = c
        .params
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                Node::Seq(v.iter().map(|s| Node::Str(s.clone())).collect()),
            )
        })
        .collect::<Vec<_>>();
    let mut map = Map::default()
        .str("job_name", &c.job_name)
        .bool_true("honor_labels", c.honor_labels)
        .bool("honor_timestamps", c.honor_timestamps)
        .bool("track_timestamps_staleness", c.track_timestamps_staleness);
    if !params.is_empty() {
        map = map.node("params", Node::Map(params));
    }
    map.duration("scrape_interval", c.scrape_interval)
        .duration("scrape_timeout", c.scrape_timeout)
        .list("scrape_protocols", protocols(&c.scrape_protocols))
        .opt_str(
            "fallback_scrape_protocol",
            c.fallback_scrape_protocol.map(|p| p.as_str()),
        )
        .merge(histograms(&c.histograms))
        .path("scrape_failure_log_file", &c.scrape_failure_log_file)
        .str("metrics_path", &c.metrics_path)
        .str("scheme", c.scheme.as_str())
        .bool("enable_compression", c.enable_compression)
        .merge(limits(&c.limits))
        .int_nonzero(
            "native_histogram_bucket_limit",
            c.native_histogram_bucket_limit,
        )
        .bool_true("extra_scrape_metrics", c.extra_scrape_metrics)
        .str(
            "metric_name_validation_scheme",
            name_validation(c.name_validation),
        )
        .merge(http_client(&c.http_client))
        .merge(service_discovery(&c.service_discovery))
        .list("relabel_configs", relabel(&c.relabel_configs))
        .list("metric_relabel_configs", relabel(&c.metric_relabel_configs))
        .build()
}

fn http_client(c: &HttpClientConfig) -> Map {
    let basic_auth = c.basic_auth.as_ref().map(|b| {
        Map::default()
            .str("username", &b.username)
            .path("username_file", &b.username_file)
            .secret("password", &b.password)
            .path("password_file", &b.password_file)
    });
    let authorization = c.authorization.as_ref().map(|a| {
        Map::default()
            .str("type", &a.kind)
            .secret("credentials", &a.credentials)
            .path("credentials_file", &a.credentials_file)
    });
    let oauth2 = c.oauth2.as_ref().map(|o| {
        Map::default()
            .str("client_id", &o.client_id)
            .secret("client_secret", &o.client_secret)
            .path("client_secret_file", &o.client_secret_file)
            .strings("scopes", &o.scopes)
            .str("token_url", &o.token_url)
            .string_map("endpoint_params", &o.endpoint_params)
            .node("tls_config", tls(&o.tls).build())
            .merge(proxy(&o.proxy))
    });
    let headers = c
        .http_headers
        .iter()
        .map(|(name, h)| {
            let header = Map::default()
                .strings("values", &h.values)
                .list(
                    "secrets",
                    h.secrets
                        .iter()
                        .map(|_| Node::Str(Secret::REDACTED.to_string()))
                        .collect(),
                )
                .strings(
                    "files",
                    &h.files
                        .iter()
                        .map(|f| f.to_string_lossy().into_owned())
                        .collect::<Vec<_>>(),
                );
            (name.clone(), header.build())
        })
        .collect::<Vec<_>>();
    let mut map = Map::default()
        .nonempty_map("basic_auth", basic_auth.unwrap_or_default())
        .nonempty_map("authorization", authorization.unwrap_or_default())
        .nonempty_map("oauth2", oauth2.unwrap_or_default())
        .node("tls_config", tls(&c.tls).build())
        .bool("follow_redirects", c.follow_redirects)
        .bool("enable_http2", c.enable_http2)
        .merge(proxy(&c.proxy));
    if !headers.is_empty() {
        map = map.node("http_headers", Node::Map(headers));
    }
    map
}

fn tls(t: &TlsConfig) -> Map {
    Map::default()
        .opt_str("ca", t.ca.as_deref())
        .opt_str("cert", t.cert.as_deref())
        .secret("key", &t.key)
        .path("ca_file", &t.ca_file)
        .path("cert_file", &t.cert_file)
        .path("key_file", &t.key_file)
        .opt_str("server_name", t.server_name.as_deref())
        .bool("insecure_skip_verify", t.insecure_skip_verify)
        .opt_str("min_version", t.min_version.map(|v| v.as_str()))
        .opt_str("max_version", t.max_version.map(|v| v.as_str()))
}

fn proxy(p: &ProxyConfig) -> Map {
    let connect = p
        .proxy_connect_header
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                Node::Seq(
                    v.iter()
                        .map(|_| Node::Str(Secret::REDACTED.to_string()))
                        .collect(),
                ),
            )
        })
        .collect::<Vec<_>>();
    let mut map = Map::default()
        .opt_str(
            "proxy_url",
            p.proxy_url.as_deref().map(redact_url_password).as_deref(),
        )
        .opt_str("no_proxy", p.no_proxy.as_deref())
        .bool_true("proxy_from_environment", p.proxy_from_environment);
    if !connect.is_empty() {
        map = map.node("proxy_connect_header", Node::Map(connect));
    }
    map
}

fn service_discovery(sd: &ServiceDiscovery) -> Map {
    let statics = sd
        .static_configs
        .iter()
        .map(|g| {
            let labels = g
                .labels
                .iter()
                .map(|l| (l.name.clone(), l.value.clone()))
                .collect();
            Map::default()
                .node(
                    "targets",
                    Node::Seq(g.targets.iter().map(|t| Node::Str(t.clone())).collect()),
                )
                .string_map("labels", &labels)
                .build()
        })
        .collect();
    let files = sd
        .file_sd_configs
        .iter()
        .map(|f| {
            Map::default()
                .strings("files", &f.files)
                .duration("refresh_interval", f.refresh_interval)
                .build()
        })
        .collect();
    let dns = sd
        .dns_sd_configs
        .iter()
        .map(|d| {
            Map::default()
                .strings("names", &d.names)
                .duration("refresh_interval", d.refresh_interval)
                .str("type", d.record_type.as_str())
                .node("port", Node::Int(i64::from(d.port)))
                .build()
        })
        .collect();
    Map::default()
        .list("dns_sd_configs", dns)
        .list("file_sd_configs", files)
        .list("static_configs", statics)
}

fn relabel(rules: &[RelabelConfig]) -> Vec<Node> {
    rules
        .iter()
        .map(|r| {
            let mut map = Map::default();
            if !r.source_labels.is_empty() {
                map = map.node("source_labels", Node::FlowSeq(r.source_labels.clone()));
            }
            map.str("separator", &r.separator)
                .str("regex", r.regex.as_str())
                .int_nonzero("modulus", r.modulus)
                .str_nonempty("target_label", &r.target_label)
                .str("replacement", &r.replacement)
                .str("action", r.action.as_str())
                .build()
        })
        .collect()
}

fn remote_write(w: &crate::RemoteWriteConfig) -> Node {
    let q = &w.queue_config;
    let m = &w.metadata_config;
    Map::default()
        .str("url", &redact_url_password(&w.url))
        .duration("remote_timeout", w.remote_timeout)
        .string_map("headers", &w.headers)
        .list("write_relabel_configs", relabel(&w.write_relabel_configs))
        .str_nonempty("name", &w.name)
        .bool_true("send_exemplars", w.send_exemplars)
        .bool_true("send_native_histograms", w.send_native_histograms)
        .bool_true("round_robin_dns", w.round_robin_dns)
        .str("protobuf_message", w.protobuf_message.as_str())
        .merge(http_client(&w.http_client))
        .node(
            "queue_config",
            Map::default()
                .int_nonzero("capacity", q.capacity)
                .int_nonzero("max_shards", q.max_shards)
                .int_nonzero("min_shards", q.min_shards)
                .int_nonzero("max_samples_per_send", q.max_samples_per_send)
                .duration("batch_send_deadline", q.batch_send_deadline)
                .duration("min_backoff", q.min_backoff)
                .duration("max_backoff", q.max_backoff)
                .bool_true("retry_on_http_429", q.retry_on_http_429)
                .duration_nonzero("sample_age_limit", q.sample_age_limit)
                .build(),
        )
        .node(
            "metadata_config",
            Map::default()
                .bool("send", m.send)
                .duration("send_interval", m.send_interval)
                .int_nonzero("max_samples_per_send", m.max_samples_per_send)
                .build(),
        )
        .build()
}

fn remote_read(r: &crate::RemoteReadConfig) -> Node {
    Map::default()
        .str("url", &redact_url_password(&r.url))
        .duration("remote_timeout", r.remote_timeout)
        .int_nonzero("chunked_read_limit", r.chunked_read_limit)
        .string_map("headers", &r.headers)
        .bool_true("read_recent", r.read_recent)
        .str_nonempty("name", &r.name)
        .merge(http_client(&r.http_client))
        .string_map("required_matchers", &r.required_matchers)
        .bool_true("filter_external_labels", r.filter_external_labels)
        .build()
}

fn tracing(t: &crate::TracingConfig) -> Map {
    let mut map = Map::default()
        .str("client_type", &t.client_type)
        .str("endpoint", &t.endpoint);
    if t.sampling_fraction != 0.0 {
        map = map.node("sampling_fraction", Node::Float(t.sampling_fraction));
    }
    map.bool_true("insecure", t.insecure)
        .node("tls_config", tls(&t.tls).build())
        .string_map("headers", &t.headers)
        .str_nonempty("compression", &t.compression)
        .duration_nonzero("timeout", t.timeout)
}

fn otlp(o: &crate::OtlpConfig) -> Map {
    Map::default()
        .bool_true(
            "promote_all_resource_attributes",
            o.promote_all_resource_attributes,
        )
        .strings(
            "promote_resource_attributes",
            &o.promote_resource_attributes,
        )
        .strings("ignore_resource_attributes", &o.ignore_resource_attributes)
        .str_nonempty("translation_strategy", &o.translation_strategy)
        .bool_true(
            "keep_identifying_resource_attributes",
            o.keep_identifying_resource_attributes,
        )
        .bool_true("convert_histograms_to_nhcb", o.convert_histograms_to_nhcb)
        .bool_true("promote_scope_metadata", o.promote_scope_metadata)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_passwords_are_redacted() {
        assert_eq!(
            redact_url_password("https://u:pw@host:1/p?q=1"),
            "https://u:xxxxx@host:1/p?q=1"
        );
        assert_eq!(redact_url_password("http://u@host/p"), "http://u@host/p");
        assert_eq!(redact_url_password("http://host/a@b"), "http://host/a@b");
        assert_eq!(redact_url_password("not a url"), "not a url");
    }
}
