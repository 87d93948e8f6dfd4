//go:build !purego

package kernels

import (
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/mixedge/mixedge/quant"
)

// dwTap is one depthwise tap of a run of output pixels: pixel i of the run
// reads channel block cb at p + i*inc + cb&mask. A tap in the padding has
// inc = mask = 0 and p = &dwZIn[uint8(zIn)][0], 16 copies of zIn. (A
// global, because a pointer to a stack row stored in the tap table would
// move that row to the heap.)
type dwTap struct {
	p    *int8
	inc  int
	mask int
}

// dwRow is one kernel row of a run of output pixels whose taps all lie in
// image columns: tap (ky, kx) of pixel i reads channel block cb at
// p + i*inc + cb&mask + kx*kxs. A row in the padding has p in dwZIn and
// inc = mask = kxs = 0.
type dwRow struct {
	p    *int8
	inc  int
	mask int
	kxs  int
}

var dwZIn [256][16]int8

func init() {
	for z := range dwZIn {
		for i := range dwZIn[z] {
			dwZIn[z][i] = int8(uint8(z))
		}
	}
}

//go:noescape
func dwNeon(dst *int8, outStride int, n int, taps *dwTap, ntaps int, w *int8, c int, bias *int32,
	rq *quant.Multiplier, zOut, qmin, qmax int32)

// dwZWide[z] is a row of z wide enough for any channel block: border tap
// tables point padding taps at it and read block cb at +cb. Rows are
// filled on first use (most of the 128 KiB is never touched).
const dwZWideC = 512

var (
	dwZWide      [256][dwZWideC]int8
	dwZWideReady [256]atomic.Bool
	dwZWideMu    sync.Mutex
)

func dwWideZ(zIn int32) *int8 {
	z := uint8(zIn)
	if !dwZWideReady[z].Load() {
		dwZWideMu.Lock()
		if !dwZWideReady[z].Load() {
			for i := range dwZWide[z] {
				dwZWide[z][i] = int8(z)
			}
			dwZWideReady[z].Store(true)
		}
		dwZWideMu.Unlock()
	}
	return &dwZWide[z][0]
}

// dwBorderPix is how many border pixels one dwNeonB call takes (the tap
// tables live on the stack).
const dwBorderPix = 4

//go:noescape
func dwNeonB(dst *int8, outStride int, n int, taps **int8, ntaps int, w *int8, c int, bias *int32,
	rq *quant.Multiplier, zOut, qmin, qmax int32)

//go:noescape
func dwNeonK3(dst *int8, outStride int, n int, rows *dwRow, _ int, w *int8, c int, bias *int32,
	rq *quant.Multiplier, zOut, qmin, qmax int32)

//go:noescape
func dwNeonK5(dst *int8, outStride int, n int, rows *dwRow, _ int, w *int8, c int, bias *int32,
	rq *quant.Multiplier, zOut, qmin, qmax int32)

//go:noescape
func dwNeonK7(dst *int8, outStride int, n int, rows *dwRow, _ int, w *int8, c int, bias *int32,
	rq *quant.Multiplier, zOut, qmin, qmax int32)

//go:noescape
func dwNeonK9(dst *int8, outStride int, n int, rows *dwRow, _ int, w *int8, c int, bias *int32,
	rq *quant.Multiplier, zOut, qmin, qmax int32)

//go:noescape
func dwNeonK11(dst *int8, outStride int, n int, rows *dwRow, _ int, w *int8, c int, bias *int32,
	rq *quant.Multiplier, zOut, qmin, qmax int32)

const (
	dwMaxK    = 11 // largest kernel with a NEON path
	dwMinC    = 16 // one full vector of channels
	dwMaxTaps = dwMaxK * dwMaxK
)

