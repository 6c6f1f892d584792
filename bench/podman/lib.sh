# shellcheck shell=bash
# Helpers and the two runtime adapters of run.sh. Each adapter has: _run_detached FILE (the
# command returns with every container started), _all_running NAME, _rm NAME... (no grace),
# _run_to_completion FILE NAME, _pids NAME ("PID runtime|workload" lines), _shared_pids,
# _starts NAME SINCE (start times of container a, µs).

MINIPOD=${MINIPOD:-$(cd ../.. && pwd)/bin/minipod}
ROOTFS=${ROOTFS:-/var/lib/minipod/rootfs/busybox}
MP_DIR=${MP_DIR:-/tmp/minipod-bench-podman/minipod}
MP_FLAGS=(--state-dir="$MP_DIR/state" --root="$MP_DIR/root" --log-dir="$MP_DIR/log" --bridge=mpbench0
  --subnet=10.254.0.0/24 --cgroup-parent=minipod-bench --resolv-conf=)
RUNC_WRAPPER=${RUNC_WRAPPER:-/usr/local/libexec/minipod-bench/runc-norlimit}
# Podman passes its PATH to conmon and the runtime: a plain one, whatever the caller's.
PODMAN_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

log() { echo "[$(date +%T)] $*" >&2; }
fail() { log "FAIL: $*"; exit 1; }
now_us() { local t=${EPOCHREALTIME/./}; echo "$t"; }
ms() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.1f", (b-a)/1000}'; }
sample() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >> "$TSV"; }
image() { if [[ $1 == podman ]]; then echo localhost/busybox:latest; else echo "rootfs:$ROOTFS"; fi; }

# gen_pod NAME RESTART_POLICY COMMAND_JSON NCONTAINERS IMAGE: containers a, b, ...
gen_pod() {
  local i
  printf 'apiVersion: v1\nkind: Pod\nmetadata: {name: %s}\nspec:\n  restartPolicy: %s\n  terminationGracePeriodSeconds: 0\n  containers:\n' "$1" "$2"
  for ((i = 0; i < $4; i++)); do
    printf '  - {name: %s, image: "%s", command: %s}\n' "$(printf "\\x$(printf %x $((97 + i)))")" "$5" "$3"
  done
}

# mem_of PID -> "RSS_KB PSS_KB"
mem_of() {
  local rss pss
  rss=$(awk '/^VmRSS:/{print $2}' "/proc/$1/status" 2>/dev/null)
  pss=$(awk '/^Pss:/{print $2}' "/proc/$1/smaps_rollup" 2>/dev/null)
  echo "${rss:-0} ${pss:-0}"
}

# descendants PID -> every descendant pid
descendants() {
  ps -e -o pid=,ppid= | awk -v root="$1" '{k[$2]=k[$2] " " $1}
    END{q[1]=root; h=1; t=1; while (h<=t) {n=split(k[q[h]], c, " "); for (i=1;i<=n;i++) {q[++t]=c[i]; print c[i]} h++}}'
}

# --- Podman ------------------------------------------------------------------------------
P() { PATH=$PODMAN_PATH command podman --runtime "$RUNC_WRAPPER" "$@" 2> >(grep -v 'failed to connect to syslog' >&2); }
podman_run_detached() { P play kube "$1" >/dev/null; }
podman_all_running() {
  P pod inspect --format '{{range .Containers}}{{.State}} {{end}}' "$1" 2>/dev/null |
    awk '{for (i=1;i<=NF;i++) {n++; if ($i=="running") r++}} END{exit !(n>1 && r==n)}'
}
podman_rm() { P pod rm -f -t 0 "$@" >/dev/null; }
podman_run_to_completion() {
  P play kube "$1" >/dev/null || return 1
  [[ $(P wait "$2-a" "$2-b" | sort -u) == 0 ]]
}
podman_pids() {
  local ids
  ids=$(P pod inspect --format '{{range .Containers}}{{.ID}} {{end}}' "$1") || return 1
  # shellcheck disable=SC2086
  P inspect --format '{{.State.ConmonPid}} {{.State.Pid}} {{.IsInfra}}' $ids | while read -r conmon pid infra; do
    echo "$conmon runtime"
    role=workload; [[ $infra == true ]] && role=runtime # the infra container's catatonit
    for p in $pid $(descendants "$pid"); do echo "$p $role"; done
  done
}
podman_shared_pids() { pgrep -x aardvark-dns || true; }
# Podman's event log stays empty on this host (file backend, no journald): its containers'
# StartedAt is sampled instead, every 0.1 s, by podman_watch_starts in the background.
podman_watch_starts() {
  local last="" t
  while :; do
    t=$(P inspect --format '{{.State.StartedAt.UnixMicro}}' "$1-a" 2>/dev/null)
    if [[ -n $t && $t != "$last" && $t != -* ]]; then echo "$t" >> "$2"; last=$t; fi
    sleep 0.1
  done
}
podman_starts() { sort -nu "$OUT/tmp/podman-starts"; }

