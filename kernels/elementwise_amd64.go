//go:build !purego

package kernels

import (
	"unsafe"

	"github.com/mixedge/mixedge/quant"
)

// ewParams is what the elementwise AVX2 kernels read; the offsets are fixed
// in elementwise_amd64.s (checked by TestAVX2ParamsLayout).
type ewParams struct {
	zOut       [8]int32 // 0
	qmin, qmax [32]int8 // 32, 64
	zX         [8]int32 // 96
	_          [32]byte // 128
	rq         rqVec    // 160
	mab        [8]int32 // 448: MA | MB<<16
	za, zb     [16]int16
	round      [8]int32 // 544
	shift      [2]int64 // 576
}

func (e *ewParams) setOut(zOut, qmin, qmax int32) {
	for i := range e.zOut {
		e.zOut[i] = zOut
	}
	for i := range e.qmin {
		e.qmin[i], e.qmax[i] = int8(qmin), int8(qmax)
	}
}

// setAdd sets what addAVX2 (and addAVX512, addEVEX256) read.
func (e *ewParams) setAdd(p quant.AddParams, qmin, qmax int32) {
	e.setOut(p.ZOut, qmin, qmax)
	for i := range e.mab {
		e.mab[i] = p.MA&0xffff | p.MB<<16
		e.round[i] = 1 << (p.Shift - 1)
	}
	for i := range e.za {
		e.za[i], e.zb[i] = int16(p.ZA), int16(p.ZB)
	}
	e.shift[0] = int64(p.Shift)
}

//go:noescape
func chanMulAVX2(dst *int8, dstStride int, src *int8, srcStride int, pixels int, c8 int, gate *int32, ep *ewParams, fast int)

//go:noescape
func chanMulKAVX2(dst *int8, dstStride int, src *int8, srcStride int, pixels int, c8 int, k *int16, ep *cmParams)

//go:noescape
func cmSetupAVX2(k *int16, gate *int8, c8 int, ep *cmParams)

//go:noescape
func addAVX2(dst, a, b *int8, n16 int, ep *ewParams)

//go:noescape
func poolSumAVX2(acc *int32, src *int8, pixels int, c8 int, srcStride int)

const cmMaxC = 2048 // channels whose gates fit on the stack

// cmParams is what chanMulKAVX2 reads (offsets fixed in
// elementwise_amd64.s, checked below).
type cmParams struct {
	zX, zOut, rnd [16]int16 // 0, 32, 64
	qmin, qmax    [32]int8  // 96, 128
	sh            [2]int64  // 160: VPSRAD count s-24
	clamp, _      int64     // 176: [qmin, qmax] is not all of int8
	zG, mh, ml    [8]int32  // 192, 224, 256: cmSetupAVX2's zG, M>>17, M&(2^17-1)
}

const (
	_ uint = uint(unsafe.Offsetof(cmParams{}.sh)) - 160
	_ uint = 160 - uint(unsafe.Offsetof(cmParams{}.sh))
	_ uint = uint(unsafe.Offsetof(cmParams{}.clamp)) - 176
	_ uint = 176 - uint(unsafe.Offsetof(cmParams{}.clamp))
	_ uint = uint(unsafe.Offsetof(cmParams{}.zG)) - 192
	_ uint = 192 - uint(unsafe.Offsetof(cmParams{}.zG))
)

func (ep *cmParams) set(zX, zG int32, m quant.Multiplier, zOut, qmin, qmax int32) {
	for i := range ep.zG {
		ep.zG[i], ep.mh[i], ep.ml[i] = zG, m.M>>17, m.M&(1<<17-1)
	}
	for i := range ep.zX {
		ep.zX[i], ep.zOut[i], ep.rnd[i] = int16(zX), int16(zOut), 1<<8
	}
	for i := range ep.qmin {
		ep.qmin[i], ep.qmax[i] = int8(qmin), int8(qmax)
	}
	ep.sh[0] = int64(m.Shift) + 31 - 24
	if clampMode(qmin, qmax) == 0 {
		ep.clamp = 1
	}
}

// cmMinShift is the smallest Shift chanMulKAVX2 handles (s = 31+Shift >= 24).
const cmMinShift = -7

