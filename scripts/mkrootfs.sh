#!/bin/sh
# Builds a minimal root filesystem from Debian's busybox-static: the binary, one symlink per
# applet, and the empty directories a container expects.
# Usage: scripts/mkrootfs.sh DIR
set -eu
dir=${1:?usage: mkrootfs.sh DIR}
busybox=/bin/busybox
[ -x "$busybox" ] || { echo "mkrootfs: $busybox missing: apt-get install busybox-static" >&2; exit 1; }
tmp="$dir.tmp.$$"
rm -rf "$tmp"
mkdir -p "$tmp/bin" "$tmp/proc" "$tmp/sys" "$tmp/dev" "$tmp/tmp" "$tmp/etc" "$tmp/root" "$tmp/var/www"
chmod 1777 "$tmp/tmp"
cp "$busybox" "$tmp/bin/busybox"
for applet in $("$busybox" --list); do
	# The list names busybox itself: linking it would replace the binary with a loop.
	[ "$applet" = busybox ] || ln -s busybox "$tmp/bin/$applet"
done
echo 'root:x:0:0:root:/root:/bin/sh' > "$tmp/etc/passwd"
echo 'root:x:0:' > "$tmp/etc/group"
echo '<h1>hello from minipod</h1>' > "$tmp/var/www/index.html"
rm -rf "$dir"
mv "$tmp" "$dir"
