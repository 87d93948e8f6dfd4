//go:build !purego

package kernels

import (
	"fmt"

	"github.com/mixedge/mixedge/quant"
)

// AVX2 depthwise convolution. Channels go in chunks of 32: two blocks of 16
// at chunk offsets 0 and off1 = width-16 (for a last chunk narrower than 32
// the second block overlaps the first and recomputes, writing the same
// bytes). A last chunk of at most 16 channels is one block, moved back to
// end at C (again recomputing, never reading or writing past C). For each
// chunk, every input row an output row needs is converted once into a
// ring of K rows on the stack (dwRingAVX2): zero-point padded, sign-extended
// to int16 and interleaved as (column j, column j+1) pairs, so that a pair
// of horizontal taps is one exact VPMADDWD per 8 channels and the row
// kernel (dwRowAVX2) never sees a border. The requantization is the shared
// AVX2 epilogue. C < 16, K > 11 and rows too wide for the ring use the
// generic kernel.
const (
	dwMaxK   = 11
	dwRingSz = 96 << 10 // bytes of ring rows on the stack
)

// dwLane maps accumulator v's lane i to the channel of a 16-channel block.
var dwLane = [2][8]int{{0, 1, 2, 3, 8, 9, 10, 11}, {4, 5, 6, 7, 12, 13, 14, 15}}

//go:noescape
func dwRingAVX2(dst *int16, src *int8, inStride int, w int, padLeft int, entries int, off1 int, z *int8)

//go:noescape
func dwRowAVX2(dst *int8, outStride int, ow int, rows **int16, k int, stride int,
	w *int16, np int, off1 int, ep *gemmEpi, nb int, fast int)

// DWConvQS8AVX2 is DWConvQS8 in AVX2.
func DWConvQS8AVX2(dst, src []int8, weights []int8, bias []int32, rq []quant.Multiplier,
	s *DWConvShape, zIn, zOut, qmin, qmax int32, oy0, oy1 int) {
	if err := s.Validate(); err != nil {
		panic(err)
	}
	if oy0 < 0 || oy1 > s.OH || oy0 > oy1 {
		panic(fmt.Sprintf("kernels: DWConvQS8AVX2: rows [%d, %d) outside [0, %d)", oy0, oy1, s.OH))
	}
	if oy0 == oy1 {
		return
	}
	h, w, c, k, st := s.H, s.W, s.C, s.K, s.Stride
	need("DWConvQS8AVX2", "src", len(src), span(h*w, s.InStride, c))
	need("DWConvQS8AVX2", "dst", len(dst), span(oy1*s.OW, s.OutStride, c))
	need("DWConvQS8AVX2", "weights", len(weights), k*k*c)
	need("DWConvQS8AVX2", "bias", len(bias), c)
	need("DWConvQS8AVX2", "rq", len(rq), c)
	entries := (s.OW-1)*st + k // ring entries an output row reads (pairs start at < entries)
	rowN := entries * 64       // int16s per ring row
	if c < 16 || k > dwMaxK || (k+1)*rowN*2 > dwRingSz {
		DWConvQS8(dst, src, weights, bias, rq, s, zIn, zOut, qmin, qmax, oy0, oy1)
		return
	}
	// The ring lives in the frame of a wrapper sized for it, because Go zeroes
	// a stack array on every call.
	switch n := (k + 1) * rowN; {
	case n <= 16<<10/2:
		dwSmall(dst, src, weights, bias, rq, s, zIn, zOut, qmin, qmax, oy0, oy1)
	case n <= 48<<10/2:
		dwMedium(dst, src, weights, bias, rq, s, zIn, zOut, qmin, qmax, oy0, oy1)
	default:
		dwLarge(dst, src, weights, bias, rq, s, zIn, zOut, qmin, qmax, oy0, oy1)
	}
}

//go:noinline
func dwSmall(dst, src []int8, weights []int8, bias []int32, rq []quant.Multiplier,
	s *DWConvShape, zIn, zOut, qmin, qmax int32, oy0, oy1 int) {
	var ring [16 << 10 / 2]int16
	dwChunks(ring[:], dst, src, weights, bias, rq, s, zIn, zOut, qmin, qmax, oy0, oy1)
}

