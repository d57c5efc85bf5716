#!/usr/bin/env bash
# Makes sure the en_US.UTF-8 locale exists (ONNX models with string ops
# need it). Installs Debian's locales package when missing and root.
set -euo pipefail
if locale -a 2>/dev/null | grep -qi '^en_US\.utf-\?8$'; then exit 0; fi
if [ "$(id -u)" != 0 ]; then echo "locale.sh: en_US.UTF-8 missing and not root; install it with locale-gen" >&2; exit 1; fi
if ! command -v locale-gen >/dev/null; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq locales >/dev/null) >&2
fi
sed -i 's/^# *\(en_US.UTF-8 UTF-8\)/\1/' /etc/locale.gen 2>/dev/null || true
grep -q '^en_US.UTF-8 UTF-8' /etc/locale.gen 2>/dev/null || echo 'en_US.UTF-8 UTF-8' >> /etc/locale.gen
locale-gen >/dev/null
