# Sourced by .ci/run: starts the servers the tests need and exports their URLs.
#
# A PostgreSQL cluster (initdb into a temporary directory, pg_ctl on a free loopback port) and
# a Redis server (no persistence, free loopback port), installed from the system packages
# where missing. Exports:
#   JUNIPER_DATA_TEST_DATABASE_URL  postgresql://postgres@127.0.0.1:<port>/postgres
#   JUNIPER_DATA_TEST_REDIS_URL     redis://127.0.0.1:<port>/0
#   JUNIPER_DATA_TEST_PGDATA        the cluster's directory (tests restart the server with pg_ctl)
#   JUNIPER_DATA_TEST_PG_USER       the OS user that owns it ("" when it is the current user)
# Both servers stop when the shell exits; the exit status of .ci/run is kept, and an EXIT trap
# set before this file is sourced still runs (ours is added in front of it).
# Standalone: `bash -c 'source .ci/servers.sh; python -m pytest -q tests/service/test_store_contract.py'`.

_jd_free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

_jd_pg_bin() {
  local found
  found="$(command -v pg_ctl 2>/dev/null || true)"
  if [ -z "$found" ]; then
    found="$(ls -d /usr/lib/postgresql/*/bin/pg_ctl 2>/dev/null | sort -V | tail -n 1 || true)"
  fi
  [ -n "$found" ] && dirname "$found"
}

_jd_as_owner() {
  # initdb and postgres refuse to run as root: run them as the cluster's owner.
  if [ -n "$JUNIPER_DATA_TEST_PG_USER" ]; then
    su "$JUNIPER_DATA_TEST_PG_USER" -s /bin/sh -c "$*"
  else
    sh -c "$*"
  fi
}

_jd_servers_stop() {
  if [ -n "${JUNIPER_DATA_TEST_PGDATA:-}" ] && [ -n "${_jd_pg_bin_dir:-}" ]; then
    _jd_as_owner "'$_jd_pg_bin_dir/pg_ctl' -D '$JUNIPER_DATA_TEST_PGDATA' -m immediate stop" >/dev/null 2>&1 || true
  fi
  if [ -n "${_jd_redis_pidfile:-}" ] && [ -f "$_jd_redis_pidfile" ]; then
    kill "$(cat "$_jd_redis_pidfile")" 2>/dev/null || true
  fi
  if [ -n "${_jd_servers_dir:-}" ]; then
    rm -rf "$_jd_servers_dir"
  fi
}

_jd_servers_start() {
  local missing=()
  [ -n "$(_jd_pg_bin)" ] || missing+=(postgresql)
  command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "servers.sh: installing ${missing[*]}" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null \
      || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null; }
  fi
  _jd_pg_bin_dir="$(_jd_pg_bin)"
  _jd_servers_dir="$(mktemp -d)"
  chmod 755 "$_jd_servers_dir"

  export JUNIPER_DATA_TEST_PG_USER=""
  if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
    JUNIPER_DATA_TEST_PG_USER=postgres
  fi
  export JUNIPER_DATA_TEST_PGDATA="$_jd_servers_dir/pg"
  mkdir -p "$JUNIPER_DATA_TEST_PGDATA"
  [ -z "$JUNIPER_DATA_TEST_PG_USER" ] || chown "$JUNIPER_DATA_TEST_PG_USER" "$JUNIPER_DATA_TEST_PGDATA"
  local pg_port
  pg_port="$(_jd_free_port)"
  _jd_as_owner "'$_jd_pg_bin_dir/initdb' -D '$JUNIPER_DATA_TEST_PGDATA' -U postgres --auth=trust -E UTF8 --no-sync" >/dev/null
  # The port and socket directory live in the cluster's own configuration, so a test that
  # restarts the server with a plain `pg_ctl restart` gets the same address back.
  cat >>"$JUNIPER_DATA_TEST_PGDATA/postgresql.conf" <<EOF
port = $pg_port
listen_addresses = '127.0.0.1'
unix_socket_directories = '$JUNIPER_DATA_TEST_PGDATA'
fsync = off
max_connections = 200
EOF
  _jd_as_owner "'$_jd_pg_bin_dir/pg_ctl' -D '$JUNIPER_DATA_TEST_PGDATA' -l '$JUNIPER_DATA_TEST_PGDATA/server.log' -w start" >/dev/null
  export JUNIPER_DATA_TEST_DATABASE_URL="postgresql://postgres@127.0.0.1:$pg_port/postgres"
  # pg_ctl for the tests that restart the server
  export JUNIPER_DATA_TEST_PG_CTL="$_jd_pg_bin_dir/pg_ctl"

  local redis_port
  redis_port="$(_jd_free_port)"
  _jd_redis_pidfile="$_jd_servers_dir/redis.pid"
  redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --daemonize yes \
    --pidfile "$_jd_redis_pidfile" --dir "$_jd_servers_dir" --logfile "$_jd_servers_dir/redis.log" >/dev/null
  local tries=0
  until redis-cli -p "$redis_port" ping >/dev/null 2>&1; do
    tries=$((tries + 1))
    [ "$tries" -lt 100 ] || { echo "servers.sh: redis-server did not start" >&2; return 1; }
    sleep 0.1
  done
  export JUNIPER_DATA_TEST_REDIS_URL="redis://127.0.0.1:$redis_port/0"
  echo "servers.sh: PostgreSQL at 127.0.0.1:$pg_port, Redis at 127.0.0.1:$redis_port" >&2
}

# Our stop runs first, then whatever EXIT trap was set before; neither calls `exit`, so the
# shell's exit status stays the one .ci/run exits with.
_jd_prev_exit_trap="$(trap -p EXIT | sed -e "s/^trap -- '//" -e "s/' EXIT\$//")"
# shellcheck disable=SC2064
trap "_jd_servers_stop; ${_jd_prev_exit_trap:-:}" EXIT
_jd_servers_start
