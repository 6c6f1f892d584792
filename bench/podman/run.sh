#!/usr/bin/env bash
# Podman against minipod on the same workloads, interleaved in one run (`make bench-podman`).
# Both run the same static busybox: Podman from localhost/busybox:latest (setup.sh), minipod
# from a rootfs: directory. minipod runs as its own installation (state, root, log dirs,
# bridge, subnet and cgroup parent below) so that real pods are never touched; Podman uses
# its default network (10.89.0.0/24 for `play kube`), which minipod's subnet avoids.
#
#   MINIPOD=bin/minipod ROOTFS=/var/lib/minipod/rootfs/busybox bench/podman/run.sh
#   knobs: REPS (15), MEM_PODS (10), DENSITY_PODS (50), RESTART_S (60), OUT (results dir)
set -uo pipefail
cd "$(dirname "$0")"
source ./lib.sh

REPS=${REPS:-15}
MEM_PODS=${MEM_PODS:-10}
DENSITY_PODS=${DENSITY_PODS:-50}
RESTART_S=${RESTART_S:-60}
OUT=${OUT:-/tmp/minipod-bench-podman}
rm -rf "$OUT/tmp"; mkdir -p "$OUT/tmp"
TSV=$OUT/results.tsv
: > "$TSV"
trap 'cleanup_all' EXIT
trap 'exit 130' INT TERM

log "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, kernel $(uname -r); $(podman --version); minipod $(git -C ../.. rev-parse --short HEAD 2>/dev/null)"
cleanup_all

# 1, 2: start a 2-container pod (the command returns with both running), remove it (no grace).
for ((i = 1; i <= REPS; i++)); do
  for rt in podman minipod; do
    name=bstart-$i; f=$OUT/tmp/$name-$rt.yaml; gen_pod "$name" Never '["/bin/sleep", "3600"]' 2 "$(image $rt)" > "$f"
    t0=$(now_us); ${rt}_run_detached "$f" || fail "$rt: $name did not start"; t1=$(now_us)
    ${rt}_all_running "$name" || fail "$rt: $name not running after its start command returned"
    t2=$(now_us); ${rt}_rm "$name" || fail "$rt: removing $name"; t3=$(now_us)
    sample "$rt" start_ms "$(ms "$t0" "$t1")"; sample "$rt" rm_ms "$(ms "$t2" "$t3")"
  done
done
# 3: run to completion: 2 x /bin/true, restartPolicy Never, to Succeeded.
for ((i = 1; i <= REPS; i++)); do
  for rt in podman minipod; do
    name=bdone-$i; f=$OUT/tmp/$name-$rt.yaml; gen_pod "$name" Never '["/bin/true"]' 2 "$(image $rt)" > "$f"
    t0=$(now_us); ${rt}_run_to_completion "$f" "$name" || fail "$rt: $name did not succeed"; t1=$(now_us)
    sample "$rt" completion_ms "$(ms "$t0" "$t1")"
    ${rt}_rm "$name" >/dev/null 2>&1
  done
done
# 4: memory of MEM_PODS idle 2-container pods, the runtime's processes apart from the workload.
for rt in podman minipod; do
  names=()
  for ((i = 1; i <= MEM_PODS; i++)); do
    name=bmem-$i; f=$OUT/tmp/$name-$rt.yaml; gen_pod "$name" Never '["/bin/sleep", "3600"]' 2 "$(image $rt)" > "$f"
    ${rt}_run_detached "$f" || fail "$rt: $name did not start"; names+=("$name")
  done
  sleep 3
  for name in "${names[@]}"; do ${rt}_pids "$name"; done > "$OUT/tmp/pids-$rt"
  while read -r pid role; do echo "$role $(mem_of "$pid") $(cat /proc/"$pid"/comm 2>/dev/null)"; done < "$OUT/tmp/pids-$rt" > "$OUT/memory-$rt.txt"
  for role in runtime workload; do
    read -r rss pss procs < <(awk -v r=$role '$1==r{s+=$2; p+=$3; n++} END{printf "%d %d %d", s, p, n}' "$OUT/memory-$rt.txt")
    sample "$rt" "mem_${role}_rss_kb" $((rss / MEM_PODS)); sample "$rt" "mem_${role}_pss_kb" $((pss / MEM_PODS))
    sample "$rt" "mem_${role}_procs" "$(awk -v p="$procs" -v n="$MEM_PODS" 'BEGIN{printf "%.1f", p/n}')"
  done
  read -r rss pss < <(${rt}_shared_pids | while read -r pid; do mem_of "$pid"; done | awk '{r+=$1; p+=$2} END{printf "%d %d", r, p}')
  sample "$rt" mem_shared_rss_kb "${rss:-0}"; sample "$rt" mem_shared_pss_kb "${pss:-0}"
  ${rt}_rm "${names[@]}"
done
# 5: density: DENSITY_PODS pods one after another, all running, then removed in one command.
for rt in podman minipod; do
  names=(); t0=$(now_us)
  for ((i = 1; i <= DENSITY_PODS; i++)); do
    name=bdens-$i; f=$OUT/tmp/$name-$rt.yaml; gen_pod "$name" Never '["/bin/sleep", "3600"]' 2 "$(image $rt)" > "$f"
    s=$(now_us); ${rt}_run_detached "$f" || fail "$rt: $name did not start"; sample "$rt" density_start_each_ms "$(ms "$s" "$(now_us)")"
    names+=("$name")
  done
  t1=$(now_us)
  running=0; for name in "${names[@]}"; do ${rt}_all_running "$name" && running=$((running + 1)); done
  sample "$rt" density_start_total_s "$(awk -v m="$(ms "$t0" "$t1")" 'BEGIN{printf "%.1f", m/1000}')"
  sample "$rt" density_running "$running"
  t2=$(now_us); ${rt}_rm "${names[@]}" || fail "$rt: removing the density pods"; t3=$(now_us)
  sample "$rt" density_rm_total_s "$(awk -v m="$(ms "$t2" "$t3")" 'BEGIN{printf "%.1f", m/1000}')"
done
# 6: crash loop: `sleep 1; exit 1` under restartPolicy Always, both runtimes at once for RESTART_S.
for rt in podman minipod; do
  f=$OUT/tmp/bcrash-$rt.yaml; gen_pod bcrash Always '["/bin/sh", "-c", "sleep 1; exit 1"]' 1 "$(image $rt)" > "$f"
done
since=$(date +%s); podman_run_detached "$OUT/tmp/bcrash-podman.yaml"; minipod_run_detached_any "$OUT/tmp/bcrash-minipod.yaml"
podman_watch_starts bcrash "$OUT/tmp/podman-starts" & watcher=$!
sleep "$RESTART_S"
kill "$watcher"; wait "$watcher" 2>/dev/null
for rt in podman minipod; do
  ${rt}_starts bcrash "$since" > "$OUT/starts-$rt.txt"   # start times, µs, in order
  sample "$rt" restarts_in_window $(($(wc -l < "$OUT/starts-$rt.txt") - 1))
  awk 'NR>1{printf "%.0f\n", ($1-p)/1000} {p=$1}' "$OUT/starts-$rt.txt" > "$OUT/tmp/iv-$rt"
  sample "$rt" restart_intervals_ms "$(paste -sd' ' "$OUT/tmp/iv-$rt" | cut -c1-120)"
  ${rt}_rm bcrash
done
report | tee "$OUT/report.md"
