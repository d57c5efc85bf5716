#!/usr/bin/env bash
# start DIR: installs PostgreSQL from apt when missing, starts a throwaway
#            cluster in DIR on a free loopback port, prints its DSN.
# stop DIR:  stops it.
set -euo pipefail
cmd=$1; dir=$2
pgbin() {
  for d in /usr/lib/postgresql/*/bin; do [ -x "$d/pg_ctl" ] && { echo "$d"; return; }; done
}
case "$cmd" in
start)
  if [ -z "$(pgbin)" ]; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null) >&2
  fi
  bin=$(pgbin)
  id postgres >/dev/null 2>&1 || useradd -r -m postgres
  rm -rf "$dir"; mkdir -p "$dir"; chown postgres "$dir"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
  as_pg "$bin/initdb" -D "$dir/data" -U mlgate --auth=trust -E UTF8 --no-locale >/dev/null
  as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null
  as_pg "$bin/createdb" -h 127.0.0.1 -p "$port" -U mlgate mlgate
  echo "postgres://mlgate@127.0.0.1:$port/mlgate?sslmode=disable"
  ;;
stop)
  bin=$(pgbin)
  if [ -d "$dir/data" ]; then
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$bin/pg_ctl" -D "$dir/data" -m fast stop >/dev/null || true
    else "$bin/pg_ctl" -D "$dir/data" -m fast stop >/dev/null || true; fi
  fi
  ;;
esac
