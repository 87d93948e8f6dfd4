//go:build !purego

package kernels

import "github.com/mixedge/mixedge/quant"

// Elementwise kernels in AVX-512 (elementwise_avx512_amd64.s, generated
// by internal/vnnigen). Which of them the vnni tier uses is decided by
// the measurements in VNNI.md.

//go:noescape
func lookupAVX512(dst, src *int8, n int, table *[256]int8)

//go:noescape
func addAVX512(dst, a, b *int8, n int, ep *ewParams)

//go:noescape
func addEVEX256(dst, a, b *int8, n int, ep *ewParams)

//go:noescape
func chanMulKAVX512(dst *int8, dstStride int, src *int8, srcStride int, pixels int, c32 int, k *int16, ep *cmParams)

//go:noescape
func cmSetupAVX512(k *int16, gate *int8, c32 int, ep *cmParams)

// ChannelMulQS8AVX512 is ChannelMulQS8AVX2's chanMulKAVX2 on zmm
// registers: 32 channels per step (chanMulKAVX512; the arithmetic and its
// proof are chanMulKAVX2's), the last channels%32 by ChannelMulQS8AVX2,
// as are gates wider than 2048 channels and multipliers with Shift < -7.
func ChannelMulQS8AVX512(dst []int8, dstStride int, src []int8, srcStride int, pixels, channels int,
	gate []int8, zX, zG int32, m quant.Multiplier, zOut, qmin, qmax int32) {
	if pixels <= 0 || channels <= 0 {
		return
	}
	checkStride("ChannelMulQS8AVX512", "src", srcStride, channels)
	checkStride("ChannelMulQS8AVX512", "dst", dstStride, channels)
	need("ChannelMulQS8AVX512", "src", len(src), span(pixels, srcStride, channels))
	need("ChannelMulQS8AVX512", "dst", len(dst), span(pixels, dstStride, channels))
	need("ChannelMulQS8AVX512", "gate", len(gate), channels)
	c32 := min(channels, cmMaxC) &^ 31
	if m.Shift < cmMinShift {
		c32 = 0
	}
	if c32 > 0 {
		var k [cmMaxC * 4]int16
		var ep cmParams
		ep.set(zX, zG, m, zOut, qmin, qmax)
		cmSetupAVX512(&k[0], &gate[0], c32, &ep)
		chanMulKAVX512(&dst[0], dstStride, &src[0], srcStride, pixels, c32, &k[0], &ep)
	}
	if c32 < channels {
		ChannelMulQS8AVX2(dst[c32:], dstStride, src[c32:], srcStride, pixels, channels-c32,
			gate[c32:], zX, zG, m, zOut, qmin, qmax)
	}
}

// LookupQS8AVX512 is LookupQS8 with AVX512_VBMI: per 64 bytes two
// VPERMT2B (entries 0-127 and 128-255 on the low 7 bits) and a VPBLENDMB
// on bit 7; the last len%64 bytes under a mask.
func LookupQS8AVX512(dst, src []int8, table *[256]int8) {
	need("LookupQS8AVX512", "src", len(src), len(dst))
	if len(dst) > 0 {
		lookupAVX512(&dst[0], &src[0], len(dst), table)
	}
}

// AddQS8AVX512 is AddQS8AVX2 on zmm registers (32 elements per step; the
// rest by AddQS8AVX2).
func AddQS8AVX512(dst, a, b []int8, p quant.AddParams, qmin, qmax int32) {
	addEW(true, dst, a, b, p, qmin, qmax)
}

// AddQS8EVEX256 is AddQS8AVX2 with AVX-512VL's VPMOVSWB narrow on ymm
// registers (16 elements per step; the rest by AddQS8AVX2).
func AddQS8EVEX256(dst, a, b []int8, p quant.AddParams, qmin, qmax int32) {
	addEW(false, dst, a, b, p, qmin, qmax)
}

func addEW(wide bool, dst, a, b []int8, p quant.AddParams, qmin, qmax int32) {
	n := len(dst)
	need("AddQS8AVX512", "a", len(a), n)
	need("AddQS8AVX512", "b", len(b), n)
	if p.Shift < 1 || p.Shift > 31 {
		panic("kernels: AddQS8AVX512: shift outside [1, 31]")
	}
	step := 16
	if wide {
		step = 32
	}
	nv := n &^ (step - 1)
	if nv > 0 {
		var ep ewParams
		ep.setAdd(p, qmin, qmax)
		if wide {
			addAVX512(&dst[0], &a[0], &b[0], nv, &ep)
		} else {
			addEVEX256(&dst[0], &a[0], &b[0], nv, &ep)
		}
	}
	if nv < n {
		AddQS8AVX2(dst[nv:], a[nv:n], b[nv:n], p, qmin, qmax)
	}
}
