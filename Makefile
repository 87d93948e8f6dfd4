# mixedge build and test entry points. `make test` is what CI runs.
GO ?= go
QEMU_ARM64 ?= qemu-aarch64
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
LDFLAGS := -s -w -X main.version=$(VERSION)

.PHONY: test test-amd64 test-purego test-arm64 vet build-arm deps dist

test: deps vet test-amd64 test-purego test-arm64 build-arm

# qemu-user runs the arm64 tests on an x86 machine.
deps:
	@command -v $(QEMU_ARM64) >/dev/null 2>&1 || { \
	  if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	    echo "installing qemu-user (for the arm64 tests)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qemu-user >/dev/null; \
	  else \
	    echo "qemu-aarch64 not found: install Debian's qemu-user (apt-get install qemu-user)"; exit 1; \
	  fi; }

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { echo "gofmt needed:"; gofmt -l .; exit 1; }
	$(GO) vet ./...
	$(GO) vet -tags purego ./...
	GOARCH=arm64 $(GO) vet ./...
	GOARCH=arm64 $(GO) vet -tags purego ./...

test-amd64:
	$(GO) test ./...

# The pure-Go build: no assembly anywhere.
test-purego:
	$(GO) test -short -tags purego ./...

# Under emulation timings mean nothing and everything is ~20x slower, so
# the arm64 legs run -short (skipped parts say why). Pinned CPU models: a
# Pi 4 (cortex-a72, plain NEON) and a Pi 5 (cortex-a76, dot product).
test-arm64:
	GOARCH=arm64 $(GO) test -short -exec '$(QEMU_ARM64) -cpu cortex-a72' ./...
	GOARCH=arm64 $(GO) test -short -exec '$(QEMU_ARM64) -cpu cortex-a76' ./kernels/ ./model/

build-arm:
	GOARCH=arm GOARM=7 $(GO) build ./...

# Static binaries for a Pi (64- and 32-bit OS) and x86-64 Linux, in dist/.
dist:
	mkdir -p dist
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o dist/mixedge-linux-arm64 ./cmd/mixedge
	CGO_ENABLED=0 GOOS=linux GOARCH=arm GOARM=7 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o dist/mixedge-linux-armv7 ./cmd/mixedge
	CGO_ENABLED=0 GOOS=linux GOARCH=amd64 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o dist/mixedge-linux-amd64 ./cmd/mixedge
	@command -v file >/dev/null 2>&1 && file dist/mixedge-* || ls -l dist
