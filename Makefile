# minipod: `make` builds bin/minipod, bin/minipod-monitor and bin/minipodd; `sudo make demo` runs the example pod;
# `sudo make check` runs every test (unit and root integration).
SHELL   := /bin/bash
GO      ?= go
BIN     := bin/minipod
MONITOR := bin/minipod-monitor
DAEMON  := bin/minipodd
# The example manifest names this path: an unpacked busybox root filesystem.
ROOTFS  := /var/lib/minipod/rootfs/busybox
PREFIX  ?= /usr/local
SOURCES := $(shell find . -name '*.go' -not -path './integration/*') go.mod go.sum

.PHONY: all build install test integration check demo bench bench-podman deps clean vet

all: build

build: $(BIN) $(MONITOR) $(DAEMON)

# One recipe builds all three side by side: the CLI, the per-pod monitor it starts, the daemon.
$(BIN) $(MONITOR) $(DAEMON) &: $(SOURCES) scripts/build.sh
	GO=$(GO) scripts/build.sh $(BIN)

deps:
	@scripts/deps.sh

# Installs minipod with the per-pod monitor and the daemon beside it (minipod and minipodd find
# minipod-monitor there), and the daemon's systemd unit (PREFIX, DESTDIR as usual);
# `systemctl enable --now minipod` starts the daemon. install copies with plain writes (see
# scripts/build.sh on why not mmap).
SYSTEMDDIR ?= /etc/systemd/system
install: $(BIN) $(MONITOR) $(DAEMON)
	install -D -m 0755 $(MONITOR) $(DESTDIR)$(PREFIX)/bin/minipod-monitor
	install -D -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/minipod
	install -D -m 0755 $(DAEMON) $(DESTDIR)$(PREFIX)/bin/minipodd
	install -d -m 0755 $(DESTDIR)$(SYSTEMDDIR) $(DESTDIR)/etc/minipod/manifests
	sed 's|/usr/local/bin/|$(PREFIX)/bin/|' systemd/minipod.service > $(DESTDIR)$(SYSTEMDDIR)/minipod.service
	chmod 0644 $(DESTDIR)$(SYSTEMDDIR)/minipod.service

$(ROOTFS):
	scripts/mkrootfs.sh $(ROOTFS)

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo 'gofmt: files above need formatting'; exit 1; }
	$(GO) vet ./...
	$(GO) vet -tags integration ./integration/

# Unit tests: no root needed (root-only cases skip themselves).
test:
	$(GO) test ./...

# Root-only end-to-end tests of the real binary.
integration:
	$(GO) test -tags integration -count=1 -timeout 20m ./integration/

# Everything, as CI runs it.
check: deps vet
	$(GO) test -count=1 ./...
	$(GO) test -tags integration -count=1 -timeout 20m -v ./integration/

demo: deps $(BIN) $(MONITOR) $(ROOTFS)
	$(BIN) run examples/hello-pod.yaml

bench: deps $(BIN) $(MONITOR) $(ROOTFS)
	@echo "machine: $$(nproc) cores, $$(free -g | awk '/Mem:/{print $$2}') GiB, kernel $$(uname -r)"
	@$(GO) test -tags integration -run '^$$' -bench . -benchtime 1x -timeout 30m ./integration/ 2>&1 \
		| grep -vE '^\s+(bench[a-z_]*|harness)_test.go:|^\s+\.\.\. \[output truncated\]|^--- BENCH' ; exit $${PIPESTATUS[0]}

# Podman (from Debian's packages) against minipod, the same workloads interleaved in one run;
# prints the README's table (bench/podman/run.sh has the knobs). MINIPOD_BENCH_PODS=1000
# `make bench` gives the 1,000-pod density figures.
bench-podman: deps $(BIN) $(MONITOR) $(ROOTFS)
	@bench/podman/setup.sh
	@MINIPOD=$(abspath $(BIN)) ROOTFS=$(ROOTFS) bench/podman/run.sh

clean:
	rm -rf bin
