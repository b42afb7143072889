#!/usr/bin/env bash
# svscan benchmarks, run by hand as root (not part of `cargo test`):
#
#   benches/svscan.sh [SERVICES]      # SERVICES defaults to 1000
#
# Compares svkit's svscan with runit's runsvdir, s6-svscan and daemontools'
# svscan IN THE SAME RUN, each as PID 1 of its own PID namespace (as in a
# container), each on its own copy of the services:
#   1. new-service pickup: `mv` of a complete service dir into the scan dir
#      until its run script executes (median, max);
#   2. SERVICES services: start of the scanner until every run has executed;
#      then TERM until the scanner has exited (namespace gone);
#   3. idle: context switches of the scanner over 10 s with 100 services;
#   4. memory: the scanner's PSS with 100 services, alone and with its
#      supervisors (its direct children);
#   5. restart after SIGKILL of a service's run (median, max);
#   6. a typical container: the scanner and 5 services, each with a
#      logger (svlog, svlogd, s6-log, multilog): total PSS of the scanner,
#      its supervisors and the loggers (the services themselves are sleeps
#      and left out), also at 1 and 100 services;
#   and, with section 2, the start-up CPU of the scanner and of all its
#   supervisors (utime+stime once every service is up): what svscan's
#   exec of supervise costs against runsv, s6-supervise and supervise.
#
# Environment: BENCH_SCANNERS (default "svkit runit s6 daemontools"; add
# "svkit-dyn" for svscan and supervise linked dynamically, as `cargo
# install` builds them outside this repository's .cargo/config.toml; the
# default build is static and position-dependent),
# BENCH_SECTIONS (default "1 2 3 5 6"), BENCH_DIR (where the service directories are made; default
# /tmp; a tmpfs there takes the file system's inode allocation out of the
# figures), BENCH_COOL (seconds to wait before each scanner's 1000-service
# run, default 0: on ext4 without a journal every new inode is checked
# against the inodes deleted in the last minutes, so one scanner's run
# slows the next; 90 lets the file system settle).
#
# The script waits with bash builtins only (no ls, date, cat or sleep in
# its loops): forking those every few milliseconds took about 60% of one
# CPU, which the scanner under test then did not have.
set -euo pipefail

N=${1:-1000}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
SVSCAN=$TARGET/release/svscan
SVLOG=$TARGET/release/svlog
SVSCAN_DYN=$ROOT/target/dynamic/release/svscan
(cd "$ROOT" && cargo build --release --quiet --bin svscan --bin supervise --bin svlog)
if [[ " ${BENCH_SCANNERS:-} " == *" svkit-dyn "* ]]; then
    # An empty CARGO_ENCODED_RUSTFLAGS replaces the config's rustflags.
    (cd "$ROOT" && CARGO_ENCODED_RUSTFLAGS= cargo build --release --quiet \
        --bin svscan --bin supervise --target-dir target/dynamic)
fi
T=$(mktemp -d "${BENCH_DIR:-/tmp}/svscan-bench.XXXXXX")
UNSHARES=()
RUN=0
cleanup() {
    for u in "${UNSHARES[@]}"; do kill -KILL "$u" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$T"
}
trap cleanup EXIT

# nap: a 5 ms pause without forking sleep(1): read with a timeout on a FIFO
# that this shell holds open for both reading and writing, so it never
# delivers data or end of file.
mkfifo "$T/nap"
exec {NAP_FD}<>"$T/nap"
nap() { read -r -t "${1:-0.005}" -u "$NAP_FD" _ || true; }

read -r -a SCANNERS <<< "${BENCH_SCANNERS:-svkit runit s6 daemontools}"
SECTIONS=" ${BENCH_SECTIONS:-1 2 3 5 6} "
section() { [[ $SECTIONS == *" $1 "* ]]; }
have() {
    case $1 in
        svkit) true ;;
        svkit-dyn) [ -x "$SVSCAN_DYN" ] ;;
        runit) command -v runsvdir >/dev/null ;;
        s6) command -v s6-svscan >/dev/null ;;
        daemontools) [ -x /usr/bin/svscan ] && [ -x /usr/bin/supervise ] ;;
    esac
}
cmd_of() {
    case $1 in
        svkit) echo "$SVSCAN" ;;
        svkit-dyn) echo "$SVSCAN_DYN" ;;
        runit) echo "runsvdir -P" ;;
        s6) echo "s6-svscan -c $((N + 100))" ;;
        daemontools) echo "/usr/bin/svscan" ;;
    esac
}

