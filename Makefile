# minipod: `make` builds bin/minipod; `sudo make demo` runs the example pod;
# `sudo make check` runs every test (unit and root integration).
SHELL   := /bin/bash
GO      ?= go
BIN     := bin/minipod
# The example manifest names this path: an unpacked busybox root filesystem.
ROOTFS  := /var/lib/minipod/rootfs/busybox
SOURCES := $(shell find . -name '*.go' -not -path './integration/*') go.mod go.sum

.PHONY: all build test integration check demo bench deps clean vet install

all: build

build: $(BIN)

$(BIN): $(SOURCES) scripts/build.sh
	GO=$(GO) scripts/build.sh $(BIN)

deps:
	@scripts/deps.sh

# Installs minipod, minipodd and the daemon's systemd unit (PREFIX, DESTDIR as usual);
# `systemctl enable --now minipod` starts the daemon.
PREFIX     ?= /usr/local
SYSTEMDDIR ?= /etc/systemd/system
install: $(BIN)
	install -D -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/minipod
	install -D -m 0755 $(dir $(BIN))minipodd $(DESTDIR)$(PREFIX)/bin/minipodd
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

demo: deps $(BIN) $(ROOTFS)
	$(BIN) run examples/hello-pod.yaml

bench: deps $(BIN) $(ROOTFS)
	@echo "machine: $$(nproc) cores, $$(free -g | awk '/Mem:/{print $$2}') GiB, kernel $$(uname -r)"
	@$(GO) test -tags integration -run '^$$' -bench . -benchtime 1x -timeout 30m ./integration/ 2>&1 \
		| grep -vE '^\s+(bench[a-z_]*|harness)_test.go:|^\s+\.\.\. \[output truncated\]|^--- BENCH' ; exit $${PIPESTATUS[0]}

clean:
	rm -rf bin
