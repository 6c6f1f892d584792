#!/bin/sh
# Installs the system packages minipod's build, example and tests need, when missing.
set -eu
need=""
[ -x /bin/busybox ] || need="$need busybox-static"
command -v iptables >/dev/null 2>&1 || need="$need iptables"
command -v ip >/dev/null 2>&1 || need="$need iproute2"
[ -e /usr/include/seccomp.h ] || need="$need libseccomp-dev"
command -v gcc >/dev/null 2>&1 || need="$need gcc"
if [ -n "$need" ]; then
	echo "installing:$need"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq $need >/dev/null
fi
