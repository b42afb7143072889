#!/usr/bin/env bash
# Throughput of svlog against svlogd, s6-log and multilog, in one run, on
# the same input: SIZE_MB of 100-byte lines through a pipe, rotating at
# 10 MB. Run by hand (not part of cargo test):
#
#     cargo build --release && benches/svlog.sh [SIZE_MB]
#
# Prints MB/s per logger and the ratio to svlogd.
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE_MB=${1:-200}
SVLOG=${SVLOG:-target/release/svlog}
WORK=$(mktemp -d /tmp/svlog-bench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
INPUT=$WORK/input

# the input, generated once: 100-byte lines
python3 - "$INPUT" "$SIZE_MB" <<'PY'
import sys
path, mb = sys.argv[1], int(sys.argv[2])
line_count = mb * 1000 * 1000 // 100
with open(path, "wb") as f:
    chunk = []
    for i in range(line_count):
        chunk.append(b"%08d " % i + b"x" * 90 + b"\n")
        if len(chunk) == 100000:
            f.write(b"".join(chunk)); chunk = []
    f.write(b"".join(chunk))
PY
BYTES=$(stat -c %s "$INPUT")
cat "$INPUT" > /dev/null # warm the page cache

# run NAME CONFIG-KIND CMD...: time `cat input | CMD` into a fresh dir
declare -A RATE
run() {
    local name=$1 kind=$2; shift 2
    local dir=$WORK/out-$name
    rm -rf "$dir"; mkdir -p "$dir"
    case $kind in
        svlogd) printf 's10000000\nn100\n' > "$dir/config" ;;
    esac
    local t0 t1
    t0=$(date +%s.%N)
    cat "$INPUT" | "$@" "$dir"
    t1=$(date +%s.%N)
    local got
    got=$(cat "$dir"/current "$dir"/@* 2>/dev/null | wc -l)
    RATE[$name]=$(echo "scale=1; $BYTES / 1000000 / ($t1 - $t0)" | bc)
    printf '%-22s %8s MB/s  (%d lines)\n' "$name" "${RATE[$name]}" "$got"
}
run_s6() { # s6-log takes its script as arguments, the dir last
    local name=$1; shift
    local dir=$WORK/out-$name
    rm -rf "$dir"
    local t0 t1
    t0=$(date +%s.%N)
    cat "$INPUT" | s6-log "$@" n100 s10000000 "$dir"
    t1=$(date +%s.%N)
    RATE[$name]=$(echo "scale=1; $BYTES / 1000000 / ($t1 - $t0)" | bc)
    printf '%-22s %8s MB/s\n' "$name" "${RATE[$name]}"
}
run_multilog() {
    local dir=$WORK/out-multilog
    rm -rf "$dir"
    local t0 t1
    t0=$(date +%s.%N)
    cat "$INPUT" | multilog s10000000 n100 "$dir"
    t1=$(date +%s.%N)
    RATE[multilog]=$(echo "scale=1; $BYTES / 1000000 / ($t1 - $t0)" | bc)
    printf '%-22s %8s MB/s\n' multilog "${RATE[multilog]}"
}

echo "input: $((BYTES / 1000000)) MB of 100-byte lines, rotation at 10 MB"
t0=$(date +%s.%N); cat "$INPUT" > "$WORK/cat-out"; t1=$(date +%s.%N); rm -f "$WORK/cat-out"
RATE[cat]=$(echo "scale=1; $BYTES / 1000000 / ($t1 - $t0)" | bc)
printf '%-22s %8s MB/s\n' "cat > file" "${RATE[cat]}"
run svlogd svlogd svlogd
run svlogd-tt svlogd svlogd -tt
run_s6 s6-log
run_s6 s6-log-T T
run_multilog
run svlog svlogd "$SVLOG"
run svlog-tt svlogd "$SVLOG" -tt
run svlog-o svlogd sh -c "exec $SVLOG -o \"\$0\" >/dev/null"

echo
ratio() { echo "scale=1; ${RATE[$1]} / ${RATE[$2]}" | bc; }
echo "svlog     / svlogd     = $(ratio svlog svlogd)x   / s6-log = $(ratio svlog s6-log)x"
echo "svlog -tt / svlogd -tt = $(ratio svlog-tt svlogd-tt)x   / s6-log T = $(ratio svlog-tt s6-log-T)x"
