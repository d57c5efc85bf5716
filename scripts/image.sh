#!/usr/bin/env bash
# Writes the runtime base image of mlgate as an OCI image layout, without a
# Docker daemon: the C library, libstdc++ and CA certificates from the Debian
# packages pinned (version and sha256) in scripts/image-packages.lock, an
# /etc/passwd with the non-root user mlgate (65532), ONNX Runtime from
# scripts/onnxruntime.sh and a stripped cgo build of mlgate. Each part is its
# own layer; `mlgate build-base` assembles them with fixed times and owners,
# so the same inputs give the same digest.
#
#   scripts/image.sh [OUT]        OUT default $MLGATE_CACHE/images/mlgate-runtime
#   scripts/image.sh --update-lock  re-pin the lock file to apt's candidates
set -euo pipefail
cd "$(dirname "$0")/.."
lock=scripts/image-packages.lock
cache=${MLGATE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mlgate}
debs="$cache/debs"
mkdir -p "$debs"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
apt_download() { # name=version into the current folder
  apt-get download -qq -o APT::Sandbox::User=root "$1" >/dev/null 2>&1 && return 0
  apt-get update -qq >/dev/null 2>&1 || true
  apt-get download -qq -o APT::Sandbox::User=root "$1" >/dev/null
}

if [ "${1:-}" = "--update-lock" ]; then
  new="$tmp/lock"
  grep '^#' "$lock" >"$new"
  grep -v '^#' "$lock" | while read -r name _ _ files; do
    ver=$(apt-cache policy "$name" | awk '/Candidate:/{print $2}')
    mkdir -p "$tmp/u" && (cd "$tmp/u" && apt_download "$name=$ver")
    sha=$(sha256sum "$tmp"/u/"${name}"_*.deb | cut -d' ' -f1)
    rm -f "$tmp"/u/*.deb
    echo "$name $ver $sha $files" >>"$new"
  done
  mv "$new" "$lock"
  cat "$lock"
  exit 0
fi

out=${1:-$cache/images/mlgate-runtime}
version=$(sed -n 's/^var Version = "\(.*\)"/\1/p' internal/version/version.go)
name=${IMAGE_NAME:-mlgate:$version}
sys="$tmp/sys"
mkdir -p "$sys/etc/ssl/certs" "$sys/tmp" "$sys/home/mlgate"
shopt -s nullglob
grep -v '^#' "$lock" | while read -r pkg ver sha files; do
  deb="$debs/${pkg}_${ver//:/%3a}.deb"
  if ! { [ -f "$deb" ] && echo "$sha  $deb" | sha256sum -c --status; }; then
    mkdir -p "$tmp/dl" && (cd "$tmp/dl" && apt_download "$pkg=$ver") ||
      { echo "image.sh: apt-get download $pkg=$ver failed; if Debian replaced it, run scripts/image.sh --update-lock" >&2; exit 1; }
    got=$(sha256sum "$tmp"/dl/"${pkg}"_*.deb | cut -d' ' -f1)
    [ "$got" = "$sha" ] || { echo "image.sh: $pkg $ver: sha256 $got, want $sha" >&2; exit 1; }
    mv "$tmp"/dl/"${pkg}"_*.deb "$deb"
  fi
  x="$tmp/x/$pkg"
  mkdir -p "$x" && dpkg-deb -x "$deb" "$x"
  IFS=, read -ra globs <<<"$files"
  for g in "${globs[@]}"; do
    matched=("$x"/$g)
    [ ${#matched[@]} -gt 0 ] || { echo "image.sh: $pkg $ver has no $g" >&2; exit 1; }
    (cd "$x" && for f in $g; do cp -a --parents "$f" "$sys/"; done)
  done
done
# One CA bundle, as update-ca-certificates would write it.
LC_ALL=C cat "$sys"/usr/share/ca-certificates/mozilla/*.crt >"$sys/etc/ssl/certs/ca-certificates.crt"
rm -rf "$sys/usr/share/ca-certificates"
rmdir -p "$sys/usr/share" 2>/dev/null || true
printf 'root:x:0:0:root:/root:/sbin/nologin\nmlgate:x:65532:65532:mlgate:/home/mlgate:/sbin/nologin\n' >"$sys/etc/passwd"
printf 'root:x:0:\nmlgate:x:65532:\n' >"$sys/etc/group"
printf 'hosts: files dns\n' >"$sys/etc/nsswitch.conf"

ort=$(scripts/onnxruntime.sh)
CGO_ENABLED=1 go build -trimpath -ldflags "-s -w" -o "$tmp/mlgate" ./cmd/mlgate
mkdir -p "$(dirname "$out")"
"$tmp/mlgate" build-base --system "$sys" --onnxruntime-lib "$ort" --binary "$tmp/mlgate" -n "$name" -o "$out" >"$tmp/digest"
echo "image.sh: $name $(cat "$tmp/digest") -> $out" >&2
echo "$out"
