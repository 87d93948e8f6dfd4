//go:build !purego

package kernels

import (
	"unsafe"

	"github.com/mixedge/mixedge/quant"
)

// reqHParams is what reqHAVX2 reads (offsets fixed in requant_amd64.s).
type reqHParams struct {
	z2         [8]int32 // 0: 1 + 2*zOut
	qmin, qmax [16]int8 // 32, 48
	lim        [8]int32 // 64: reqHMaxShift - 2
}

// Offsets requant_amd64.s relies on (these fail to compile if they move).
const (
	_ uint = uint(unsafe.Offsetof(reqHParams{}.lim)) - 64
	_ uint = 64 - uint(unsafe.Offsetof(reqHParams{}.lim))
	_ uint = uint(unsafe.Sizeof(quant.Multiplier{})) - 8 // (M, Shift) dword pairs
	_ uint = 8 - uint(unsafe.Sizeof(quant.Multiplier{}))
)

// reqHMaxShift bounds the Shift reqHAVX2 takes: its constant
// c = (1 + 2*zOut) * 2^(Shift-2) must stay within 2^30 (|1 + 2*zOut| < 2^8).
const reqHMaxShift = 24

//go:noescape
func reqHAVX2(dst *int8, acc *int32, bias *int32, rq *quant.Multiplier, n8 int, step int, ep *reqHParams) int

// requantizeAVX2 sets dst[i] = quant.Requantize(acc[i]+bias[i*step],
// rq[i*step], zOut, qmin, qmax) for i < len(dst), with step 1 (per-channel
// bias and multipliers) or 0 (bias[:8] and rq[:8] all equal the first).
// reqHAVX2 does 8 channels at a time in the REQH form of AVX2.md
// (y + zOut = (hi32(acc*M) + c) >> (Shift-1), c = 2^(Shift-2) +
// zOut*2^(Shift-1), exact for 2 <= Shift <= reqHMaxShift); a group of 8
// with any other multiplier, and the last len%8, use quant.Requantize.
func requantizeAVX2(dst []int8, acc, bias []int32, rq []quant.Multiplier, step int, zOut, qmin, qmax int32) {
	n := len(dst)
	acc = acc[:n]
	if step != 0 {
		bias, rq = bias[:n], rq[:n]
	} else {
		bias, rq = bias[:8], rq[:8]
	}
	i := 0
	if n >= 8 {
		var ep reqHParams
		for j := range ep.z2 {
			ep.z2[j], ep.lim[j] = 1+2*zOut, reqHMaxShift-2
		}
		for j := range ep.qmin {
			ep.qmin[j], ep.qmax[j] = int8(qmin), int8(qmax)
		}
		for i+8 <= n {
			if step == 0 && (rq[0].Shift < 2 || rq[0].Shift > reqHMaxShift) {
				break // every group would fall back
			}
			i += 8 * reqHAVX2(&dst[i], &acc[i], &bias[i*step], &rq[i*step], (n-i)/8, step, &ep)
			if i+8 > n {
				break
			}
			for j := i; j < i+8; j++ { // a multiplier outside REQH
				dst[j] = quant.Requantize(acc[j]+bias[j*step], rq[j*step], zOut, qmin, qmax)
			}
			i += 8
		}
	}
	for ; i < n; i++ {
		dst[i] = quant.Requantize(acc[i]+bias[i*step], rq[i*step], zOut, qmin, qmax)
	}
}
