# mixedge build and test entry points. `make test` is what CI runs.
GO ?= go
QEMU_ARM64 ?= qemu-aarch64
QEMU_ARM ?= qemu-arm
QEMU_X86 ?= qemu-x86_64
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
LDFLAGS := -s -w -X main.version=$(VERSION)

.PHONY: test test-amd64 test-avx2only test-purego test-arm64 test-arm32 vet build-arm deps dist xarch fixtures fmnist-folders icount-arm

test: deps vet test-amd64 test-avx2only test-purego test-arm64 test-arm32 build-arm xarch

# qemu-user runs the arm64 and 32-bit ARM tests on an x86 machine, and the
# x86 ones on an emulated AVX2-only CPU.
deps:
	@command -v $(QEMU_ARM64) >/dev/null 2>&1 && command -v $(QEMU_ARM) >/dev/null 2>&1 && command -v $(QEMU_X86) >/dev/null 2>&1 || { \
	  if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	    echo "installing qemu-user (for the arm64, 32-bit ARM and AVX2-only tests)"; \
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
	GOARCH=arm GOARM=7 $(GO) vet ./...
	GOARCH=arm GOARM=7 $(GO) vet -tags purego ./...

test-amd64:
	$(GO) test ./...

# An AVX2-only x86 CPU, as a Zen 3 or a Haswell-to-Coffee-Lake Intel: qemu's
# Haswell model (AVX2 and FMA, no AVX-512, no AVX-VNNI) on whatever CPU this
# is. The avx2 tier must be the one chosen (MIXEDGE_REQUIRE_KERNELS), the
# vnni and avxvnni tests skip saying so, and the engine's tests pass there;
# on a VNNI machine this is the only leg in which auto-selection picks avx2.
# (qemu 7.2 emulates no AVX-512 or AVX-VNNI, so those tiers are tested only
# natively.) Timings under emulation mean nothing: -short.
test-avx2only:
	MIXEDGE_REQUIRE_KERNELS=avx2 $(GO) test -short -exec '$(QEMU_X86) -cpu Haswell' ./kernels/ ./mixconv/ ./model/ ./camera/

# The pure-Go build: no assembly anywhere.
test-purego:
	$(GO) test -short -tags purego ./...

# Under emulation timings mean nothing and everything is ~20x slower, so
# the arm64 legs run -short (skipped parts say why). Pinned CPU models: a
# Pi 4 (cortex-a72, plain NEON) and a Pi 5 (cortex-a76, dot product).
# MIXEDGE_REQUIRE_KERNELS makes kernels.TestRequireKernels fail unless the
# expected tier was chosen, so a leg cannot silently test only generic code
# (and on cortex-a72 qemu raises SIGILL if SDOT ever runs).
# Of cmd/mixedge, the tests that run the CLI's int8 path and the ARM CPU
# report: the rest of the package is architecture-neutral Go (flags, live
# outputs, eval, messages) that the amd64 and purego legs run and that takes
# about 8 minutes under qemu-aarch64; xarch runs the arm64 binary end to end.
ARM64_PKGS = $(shell $(GO) list ./... | grep -v '/cmd/mixedge$$')
ARM64_CMD_TESTS := ^(TestCPUInfoARM|TestBenchAndCPU|TestClassifySynthetic|TestConvertClassifyInfoInt8|TestInfoTotals)$$
test-arm64:
	MIXEDGE_REQUIRE_KERNELS=neon GOARCH=arm64 $(GO) test -short -exec '$(QEMU_ARM64) -cpu cortex-a72' $(ARM64_PKGS)
	MIXEDGE_REQUIRE_KERNELS=neon GOARCH=arm64 $(GO) test -short -run '$(ARM64_CMD_TESTS)' -exec '$(QEMU_ARM64) -cpu cortex-a72' ./cmd/mixedge/
	MIXEDGE_REQUIRE_KERNELS=dotprod GOARCH=arm64 $(GO) test -short -exec '$(QEMU_ARM64) -cpu cortex-a76' ./kernels/ ./model/

# 32-bit Raspberry Pi OS (GOARCH=arm GOARM=7): qemu's cortex-a15 is an
# ARMv7-A core with NEON and VFPv4, the instruction set of a Pi 2/3/4 in
# 32-bit mode. The WORD check (TestWord*) runs in the native legs: under
# emulation its hundreds of llvm-mc processes take minutes. Of model, the
# int8 engine's tests (tiers, threads, allocations, stem, a firmware round
# trip, the tiny network): the float reference checks and the long
# threading/corruption sweeps are architecture-neutral Go that takes many
# minutes under qemu-arm; xarch runs the whole network on this binary.
# Of camera, the tests of the fused preprocessing's row kernels
# (fusedrow_neon_arm.s: kernel parity with guard bands, every YUV value,
# the fused path against the float path for every format, the tier
# asserted): the rest of the package (decoders, sources, V4L2, resampling
# goldens) is Go that the amd64 and arm64 legs already run and that takes
# about 7 minutes under qemu-arm.
ARM32_MODEL_TESTS := ^(TestInt8TiersAgree|TestInt8Threads|TestInt8RunAllocatesNothing|TestStemIm2colMatchesKernel|TestFirmwareRoundTrip|TestTinyMixNetMatchesNaive)$$
ARM32_CAMERA_TESTS := ^(TestRequireRowKernels|TestRowKernelsParity|TestInterleaveParity|TestRGBRowParity|TestYUVRowExhaustive|TestFusedEqualsFloatPath|TestFusedRandomEqualsFloatPath|FuzzFusedEqualsFloatPath|TestUseKernels)$$
test-arm32:
	MIXEDGE_REQUIRE_KERNELS=neon GOARCH=arm GOARM=7 $(GO) test -short -skip 'TestWord' -exec '$(QEMU_ARM) -cpu cortex-a15' ./kernels/
	GOARCH=arm GOARM=7 $(GO) test -short -run '$(ARM32_MODEL_TESTS)' -exec '$(QEMU_ARM) -cpu cortex-a15' ./model/
	MIXEDGE_REQUIRE_KERNELS=neon GOARCH=arm GOARM=7 $(GO) test -short -run '$(ARM32_CAMERA_TESTS)' -exec '$(QEMU_ARM) -cpu cortex-a15' ./camera/

# The 32-bit ARM builds: ARMv6 (Pi 1 / Zero, generic kernels only) and ARMv7.
build-arm:
	GOARCH=arm GOARM=6 $(GO) build ./...
	GOARCH=arm GOARM=7 $(GO) build ./...

# Static binaries for a Pi (64-bit OS; 32-bit OS on ARMv7 and on ARMv6, the Pi 1 / Zero) and
# x86-64 Linux, in dist/.
dist:
	mkdir -p dist
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o dist/mixedge-linux-arm64 ./cmd/mixedge
	CGO_ENABLED=0 GOOS=linux GOARCH=arm GOARM=7 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o dist/mixedge-linux-armv7 ./cmd/mixedge
	CGO_ENABLED=0 GOOS=linux GOARCH=arm GOARM=6 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o dist/mixedge-linux-armv6 ./cmd/mixedge
	CGO_ENABLED=0 GOOS=linux GOARCH=amd64 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o dist/mixedge-linux-amd64 ./cmd/mixedge
	@command -v file >/dev/null 2>&1 && file dist/mixedge-* || ls -l dist

# Cross-architecture bit-exactness: one .fw converted on this machine; the
# reference inputs' int8 logits from every kernel tier on amd64, under
# qemu as a Pi 4 and a Pi 5, and the 32-bit ARM binary (neon tier) as a
# 32-bit Pi must be byte-identical to amd64 generic's.
# (Only the logits: softmax scores go through math.Exp, whose last bit
# differs between architectures.)
REF ?= ../shared/reference
XDIR := $(shell mktemp -u -d /tmp/mixedge-xarch.XXXXXX)
xarch:
	@if [ ! -f $(REF)/mixnet_s.safetensors ]; then echo "xarch: skipped, $(REF) not found"; exit 0; fi; \
	set -e; mkdir -p $(XDIR); \
	$(GO) build -o $(XDIR)/mixedge-amd64 ./cmd/mixedge; \
	GOARCH=arm64 $(GO) build -o $(XDIR)/mixedge-arm64 ./cmd/mixedge; \
	GOARCH=arm GOARM=7 $(GO) build -o $(XDIR)/mixedge-arm ./cmd/mixedge; \
	$(XDIR)/mixedge-amd64 convert --weights $(REF)/mixnet_s.safetensors --arch mixnet_s -o $(XDIR)/s.fw >/dev/null 2>&1; \
	in="--tensor --json --logits $(REF)/inputs/input0.f32 $(REF)/inputs/input1.f32"; \
	logits() { sed -E 's/"top":\[[^]]*\],//'; }; \
	$(XDIR)/mixedge-amd64 classify --model $(XDIR)/s.fw --kernels generic $$in | logits > $(XDIR)/want.json; \
	tiers=$$($(XDIR)/mixedge-amd64 cpu --json | sed -n '/tiers_available/,/]/p' | tr -d ' ",[]' | grep -v tiers_available); \
	for t in $$tiers; do \
	  $(XDIR)/mixedge-amd64 classify --model $(XDIR)/s.fw --kernels $$t $$in | logits | cmp - $(XDIR)/want.json; echo "xarch: amd64 $$t identical"; done; \
	for t in avx2 avxvnni vnni; do echo $$tiers | grep -qw $$t || echo "xarch: amd64 $$t skipped: this CPU lacks it"; done; \
	chosen=$$($(QEMU_X86) -cpu Haswell $(XDIR)/mixedge-amd64 cpu 2>/dev/null | sed -n 's/.*chosen: //p'); \
	test "$$chosen" = avx2 || { echo "xarch: qemu Haswell chose $$chosen, want avx2"; exit 1; }; \
	$(QEMU_X86) -cpu Haswell $(XDIR)/mixedge-amd64 classify --model $(XDIR)/s.fw $$in 2>/dev/null | logits | cmp - $(XDIR)/want.json; \
	echo "xarch: amd64 qemu Haswell (AVX2 only) $$chosen identical"; \
	for c in cortex-a72 cortex-a76; do \
	  $(QEMU_ARM64) -cpu $$c $(XDIR)/mixedge-arm64 classify --model $(XDIR)/s.fw $$in | logits | cmp - $(XDIR)/want.json; \
	  echo "xarch: arm64 $$c $$($(QEMU_ARM64) -cpu $$c $(XDIR)/mixedge-arm64 cpu | sed -n 's/.*chosen: //p') identical"; done; \
	$(QEMU_ARM) -cpu cortex-a15 $(XDIR)/mixedge-arm classify --model $(XDIR)/s.fw $$in | logits | cmp - $(XDIR)/want.json; \
	echo "xarch: arm cortex-a15 $$($(QEMU_ARM) -cpu cortex-a15 $(XDIR)/mixedge-arm cpu | sed -n 's/.*chosen: //p') identical"; \
	rm -rf $(XDIR)

# The trained accuracy fixtures (never run by CI): MixNets trained on
# Fashion-MNIST with Debian's python3-torch; model/testdata keeps mixnet_s,
# the others go to FIXTURES (point MIXEDGE_FIXTURES at it to measure them).
# About 15 minutes per model on 2 cores.
FIXTURES ?= fixtures
fixtures:
	@command -v /usr/bin/python3 >/dev/null && /usr/bin/python3 -c 'import torch, PIL' 2>/dev/null || { \
	  echo "installing python3-torch, python3-pil and dataset-fashion-mnist (Debian)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-torch python3-pil dataset-fashion-mnist >/dev/null; }
	mkdir -p $(FIXTURES)
	/usr/bin/python3 tools/fashion/train.py --arch mixnet_s --epochs 2 --out model/testdata/fmnist_mixnet_s.safetensors
	/usr/bin/python3 tools/fashion/train.py --arch tf_mixnet_s --epochs 1 --threads 1 --out $(FIXTURES)/fmnist_tf_mixnet_s.safetensors
	/usr/bin/python3 tools/fashion/train.py --arch mixnet_s --size 64 --epochs 1 --threads 1 --out $(FIXTURES)/fmnist64_mixnet_s.safetensors

# Fashion-MNIST as ImageFolder trees of PNGs for 'mixedge eval' and
# 'convert --calib': $(FMNIST)/{calib,val,test}/<class>/*.png.
FMNIST ?= fmnist
fmnist-folders:
	$(GO) run ./tools/fashion/export -o $(FMNIST)

# Guest instructions per MixNet-S frame on emulated Pi 4 / Pi 5 cores, with
# the qemu TCG plugin ../shared/anchors/ort-arm/measure.sh counts ONNX
# Runtime with (per frame = (R3 - R1) / 2; per thread; hottest symbols) and
# the ratio to ORT's int8 count. Needs gcc and qemu-user. Options:
# CPUS="cortex-a72 cortex-a76 cortex-a53", THREADS=4, ORT_RESULTS=dir of a
# measure.sh run, MCA=1 (cycles from LLVM's model of each core, block by
# block; needs llvm) (see cmd/qemu-icount/frames.sh).
icount-arm:
	REF=$(REF) bash cmd/qemu-icount/frames.sh
