//go:build !purego

package kernels

import (
	"math"
	"math/bits"
	"unsafe"

	"github.com/mixedge/mixedge/quant"
)

// AVX2 GEMM layout. PackGEMMAVX2 stores the [n][k] weights as int16, in
// blocks of 16 output channels; within a block, k-pair j holds
// w[c][2j], w[c][2j+1] for c = 0..15 (64 bytes), so one VPMADDWD of a
// broadcast input pair gives 8 channels' two-tap sums exactly. Channels
// past n and the odd k tap are zero. The microkernel is 4 pixels x 16
// channels of int32 accumulators (6 x 16 in gemmKernel6AVX2); the input
// rows of a tile are first sign-extended to int16 scratch rows. The
// requantization epilogue is fused (REQ, REQF, REQH in gemm_amd64.s).
// Large matrices also carry an int8 copy for the 1-pixel GEMV (gemv8Min).
const (
	gemmNR     = 16             // channels per block
	gemmChunk  = 64             // channels per kernel call (epilogue parameters on the stack)
	gemmRowMax = 4096           // scratch bytes per pixel row kept on the stack (k <= 2048)
	gemmBlockB = gemmNR * 2 * 2 // bytes per k-pair per block
)

// gemmChunk must be a multiple of gemmNR (this fails to compile otherwise).
const _ uint = -(gemmChunk % gemmNR)

// rqVec holds the requantization of 8 channels, as REQ reads it:
//
//	a = clamp(acc, lo, hi) << lsh;  y = hi32(a*M + rnd) >> rsh
//
// For s = 31+Shift >= 32: lo/hi are the int32 range, lsh = 0,
// rnd = 2^(s-1), rsh = s-32. For s < 32 (Shift <= 0): lsh = 32-s and lo/hi
// keep the shifted value in int32, rnd = 2^31, rsh = 0 (package quant).
type rqVec struct {
	bias, lo, hi, lsh [8]int32
	mE, mO            [8]int32 // M of channels 0,2,4,6 / 1,3,5,7 in dwords 0,2,4,6
	rndE, rndO        [4]int64
	rsh               [8]int32
} // 288 bytes

type gemmEpi struct {
	zOut       [8]int32
	qmin, qmax [32]int8
	tmp        [64]int8
	ch         [gemmChunk / 8]rqVec
}

// rqHVec is REQH's form of the requantization of 8 channels whose Shift is
// >= 2: y + zOut = (hi32(acc*M) + c) >> sh with c = 2^(Shift-2) +
// zOut*2^(Shift-1) and sh = Shift-1. It is exact because 2^(s-1) is a
// multiple of 2^32 (s = 31+Shift >= 33), so the low dword of acc*M cannot
// carry into the rounding, and adding a multiple of 2^sh commutes with the
// floor. |hi32(acc*M)| <= 2^30, so |c| <= 2^30 keeps the sum in int32.
type rqHVec struct {
	mE, mO [8]int32 // as in rqVec
	c, sh  [8]int32
} // 128 bytes

// gemmEpiX is the GEMM kernel's epilogue: gemmEpi (shared with the
// depthwise kernel) followed by the REQH parameters.
type gemmEpiX struct {
	gemmEpi
	hv [gemmChunk / 8]rqHVec
	// tmp32 holds the tail stores' spill (up to 96 bytes), at the first
	// 32-byte boundary inside it (Go aligns the struct to 8 only; a spill
	// that splits a cache line made the n = 12 layers ~10% slower).
	tmp32 [128]int8
}

// Offsets gemm_amd64.s relies on (these fail to compile if they move).
const (
	_ uint = uint(unsafe.Offsetof(gemmEpi{}.tmp)) - 96
	_ uint = 96 - uint(unsafe.Offsetof(gemmEpi{}.tmp))
	_ uint = uint(unsafe.Offsetof(gemmEpi{}.ch)) - 160
	_ uint = 160 - uint(unsafe.Offsetof(gemmEpi{}.ch))
	_ uint = uint(unsafe.Offsetof(gemmEpiX{}.hv)) - 2464
	_ uint = 2464 - uint(unsafe.Offsetof(gemmEpiX{}.hv))
	_ uint = uint(unsafe.Offsetof(gemmEpiX{}.tmp32)) - 3488
	_ uint = 3488 - uint(unsafe.Offsetof(gemmEpiX{}.tmp32))
	_ uint = uint(unsafe.Sizeof(rqHVec{})) - 128
	_ uint = 128 - uint(unsafe.Sizeof(rqHVec{}))
)

