#!/usr/bin/env bash
# Benchmark: svkit supervise vs runit runsv vs s6-supervise, in one run.
#
#   1. PSS per supervisor process (/proc/PID/smaps_rollup), N services each
#      (default 50), `run` = exec sleep; supervisor processes only.
#   2. Restart latency after SIGKILL of a long-running service: time from
#      kill(2) until the supervisor's new child appears in
#      /proc/SUP/task/SUP/children (median of R rounds, default 20).
#   3. Idle wakeups: context switches of all supervisors over an idle
#      window (default 10 s) with M services (default 100).
#
# Usage: benches/supervise.sh [N_PSS] [ROUNDS] [N_IDLE] [IDLE_SECONDS]
# Needs: bash, runsv (runit), s6-supervise (s6). Run as any user that may
# create directories under $TMPDIR. Not part of `cargo test`.
set -euo pipefail

N_PSS=${1:-50}
ROUNDS=${2:-20}
N_IDLE=${3:-100}
IDLE=${4:-10}

cd "$(dirname "$0")/.."
cargo build --release --quiet --bin supervise
# The default build is static and position-dependent (.cargo/config.toml).
SVKIT=$PWD/target/release/supervise
# The same code linked dynamically (what `cargo install` makes: no
# .cargo/config.toml there); build.rs still links it -no-pie with the
# static unwinder.
# (An empty CARGO_ENCODED_RUSTFLAGS replaces the config's rustflags.)
CARGO_ENCODED_RUSTFLAGS= cargo build --release --quiet --bin supervise \
    --target-dir target/dynamic
SVKIT_DYN=$PWD/target/dynamic/release/supervise
sync # freshly written binaries have dirty page-cache pages that smaps counts
RUNSV=$(command -v runsv)
S6=$(command -v s6-supervise)

WORK=$(mktemp -d "${TMPDIR:-/tmp}/svkit-bench.XXXXXX")
SUPERVISORS=()
cleanup() {
    for p in "${SUPERVISORS[@]}"; do
        for c in $(cat "/proc/$p/task/$p/children" 2>/dev/null); do
            kill -9 "$c" 2>/dev/null || true
        done
        kill -9 "$p" 2>/dev/null || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT

# start KIND COUNT TAG: starts COUNT supervisors of KIND, sets PIDS.
start() {
    local kind=$1 count=$2 tag=$3 i dir bin
    case $kind in
        svkit) bin=$SVKIT ;;
        svkit-dyn) bin=$SVKIT_DYN ;;
        runsv) bin=$RUNSV ;;
        s6) bin=$S6 ;;
    esac
    PIDS=()
    for ((i = 0; i < count; i++)); do
        dir=$WORK/$tag-$kind-$i
        mkdir -p "$dir"
        printf '#!/bin/sh\nexec sleep 100000\n' >"$dir/run"
        chmod +x "$dir/run"
        setsid "$bin" "$dir" </dev/null >/dev/null 2>&1 &
        PIDS+=($!)
        disown
        SUPERVISORS+=($!)
    done
    # Wait until every supervisor has its child.
    local p
    for p in "${PIDS[@]}"; do
        for ((i = 0; i < 500; i++)); do
            [ -n "$(cat "/proc/$p/task/$p/children" 2>/dev/null)" ] && break
            sleep 0.01
        done
    done
}

stop() {
    local p c
    for p in "${PIDS[@]}"; do
        for c in $(cat "/proc/$p/task/$p/children" 2>/dev/null); do
            kill -9 "$c" 2>/dev/null || true
        done
        kill -9 "$p" 2>/dev/null || true
    done
    sleep 0.2
}

pss_avg() { # average Pss (KiB) over PIDS
    local p sum=0 n=0 v
    for p in "${PIDS[@]}"; do
        v=$(awk '/^Pss:/ {print $2}' "/proc/$p/smaps_rollup")
        sum=$((sum + v))
        n=$((n + 1))
    done
    echo $((sum / n))
}

ctxt_sum() {
    local p sum=0 v
    for p in "${PIDS[@]}"; do
        v=$(awk '/ctxt_switches/ {s += $2} END {print s}' "/proc/$p/status")
        sum=$((sum + v))
    done
    echo "$sum"
}

# restart_us PID: microseconds from SIGKILL of the child to a new child.
restart_us() {
    local p=$1 old new t0 t1
    read -r old <"/proc/$p/task/$p/children"
    old=${old%% *}
    t0=$EPOCHREALTIME
    kill -9 "$old"
    while :; do
        new=
        read -r new <"/proc/$p/task/$p/children" || true
        new=${new%% *}
        if [ -n "$new" ] && [ "$new" != "$old" ]; then break; fi
    done
    t1=$EPOCHREALTIME
    echo $(((${t1/./} - ${t0/./})))
}

median() { sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }

declare -A PSS RESTART IDLEW
for kind in runsv s6 svkit svkit-dyn; do
    start "$kind" "$N_PSS" pss
    sleep 1
    PSS[$kind]=$(pss_avg)
    stop

    start "$kind" 1 restart
    p=${PIDS[0]}
    sleep 1.2 # past the 1-second rule: a "long-running" service
    samples=()
    for ((r = 0; r < ROUNDS; r++)); do
        samples+=("$(restart_us "$p")")
        sleep 1.1 # let the new child become long-running again
    done
    RESTART[$kind]=$(printf '%s\n' "${samples[@]}" | median)
    stop

    start "$kind" "$N_IDLE" idle
    sleep 1
    before=$(ctxt_sum)
    sleep "$IDLE"
    after=$(ctxt_sum)
    IDLEW[$kind]=$((after - before))
    stop
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "n/a"; else printf "%.2f", a / b }'; }
ms() { awk -v u="$1" 'BEGIN { printf "%.2f", u / 1000 }'; }

echo "supervise benchmark ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs)"
F='%-44s %8s %8s %8s %8s %9s %9s %9s\n'
printf "$F" metric svkit svk-dyn runsv s6 svk/runsv dyn/runsv svk/s6
printf "$F" "PSS per supervisor, KiB (n=$N_PSS)" \
    "${PSS[svkit]}" "${PSS[svkit-dyn]}" "${PSS[runsv]}" "${PSS[s6]}" \
    "$(ratio "${PSS[svkit]}" "${PSS[runsv]}")" "$(ratio "${PSS[svkit-dyn]}" "${PSS[runsv]}")" \
    "$(ratio "${PSS[svkit]}" "${PSS[s6]}")"
printf "$F" "restart after SIGKILL, ms (median of $ROUNDS)" \
    "$(ms "${RESTART[svkit]}")" "$(ms "${RESTART[svkit-dyn]}")" "$(ms "${RESTART[runsv]}")" \
    "$(ms "${RESTART[s6]}")" "$(ratio "${RESTART[svkit]}" "${RESTART[runsv]}")" \
    "$(ratio "${RESTART[svkit-dyn]}" "${RESTART[runsv]}")" "$(ratio "${RESTART[svkit]}" "${RESTART[s6]}")"
printf "$F" "ctx switches, $N_IDLE services idle ${IDLE}s" \
    "${IDLEW[svkit]}" "${IDLEW[svkit-dyn]}" "${IDLEW[runsv]}" "${IDLEW[s6]}" - - -