// dwConvNeon is DWConvQS8 for arm64 NEON. Shapes outside its range
// (C < 16, K > 11) take the generic kernel.
func dwConvNeon(dst, src []int8, weights []int8, bias []int32, rq []quant.Multiplier,
	s *DWConvShape, zIn, zOut, qmin, qmax int32, oy0, oy1 int) {
	if err := s.Validate(); err != nil {
		panic(err)
	}
	if s.C < dwMinC || s.K > dwMaxK {
		DWConvQS8(dst, src, weights, bias, rq, s, zIn, zOut, qmin, qmax, oy0, oy1)
		return
	}
	if oy0 < 0 || oy1 > s.OH || oy0 > oy1 {
		panic(fmt.Sprintf("kernels: DWConvQS8 neon: rows [%d, %d) outside [0, %d)", oy0, oy1, s.OH))
	}
	if oy0 == oy1 {
		return
	}
	h, w, c, k, st := s.H, s.W, s.C, s.K, s.Stride
	need("DWConvQS8 neon", "src", len(src), span(h*w, s.InStride, c))
	need("DWConvQS8 neon", "dst", len(dst), span(oy1*s.OW, s.OutStride, c))
	need("DWConvQS8 neon", "weights", len(weights), k*k*c)
	need("DWConvQS8 neon", "bias", len(bias), c)
	need("DWConvQS8 neon", "rq", len(rq), c)

	zrow := &dwZIn[uint8(zIn)]
	var taps [dwMaxTaps]dwTap
	ntaps := k * k
	// Interior columns: every kx of ox in [oxL, oxR) is inside the image.
	oxL := min((s.PadLeft+st-1)/st, s.OW)
	oxR := oxL
	if lim := w - k + s.PadLeft; lim >= 0 {
		oxR = min(max(lim/st+1, oxL), s.OW)
	}
	pix := func(iy, ix int) *int8 { return &src[(iy*w+ix)*s.InStride] }
	// Border pixels use dwNeonB if the wide zIn row covers c.
	var zw *int8
	var btaps [dwBorderPix * dwMaxTaps]*int8
	if c <= dwZWideC {
		zw = dwWideZ(zIn)
	}
	for oy := oy0; oy < oy1; oy++ {
		iy0 := oy*st - s.PadTop
		if oxR > oxL && k%2 == 1 && k >= 3 {
			ix0 := oxL*st - s.PadLeft
			var rows [dwMaxK]dwRow
			for ky := range k {
				iy := iy0 + ky
				if iy < 0 || iy >= h {
					rows[ky] = dwRow{&zrow[0], 0, 0, 0}
				} else {
					rows[ky] = dwRow{pix(iy, ix0), st * s.InStride, -1, s.InStride}
				}
			}
			d := &dst[(oy*s.OW+oxL)*s.OutStride]
			n := oxR - oxL
			switch k {
			case 3:
				dwNeonK3(d, s.OutStride, n, &rows[0], 0, &weights[0], c, &bias[0], &rq[0], zOut, qmin, qmax)
			case 5:
				dwNeonK5(d, s.OutStride, n, &rows[0], 0, &weights[0], c, &bias[0], &rq[0], zOut, qmin, qmax)
			case 7:
				dwNeonK7(d, s.OutStride, n, &rows[0], 0, &weights[0], c, &bias[0], &rq[0], zOut, qmin, qmax)
			case 9:
				dwNeonK9(d, s.OutStride, n, &rows[0], 0, &weights[0], c, &bias[0], &rq[0], zOut, qmin, qmax)
			default:
				dwNeonK11(d, s.OutStride, n, &rows[0], 0, &weights[0], c, &bias[0], &rq[0], zOut, qmin, qmax)
			}
		} else if oxR > oxL {
			ix0 := oxL*st - s.PadLeft
			for ky := range k {
				iy := iy0 + ky
				for kx := range k {
					t := &taps[ky*k+kx]
					if iy < 0 || iy >= h {
						*t = dwTap{&zrow[0], 0, 0}
					} else {
						*t = dwTap{pix(iy, ix0+kx), st * s.InStride, -1}
					}
				}
			}
			dwNeon(&dst[(oy*s.OW+oxL)*s.OutStride], s.OutStride, oxR-oxL, &taps[0], ntaps,
				&weights[0], c, &bias[0], &rq[0], zOut, qmin, qmax)
		}
		if zw != nil {
			// Columns whose window crosses the left or right padding, in
			// runs of up to dwBorderPix pixels.
			borders := [2][2]int{{0, oxL}, {oxR, s.OW}}
			if oxR <= oxL {
				borders = [2][2]int{{0, s.OW}, {s.OW, s.OW}}
			}
			for _, b := range borders {
				for ox0 := b[0]; ox0 < b[1]; ox0 += dwBorderPix {
					ox1 := min(ox0+dwBorderPix, b[1])
					i := 0
					for ox := ox0; ox < ox1; ox++ {
						ix0 := ox*st - s.PadLeft
						kx0, kx1 := max(-ix0, 0), min(w-ix0, k) // taps inside the image
						for ky := range k {
							row := btaps[i : i+k]
							i += k
							iy := iy0 + ky
							if iy < 0 || iy >= h || kx0 >= kx1 {
								for j := range row {
									row[j] = zw
								}
								continue
							}
							for j := range kx0 {
								row[j] = zw
							}
							p := (iy*w + ix0 + kx0) * s.InStride
							for j := kx0; j < kx1; j++ {
								row[j] = &src[p]
								p += s.InStride
							}
							for j := kx1; j < k; j++ {
								row[j] = zw
							}
						}
					}
					dwNeonB(&dst[(oy*s.OW+ox0)*s.OutStride], s.OutStride, ox1-ox0, &btaps[0], ntaps,
						&weights[0], c, &bias[0], &rq[0], zOut, qmin, qmax)
				}
			}
			continue
		}
		for ox := 0; ox < s.OW; ox++ {
			if ox == oxL && oxR > oxL {
				ox = oxR - 1
				continue
			}
			ix0 := ox*st - s.PadLeft
			for ky := range k {
				iy := iy0 + ky
				for kx := range k {
					ix := ix0 + kx
					t := &taps[ky*k+kx]
					if iy < 0 || iy >= h || ix < 0 || ix >= w {
						*t = dwTap{&zrow[0], 0, 0}
					} else {
						*t = dwTap{pix(iy, ix), 0, -1}
					}
				}
			}
			dwNeon(&dst[(oy*s.OW+ox)*s.OutStride], s.OutStride, 1, &taps[0], ntaps,
				&weights[0], c, &bias[0], &rq[0], zOut, qmin, qmax)
		}
	}
}
