#!/usr/bin/env bash
# Installs the real peer systems the integration tests run against (Debian packages).
# Safe to run repeatedly: it does nothing when everything is present.
set -euo pipefail
need=()
for pair in prometheus:prometheus promtool:prometheus prometheus-node-exporter:prometheus-node-exporter \
            prometheus-alertmanager:prometheus-alertmanager victoria-metrics:victoria-metrics; do
  bin=${pair%%:*}; pkg=${pair##*:}
  command -v "$bin" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends $(printf '%s\n' "${need[@]}" | sort -u)
fi
