# Shared by the scripts in scripts/ (quickstart, the benchmarks, replica, time-travel, branch):
# build, start a page server on a local-directory bucket, mount DbFS, and run PostgreSQL 15
# clusters on it and on local disk.
# Sourced; expects $here (repo root) and $work (a working directory) to be set.

PGBIN=/usr/lib/postgresql/15/bin
export DBFS_JAVA_HOME="${DBFS_JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"

say() { printf '\n== %s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# PostgreSQL refuses to run as root; as root we run it as the postgres user.
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

build_if_needed() {
  local stale=0
  for m in pageserver dbfs-fuse; do
    ls "$here/$m/target/$m"-*.jar >/dev/null 2>&1 || stale=1
  done
  if [ "$stale" = 1 ] || [ -n "$(find "$here" -path '*/src/main/*' -newer "$here/pageserver/target/lib" -print -quit 2>/dev/null)" ]; then
    say "building (mvn -DskipTests package)"
    (cd "$here" && JAVA_HOME="$DBFS_JAVA_HOME" mvn -q -B -ntp -DskipTests package) || die "build failed"
  fi
}

check_prerequisites() {
  "$here/scripts/lib/install-prerequisites" || exit 1
  [ -e /dev/fuse ] || die "/dev/fuse is missing: FUSE is not available on this machine"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# start_pageserver [WALSERVICE_PORT]: page server on file://$work/bucket; sets PAGESERVER_PID,
# PAGESERVER_ADDR (HOST:PORT: mounts, in the page server's framing, and gRPC for tools) and
# PAGESERVER_SOCKET (unix:PATH, for a mount on the same host). With a port, it serves
# GetPage@LSN from the WAL service that will listen there (replicas need it). Sets PAGESERVER_HTTP,
# the status page's address (which also serves /metrics).
start_pageserver() {
  mkdir -p "$work/bucket" "$work/cache"
  : "${DBFS_PASSPHRASE:=dbfs-quickstart-passphrase}"
  export DBFS_PASSPHRASE
  local port; port="$(free_port)"
  local http_port; http_port="$(free_port)"
  local walservice=()
  [ -n "${1:-}" ] && walservice=(--walservice "127.0.0.1:$1")
  # Mounts reach the page server over TCP, as a mount on another host would; DBFS_PAGESERVER=unix:... (the
  # socket below) is the special case of a page server on the mount's own host.
  # DBFS_PAGESERVER_JAVA_OPTS: JVM options for the page server alone (e.g. -Xmx256m).
  DBFS_JAVA_OPTS="${DBFS_PAGESERVER_JAVA_OPTS:-${DBFS_JAVA_OPTS:-}}" setsid "$here/bin/pageserver" \
      --bucket "file://$work/bucket" --cache-dir "$work/cache" \
      --listen "127.0.0.1:$port" --listen-socket "$work/pageserver.sock" --http-listen "127.0.0.1:$http_port" \
      "${walservice[@]}" ${DBFS_PAGESERVER_ARGS:-} \
      >"$work/pageserver.log" 2>&1 &
  PAGESERVER_PID=$!
  PAGESERVER_ADDR="127.0.0.1:$port"
  PAGESERVER_SOCKET="unix:$work/pageserver.sock"
  PAGESERVER_HTTP="http://127.0.0.1:$http_port/"
  await_line "$work/pageserver.log" "listening on" "$PAGESERVER_PID" "page server"
}

# check_transport NAME: dies unless NAME is a way for a mount to reach the page server (the
# benchmarks' --transport): tcp, unix or grpc.
check_transport() {
  case "$1" in tcp|unix|grpc) ;; *) die "--transport wants tcp, unix or grpc, got '$1'" ;; esac
}

# select_transport NAME: after start_pageserver, exports DBFS_PAGESERVER (what mount_dbfs mounts on)
# for NAME. tcp: the page server's own framing over TCP, as a mount on another host reaches it;
# unix: its Unix-domain socket (a page server on the same host); grpc: gRPC over TCP (for comparison).
select_transport() {
  case "$1" in
    tcp) DBFS_PAGESERVER="$PAGESERVER_ADDR" ;;
    unix) DBFS_PAGESERVER="$PAGESERVER_SOCKET" ;;
    grpc) DBFS_PAGESERVER="grpc:$PAGESERVER_ADDR" ;;
  esac
  export DBFS_PAGESERVER
}