// Kernel mode bits (see gemmKernelAVX2 in gemm_amd64.s).
const (
	gemmReqF    = 1 // every Shift >= 1: REQF
	gemmReqH    = 2 // hv is valid: REQH
	gemmNoClamp = 4 // qmin, qmax = -128, 127: the packs saturate already
	gemmPreCvt  = 8 // scratch holds the converted rows of all pixels
)

func (e *gemmEpi) setOut(zOut, qmin, qmax int32) {
	for i := range e.zOut {
		e.zOut[i] = zOut
	}
	for i := range e.qmin {
		e.qmin[i], e.qmax[i] = int8(qmin), int8(qmax)
	}
}

// setChannels loads bias and multipliers of up to gemmChunk channels and
// zeroes the rest of the last 16-channel block. rq may be nil (raw mode).
// It returns the kernel's epilogue mode bits: gemmReqH when every channel
// fits REQH, else gemmReqF when every Shift is >= 1 (the kernel may skip
// the clamp and pre-shift), else 0.
func (e *gemmEpiX) setChannels(bias []int32, rq []quant.Multiplier, zOut int32) (mode int) {
	nc := len(bias)
	end := (nc + gemmNR - 1) &^ (gemmNR - 1)
	for j := nc / 8; j < end/8; j++ {
		e.ch[j] = rqVec{}
		e.hv[j] = rqHVec{}
	}
	if rq == nil {
		for c := range nc {
			e.ch[c/8].bias[c%8] = bias[c]
		}
		return 0
	}
	rq = rq[:nc]
	if e.setReqH(bias, rq, zOut) {
		return gemmReqH
	}
	mode = gemmReqF
	for c, m := range rq {
		e.ch[c/8].set(c%8, bias[c], m)
		if m.Shift < 1 {
			mode = 0
		}
	}
	return mode
}

// setReqH fills the bias and the REQH parameters of rq's channels in one
// pass and reports whether every channel fits REQH: Shift >= 2 and
// |c| <= 2^30 for c = 2^(Shift-2) + zOut*2^(Shift-1) = t*2^(Shift-2),
// t = 2*zOut+1 (odd, the same for every channel). So the test is
// Shift-2 <= 30 - ceil(log2 |t|), one unsigned compare per channel (it
// also keeps Shift <= 32, the shifts exact), and c = t << (Shift-2) fits
// int32. REQH reads nothing else of rqVec. On false, what it wrote is
// partial: the caller fills the chunk again for REQ or REQF.
func (e *gemmEpiX) setReqH(bias []int32, rq []quant.Multiplier, zOut int32) bool {
	t := 2*int64(zOut) + 1
	at := uint64(t)
	if t < 0 {
		at = uint64(-t)
	}
	if at > 1<<30 {
		return false
	}
	smax := uint32(30 - bits.Len64(at-1))
	if len(rq) == 0 || uint32(rq[0].Shift-2) > smax {
		return len(rq) == 0
	}
	_, _ = bias[len(rq)-1], e.hv[(len(rq)-1)/8] // the kernel writes ceil(len/8) groups
	return gemmSetReqHAVX2(e, &bias[0], &rq[0], len(rq), int32(t), smax)
}

//go:noescape
func gemmSetReqHAVX2(e *gemmEpiX, bias *int32, rq *quant.Multiplier, n int, t int32, smax uint32) bool

// clampMode is gemmNoClamp when [qmin, qmax] is the whole int8 range.
func clampMode(qmin, qmax int32) int {
	if qmin <= math.MinInt8 && qmax >= math.MaxInt8 {
		return gemmNoClamp
	}
	return 0
}

//go:noescape
func gemmKernelAVX2(dst *int8, dstStride int, src *int8, srcStride int, pixels int, k int, nc int,
	w *int8, ep *gemmEpiX, scratch *int16, rowBytes int, raw *int32, mode int)

//go:noescape
func gemmKernel6AVX2(dst *int8, dstStride int, src *int8, srcStride int, pixels int, k int, nc int,
	w *int8, ep *gemmEpiX, scratch *int16, rowBytes int, raw *int32, mode int)

