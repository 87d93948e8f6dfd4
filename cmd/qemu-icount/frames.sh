#!/usr/bin/env bash
# frames.sh: guest instructions per MixNet-S frame of mixedge on emulated Pi cores, counted the
# way ../shared/anchors/ort-arm/measure.sh counts ONNX Runtime (its qemu TCG plugin, R=3 minus R=1
# frames, halved), so the mixedge / ORT ratio is one command away: `make icount-arm`.
#
# Environment (all optional):
#   CPUS     qemu cpu models (default "cortex-a72 cortex-a76"; cortex-a53 = Pi 3 / Zero 2 W)
#   THREADS  bench --threads (default 1); the guest gets GOMAXPROCS = THREADS. Above 1, also the
#            frame's critical path from per-op, per-task counts (opthreads/opthreads.c, a second
#            plugin; opthreads/critpath.awk): the estimate of docs/PI_ESTIMATE.md for 2 and 4 threads
#   TOP      hottest symbols listed per cpu (default 15)
#   ORTARM   the anchor directory (default ../shared/anchors/ort-arm beside this repository)
#   REF      reference data (default ../shared/reference)
#   OUT      work and report folder (default /tmp/mixedge-icount)
#   ORT_RESULTS  a measure.sh results folder (ort_int8_<cpu>_R1/R3.icount): ORT counted in the
#            same run; without it the ratio uses the anchor README's per-inference figures
#   MCA      1: also the frame's cycles per cpu from LLVM's scheduling model of that core, block
#            by block (blockmca.py; needs python3, llvm-mc and llvm-mca: Debian's llvm)
#
# Needs gcc (the plugin is host code), qemu-aarch64 (Debian qemu-user, built with plugin support)
# and Go. Prints, per cpu: the frame's instructions, per guest thread, and the hottest symbols.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
ORTARM=${ORTARM:-$ROOT/../shared/anchors/ort-arm}
REF=${REF:-$ROOT/../shared/reference}
OUT=${OUT:-/tmp/mixedge-icount}
CPUS=${CPUS:-"cortex-a72 cortex-a76"}
THREADS=${THREADS:-1}
TOP=${TOP:-15}
QEMU=${QEMU_ARM64:-qemu-aarch64}
mkdir -p "$OUT"
for f in "$ORTARM/icount_plugin.c" "$REF/mixnet_s.safetensors"; do
  [ -f "$f" ] || { echo "frames.sh: $f not found (set ORTARM / REF)" >&2; exit 1; }
done
command -v gcc >/dev/null || { echo "frames.sh: gcc not found (the plugin is built for the host)" >&2; exit 1; }
command -v "$QEMU" >/dev/null || { echo "frames.sh: $QEMU not found (apt-get install qemu-user)" >&2; exit 1; }

gcc -O2 -Wall -shared -fPIC -o "$OUT/icount_plugin.so" "$ORTARM/icount_plugin.c"
HERE=$(cd "$(dirname "$0")" && pwd)
gcc -O2 -Wall -shared -fPIC -o "$OUT/opthreads.so" "$HERE/opthreads/opthreads.c"
(cd "$ROOT" && go build -o "$OUT/mixedge" ./cmd/mixedge &&
  GOARCH=arm64 CGO_ENABLED=0 go build -o "$OUT/mixedge-arm64" ./cmd/mixedge)
# converted every time: a conversion from an older build may carry other multipliers
"$OUT/mixedge" convert --weights "$REF/mixnet_s.safetensors" --arch mixnet_s \
  -o "$OUT/s.fw" >/dev/null

# ORT int8 per inference from the anchor's README (run 3 of measure.sh), when not counted here
ort_readme() { case $1 in cortex-a72) echo 176971949 ;; cortex-a76) echo 129815182 ;; *) echo 0 ;; esac; }
total() { sed -n 's/^total guest instructions: //p' "$1"; }

