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
#   4. Crash loop: CPU time of the supervisor (/proc/PID/schedstat, ns)
#      over 10 s for a service whose `run` exits at once, beside
#      daemontools' supervise.
#   5. PSS per supervisor with a logger (log/ present: the supervisor holds
#      the log pipe and supervises two processes) at 1, 5 and 100 services.
#   6. Back-to-back operator restarts: `tcu` written to supervise/control
#      of a service just started, until the new child appears (median of
#      ROUNDS); runit holds such a restart for its 1-second rule.
#
# Usage: benches/supervise.sh [N_PSS] [ROUNDS] [N_IDLE] [IDLE_SECONDS]
# SECTIONS="classic crash logmem b2b" (default: all) picks sections.
# Needs: bash, runsv (runit), s6-supervise (s6), supervise (daemontools).
# Run as any user that may create directories under $TMPDIR. Not part of
# `cargo test`. Honours CARGO_TARGET_DIR.
set -euo pipefail

N_PSS=${1:-50}
ROUNDS=${2:-20}
N_IDLE=${3:-100}
IDLE=${4:-10}
SECTIONS=${SECTIONS:-classic crash logmem b2b}
want() { [[ " $SECTIONS " == *" $1 "* ]]; }

cd "$(dirname "$0")/.."
TARGET=${CARGO_TARGET_DIR:-$PWD/target}
cargo build --release --quiet --bin supervise
# The default build is static and position-dependent (.cargo/config.toml).
SVKIT=$TARGET/release/supervise
# The same code linked dynamically (what `cargo install` makes: no
# .cargo/config.toml there); build.rs still links it -no-pie with the
# static unwinder.
# (An empty CARGO_ENCODED_RUSTFLAGS replaces the config's rustflags.)
if want classic || want logmem; then
    CARGO_ENCODED_RUSTFLAGS= cargo build --release --quiet --bin supervise \
        --target-dir "$TARGET/dynamic"
fi
SVKIT_DYN=$TARGET/dynamic/release/supervise
sync # freshly written binaries have dirty page-cache pages that smaps counts
RUNSV=$(command -v runsv)
S6=$(command -v s6-supervise)
# daemontools' supervise (not ours: that one is $SVKIT).
DT=$(PATH=/usr/bin:/usr/sbin:/bin command -v supervise)

WORK=$(mktemp -d "${TMPDIR:-/tmp}/svkit-bench.XXXXXX")
SUPERVISORS=()
cleanup() {
    for p in "${SUPERVISORS[@]}"; do
        kill -STOP "$p" 2>/dev/null || true
        for c in $(cat "/proc/$p/task/$p/children" 2>/dev/null); do
            kill -9 "$c" 2>/dev/null || true
        done
        kill -9 "$p" 2>/dev/null || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT

# start KIND COUNT TAG [RUN] [LOG]: starts COUNT supervisors of KIND, sets
# PIDS. RUN is the run script (default: exec sleep); LOG=1 adds log/run.
start() {
    local kind=$1 count=$2 tag=$3 i dir bin
    local run=${4:-$'#!/bin/sh\nexec sleep 100000\n'} log=${5:-0}
    case $kind in
        svkit) bin=$SVKIT ;;
        svkit-dyn) bin=$SVKIT_DYN ;;
        runsv) bin=$RUNSV ;;
        s6) bin=$S6 ;;
        dt) bin=$DT ;;
    esac
    PIDS=()
    for ((i = 0; i < count; i++)); do
        dir=$WORK/$tag-$kind-$i
        mkdir -p "$dir"
        printf '%s' "$run" >"$dir/run"
        chmod +x "$dir/run"
        if [ "$log" = 1 ]; then
            mkdir -p "$dir/log"
            printf '#!/bin/sh\nexec sleep 100000\n' >"$dir/log/run"
            chmod +x "$dir/log/run"
        fi
        setsid "$bin" "$dir" </dev/null >/dev/null 2>&1 &
        PIDS+=($!)
        disown
        SUPERVISORS+=($!)
    done
    # Wait until every supervisor has its child (not for a crash loop).
    local p
    [ "$run" = "${4:-}" ] && [ -n "${4:-}" ] && return 0
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
        # Stopped first: a supervisor that restarts a killed child at once
        # would otherwise leave the new one behind as an orphan.
        kill -STOP "$p" 2>/dev/null || true
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

