#!/bin/sh
# Installs the system packages minipod's build, example and tests need, when missing:
# busybox-static (the test and example root filesystem), iproute2 (tests inspect links),
# gcc (cgo: libcontainer's nsenter is C), libseccomp-dev (libcontainer's seccomp filters,
# linked statically), docker-registry (the CNCF distribution registry, served on 127.0.0.1
# by the image tests).
set -eu
need=""
[ -x /bin/busybox ] || need="$need busybox-static"
command -v ip >/dev/null 2>&1 || need="$need iproute2"
command -v gcc >/dev/null 2>&1 || need="$need gcc"
[ -f /usr/include/seccomp.h ] || need="$need libseccomp-dev"
[ -x /usr/bin/docker-registry ] || need="$need docker-registry"
if [ -n "$need" ]; then
	echo "installing:$need"
	export DEBIAN_FRONTEND=noninteractive
	# Packages must not start services (docker-registry's would listen on :5000): the
	# tests start what they need themselves, on 127.0.0.1.
	policy=/usr/sbin/policy-rc.d
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\nexit 101\n' >"$policy"
		chmod +x "$policy"
		trap 'rm -f "$policy"' EXIT
	fi
	apt-get update -qq
	apt-get install -y -qq $need >/dev/null
fi
