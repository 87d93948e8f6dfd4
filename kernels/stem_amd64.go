//go:build !purego

package kernels

import (
	"fmt"

	"github.com/mixedge/mixedge/quant"
)

// The AVX2 stem is an im2col into the GEMM microkernel: the patches of up
// to stemBatch output pixels of a row are gathered (zero point for the
// padding, as the generic kernel does) into a stack buffer, and the
// weights, which are [Cout][K][K][Cin] = the GEMM's [n][k], are packed on
// the stack once per call. Shapes whose packed weights exceed the stack
// buffer use the generic kernel.
const (
	stemPackBuf  = 32 << 10
	stemPatchBuf = 16 << 10 // >= 32 patches of MaxStemPatch
)

// StemConvQS8AVX2 is StemConvQS8 in AVX2.
func StemConvQS8AVX2(dst, src []int8, weights []int8, bias []int32, rq []quant.Multiplier,
	s *ConvShape, zIn, zOut, qmin, qmax int32, oy0, oy1 int) {
	if err := s.Validate(); err != nil {
		panic(err)
	}
	if oy0 < 0 || oy1 > s.OH || oy0 > oy1 {
		panic(fmt.Sprintf("kernels: StemConvQS8AVX2: rows [%d, %d) outside [0, %d)", oy0, oy1, s.OH))
	}
	if oy0 == oy1 {
		return
	}
	h, w, cin, k := s.H, s.W, s.Cin, s.K
	kk := k * k * cin
	need("StemConvQS8AVX2", "src", len(src), span(h*w, s.InStride, cin))
	need("StemConvQS8AVX2", "dst", len(dst), span(oy1*s.OW, s.OutStride, s.Cout))
	need("StemConvQS8AVX2", "weights", len(weights), s.Cout*kk)
	need("StemConvQS8AVX2", "bias", len(bias), s.Cout)
	need("StemConvQS8AVX2", "rq", len(rq), s.Cout)
	if gemmPackedLen(kk, s.Cout) > stemPackBuf {
		StemConvQS8(dst, src, weights, bias, rq, s, zIn, zOut, qmin, qmax, oy0, oy1)
		return
	}
	var pw [stemPackBuf]int8
	packGEMMInto(pw[:], weights, kk, s.Cout)
	var patches [stemPatchBuf]int8
	var scratch [4 * gemmRowMax / 2]int16 // kk <= MaxStemPatch: rows fit
	rowBytes := gemmRowBytes(kk)
	var ep gemmEpiX
	ep.setOut(zOut, qmin, qmax)
	cm := clampMode(qmin, qmax)
	oneChunk := s.Cout <= gemmChunk
	mode := 0
	if oneChunk {
		mode = ep.setChannels(bias[:s.Cout], rq[:s.Cout], zOut) | cm
	}
	kp := (kk + 1) / 2
	batch := stemPatchBuf / kk
	zb := int8(zIn)
	dense := s.InStride == cin
	for oy := oy0; oy < oy1; oy++ {
		iy0 := oy*s.Stride - s.PadTop
		for ox0 := 0; ox0 < s.OW; ox0 += batch {
			nb := min(batch, s.OW-ox0)
			for i := range nb {
				ix0 := (ox0+i)*s.Stride - s.PadLeft
				patch := patches[i*kk:][:kk]
				j := 0
				for ky := range k {
					iy := iy0 + ky
					if dense && iy >= 0 && iy < h && ix0 >= 0 && ix0+k <= w {
						if k*cin == 9 { // the 3x3 RGB stem: a fixed-size move, no memmove call
							*(*[9]int8)(patch[j:]) = *(*[9]int8)(src[(iy*w+ix0)*cin:])
						} else {
							copy(patch[j:j+k*cin], src[(iy*w+ix0)*cin:])
						}
						j += k * cin
						continue
					}
					for kx := range k {
						ix := ix0 + kx
						if iy < 0 || iy >= h || ix < 0 || ix >= w {
							for ci := range cin {
								patch[j+ci] = zb
							}
						} else {
							copy(patch[j:j+cin], src[(iy*w+ix)*s.InStride:])
						}
						j += cin
					}
				}
			}
			out := (oy*s.OW + ox0) * s.OutStride
			for c0 := 0; c0 < s.Cout; c0 += gemmChunk {
				nc := min(gemmChunk, s.Cout-c0)
				if !oneChunk {
					mode = ep.setChannels(bias[c0:c0+nc], rq[c0:c0+nc], zOut) | cm
				}
				gemmKernelAVX2(&dst[out+c0], s.OutStride, &patches[0], kk, nb, kk, nc,
					&pw[c0/gemmNR*kp*gemmBlockB], &ep, &scratch[0], rowBytes, nil, mode)
			}
		}
	}
}
