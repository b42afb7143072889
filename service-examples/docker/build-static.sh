#!/bin/sh
# Build stripped, statically linked svkit binaries for images without a
# libc or dynamic loader (FROM scratch). These are the flags of the default
# build (.cargo/config.toml: glibc's static libraries, crt-static,
# position-dependent) plus stripping; svkit uses no NSS (users and groups
# are read from /etc/passwd and /etc/group), so nothing is loaded at run
# time. The musl target is not needed.
#
# Usage: build-static.sh [OUTDIR]
#   OUTDIR   where to copy svscan supervise svctl svlog chpst
#            (default: target/static-bin)
# Environment:
#   SVKIT_STATIC_PROFILE  cargo profile (default release)
#   CARGO_TARGET_DIR      honoured; default target/static, kept apart from
#                         target/ so a running `cargo test` never waits for it
#
# Prints one "name size" line per binary.
set -eu

root=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$root/target/static-bin}
profile=${SVKIT_STATIC_PROFILE:-release}
triple=x86_64-unknown-linux-gnu
bins="svscan supervise svctl svlog chpst"

# RUSTFLAGS replaces the rustflags of .cargo/config.toml, so they are
# repeated here; --target keeps them away from build scripts.
target_dir=${CARGO_TARGET_DIR:-$root/target/static}
RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static -C relocation-model=static -C strip=symbols" \
    cargo build --quiet --manifest-path "$root/Cargo.toml" \
    --profile "$profile" --target "$triple" --target-dir "$target_dir" --bins

case $profile in dev) dir=debug ;; *) dir=$profile ;; esac
mkdir -p "$out"
for b in $bins; do
    src=$target_dir/$triple/$dir/$b
    # Refuse a binary that would need ld.so in a scratch image.
    if head -c 4096 "$src" | grep -aq ld-linux; then
        echo "build-static: fatal: $src is dynamically linked" >&2
        exit 111
    fi
    cp "$src" "$out/$b.new" && mv "$out/$b.new" "$out/$b"
    echo "$b $(wc -c <"$out/$b")"
done
