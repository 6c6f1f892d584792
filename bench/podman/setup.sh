#!/usr/bin/env bash
# Installs what the comparison needs from Debian's packages: Podman (with conmon, netavark,
# aardvark-dns), runc, busybox-static, jq. On a host without CAP_SYS_RESOURCE runc refuses
# Podman's containers (Podman asks for rlimits above the host's hard limits), so runc runs
# through a wrapper that drops process.rlimits from each bundle: the containers get the host's
# limits, as minipod's do. The wrapper is passed with `podman --runtime`; no Podman
# configuration file of the host is changed. Podman's busybox image is imported from the same
# static busybox that minipod's root filesystem holds.
set -euo pipefail
PKGS="podman runc busybox-static jq"
if ! command -v podman >/dev/null || ! command -v jq >/dev/null || ! command -v runc >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y $PKGS >/dev/null ||
    { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y $PKGS >/dev/null; }
fi
wrapper=${RUNC_WRAPPER:-/usr/local/libexec/minipod-bench/runc-norlimit}
mkdir -p "$(dirname "$wrapper")"
cat > "$wrapper.tmp" <<'W'
#!/bin/sh
# runc without the bundle's process.rlimits (this host cannot raise them: no CAP_SYS_RESOURCE).
prev=""
for a in "$@"; do
  if [ "$prev" = "--bundle" ] || [ "$prev" = "-b" ]; then
    c="$a/config.json"
    if [ -f "$c" ]; then /usr/bin/jq -c 'del(.process.rlimits)' "$c" > "$c.tmp" && mv "$c.tmp" "$c"; fi
  fi
  prev=$a
done
exec /usr/bin/runc "$@"
W
chmod 755 "$wrapper.tmp" && mv "$wrapper.tmp" "$wrapper"
if ! podman image exists localhost/busybox:latest; then
  d=$(mktemp -d); mkdir -p "$d"/{bin,proc,sys,dev,etc,tmp}
  cp /bin/busybox "$d/bin/"
  for a in $("$d/bin/busybox" --list); do [ "$a" = busybox ] || ln -sf busybox "$d/bin/$a"; done
  tar -C "$d" -c . | podman import - localhost/busybox:latest >/dev/null
  rm -rf "$d"
fi
podman --version
