//go:build !purego

package kernels

import (
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
	if !stemArgs("StemConvQS8AVX2", dst, src, weights, bias, rq, s, oy0, oy1) {
		return
	}
	k, cin := s.K, s.Cin
	kk := k * k * cin
	if gemmPackedLen(kk, s.Cout) > stemPackBuf {
		StemConvQS8(dst, src, weights, bias, rq, s, zIn, zOut, qmin, qmax, oy0, oy1)
		return
	}
	if k == 3 && cin == 3 && s.InStride == 3 {
		stem3x3AVX2(dst, src, weights, bias, rq, s, zIn, zOut, qmin, qmax, oy0, oy1)
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
	for oy := oy0; oy < oy1; oy++ {
		for ox0 := 0; ox0 < s.OW; ox0 += batch {
			nb := min(batch, s.OW-ox0)
			GatherPatches(patches[:], kk, src, s, zb, oy, ox0, nb)
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

// The 3x3 RGB stem (MixNet's) gathers and sign-extends the receptive
// fields of a row's output pixels straight into the GEMM kernel's int16
// scratch rows (stemGatherAVX2 for the pixels whose window is inside the
// image, Go for the padded border ones), then runs the kernels on the
// converted rows (gemmPreCvt; the 6-pixel one for whole 6-pixel tiles,
// the 4-pixel one for the rest). This halves the stem: the int8 im2col in
// Go and the kernel's own row conversion cost as much as the MACs.
const (
	stem3Row   = 64                              // scratch bytes per pixel: 27 taps + a zero tap, padded
	stem3Batch = 256                             // output pixels per kernel call (a multiple of 4)
	stem3Pack  = 4 * ((27 + 1) / 2) * gemmBlockB // packed weights of 64 channels
)

// func stemGatherAVX2(dst *int16, src *int8, rowStride int, step int, count int)
//
//go:noescape
func stemGatherAVX2(dst *int16, src *int8, rowStride int, step int, count int)

func stem3x3AVX2(dst, src []int8, weights []int8, bias []int32, rq []quant.Multiplier,
	s *ConvShape, zIn, zOut, qmin, qmax int32, oy0, oy1 int) {
	const kk = 27
	var pw [stem3Pack]int8
	var sc [stem3Batch * stem3Row / 2]int16
	var ep gemmEpiX
	ep.setOut(zOut, qmin, qmax)
	cm := clampMode(qmin, qmax)
	rowStride, step := s.W*3, s.Stride*3
	// Output columns whose 3 input columns are all inside the image.
	oxA := min((s.PadLeft+s.Stride-1)/s.Stride, s.OW)
	oxB := oxA
	if s.W-3+s.PadLeft >= 0 {
		oxB = min(max((s.W-3+s.PadLeft)/s.Stride+1, oxA), s.OW)
	}
	for c0 := 0; c0 < s.Cout; c0 += gemmChunk {
		nc := min(gemmChunk, s.Cout-c0)
		packGEMMInto(pw[:], weights[c0*kk:(c0+nc)*kk], kk, nc)
		mode := ep.setChannels(bias[c0:c0+nc], rq[c0:c0+nc], zOut) | cm | gemmPreCvt
		for oy := oy0; oy < oy1; oy++ {
			iy0 := oy*s.Stride - s.PadTop
			inside := iy0 >= 0 && iy0+3 <= s.H
			for ox0 := 0; ox0 < s.OW; ox0 += stem3Batch {
				nb := min(stem3Batch, s.OW-ox0)
				a, b := min(max(oxA, ox0), ox0+nb), min(max(oxB, ox0), ox0+nb)
				if !inside {
					a, b = ox0+nb, ox0+nb
				}
				for ox := ox0; ox < a; ox++ {
					stem3Border(sc[(ox-ox0)*stem3Row/2:], src, s, zIn, iy0, ox)
				}
				if a < b {
					stemGatherAVX2(&sc[(a-ox0)*stem3Row/2], &src[(iy0*s.W+a*s.Stride-s.PadLeft)*3], rowStride, step, b-a)
				}
				for ox := b; ox < ox0+nb; ox++ {
					stem3Border(sc[(ox-ox0)*stem3Row/2:], src, s, zIn, iy0, ox)
				}
				out := (oy*s.OW + ox0) * s.OutStride
				p6 := nb - nb%6
				if p6 > 0 {
					gemmKernel6AVX2(&dst[out+c0], s.OutStride, &src[0], 0, p6, kk, nc,
						&pw[0], &ep, &sc[0], stem3Row, nil, mode)
				}
				if p6 < nb {
					gemmKernelAVX2(&dst[out+p6*s.OutStride+c0], s.OutStride, &src[0], 0, nb-p6, kk, nc,
						&pw[0], &ep, &sc[p6*stem3Row/2], stem3Row, nil, mode)
				}
			}
		}
	}
}

// stem3Border writes output pixel ox's receptive field (input rows iy0..iy0+2)
// as one int16 scratch row, taps outside the image reading zIn.
func stem3Border(row []int16, src []int8, s *ConvShape, zIn int32, iy0, ox int) {
	row = row[:28]
	ix0 := ox*s.Stride - s.PadLeft
	j := 0
	for ky := range 3 {
		iy := iy0 + ky
		for kx := range 3 {
			ix := ix0 + kx
			for ci := range 3 {
				v := int16(zIn)
				if iy >= 0 && iy < s.H && ix >= 0 && ix < s.W {
					v = int16(src[(iy*s.W+ix)*3+ci])
				}
				row[j] = v
				j++
			}
		}
	}
	row[27] = 0
}
