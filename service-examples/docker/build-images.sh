#!/bin/sh
# Build the svkit example images: PREFIX/minimal:TAG (FROM scratch) and
# PREFIX/debian:TAG (phusion-style, FROM the Debian base image).
#
# Usage: build-images.sh [OPTIONS] [minimal] [debian]   (default: both)
#   -p PREFIX      repository prefix (default svkit)
#   -t TAG         tag (default latest)
#   -b DIR         use the static binaries in DIR instead of running
#                  build-static.sh
#   --base IMAGE   base image for debian (default debian:bookworm-slim)
#   --local-base   no registry: make svkit-test/debian:bookworm with
#                  make-debian-base.sh (cached) and use it as the base
#   --no-sshd      leave openssh-server out of the debian image
# Environment:
#   SVKIT_BUSYBOX  static busybox to put in the minimal image
#                  (default /bin/busybox from Debian's busybox-static)
#
# Prints the name of each image built on stdout, one per line.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
prefix=svkit
tag=latest
bins=
base=debian:bookworm-slim
local_base=0
with_sshd=1
images=

die() { echo "build-images: fatal: $*" >&2; exit 100; }

while [ $# -gt 0 ]; do
    case $1 in
    -p) prefix=${2:?}; shift 2 ;;
    -t) tag=${2:?}; shift 2 ;;
    -b) bins=${2:?}; shift 2 ;;
    --base) base=${2:?}; shift 2 ;;
    --local-base) local_base=1; shift ;;
    --no-sshd) with_sshd=0; shift ;;
    minimal | debian) images="$images $1"; shift ;;
    *) die "unknown argument '$1' (see the comment at the top of $0)" ;;
    esac
done
images=${images:-minimal debian}

busybox=${SVKIT_BUSYBOX:-/bin/busybox}
command -v docker >/dev/null || die "docker not found"

if [ -z "$bins" ]; then
    bins=$(cd "$here/../.." && pwd)/target/static-bin
    "$here/build-static.sh" "$bins" >/dev/null
fi
for b in svscan supervise svctl svlog chpst; do
    [ -x "$bins/$b" ] || die "$bins/$b missing (run build-static.sh)"
done

stage=$(mktemp -d /tmp/svkit-image-context.XXXXXX)
trap 'rm -rf "$stage"' EXIT INT TERM

# build NAME CONTEXT [docker build args...]: quiet unless it fails.
build() {
    name=$1 ctx=$2
    shift 2
    if ! docker build --rm -t "$name" "$@" "$ctx" >"$stage/build.log" 2>&1; then
        cat "$stage/build.log" >&2
        die "docker build of $name failed"
    fi
    echo "$name"
}

for image in $images; do
    ctx=$stage/$image
    mkdir -p "$ctx/sbin"
    cp -a "$here/$image/." "$ctx/"
    cp "$bins/svscan" "$bins/supervise" "$bins/svctl" "$bins/svlog" "$bins/chpst" "$ctx/sbin/"
    case $image in
    minimal)
        [ -x "$busybox" ] || die "$busybox missing: apt-get install busybox-static"
        if head -c 4096 "$busybox" | grep -aq ld-linux; then
            die "$busybox is dynamically linked; need busybox-static"
        fi
        mkdir -p "$ctx/bin"
        cp "$busybox" "$ctx/bin/busybox"
        build "$prefix/minimal:$tag" "$ctx"
        ;;
    debian)
        if [ "$local_base" = 1 ]; then
            base=svkit-test/debian:bookworm
            "$here/make-debian-base.sh" "$base"
        fi
        build "$prefix/debian:$tag" "$ctx" \
            --build-arg "BASE_IMAGE=$base" --build-arg "WITH_SSHD=$with_sshd"
        ;;
    esac
done
