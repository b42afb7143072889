#!/usr/bin/env bash
# Benchmark (run by hand, not part of `cargo test`):
#   benches/svctl.sh [N]
# Measures, in the same run, the wall time of a waited restart:
#   svctl -w 5 restart   (against svkit's supervise, and against runsv)
#   sv -w 5 restart      (runit, against runsv)
#   s6-svc -r -wr        (s6, against s6-supervise)
# N times each (default 10), and prints median/min/max in ms, the ratios,
# and how often a tool returned while the old process was still the one
# recorded (a "stale" success). Supervisors keep >= 1 s between two starts
# of a service, so the script pauses 1.1 s between rounds (not measured).
# SUPERVISOR=/path/to/supervise overrides svkit's supervise; if it does not
# run, the svkit row is skipped and the runsv rows still run.
set -euo pipefail
N=${1:-10}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cargo build --release -q --manifest-path "$ROOT/Cargo.toml" --bin svctl --bin supervise
SVCTL=$ROOT/target/release/svctl
SUP=${SUPERVISOR:-$ROOT/target/release/supervise}
T=$(mktemp -d /tmp/svctl-bench.XXXXXX)
PIDS=()
cleanup() {
    # Services run in their own sessions: stop them through their
    # supervisors first, then kill the supervisors' process groups.
    "$SVCTL" -w 3 exit "$T/ours" "$T/runit" >/dev/null 2>&1 || true
    s6-svc -wD -T 3000 -d "$T/s6" >/dev/null 2>&1 || true
    s6-svc -x "$T/s6" >/dev/null 2>&1 || true
    for p in "${PIDS[@]}"; do kill -KILL -- "-$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$T"
}
trap cleanup EXIT

mk() {
    mkdir -p "$1"
    printf '#!/bin/sh\nexec sleep 100000\n' >"$1/run"
    chmod +x "$1/run"
}
start() { # dir supervisor...
    local dir=$1
    shift
    setsid "$@" "$dir" </dev/null >/dev/null 2>&1 &
    PIDS+=($!)
}
pidfile_of() { cat "$1/supervise/pid" 2>/dev/null || true; }
s6pid() { s6-svstat -o pid "$1" 2>/dev/null || true; }
waitup() { # dir pid-reader
    for _ in $(seq 200); do
        local p
        p=$($2 "$1")
        if [ -n "$p" ] && [ "$p" != 0 ] && [ "$p" != -1 ]; then return 0; fi
        sleep 0.05
    done
    return 1
}

mk "$T/ours"
mk "$T/runit"
mk "$T/s6"
HAVE_OURS=1
start "$T/ours" "$SUP"
start "$T/runit" runsv
start "$T/s6" s6-supervise
waitup "$T/ours" pidfile_of || { echo "svkit supervise did not start: skipping its row" >&2; HAVE_OURS=0; }
waitup "$T/runit" pidfile_of
waitup "$T/s6" s6pid

# measure LABEL DIR PID-READER CMD... -> prints one result line
measure() {
    local label=$1 dir=$2 reader=$3
    shift 3
    local times=() stale=0
    for _ in $(seq "$N"); do
        sleep 1.1
        local before after s e
        before=$($reader "$dir")
        s=$(date +%s%N)
        "$@" >/dev/null 2>&1 || true
        e=$(date +%s%N)
        after=$($reader "$dir")
        [ "$after" = "$before" ] && stale=$((stale + 1))
        times+=($(((e - s) / 1000)))
    done
    case $label in *baseline*) stale=-1 ;; esac
    printf '%s\n' "${times[@]}" | sort -n | awk -v l="$label" -v n="$N" -v st="$stale" '
        { a[NR] = $1 }
        END {
            med = (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
            stale = (st < 0) ? "n/a" : st "/" n
            printf "%-40s median %9.2f ms  min %9.2f  max %9.2f  stale %s\n", l, med / 1000, a[1] / 1000, a[n] / 1000, stale
            print med > "/dev/stderr"
        }'
}

echo "svctl restart benchmark, N=$N, $(date -u +%FT%TZ), $(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg)"
exec 3>&2
if [ $HAVE_OURS = 1 ]; then
    M_OURS=$(measure "svctl -w 5 restart (svkit supervise)" "$T/ours" pidfile_of "$SVCTL" -w 5 restart "$T/ours" 2>&1 >&3 | tail -1) || true
fi
M_SVCTL_RUNSV=$(measure "svctl -w 5 restart (runsv)" "$T/runit" pidfile_of "$SVCTL" -w 5 restart "$T/runit" 2>&1 >&3 | tail -1)
M_SV=$(measure "sv -w 5 restart (runsv)" "$T/runit" pidfile_of sv -w 5 restart "$T/runit" 2>&1 >&3 | tail -1)
M_S6=$(measure "s6-svc -r -wr (s6-supervise)" "$T/s6" s6pid s6-svc -r -wr -T 5000 "$T/s6" 2>&1 >&3 | tail -1)
# Baseline: starting svctl and reading one status (no restart); the
# restart rows minus this is the supervisor's restart plus svctl's wait.
M_BASE=$(measure "svctl status (baseline, no restart)" "$T/runit" pidfile_of "$SVCTL" status "$T/runit" 2>&1 >&3 | tail -1) || true
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0) printf "%.0fx", b / a; else print "n/a" }'; }
echo "ratios (other / svctl, median):"
echo "  sv vs svctl, both on runsv:          $(ratio "$M_SVCTL_RUNSV" "$M_SV")"
echo "  s6-svc vs svctl on runsv:            $(ratio "$M_SVCTL_RUNSV" "$M_S6")"
if [ -n "${M_OURS:-}" ]; then
    echo "  sv (runsv) vs svctl (supervise):     $(ratio "$M_OURS" "$M_SV")"
    echo "  s6-svc vs svctl (supervise):         $(ratio "$M_OURS" "$M_S6")"
fi