# await_line LOG TEXT PID WHAT: waits (up to 60 s) until LOG holds TEXT; dies if PID exits first.
await_line() {
  for _ in $(seq 1 300); do
    grep -q "$2" "$1" 2>/dev/null && return 0
    kill -0 "$3" 2>/dev/null || { cat "$1" >&2; die "$4 did not start"; }
    sleep 0.2
  done
  die "$4 did not start in 60 s (see $1)"
}

# start_walservice PRIMARY_PORT LISTEN_PORT: the WAL service streaming the primary's WAL into
# file://$work/bucket (slot "walservice", created at the primary's last checkpoint); sets WALSERVICE_PID.
start_walservice() {
  mkdir -p "$work/walservice"
  setsid "$here/bin/walservice" --primary "host=127.0.0.1 port=$1 user=postgres" --slot walservice \
      --bucket "file://$work/bucket" --data-dir "$work/walservice" --listen "127.0.0.1:$2" >"$work/walservice.log" 2>&1 &
  WALSERVICE_PID=$!
  await_line "$work/walservice.log" "walservice listening on" "$WALSERVICE_PID" "walservice"
}

# mount_dbfs MOUNTPOINT: read-write mount in the background, on $DBFS_PAGESERVER (default: the page
# server's TCP address); sets DBFS_PID.
mount_dbfs() {
  local mnt="$1"
  mkdir -p "$mnt"
  setsid "$here/bin/dbfs" mount --rw --pageserver "${DBFS_PAGESERVER:-$PAGESERVER_ADDR}" "$mnt" >"$work/dbfs.log" 2>&1 &
  DBFS_PID=$!
  for _ in $(seq 1 300); do
    findmnt -n "$mnt" >/dev/null 2>&1 && return 0
    kill -0 "$DBFS_PID" 2>/dev/null || { cat "$work/dbfs.log" >&2; die "dbfs mount failed"; }
    sleep 0.2
  done
  die "dbfs mount did not come up in 60 s (see $work/dbfs.log)"
}

# init_cluster DATADIR PORT [EXTRA_CONF_LINE...]: initdb plus postgres-conf/primary.conf.
# DATADIR may exist (empty), e.g. a DbFS mount's root, which is where a data directory on DbFS goes.
init_cluster() {
  local data="$1" port="$2"; shift 2
  mkdir -p "$data" "$work/sock"
  [ "$(id -u)" = 0 ] && chown postgres:postgres "$data" "$work/sock"
  chmod 700 "$data"
  as_pg "$PGBIN/initdb" -D "$data" -U postgres --auth=trust -E UTF8 --locale=C >"$work/initdb-$port.log" 2>&1 \
      || { cat "$work/initdb-$port.log" >&2; die "initdb $data failed"; }
  {
    echo
    echo "# added by $(basename "$0")"
    echo "port = $port"
    echo "listen_addresses = '127.0.0.1'"
    echo "unix_socket_directories = '$work/sock'"
    cat "$here/postgres-conf/primary.conf"
    for line in "$@"; do echo "$line"; done
  } | as_pg tee -a "$data/postgresql.conf" >/dev/null
}

# cluster_log DATADIR: where start_cluster writes PostgreSQL's log (a directory postgres may write).
cluster_log() {
  echo "$work/pglog/$(basename "$1").log"
}

start_cluster() {
  local log; log="$(cluster_log "$1")"
  mkdir -p "$work/pglog"
  [ "$(id -u)" = 0 ] && chown postgres:postgres "$work/pglog"
  as_pg "$PGBIN/pg_ctl" -D "$1" -l "$log" -w -t 300 start >/dev/null || { cat "$log" >&2; die "PostgreSQL on $1 did not start"; }
}

stop_cluster() {
  [ -f "$1/postmaster.pid" ] && as_pg "$PGBIN/pg_ctl" -D "$1" -m fast -w stop >/dev/null 2>&1 || true
}