// PackGEMMAVX2 is the AVX2 tier's PackGEMM: see the layout above.
func PackGEMMAVX2(w []int8, k, n int) []int8 {
	need("PackGEMMAVX2", "w", len(w), n*k)
	l16 := gemmPackedLen(k, n)
	out := make([]int8, l16+gemv8Len(k, n))
	packGEMMInto(out, w, k, n)
	if len(out) > l16 {
		packGEMV8Into(out[l16:], w, k, n)
	}
	return out
}

// packGEMMInto writes the packed layout of the [n][k] weights w into
// out[:gemmPackedLen(k, n)], padding included.
func packGEMMInto(out, w []int8, k, n int) {
	kp := (k + 1) / 2
	out = out[:gemmPackedLen(k, n)]
	clear(out)
	for co := range n {
		blk, c := co/gemmNR, co%gemmNR
		row := w[co*k:][:k]
		for ci, x := range row {
			v := int16(x)
			off := blk*kp*gemmBlockB + (ci/2)*gemmBlockB + c*4 + (ci%2)*2
			out[off], out[off+1] = int8(v), int8(v>>8)
		}
	}
}

func gemmPackedLen(k, n int) int {
	return (n + gemmNR - 1) / gemmNR * ((k + 1) / 2) * gemmBlockB
}

func gemmRowBytes(k int) int { return ((k+1)/2*4 + 63) &^ 63 }

// GEMMQS8AVX2 is GEMMQS8 with weights from PackGEMMAVX2.
func GEMMQS8AVX2(dst []int8, dstStride int, src []int8, srcStride int, pixels, k, n int,
	w []int8, bias []int32, rq []quant.Multiplier, zOut, qmin, qmax int32) {
	if pixels <= 0 || n <= 0 {
		return
	}
	checkGEMM("GEMMQS8AVX2", len(src), srcStride, pixels, k, n, len(w), len(bias))
	checkStride("GEMMQS8AVX2", "dst", dstStride, n)
	need("GEMMQS8AVX2", "dst", len(dst), span(pixels, dstStride, n))
	need("GEMMQS8AVX2", "rq", len(rq), n)
	if pixels == 1 && k <= gemvKMax && gemvPacked(len(w), k, n) {
		gemvQS8AVX2(dst, src, k, n, w, bias, rq, zOut, qmin, qmax)
		return
	}
	need("GEMMQS8AVX2", "packed w", len(w), gemmPackedLen(k, n))
	rowBytes := gemmRowBytes(k)
	var scratch [4 * gemmRowMax / 2]int16
	sc := scratch[:]
	if rowBytes > gemmRowMax {
		sc = make([]int16, 2*rowBytes) // k > 2048: not on MixNet's path
	}
	var ep gemmEpiX
	ep.setOut(zOut, qmin, qmax)
	cm := clampMode(qmin, qmax)
	kp := (k + 1) / 2
	// Whole 6-pixel tiles go to the 6x16 kernel (12 accumulators: 5-15%
	// faster than 4x16 on MixNet's shapes, k = 8 included), channel tails
	// included; the rest of the pixels (pixels % 6) to the 4x16 one.
	p6 := 0
	if 6*rowBytes <= 2*len(sc) {
		p6 = pixels - pixels%6
	}
	for c0 := 0; c0 < n; c0 += gemmChunk {
		nc := min(gemmChunk, n-c0)
		mode := ep.setChannels(bias[c0:c0+nc], rq[c0:c0+nc], zOut) | cm
		wc := &w[c0/gemmNR*kp*gemmBlockB]
		if p6 > 0 {
			gemmKernel6AVX2(&dst[c0], dstStride, &src[0], srcStride, p6, k, nc,
				wc, &ep, &sc[0], rowBytes, nil, mode)
		}
		if p6 < pixels {
			gemmKernelAVX2(&dst[p6*dstStride+c0], dstStride, &src[p6*srcStride], srcStride, pixels-p6, k, nc,
				wc, &ep, &sc[0], rowBytes, nil, mode)
		}
	}
}

