# mixedge build and test entry points. `make test` is what CI runs.
GO ?= go
QEMU_ARM64 ?= qemu-aarch64

.PHONY: test test-amd64 test-arm64 vet build-arm deps

test: deps vet test-amd64 test-arm64 build-arm

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
	GOARCH=arm64 $(GO) vet ./...

test-amd64:
	$(GO) test ./...

test-arm64:
	GOARCH=arm64 $(GO) test -exec $(QEMU_ARM64) ./...

build-arm:
	GOARCH=arm GOARM=7 $(GO) build ./...
