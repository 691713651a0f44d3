#!/bin/sh
# SPDX-License-Identifier: MIT
# deploy/prometheus/ with promtool: the configuration and the alert rules
# are valid, and the alerts' unit tests (tests/data/deploy/alerts_test.yml)
# pass: each alert fires on the series meant to trigger it and stays
# quiet otherwise.  Skips (77) without promtool.
# Usage: prometheus.sh SOURCE_ROOT
set -eu
root=${1:?usage: prometheus.sh SOURCE_ROOT}
command -v promtool >/dev/null || { echo "no promtool: skipped"; exit 77; }
cd "$root"
promtool check config deploy/prometheus/prometheus.yml
promtool check rules deploy/prometheus/alerts.yml
promtool test rules tests/data/deploy/alerts_test.yml
