#!/bin/sh
# Runs the example services (web with its svlog logger, and ready) under
# svscan in the foreground. Ctrl-C (SIGINT) stops them all in order.
#
# The services are copied into a fresh scan directory so the checkout
# stays clean (supervise writes supervise/ and the logs next to them).
# The last lines printed before start-up say how to drive them with svctl
# from another shell.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
cargo build --release --manifest-path "$repo/Cargo.toml" --bins >&2
bin="$repo/target/release"

demo=$(mktemp -d "${TMPDIR:-/tmp}/svkit-demo.XXXXXX")
mkdir "$demo/service" "$demo/run"
cp -R "$here/web" "$here/ready" "$demo/service/"
PATH="$bin:$PATH"
SVDIR="$demo/service"
SVKIT_RUNDIR="$demo/run"
export PATH SVDIR SVKIT_RUNDIR

cat >&2 <<MSG
svkit demo: services in $SVDIR, state in $SVKIT_RUNDIR
In another shell:
  export PATH="$bin:\$PATH" SVDIR="$SVDIR" SVKIT_RUNDIR="$SVKIT_RUNDIR"
  svctl status                 # every service
  svctl -w 5 restart web       # returns once the new process runs
  svctl ready ready            # 0 once ready declared readiness
  cat $SVDIR/web/log/main/current
Ctrl-C here stops everything; the demo directory is then removed.
MSG
status=0
svscan --log-prefix "$SVDIR" || status=$?
rm -rf "$demo"
exit "$status"
