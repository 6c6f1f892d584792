#!/bin/sh
# Builds the minipod binary: the one build recipe, used by the Makefile and the tests.
# Usage: scripts/build.sh OUT
# Builds OUT (minipod) and, beside it, minipodd (the daemon, cmd/minipodd).
#
# Static, like runc's release builds: no dynamic loader or libc mapping in every process
# (each container start execs this binary as its init, and each pod keeps a monitor).
# netgo/osusergo keep glibc's NSS out of the static link; seccomp builds libcontainer's seccomp
# filters, linking libseccomp statically (libseccomp-dev's libseccomp.a).
#
# The linker writes its output through mmap, which leaves the file in the page cache as large
# folios that every process then maps whole (about 4 MB more RSS per minipod process). The
# final file is therefore written with a plain copy, as a package install would write it.
set -eu
out=${1:?usage: build.sh OUT}
cd "$(dirname "$0")/.."
tmp="$out.tmp.$$"
trap 'rm -f "$tmp"' EXIT
build() { # PACKAGE OUT
	CGO_ENABLED=1 ${GO:-go} build -trimpath -tags "netgo osusergo seccomp ${MINIPOD_BUILD_TAGS:-}" \
		-ldflags '-extldflags "-static"' -o "$tmp" "$1"
	mkdir -p "$(dirname "$2")"
	cp "$tmp" "$2.new"
	mv -f "$2.new" "$2"
}
build ./cmd/minipod "$out"
build ./cmd/minipodd "$(dirname "$out")/minipodd"