// GEMMQS8F32AVX2 is GEMMQS8F32 with weights from PackGEMMAVX2: the AVX2
// accumulation, then float32(acc)*scale in Go (one rounding, one multiply).
func GEMMQS8F32AVX2(dst []float32, src []int8, srcStride int, pixels, k, n int,
	w []int8, bias []int32, scale []float32) {
	if pixels <= 0 || n <= 0 {
		return
	}
	checkGEMM("GEMMQS8F32AVX2", len(src), srcStride, pixels, k, n, len(w), len(bias))
	need("GEMMQS8F32AVX2", "dst", len(dst), pixels*n)
	need("GEMMQS8F32AVX2", "scale", len(scale), n)
	if pixels == 1 && k <= gemvKMax && gemvPacked(len(w), k, n) {
		gemvF32AVX2(dst, src, k, n, w, bias, scale)
		return
	}
	need("GEMMQS8F32AVX2", "packed w", len(w), gemmPackedLen(k, n))
	rowBytes := gemmRowBytes(k)
	var scratch [4 * gemmRowMax / 2]int16
	sc := scratch[:]
	if rowBytes > gemmRowMax {
		sc = make([]int16, 2*rowBytes)
	}
	var ep gemmEpiX
	var raw [4 * gemmChunk]int32
	kp := (k + 1) / 2
	for p0 := 0; p0 < pixels; p0 += 4 {
		mp := min(4, pixels-p0)
		for c0 := 0; c0 < n; c0 += gemmChunk {
			nc := min(gemmChunk, n-c0)
			ep.setChannels(bias[c0:c0+nc], nil, 0)
			gemmKernelAVX2(nil, 0, &src[p0*srcStride], srcStride, mp, k, nc,
				&w[c0/gemmNR*kp*gemmBlockB], &ep, &sc[0], rowBytes, &raw[0], 0)
			sc := scale[c0 : c0+nc]
			for r := range mp {
				out := dst[(p0+r)*n+c0:][:nc]
				acc := raw[r*gemmChunk:][:nc]
				for i, a := range acc {
					out[i] = float32(a) * sc[i]
				}
			}
		}
	}
}

// set loads lane i with bias b and the requantization of m.
func (v *rqVec) set(i int, b int32, m quant.Multiplier) {
	v.bias[i] = b
	var rnd int64
	v.lo[i], v.hi[i], v.lsh[i], v.rsh[i], rnd = reqLane(m)
	if i%2 == 0 {
		v.mE[i], v.rndE[i/2] = m.M, rnd
	} else {
		v.mO[i-1], v.rndO[i/2] = m.M, rnd
	}
}

// reqLane is the REQ macro's per-lane parameters for m (AVX2.md,
// "Requantization"): the clamp that keeps acc << lsh in int32, the left
// and right shifts and the rounding term of hi32(a*M + rnd) >> rsh.
func reqLane(m quant.Multiplier) (lo, hi, lsh, rsh int32, rnd int64) {
	s := 31 + m.Shift
	if s >= 32 {
		return math.MinInt32, math.MaxInt32, 0, s - 32, int64(1) << (s - 1)
	}
	l := 32 - s
	return -(1 << (31 - l)), 1<<(31-l) - 1, l, 0, 1 << 31
}

// The 1-pixel path (SE FCs, classifier): the input row is sign-extended
// once into an int16 row (odd k padded with a zero tap), then
// gemvKernelAVX2 computes the raw int32 sums of up to gemvChunk channels
// per call from the same packed weights (one broadcast per k-pair, two
// VPMADDWD per 16-channel block, two accumulator sets per block). The bias
// is added and the result requantized by requantizeAVX2 (REQH, 8 channels
// at a time) or dequantized in Go with the generic formula, so the bits
// are those of the generic kernel.
const (
	gemvKMax  = 2048 // k of the stack int16 row
	gemvChunk = 256  // channels per kernel call
)

//go:noescape
func gemvCvtAVX2(dst *int16, src *int8, k int)

//go:noescape
func gemvKernelAVX2(raw *int32, x *int16, kp int, w *int8, blocks int)

// Matrices of at least gemv8Min weights (the classifier) stream from
// L3/DRAM on every 1-pixel call; PackGEMMAVX2 appends an int8 copy in the
// same block order (k-pair j of a block: 32 bytes, w[c][2j], w[c][2j+1]
// for c = 0..15) that gemv8KernelAVX2 sign-extends in its loop: half the
// bytes, 1536x1000 ~40% faster with the weights out of L2 (+k*n bytes
// of memory). The multi-pixel kernels ignore the copy.
const gemv8Min = 1 << 19

//go:noescape
func gemv8KernelAVX2(raw *int32, x *int16, kp int, w *int8, blocks int)

func gemv8Len(k, n int) int {
	if k*n < gemv8Min || k > gemvKMax {
		return 0
	}
	return gemv8Size(k, n)
}