for cpu in $CPUS; do
  for n in 1 3; do
    # env -i and fixed paths: the same start-up from run to run (see the anchor README)
    # --equal-split: the guest threads run at the host's varying speeds, a Pi's cores at one;
    # the critical path is of the equal split the Pi would settle on.
    env -i PATH="$PATH" GOMAXPROCS="$THREADS" nice -n 10 "$QEMU" -cpu "$cpu" \
      -plugin "$OUT/icount_plugin.so,out=$OUT/mixedge_${cpu}_t${THREADS}_R$n.icount,top=100000,mn=0" \
      "$OUT/mixedge-arm64" bench --model "$OUT/s.fw" --threads "$THREADS" --fixed --equal-split --warmup 0 --runs $n \
      >"$OUT/mixedge_${cpu}_t${THREADS}_R$n.out" 2>&1
  done
  r1=$OUT/mixedge_${cpu}_t${THREADS}_R1.icount r3=$OUT/mixedge_${cpu}_t${THREADS}_R3.icount
  tier=$("$QEMU" -cpu "$cpu" "$OUT/mixedge-arm64" cpu | sed -n 's/.*chosen: //p')
  per=$(( ($(total "$r3") - $(total "$r1")) / 2 ))
  ort=$(ort_readme "$cpu") src="anchor README"
  if [ -n "${ORT_RESULTS:-}" ] && [ -f "$ORT_RESULTS/ort_int8_${cpu}_R3.icount" ]; then
    ort=$(( ($(total "$ORT_RESULTS/ort_int8_${cpu}_R3.icount") - $(total "$ORT_RESULTS/ort_int8_${cpu}_R1.icount")) / 2 ))
    src="$ORT_RESULTS"
  fi
  echo "== $cpu (kernels $tier, $THREADS thread(s)): $(printf "%'d" "$per") instructions per frame"
  # with more threads the total includes the worker pool's spinning (host timing): see the critical path
  [ "$THREADS" -gt 1 ] && echo "   (all threads, the pool's polling included: not a cost; the critical path below is)"
  [ "$ort" -gt 0 ] && [ "$THREADS" = 1 ] && awk -v a="$per" -v b="$ort" -v s="$src" \
    'BEGIN { printf "   ORT 1.30 int8: %'"'"'d per inference (%s); mixedge / ORT = %.3f\n", b, s, a / b }'
  # per guest thread (R3 - R1) / 2: vcpu indices are thread creation order
  awk '/^per vcpu:/ { for (i = 3; i <= NF; i++) { split($i, p, ":"); print p[1], p[2] } }' "$r1" >"$OUT/v1.txt"
  awk '/^per vcpu:/ { for (i = 3; i <= NF; i++) { split($i, p, ":"); print p[1], p[2] } }' "$r3" >"$OUT/v3.txt"
  awk 'NR == FNR { a[$1] = $2; next } { printf "   thread %s: %'"'"'d\n", $1, ($2 - a[$1]) / 2 }' "$OUT/v1.txt" "$OUT/v3.txt"
  # hottest symbols per frame (sum of their blocks, R3 - R1, halved)
  sym() { awk '/^top/ { on = 1; next } on && /\[/ { s = $0; sub(/.*\[/, "", s); sub(/\].*/, "", s); c[s] += $2 }
    END { for (k in c) print k, c[k] }' "$1"; }
  sym "$r1" >"$OUT/s1.txt"
  sym "$r3" >"$OUT/s3.txt"
  awk -v per="$per" 'NR == FNR { a[$1] = $2; next } { d = ($2 - a[$1]) / 2; if (d > 0) printf "%12.3f M %5.1f%%  %s\n", d / 1e6, 100 * d / per, $1 }' \
    "$OUT/s1.txt" "$OUT/s3.txt" | sort -rn | awk -v n="$TOP" 'NR <= n' | sed 's/github.com\/mixedge\/mixedge\///; s/^/ /'
done

if [ -n "${MCA:-}" ]; then
  for cpu in $CPUS; do
    echo "== $cpu: llvm-mca -mcpu=$cpu, block by block"
    python3 "$HERE/blockmca.py" "$OUT/mixedge-arm64" "$OUT/mixedge_${cpu}_t${THREADS}_R1.icount" \
      "$OUT/mixedge_${cpu}_t${THREADS}_R3.icount" "$cpu" | sed 's/^/   /'
  done
fi

[ "$THREADS" -gt 1 ] || exit 0
# Per-op, per-task counts of two frames (the last one is used). The marks are the first body
# instruction of model.(*Int8Net).step, .runTask and model.(*pool).do, after the 3-instruction stack check of Go's
# arm64 prologue (entering at the function's address would count a morestack retry twice).
addr() { printf '0x%x' $(( 0x$(go tool nm "$OUT/mixedge-arm64" | awk -v s="$1" '$NF == s { print $1 }') + 12 )); }
mark=$(addr 'github.com/mixedge/mixedge/model.(*Int8Net).step')
task=$(addr 'github.com/mixedge/mixedge/model.(*Int8Net).runTask')
phase=$(addr 'github.com/mixedge/mixedge/model.(*pool).do')
for cpu in $CPUS; do
  echo "== $cpu: critical path, $THREADS threads"
  env -i PATH="$PATH" GOMAXPROCS="$THREADS" nice -n 10 "$QEMU" -cpu "$cpu" \
    -plugin "$OUT/opthreads.so,mark=$mark,task=$task,phase=$phase,out=$OUT/ops_${cpu}_t$THREADS.txt" \
    "$OUT/mixedge-arm64" bench --model "$OUT/s.fw" --threads "$THREADS" --fixed --equal-split --warmup 0 --runs 2 >/dev/null 2>&1
  awk -v frames=2 -v threads="$THREADS" -f "$HERE/opthreads/critpath.awk" "$OUT/ops_${cpu}_t$THREADS.txt"
done