now_ns() { local t=$EPOCHREALTIME; echo "${t/./}000"; }
now_s() { echo "${EPOCHREALTIME%.*}"; }
ms() { echo "scale=1; $1 / 1000000" | bc; }

# start_ns SCANNER DIR: runs the scanner as PID 1 of a new PID namespace;
# sets INIT (host pid of the scanner) and UPID (the unshare process).
start_ns() {
    local dir=$2
    # daemontools' svscan finds supervise in PATH; keep ours out of it.
    # shellcheck disable=SC2046
    PATH=/usr/sbin:/usr/bin:/sbin:/bin unshare --pid --fork --mount-proc --kill-child -- \
        $(cmd_of "$1") "$dir" >/dev/null 2>&1 &
    UPID=$!
    UNSHARES+=("$UPID")
    INIT=
    local comm _rest
    for _ in $(seq 1000); do
        INIT=; comm=
        read -r INIT _rest < "/proc/$UPID/task/$UPID/children" 2>/dev/null || true
        [ -n "$INIT" ] && read -r comm < "/proc/$INIT/comm" 2>/dev/null || true
        [ -n "$comm" ] && [ "$comm" != unshare ] && break
        nap
    done
}

stop_ns() {
    kill -KILL "$UPID" 2>/dev/null || true
    wait "$UPID" 2>/dev/null || true
}