// gemv8Size is the length of the int8 GEMV layout of a [n][k] matrix.
func gemv8Size(k, n int) int { return (n + gemmNR - 1) / gemmNR * ((k + 1) / 2) * gemmNR * 2 }

// PackGEMVAVX2 is the AVX2 tier's PackGEMV: the int8 GEMV layout alone
// (k <= gemvKMax; PackGEMMAVX2 otherwise). The SE FCs stream their weights
// from L3 or DRAM once per frame like the classifier (in a MixNet-S frame
// the int16 layout cost ~120 us of GEMV), and no multi-pixel kernel reads
// them, so they need neither the int16 layout nor its memory: MixNet-S's
// SE weights take 0.83 MB instead of 1.66 MB (packed, padded blocks).
func PackGEMVAVX2(w []int8, k, n int) []int8 {
	need("PackGEMVAVX2", "w", len(w), n*k)
	if k > gemvKMax {
		return PackGEMMAVX2(w, k, n)
	}
	out := make([]int8, gemv8Size(k, n))
	packGEMV8Into(out, w, k, n)
	return out
}

// gemvPacked reports whether l weight bytes are a layout the 1-pixel path
// reads: PackGEMMAVX2's (int16, with or without the int8 copy) or
// PackGEMVAVX2's (int8 only, half the int16 length).
func gemvPacked(l, k, n int) bool {
	return l >= gemmPackedLen(k, n) || l == gemv8Size(k, n)
}

func packGEMV8Into(out, w []int8, k, n int) {
	kp := (k + 1) / 2
	out = out[:gemv8Size(k, n)]
	clear(out)
	for co := range n {
		blk, c := co/gemmNR, co%gemmNR
		for ci, x := range w[co*k:][:k] {
			out[blk*kp*gemmNR*2+(ci/2)*gemmNR*2+c*2+ci%2] = x
		}
	}
}

// gemvRaw fills raw[:nc] with the sums (without bias) of channels
// [c0, c0+nc) against the converted row x.
func gemvRaw(raw *[gemvChunk]int32, x []int16, k int, w []int8, n, c0, nc int) {
	kp := (k + 1) / 2
	blocks := (nc + gemmNR - 1) / gemmNR
	l16 := gemmPackedLen(k, n)
	if len(w) < l16 { // PackGEMVAVX2: int8 only
		gemv8KernelAVX2(&raw[0], &x[0], kp, &w[c0/gemmNR*kp*gemmNR*2], blocks)
		return
	}
	if l8 := gemv8Len(k, n); l8 > 0 && len(w) >= l16+l8 {
		gemv8KernelAVX2(&raw[0], &x[0], kp, &w[l16+c0/gemmNR*kp*gemmNR*2], blocks)
		return
	}
	gemvKernelAVX2(&raw[0], &x[0], kp, &w[c0/gemmNR*kp*gemmBlockB], blocks)
}

func gemvRow(x *[gemvKMax]int16, src []int8, k int) {
	gemvCvtAVX2(&x[0], &src[0], k)
	if k%2 == 1 {
		x[k] = 0
	}
}

func gemvQS8AVX2(dst []int8, src []int8, k, n int, w []int8, bias []int32,
	rq []quant.Multiplier, zOut, qmin, qmax int32) {
	var x [gemvKMax]int16
	var raw [gemvChunk]int32
	gemvRow(&x, src, k)
	for c0 := 0; c0 < n; c0 += gemvChunk {
		nc := min(gemvChunk, n-c0)
		gemvRaw(&raw, x[:], k, w, n, c0, nc)
		requantizeAVX2(dst[c0:c0+nc], raw[:nc], bias[c0:c0+nc], rq[c0:c0+nc], 1, zOut, qmin, qmax)
	}
}

func gemvF32AVX2(dst []float32, src []int8, k, n int, w []int8, bias []int32, scale []float32) {
	var x [gemvKMax]int16
	var raw [gemvChunk]int32
	gemvRow(&x, src, k)
	for c0 := 0; c0 < n; c0 += gemvChunk {
		nc := min(gemvChunk, n-c0)
		gemvRaw(&raw, x[:], k, w, n, c0, nc)
		out := dst[c0:][:nc]
		b := bias[c0:][:nc]
		sc := scale[c0:][:nc]
		for i := range out {
			out[i] = float32(b[i]+raw[i]) * sc[i]
		}
	}
}
