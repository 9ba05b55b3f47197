# Sourced by scripts/cluster.sh and scripts/bench/store.sh: a PostgreSQL of their own
# (Debian's, never the system service), its cluster made by initdb in a folder of
# theirs. initdb refuses to run as root, so as root the server runs as the `postgres`
# user, in a folder that user owns.

# pg_program NAME: Debian keeps the server's programs off PATH.
pg_program() {
    if command -v "$1" >/dev/null; then command -v "$1"; return; fi
    local found
    found=$(ls /usr/lib/postgresql/*/bin/"$1" 2>/dev/null | sort -V | tail -n 1)
    [ -n "$found" ] || { echo "no $1: run scripts/setup.sh --redis (it installs postgresql)" >&2; return 1; }
    echo "$found"
}

# pg_as_owner CMD...: CMD as the `postgres` user when this runs as root.
pg_as_owner() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# start_postgres PORT DIR: makes a cluster in DIR/data if there is none, starts it on
# 127.0.0.1:PORT (log in DIR/postgres.log) and returns once it takes connections.
start_postgres() {
    local port=$1 dir=$2
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown -R postgres:postgres "$dir"
    if [ ! -f "$dir/data/PG_VERSION" ]; then
        pg_as_owner "$(pg_program initdb)" -D "$dir/data" -U postgres -A trust >/dev/null
    fi
    pg_as_owner "$(pg_program pg_ctl)" -D "$dir/data" -l "$dir/postgres.log" -w -t 30 \
        -o "-p $port -h 127.0.0.1 -k $dir" start >/dev/null
    PG_DIR=$dir
}

# stop_postgres: stops the server start_postgres started (if any).
stop_postgres() {
    if [ -n "${PG_DIR:-}" ]; then
        pg_as_owner "$(pg_program pg_ctl)" -D "$PG_DIR/data" -m fast stop >/dev/null 2>&1 || true
        PG_DIR=
    fi
}