// chanMulKAVX2's arithmetic. With u = x - zX in [-255, 255],
// G = gate - zG in [-255, 255], s = 31+Shift and K = G*M (|K| < 255*2^31),
// the generic result is
//
//	y = floor((u*K + 2^(s-1)) / 2^s)
//
// Split K = K1*2^17 + K0 with 0 <= K0 < 2^17, so |K1| <= 255*2^14. Each part
// is a + 128b with a in [0, 128) and b in int16, and one VPMADDWD of the
// int16 pair (u, 128u) with (a, b) gives u*(a + 128b) exactly (every product
// and the sum stay below 2^31): H = u*K1 (|H| < 2^30) and u*K0. Since
// 2^(s-1) is a multiple of 2^17 (s >= 18), nested floors give, with
// L = floor(u*K0 / 2^17) and e = s-17,
//
//	y = floor((H + L + 2^(e-1)) / 2^e) = floor((W + 2^6) / 2^7),  W = floor((H+L) / 2^(e-7))
//
// for e >= 7 (s >= 24, VPSRAD by s-24; counts over 31 give the sign, still
// the floor). VPACKSSDW saturates W to int16 and VPMULHRSW by 2^8 is
// exactly floor((W + 2^6) / 2^7). If W saturated (|true W| >= 2^15), the
// true and the computed y are both >= 256 or both <= -256, so y + zOut
// (VPADDSW, |zOut| <= 128) leaves [-128, 127] on the same side and
// VPACKSSWB clamps it as the generic code does.
//
// cmSetupAVX2 writes the (a, b) pairs of every channel once per call, 128
// bytes per 16 channels in the order VPUNPCKL/HWD leave the data: K1 of
// channels 0-3 and 8-11 (32 bytes), their K0, then K1 and K0 of channels
// 4-7 and 12-15 (cmPairsRef in the tests is the same in Go).

// ChannelMulQS8AVX2 is ChannelMulQS8 in AVX2: 32 channels per step, then
// 16 and 8 (chanMulKAVX2, see above); the last channels%8 and gates wider
// than 2048 channels use the generic code, multipliers with Shift < -7
// the older int32 kernel chanMulAVX2.
func ChannelMulQS8AVX2(dst []int8, dstStride int, src []int8, srcStride int, pixels, channels int,
	gate []int8, zX, zG int32, m quant.Multiplier, zOut, qmin, qmax int32) {
	if pixels <= 0 || channels <= 0 {
		return
	}
	checkStride("ChannelMulQS8AVX2", "src", srcStride, channels)
	checkStride("ChannelMulQS8AVX2", "dst", dstStride, channels)
	need("ChannelMulQS8AVX2", "src", len(src), span(pixels, srcStride, channels))
	need("ChannelMulQS8AVX2", "dst", len(dst), span(pixels, dstStride, channels))
	need("ChannelMulQS8AVX2", "gate", len(gate), channels)
	c8 := min(channels, cmMaxC) &^ 7
	if c8 > 0 && m.Shift >= cmMinShift {
		var k [cmMaxC * 4]int16
		var ep cmParams
		ep.set(zX, zG, m, zOut, qmin, qmax)
		cmSetupAVX2(&k[0], &gate[0], c8, &ep)
		chanMulKAVX2(&dst[0], dstStride, &src[0], srcStride, pixels, c8, &k[0], &ep)
	} else if c8 > 0 {
		var g [cmMaxC]int32
		for i, v := range gate[:c8] {
			g[i] = int32(v) - zG
		}
		var ep ewParams
		ep.setOut(zOut, qmin, qmax)
		for i := range ep.zX {
			ep.zX[i] = zX
			ep.rq.set(i, 0, m)
		}
		fast := 0 // Shift >= 1: REQF in the 16-channel steps
		if m.Shift >= 1 {
			fast = 1
		}
		chanMulAVX2(&dst[0], dstStride, &src[0], srcStride, pixels, c8, &g[0], &ep, fast)
	}
	if c8 < channels {
		ChannelMulQS8(dst[c8:], dstStride, src[c8:], srcStride, pixels, channels-c8,
			gate[c8:], zX, zG, m, zOut, qmin, qmax)
	}
}

