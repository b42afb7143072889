#!/bin/sh
# Make a Debian base image without a registry: debootstrap a minimal
# bookworm root filesystem from the machine's Debian mirror and
# `docker import` it. The phusion-style image (debian/Dockerfile) is then
# built FROM it with --build-arg BASE_IMAGE=<tag>.
#
# Usage: make-debian-base.sh [TAG]        (default svkit-test/debian:bookworm)
# Environment:
#   SVKIT_DEBIAN_MIRROR  mirror URL (default: first bookworm mirror in
#                        /etc/apt/sources.list*, else http://deb.debian.org/debian)
#   SVKIT_REBUILD_BASE=1 rebuild even if TAG already exists
#
# Cached: exits at once when TAG exists. Concurrent callers (parallel test
# binaries, several checkouts) serialise on a lock file and the later ones
# find the image made. Needs root, debootstrap and a Docker engine.
set -eu

tag=${1:-svkit-test/debian:bookworm}
suite=bookworm
lock=/tmp/svkit-debian-base.lock

die() { echo "make-debian-base: fatal: $*" >&2; exit 111; }

have_image() { docker image inspect "$tag" >/dev/null 2>&1; }

[ "${SVKIT_REBUILD_BASE:-0}" = 1 ] || ! have_image || exit 0

command -v debootstrap >/dev/null || die "debootstrap not found: apt-get install -y debootstrap"
[ "$(id -u)" = 0 ] || die "debootstrap needs root"

# First mirror that serves $suite itself (not -security/-updates), from
# one-line (.list) or deb822 (.sources) apt sources.
find_mirror() {
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -r "$f" ] || continue
        awk -v s="$suite" '$1 == "deb" {
            i = 2; if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
            if ($(i+1) == s) { print $i; exit } }' "$f"
    done
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -r "$f" ] || continue
        awk -v s="$suite" '
            /^[ \t]*$/ { if (ok && uri != "") { print uri; exit } uri = ""; ok = 0; next }
            $1 == "URIs:" { uri = $2 }
            $1 == "Suites:" { for (i = 2; i <= NF; i++) if ($i == s) ok = 1 }
            END { if (ok && uri != "") print uri }' "$f"
    done
}

mirror=${SVKIT_DEBIAN_MIRROR:-$(find_mirror | head -n 1)}
mirror=${mirror:-http://deb.debian.org/debian}

exec 9>"$lock"
flock 9
# Another caller may have made it while we waited for the lock.
[ "${SVKIT_REBUILD_BASE:-0}" = 1 ] || ! have_image || exit 0

rootfs=$(mktemp -d /tmp/svkit-rootfs.XXXXXX)
trap 'rm -rf "$rootfs"' EXIT INT TERM

echo "make-debian-base: debootstrap --variant=minbase $suite from $mirror" >&2
start=$(date +%s)
debootstrap --variant=minbase "$suite" "$rootfs" "$mirror" >"$rootfs.log" 2>&1 || {
    tail -n 20 "$rootfs.log" >&2
    rm -f "$rootfs.log"
    die "debootstrap failed"
}
rm -f "$rootfs.log"

# Like the official slim images: no downloaded .debs, no package lists
# (Dockerfiles run apt-get update first), no documentation, and dpkg told
# to leave it out of later installs too.
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
cat >"$rootfs/etc/dpkg/dpkg.cfg.d/svkit-slim" <<'SLIM'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
SLIM
find "$rootfs/usr/share/doc" -type f ! -name copyright -delete
rm -rf "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/*
find "$rootfs/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +

tar -C "$rootfs" --numeric-owner -c . |
    docker import -c 'CMD ["/bin/bash"]' - "$tag" >/dev/null
echo "make-debian-base: made $tag in $(( $(date +%s) - start )) s" >&2
