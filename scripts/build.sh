#!/bin/sh
# Builds minipod, and beside it the per-pod monitor and the daemon: the one build recipe,
# used by the Makefile and the tests.
# Usage: scripts/build.sh OUT     (writes OUT, $(dirname OUT)/minipod-monitor and
# $(dirname OUT)/minipodd)
#
# Static, like runc's release builds: no dynamic loader or libc mapping in every process
# (each container start execs the monitor binary as its init, and each pod keeps a monitor).
# netgo/osusergo keep glibc's NSS out of the static link; seccomp builds libcontainer's seccomp
# filters, linking libseccomp statically (libseccomp-dev's libseccomp.a).
#
# The linker writes its output through mmap, which leaves the file in the page cache as large
# folios that every process then maps whole (about 4 MB more RSS per minipod process). The
# final files are therefore written with a plain copy, as a package install would write them.
set -eu
out=${1:?usage: build.sh OUT}
cd "$(dirname "$0")/.."
dir=$(dirname "$out")
mon="$dir/minipod-monitor"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/minipod-build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
CGO_ENABLED=1 ${GO:-go} build -trimpath -tags "netgo osusergo seccomp ${MINIPOD_BUILD_TAGS:-}" \
	-ldflags '-extldflags "-static"' -o "$tmp/" ./cmd/minipod ./cmd/minipod-monitor ./cmd/minipodd
mkdir -p "$dir"
cp "$tmp/minipod" "$out.new"
cp "$tmp/minipod-monitor" "$mon.new"
cp "$tmp/minipodd" "$dir/minipodd.new"
mv -f "$dir/minipodd.new" "$dir/minipodd"
mv -f "$mon.new" "$mon"
mv -f "$out.new" "$out"