// AddQS8AVX2 is AddQS8 in AVX2 (16 elements per step, VPMADDWD on
// (a-ZA, b-ZB) pairs; the last len%16 use the generic code).
func AddQS8AVX2(dst, a, b []int8, p quant.AddParams, qmin, qmax int32) {
	n := len(dst)
	need("AddQS8AVX2", "a", len(a), n)
	need("AddQS8AVX2", "b", len(b), n)
	if p.Shift < 1 || p.Shift > 31 {
		panic("kernels: AddQS8AVX2: shift outside [1, 31]")
	}
	n16 := n &^ 15
	if n16 > 0 {
		var ep ewParams
		ep.setAdd(p, qmin, qmax)
		addAVX2(&dst[0], &a[0], &b[0], n16, &ep)
	}
	if n16 < n {
		AddQS8(dst[n16:], a[n16:n], b[n16:n], p, qmin, qmax)
	}
}

// GlobalAvgPoolQS8AVX2 is GlobalAvgPoolQS8 with the channel sums in AVX2
// and their requantization in requantizeAVX2.
func GlobalAvgPoolQS8AVX2(dst []int8, src []int8, pixels, channels, srcStride int,
	zIn int32, m quant.Multiplier, zOut, qmin, qmax int32) {
	if channels <= 0 {
		return
	}
	checkPoolPixels("GlobalAvgPoolQS8AVX2", pixels)
	checkStride("GlobalAvgPoolQS8AVX2", "src", srcStride, channels)
	need("GlobalAvgPoolQS8AVX2", "src", len(src), span(pixels, srcStride, channels))
	need("GlobalAvgPoolQS8AVX2", "dst", len(dst), channels)
	var sums [poolTile]int32
	for c0 := 0; c0 < channels; c0 += poolTile {
		w := min(poolTile, channels-c0)
		PoolSumsQS8AVX2(sums[:w], src[c0:], pixels, w, srcStride)
		PoolFinishQS8AVX2(dst[c0:c0+w], sums[:w], pixels, zIn, m, zOut, qmin, qmax)
	}
}

//go:noescape
func lookupAVX2(dst, src *int8, n32 int, table *[256]int8)

// LookupQS8AVX2 is LookupQS8 in AVX2: 16 VPSHUFB lookups per 32 bytes, one
// per 16-entry row of the table, merged by VPOR on bit 7 and a VPBLENDVB
// tree on bits 4..6 (the last len%32 use the generic code).
func LookupQS8AVX2(dst, src []int8, table *[256]int8) {
	need("LookupQS8AVX2", "src", len(src), len(dst))
	n32 := len(dst) &^ 31
	if n32 > 0 {
		lookupAVX2(&dst[0], &src[0], n32, table)
	}
	if n32 < len(dst) {
		LookupQS8(dst[n32:], src[n32:len(dst)], table)
	}
}

// PoolSumsQS8AVX2 is PoolSumsQS8 with poolSumAVX2 (the last channels%8 in
// Go).
func PoolSumsQS8AVX2(acc []int32, src []int8, pixels, channels, srcStride int) {
	if channels <= 0 {
		return
	}
	checkPoolPixels("PoolSumsQS8AVX2", pixels)
	checkStride("PoolSumsQS8AVX2", "src", srcStride, channels)
	need("PoolSumsQS8AVX2", "src", len(src), span(pixels, srcStride, channels))
	need("PoolSumsQS8AVX2", "acc", len(acc), channels)
	c8 := channels &^ 7
	if c8 > 0 {
		poolSumAVX2(&acc[0], &src[0], pixels, c8, srcStride)
	}
	for c := c8; c < channels; c++ {
		var s int32
		for p := range pixels {
			s += int32(src[p*srcStride+c])
		}
		acc[c] = s
	}
}

// PoolFinishQS8AVX2 is PoolFinishQS8 with requantizeAVX2.
func PoolFinishQS8AVX2(dst []int8, acc []int32, pixels int, zIn int32, m quant.Multiplier, zOut, qmin, qmax int32) {
	checkPoolPixels("PoolFinishQS8AVX2", pixels)
	need("PoolFinishQS8AVX2", "acc", len(acc), len(dst))
	var bb [8]int32 // requantizeAVX2's uniform bias and multiplier
	var mm [8]quant.Multiplier
	for i := range bb {
		bb[i], mm[i] = -int32(pixels)*zIn, m
	}
	requantizeAVX2(dst, acc[:len(dst)], bb[:], mm[:], 0, zOut, qmin, qmax)
}
