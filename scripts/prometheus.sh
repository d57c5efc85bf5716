#!/usr/bin/env bash
# Installs Prometheus from apt when missing (the rollout tests read a
# rollout's figures from a real one) and prints the path of its program.
# Tests find it through MLGATE_TEST_PROMETHEUS.
set -euo pipefail
if ! command -v prometheus >/dev/null; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null) >&2
fi
command -v prometheus