# tps PORT ARGS...: runs pgbench, prints its tps (excluding connection time)
tps() {
  local port="$1"; shift
  local out="$work/pgbench-$port-$RANDOM.log"
  as_pg "$PGBIN/pgbench" -h 127.0.0.1 -p "$port" -U postgres "$@" postgres >"$out" 2>&1 \
      || { cat "$out" >&2; die "pgbench on port $port failed"; }
  sed -n 's/^tps = \([0-9.]*\) (without initial connection time)/\1/p' "$out"
}

# FUSE requests by opcode, counted system-wide with the kernel's fuse:fuse_request_send tracepoint
# (perf stat). Only the run being measured should have a FUSE file system busy.
FUSE_OPS=(LOOKUP:1 GETATTR:3 SETATTR:4 MKNOD:8 MKDIR:9 UNLINK:10 RMDIR:11 RENAME:12 OPEN:14 READ:15 WRITE:16
  STATFS:17 RELEASE:18 FSYNC:20 FLUSH:25 OPENDIR:27 READDIR:28 RELEASEDIR:29 FSYNCDIR:30 CREATE:35
  FALLOCATE:43 READDIRPLUS:44 RENAME2:45)

# cpu_ticks PID: user + system CPU of a process so far, in clock ticks (getconf CLK_TCK).
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# can_count_fuse: true if perf and the tracepoint are there.
can_count_fuse() {
  command -v perf >/dev/null 2>&1 && perf stat -a -x, -e fuse:fuse_request_send -- true >/dev/null 2>&1
}

# fuse_counting CSV COMMAND...: runs COMMAND under perf stat, the counts by opcode going to CSV.
fuse_counting() {
  local csv="$1"; shift
  local events=()
  for op in "${FUSE_OPS[@]}"; do events+=(-e fuse:fuse_request_send --filter "opcode == ${op#*:}"); done
  events+=(-e fuse:fuse_request_send)
  perf stat -a -x, -o "$csv" "${events[@]}" -- "$@"
}

# fuse_counts CSV DIVISOR: "total T: OP n, OP n, ..." per DIVISOR (e.g. transactions), from fuse_counting's CSV.
fuse_counts() {
  python3 - "$1" "$2" "${FUSE_OPS[@]}" <<'EOF_PY'
import sys
path, per, names = sys.argv[1], float(sys.argv[2]), [o.split(':')[0] for o in sys.argv[3:]]
counts = [int(float(l.split(',')[0])) for l in open(path) if 'fuse:fuse_request_send' in l]
values = dict(zip(names, counts))
other = counts[-1] - sum(counts[:-1])
fmt = (lambda v: f"{v / per:.2f}") if per != 1 else (lambda v: f"{v:,.0f}")
parts = [f"{n} {fmt(v)}" for n, v in sorted(values.items(), key=lambda x: -x[1]) if v / per >= 0.005]
if other / per >= 0.005:
    parts.append(f"other {fmt(other)}")
print(f"total {fmt(counts[-1])}: " + ", ".join(parts))
EOF_PY
}

ratio() { python3 -c "import sys; a,b=float(sys.argv[1]),float(sys.argv[2]); print(f'{a/b:.2f}' if b else 'n/a')" "$1" "$2"; }

# stop_stack MOUNTPOINT DATADIR...: stops clusters, unmounts (flushing), stops the page server.
stop_stack() {
  local mnt="$1"; shift
  for d in "$@"; do stop_cluster "$d"; done
  if findmnt -n "$mnt" >/dev/null 2>&1; then "$here/bin/dbfs" umount "$mnt" || fusermount3 -uz "$mnt" || true; fi
  wait_gone "${DBFS_PID:-}"
  if [ -n "${WALSERVICE_PID:-}" ]; then kill "$WALSERVICE_PID" 2>/dev/null || true; fi
  wait_gone "${WALSERVICE_PID:-}"
  if [ -n "${PAGESERVER_PID:-}" ]; then kill "$PAGESERVER_PID" 2>/dev/null || true; fi
  wait_gone "${PAGESERVER_PID:-}"
}

# wait_gone PID: waits (up to 60 s) for a process that need not be our child to exit.
wait_gone() {
  [ -n "$1" ] || return 0
  for _ in $(seq 1 300); do
    kill -0 "$1" 2>/dev/null || return 0
    sleep 0.2
  done
  echo "warning: process $1 is still running after 60 s" >&2
}