# ns_tree PID: PID and all its descendants (host pids).
ns_tree() {
    local p c
    echo "$1"
    for c in $(cat /proc/"$1"/task/*/children 2>/dev/null); do ns_tree "$c"; done
}

# ns_pid NSPID: the host pid of the process that is NSPID in the scanner's
# namespace (the run script writes its own pid, as seen inside).
ns_pid() {
    local p
    for p in $(ns_tree "$INIT"); do
        if awk -v want="$1" '/^NSpid:/ {exit ($NF == want) ? 0 : 1}' "/proc/$p/status" 2>/dev/null; then
            echo "$p"; return
        fi
    done
}

# make_service DIR NAME MARKER: a run script that records it ran, then sleeps.
make_service() {
    mkdir -p "$1/$2"
    printf '#!/bin/sh\n: > %s\nexec sleep 424242\n' "$3" > "$1/$2/run"
    chmod +x "$1/$2/run"
}

# wait_count DIR COUNT TIMEOUT_S: until the markers DIR/s1 .. DIR/sCOUNT
# all exist. Each marker is looked at until it appears, then never again.
WAIT_SEEN=0
wait_count() {
    local deadline=$(( $(now_s) + $3 )) i=1
    WAIT_SEEN=0
    while [ "$i" -le "$2" ]; do
        if [ -e "$1/s$i" ]; then
            i=$((i + 1)); WAIT_SEEN=$((WAIT_SEEN + 1)); continue
        fi
        [ "${EPOCHREALTIME%.*}" -ge "$deadline" ] && return 1
        nap
    done
}

# cpu_us PID: CPU time PID has run so far, in microseconds (schedstat:
# exact, where utime/stime count whole clock ticks and round a short-lived
# supervisor's start to 0).
cpu_us() {
    local ns _rest
    read -r ns _rest < "/proc/$1/schedstat" 2>/dev/null || { echo 0; return; }
    echo $(( ns / 1000 ))
}

median() { sort -n | awk '{a[NR]=$1} END {if (NR==0) print "n/a"; else print a[int((NR+1)/2)]}'; }
maxof() { sort -n | tail -1; }

echo "svscan benchmark: $(date -u +%FT%TZ), $(nproc) CPUs, kernel $(uname -r), load average $(cut -d" " -f1-3 /proc/loadavg)"
echo

if section 1; then
echo "== 1. new-service pickup (mv of a complete service dir -> run executes)"
for s in "${SCANNERS[@]}"; do
    have "$s" || { echo "$s: not installed"; continue; }
    RUN=$((RUN + 1)); d=$T/pick-$s-$RUN; mkdir -p "$d/scan" "$d/marks"
    start_ns "$s" "$d/scan"
    sleep 0.5
    case $s in svkit*) reps=20 ;; s6) reps=10 ;; *) reps=3 ;; esac
    : > "$d/lat"
    for i in $(seq "$reps"); do
        mkdir -p "$d/stage"
        printf '#!/bin/sh\ndate +%%s%%N > %s\nexec sleep 424242\n' "$d/marks/$i" > "$d/stage/run"
        chmod +x "$d/stage/run"
        t0=$(now_ns)
        mv "$d/stage" "$d/scan/p$i"
        [ "$s" = s6 ] && s6-svscanctl -a "$d/scan"
        for _ in $(seq 1200); do [ -s "$d/marks/$i" ] && break; nap; done
        if [ -s "$d/marks/$i" ]; then
            read -r t1 < "$d/marks/$i"
            echo $(( t1 - t0 )) >> "$d/lat"
        fi
    done
    med=$(median < "$d/lat"); mx=$(maxof < "$d/lat")
    note=""; [ "$s" = s6 ] && note=" (with s6-svscanctl -a after each mv)"
    echo "$s: median $(ms "$med") ms, max $(ms "$mx") ms over $(wc -l < "$d/lat")/$reps$note"
    stop_ns
done
if have s6 && [[ " ${SCANNERS[*]} " == *" s6 "* ]]; then
    d=$T/pick-s6-noa; mkdir -p "$d/scan" "$d/marks"
    start_ns s6 "$d/scan"; sleep 0.5
    make_service "$d/scan" p1 "$d/marks/1"
    for _ in $(seq 1000); do [ -e "$d/marks/1" ] && break; nap 0.01; done
    [ -e "$d/marks/1" ] && echo "s6 without s6-svscanctl -a: picked up" \
        || echo "s6 without s6-svscanctl -a: not picked up within 10 s"
    stop_ns
fi
echo
fi

if section 2; then
echo "== 2. $N services: all up, then TERM until the scanner exits"
for s in "${SCANNERS[@]}"; do
    have "$s" || continue
    [ "${BENCH_COOL:-0}" -gt 0 ] && { sync; sleep "$BENCH_COOL"; }
    RUN=$((RUN + 1)); d=$T/many-$s-$RUN; mkdir -p "$d/scan" "$d/up"
    for i in $(seq "$N"); do make_service "$d/scan" "s$i" "$d/up/s$i"; done
    sync
    t0=$(now_ns)
    start_ns "$s" "$d/scan"
    if wait_count "$d/up" "$N" 60; then
        up=$(( $(now_ns) - t0 ))
        upt="$(ms "$up") ms"
    else
        upt="not all up in 60 s ($WAIT_SEEN)"
    fi
    cpu=$(cpu_us "$INIT")
    kids=0
    for c in $(cat "/proc/$INIT/task/$INIT/children" 2>/dev/null); do
        kids=$((kids + $(cpu_us "$c")))
    done
    t1=$(now_ns)
    kill -TERM "$INIT" 2>/dev/null || true
    stopped=""
    for _ in $(seq 3000); do
        # The scanner is gone once unshare has reaped it (unshare itself
        # stays a zombie of this shell, so test the scanner's pid).
        [ -e "/proc/$INIT" ] || { stopped=$(( $(now_ns) - t1 )); break; }
        nap
    done
    case $s in
        runit) how=" (runsvdir exits at once: services are SIGKILLed by the kernel, not stopped)" ;;
        daemontools) how=" (svscan has no TERM handler: as PID 1 it ignores TERM)" ;;
        *) how="" ;;
    esac
    if [ -n "$stopped" ]; then stopt="$(ms "$stopped") ms"; else stopt="did not exit in 15 s"; fi
    echo "$s: all up in $upt; TERM -> exit in $stopt$how"
    echo "$s: start-up CPU: scanner $((cpu / 1000)) ms, its $N supervisors $((kids / 1000)) ms in all ($((kids / N)) us each)"
    stop_ns
done
echo
fi

if section 3; then
echo "== 3+4. idle wakeups over 10 s and PSS, 100 services"
for s in "${SCANNERS[@]}"; do
    have "$s" || continue
    RUN=$((RUN + 1)); d=$T/idle-$s-$RUN; mkdir -p "$d/scan" "$d/up"
    for i in $(seq 100); do make_service "$d/scan" "s$i" "$d/up/s$i"; done
    start_ns "$s" "$d/scan"
    wait_count "$d/up" 100 30 || true
    sleep 2
    c0=$(awk '/ctxt_switches/ {n += $2} END {print n}' "/proc/$INIT/status" || echo 0)
    sleep 10
    c1=$(awk '/ctxt_switches/ {n += $2} END {print n}' "/proc/$INIT/status" || echo 0)
    pss=$(awk '/^Pss:/ {print $2}' "/proc/$INIT/smaps_rollup" || echo 0)
    # The scanner and its supervisors together.
    tree=$pss
    for c in $(cat "/proc/$INIT/task/$INIT/children" 2>/dev/null); do
        p=$(awk '/^Pss:/ {print $2}' "/proc/$c/smaps_rollup" 2>/dev/null) || continue
        tree=$((tree + ${p:-0}))
    done
    echo "$s: $((c1 - c0)) wakeups in 10 s; PSS ${pss} KiB; with its 100 supervisors ${tree} KiB"
    stop_ns
done
fi

if section 5; then
echo
echo "== 5. restart after SIGKILL of a service's run (kill -> run executes again)"
for s in "${SCANNERS[@]}"; do
    have "$s" || continue
    RUN=$((RUN + 1)); d=$T/restart-$s-$RUN; mkdir -p "$d/scan/svc" "$d/marks"
    printf '#!/bin/sh\necho $$ > %s/pid\ndate +%%s%%N > %s/started\nexec sleep 424242\n' \
        "$d/marks" "$d/marks" > "$d/scan/svc/run"
    chmod +x "$d/scan/svc/run"
    start_ns "$s" "$d/scan"
    for _ in $(seq 1000); do [ -s "$d/marks/started" ] && break; nap; done
    : > "$d/lat"
    for _ in $(seq 5); do
        # Past runsv's and supervise's one-second rule between starts.
        sleep 1.2
        read -r pid < "$d/marks/pid"
        rm -f "$d/marks/started"
        hpid=$(ns_pid "$pid")
        [ -n "$hpid" ] || continue
        t0=$(now_ns)
        kill -KILL "$hpid" 2>/dev/null || true
        for _ in $(seq 1000); do [ -s "$d/marks/started" ] && break; nap 0.001; done
        if [ -s "$d/marks/started" ]; then
            read -r t1 < "$d/marks/started"
            echo $(( t1 - t0 )) >> "$d/lat"
        fi
    done
    echo "$s: median $(ms "$(median < "$d/lat")") ms, max $(ms "$(maxof < "$d/lat")") ms over $(wc -l < "$d/lat")/5"
    stop_ns
done
fi

# logger_of SCANNER: the log/run line of the typical logger.
logger_of() {
    case $1 in
        svkit*) echo "exec $SVLOG ./main" ;;
        runit) echo "exec svlogd ./main" ;;
        s6) echo "exec s6-log ./main" ;;
        daemontools) echo "exec multilog ./main" ;;
    esac
}

if section 6; then
echo
echo "== 6. typical container: the scanner, N services each with a logger; total PSS without the services"
for n in 1 5 100; do
    for s in "${SCANNERS[@]}"; do
        have "$s" || continue
        RUN=$((RUN + 1)); d=$T/box-$s-$RUN; mkdir -p "$d/scan" "$d/up"
        for i in $(seq "$n"); do
            make_service "$d/scan" "s$i" "$d/up/s$i"
            mkdir -p "$d/scan/s$i/log/main"
            printf '#!/bin/sh\n%s\n' "$(logger_of "$s")" > "$d/scan/s$i/log/run"
            chmod +x "$d/scan/s$i/log/run"
        done
        start_ns "$s" "$d/scan"
        wait_count "$d/up" "$n" 30 || true
        sleep 2
        total=0; procs=0
        for p in $(ns_tree "$INIT"); do
            comm=$(cat "/proc/$p/comm" 2>/dev/null) || continue
            [ "$comm" = sleep ] && continue
            v=$(awk '/^Pss:/ {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null) || continue
            total=$((total + ${v:-0})); procs=$((procs + 1))
        done
        echo "$s, $n services: ${total} KiB PSS in $procs processes"
        stop_ns
    done
done
fi