# --- minipod -----------------------------------------------------------------------------
M() { "$MINIPOD" "$@" "${MP_FLAGS[@]}"; }
minipod_run_detached() { M run -d "$1" >/dev/null; }
minipod_run_detached_any() { M run -d "$1" >/dev/null 2>&1 || true; }
minipod_all_running() {
  M get pod "$1" -o json 2>/dev/null |
    jq -e '[.status.containerStatuses[] | .state.running != null] | length > 1 and all' >/dev/null
}
minipod_rm() { M delete pod "$@" --force --grace-period=0 >/dev/null; }
minipod_run_to_completion() { M run "$1" >/dev/null 2>&1; }
minipod_pids() {
  local mon
  mon=$(cat "$MP_DIR/state/pods/default_$1/monitor.pid") || return 1
  echo "$mon runtime"
  for p in $(descendants "$mon"); do
    # A container's init is this binary until it execs the user's program.
    if [[ $(readlink "/proc/$p/exe" 2>/dev/null) == "$(readlink -f "$MINIPOD")" ]]; then echo "$p runtime"; else echo "$p workload"; fi
  done
}
minipod_shared_pids() { return 0; }
minipod_starts() {
  jq -r 'select(.reason == "Started") | .time' "$MP_DIR/state/pods/default_$1/events.jsonl" |
    while read -r t; do date -d "$t" +%s%6N; done | sort -n
}

cleanup_all() {
  local p
  for p in $(P pod ps --format '{{.Name}}' 2>/dev/null | grep -E '^b(start|done|mem|dens|crash)'); do P pod rm -f -t 0 "$p" >/dev/null 2>&1; done
  M delete pods --all --force --grace-period=0 >/dev/null 2>&1
  true
}

# report: the markdown table of results.tsv, medians [min–max] of samples, with podman ÷ minipod.
report() {
  awk -F'\t' '
    { key[$2]=1; v[$1,$2]=v[$1,$2] (v[$1,$2]==""?"":" ") $3; if (!($2 in order)) {order[$2]=++n; names[n]=$2} }
    function cell(s,   a, m, k, i, j, t) {
      k = split(s, a, " ")
      if (k <= 1 || a[1] !~ /^-?[0-9.]+$/) { med = (a[1] ~ /^-?[0-9.]+$/) ? a[1] : ""; return s }
      for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
      med = (k % 2) ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
      return sprintf("%.1f [%s–%s]", med, a[1], a[k])
    }
    END {
      print "| metric | Podman | minipod | Podman ÷ minipod |"
      print "|---|---|---|---|"
      for (i = 1; i <= n; i++) {
        m = names[i]
        if (m == "restart_intervals_ms") { print "| " m " | " v["podman",m] " | " v["minipod",m] " | |"; continue }
        p = cell(v["podman",m]); pm = med; q = cell(v["minipod",m]); qm = med
        r = (pm != "" && qm != "" && qm + 0 != 0) ? sprintf("%.1fx", pm / qm) : ""
        print "| " m " | " p " | " q " | " r " |"
      }
    }' "$TSV"
}