declare -A PSS RESTART IDLEW CPU LOGPSS B2B
want classic && for kind in runsv s6 svkit svkit-dyn; do
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

# cpu_ns PID: CPU time the process has used, in nanoseconds.
cpu_ns() { awk '{print $1}' "/proc/$1/schedstat"; }

if want crash; then
    for kind in runsv dt s6 svkit; do
        start "$kind" 1 crash $'#!/bin/sh\nexit 1\n'
        p=${PIDS[0]}
        sleep 2 # past start-up
        before=$(cpu_ns "$p")
        sleep 10
        after=$(cpu_ns "$p")
        CPU[$kind]=$(((after - before) / 1000))
        stop
    done
fi

if want logmem; then
    for n in 1 5 100; do
        for kind in runsv svkit svkit-dyn; do
            start "$kind" "$n" "logmem$n" "" 1
            sleep 1
            LOGPSS[$kind-$n]=$(pss_avg)
            stop
        done
    done
fi

# b2b_us PID DIR: microseconds from writing `tcu` to the new child.
b2b_us() {
    local p=$1 dir=$2 old new t0 t1
    read -r old <"/proc/$p/task/$p/children"
    old=${old%% *}
    t0=$EPOCHREALTIME
    printf tcu >"$dir/supervise/control"
    while :; do
        new=
        read -r new <"/proc/$p/task/$p/children" || true
        new=${new%% *}
        if [ -n "$new" ] && [ "$new" != "$old" ]; then break; fi
    done
    t1=$EPOCHREALTIME
    echo $(((${t1/./} - ${t0/./})))
}

if want b2b; then
    for kind in runsv svkit; do
        start "$kind" 1 b2b
        p=${PIDS[0]}
        samples=()
        for ((r = 0; r < ROUNDS; r++)); do
            samples+=("$(b2b_us "$p" "$WORK/b2b-$kind-0")")
        done
        B2B[$kind]=$(printf '%s\n' "${samples[@]}" | median)
        stop
    done
fi

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "n/a"; else printf "%.2f", a / b }'; }
ms() { awk -v u="$1" 'BEGIN { printf "%.2f", u / 1000 }'; }

echo "supervise benchmark ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs)"
if want classic; then
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
fi
F='%-44s %8s %8s %8s %8s %9s %9s\n'
if want crash; then
    printf "$F" metric svkit runsv dt s6 svk/runsv svk/dt
    printf "$F" "crash loop: supervisor CPU per 10 s, ms" \
        "$(ms "${CPU[svkit]}")" "$(ms "${CPU[runsv]}")" "$(ms "${CPU[dt]}")" "$(ms "${CPU[s6]}")" \
        "$(ratio "${CPU[svkit]}" "${CPU[runsv]}")" "$(ratio "${CPU[svkit]}" "${CPU[dt]}")"
fi
if want logmem; then
    printf "$F" metric svkit runsv svk-dyn - svk/runsv dyn/runsv
    for n in 1 5 100; do
        printf "$F" "PSS per supervisor with log/, KiB (n=$n)" \
            "${LOGPSS[svkit-$n]}" "${LOGPSS[runsv-$n]}" "${LOGPSS[svkit-dyn-$n]}" - \
            "$(ratio "${LOGPSS[svkit-$n]}" "${LOGPSS[runsv-$n]}")" \
            "$(ratio "${LOGPSS[svkit-dyn-$n]}" "${LOGPSS[runsv-$n]}")"
    done
fi
if want b2b; then
    printf "$F" metric svkit runsv - - svk/runsv -
    printf "$F" "back-to-back tcu restart, ms (median of $ROUNDS)" \
        "$(ms "${B2B[svkit]}")" "$(ms "${B2B[runsv]}")" - - \
        "$(ratio "${B2B[svkit]}" "${B2B[runsv]}")" -
fi