//go:noinline
func dwMedium(dst, src []int8, weights []int8, bias []int32, rq []quant.Multiplier,
	s *DWConvShape, zIn, zOut, qmin, qmax int32, oy0, oy1 int) {
	var ring [48 << 10 / 2]int16
	dwChunks(ring[:], dst, src, weights, bias, rq, s, zIn, zOut, qmin, qmax, oy0, oy1)
}

//go:noinline
func dwLarge(dst, src []int8, weights []int8, bias []int32, rq []quant.Multiplier,
	s *DWConvShape, zIn, zOut, qmin, qmax int32, oy0, oy1 int) {
	var ring [dwRingSz / 2]int16
	dwChunks(ring[:], dst, src, weights, bias, rq, s, zIn, zOut, qmin, qmax, oy0, oy1)
}

// dwChunks is the body of DWConvQS8AVX2, after the checks, with a ring of
// at least (K+1) rows.
func dwChunks(ring []int16, dst, src []int8, weights []int8, bias []int32, rq []quant.Multiplier,
	s *DWConvShape, zIn, zOut, qmin, qmax int32, oy0, oy1 int) {
	h, w, c, k, st := s.H, s.W, s.C, s.K, s.Stride
	entries := (s.OW-1)*st + k
	rowN := entries * 64
	var w16 [dwMaxK * (dwMaxK + 1) * 64]int16
	var zero [32]int8
	var rows [dwMaxK]*int16
	var zb [32]int8
	for i := range zb {
		zb[i] = int8(zIn)
	}
	var ep gemmEpi
	ep.setOut(zOut, qmin, qmax)
	np := (k + 1) / 2
	fast := 1 // every Shift >= 1: REQF2 (no clamp, no pre-shift)
	for _, m := range rq[:c] {
		if m.Shift < 1 {
			fast = 0
			break
		}
	}
	zrow := ring[k*rowN : (k+1)*rowN]
	for c0 := 0; c0 < c; c0 += 32 {
		r := min(32, c-c0)
		if r < 16 {
			c0, r = c-16, 16
		}
		off := [2]int{0, r - 16}
		nb := 2
		if r == 16 {
			nb = 1
		}
		for b := range 2 {
			for v := range 2 {
				for i, l := range dwLane[v] {
					ch := c0 + off[b] + l
					ep.ch[2*b+v].set(i, bias[ch], rq[ch])
				}
			}
		}
		// Weights: for each kernel row, the ring transform of its taps
		// (entry kx pairs taps kx and kx+1, taps past the row are 0), 2*np
		// entries per row; the row kernel reads the even entries.
		for ky := range k {
			dwRingAVX2(&w16[ky*2*np*64], &weights[ky*k*c+c0], c, k, 0, 2*np, off[1], &zero[0])
		}
		dwRingAVX2(&zrow[0], &src[0], s.InStride, 0, 0, entries, off[1], &zb[0])
		var slotRow [dwMaxK]int
		for i := range slotRow {
			slotRow[i] = -1
		}
		for oy := oy0; oy < oy1; oy++ {
			iy0 := oy*st - s.PadTop
			for ky := range k {
				iy := iy0 + ky
				if iy < 0 || iy >= h {
					rows[ky] = &zrow[0]
					continue
				}
				slot := iy % k
				row := ring[slot*rowN : (slot+1)*rowN]
				if slotRow[slot] != iy {
					slotRow[slot] = iy
					dwRingAVX2(&row[0], &src[iy*w*s.InStride+c0], s.InStride, w, s.PadLeft, entries, off[1], &zb[0])
				}
				rows[ky] = &row[0]
			}
			dwRowAVX2(&dst[oy*s.OW*s.OutStride+c0], s.OutStride, s.OW, &rows[0], k, st,
				&w16[0], np, off[1], &ep, nb, fast)
		}
	}
}
