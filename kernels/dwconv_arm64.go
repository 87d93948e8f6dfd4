//go:build !purego

package kernels

import (
	"fmt"
	"unsafe"

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

// dwNeonUses reports whether the unrolled kernels take a k×k depthwise
// with c channels (then the neon PackDW appends the weight sums).
func dwNeonUses(k, c int) bool { return k >= 3 && k <= dwMaxK && k%2 == 1 && c >= dwMinC }

// packDWNeon is the neon tier's PackDW: the plain [K][K][C] weights, then
// (for the shapes the unrolled kernels take) top[K+1][C] and bot[K+1][C]
// int32: the weight sums of the first / last n kernel rows.
func packDWNeon(w []int8, k, c int) []int8 {
	n := k * k * c
	need("PackDW", "weights", len(w), n)
	if !dwNeonUses(k, c) {
		return w[:n:n]
	}
	base := (n + 3) / 4
	words := make([]int32, base+2*(k+1)*c)
	out := unsafe.Slice((*int8)(unsafe.Pointer(&words[0])), len(words)*4)
	copy(out, w[:n])
	top, bot := words[base:][:(k+1)*c], words[base+(k+1)*c:]
	for r := 1; r <= k; r++ {
		for ch := range c {
			top[r*c+ch] = top[(r-1)*c+ch]
			bot[r*c+ch] = bot[(r-1)*c+ch]
			for kx := range k {
				top[r*c+ch] += int32(w[((r-1)*k+kx)*c+ch])
				bot[r*c+ch] += int32(w[((k-r)*k+kx)*c+ch])
			}
		}
	}
	return out
}

// dwNeonSums returns the weight sums packDWNeon appended, or nil for plain
// weights (the dotprod tier's fallback passes those).
func dwNeonSums(weights []int8, k, c int) (top, bot []int32) {
	n := k * k * c
	base := (n + 3) / 4
	if !dwNeonUses(k, c) || len(weights) != 4*(base+2*(k+1)*c) {
		return nil, nil
	}
	sums := unsafe.Slice((*int32)(unsafe.Pointer(&weights[4*base])), 2*(k+1)*c)
	return sums[:(k+1)*c], sums[(k+1)*c:]
}

// dwBiasRows sets dst[i] = bias[i] + zIn*(top[i]+bot[i]) for n >= 16
// int32, wrapping.
//
//go:noescape
func dwBiasRows(dst *int32, bias *int32, top *int32, bot *int32, n int, zIn int32)

// dwPadCopy copies n pixels of c >= 16 bytes, inStride apart in src, to
// dst (c apart).
//
//go:noescape
func dwPadCopy(dst *int8, src *int8, n int, inStride int, c int)

// dwPadFill sets n >= 16 bytes at dst to z.
//
//go:noescape
func dwPadFill(dst *int8, n int, z int32)

//go:noescape
func dwNeonK3(dst *int8, outStride int, n int, rows *dwRow, nrows int, w *int8, c int, bias *int32,
	rq *quant.Multiplier, zOut, qmin, qmax int32)

//go:noescape
func dwNeonK5(dst *int8, outStride int, n int, rows *dwRow, nrows int, w *int8, c int, bias *int32,
	rq *quant.Multiplier, zOut, qmin, qmax int32)

//go:noescape
func dwNeonK7(dst *int8, outStride int, n int, rows *dwRow, nrows int, w *int8, c int, bias *int32,
	rq *quant.Multiplier, zOut, qmin, qmax int32)

//go:noescape
func dwNeonK9(dst *int8, outStride int, n int, rows *dwRow, nrows int, w *int8, c int, bias *int32,
	rq *quant.Multiplier, zOut, qmin, qmax int32)

//go:noescape
func dwNeonK11(dst *int8, outStride int, n int, rows *dwRow, nrows int, w *int8, c int, bias *int32,
	rq *quant.Multiplier, zOut, qmin, qmax int32)

const (
	dwMaxK    = 11 // largest kernel with a NEON path
	dwMinC    = 16 // one full vector of channels
	dwMaxTaps = dwMaxK * dwMaxK
)

// dwConvNeon is DWConvQS8 for arm64 NEON. Shapes outside its range
// (C < 16, K > 11) take the generic kernel.
//
// Odd K from 3 to 11 run the unrolled kernels: image-interior columns read
// the input in place, border columns (whose window crosses the left or
// right padding) a padded copy of their input (dwPadStrips; the whole row
// when the two borders' strips meet, as on 7×7 and 14×14 maps with large
// kernels). Even K, K = 1, and border columns whose strip does not fit
// the scratch (or with every scratch slot busy) take the per-tap dwNeon.
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
	unrolled := k%2 == 1 && k >= 3
	// Interior columns: every kx of ox in [oxL, oxR) is inside the image.
	oxL := min((s.PadLeft+st-1)/st, s.OW)
	oxR := oxL
	if lim := w - k + s.PadLeft; lim >= 0 {
		oxR = min(max(lim/st+1, oxL), s.OW)
	}
	// Border column runs: left and right, or the whole row when there is
	// no interior or the two strips would overlap.
	segs := [2][2]int{{0, oxL}, {oxR, s.OW}}
	if unrolled && (oxR <= oxL || (oxL > 0 && oxR < s.OW && (oxL-1)*st+k >= oxR*st)) {
		segs = [2][2]int{{0, s.OW}, {s.OW, s.OW}}
		oxL, oxR = 0, 0
	}
	var done [2]bool // border run handled by dwPadStrips
	var plan dwRowPlan
	if unrolled {
		if buf, slot := dwPadPool.take(); buf != nil {
			plan.init(s, weights, bias, zIn, oy0, oy1, buf.bias[:])
			for i, sg := range segs {
				done[i] = sg[0] >= sg[1] || dwPadStrips(buf.strip[:dwPadLimit], &plan, dst, src, rq, s,
					zIn, zOut, qmin, qmax, oy0, oy1, sg[0], sg[1])
			}
			defer dwPadPool.release(slot)
		} else {
			plan.init(s, weights, bias, zIn, oy0, oy1, nil)
		}
	}
	pix := func(iy, ix int) *int8 { return &src[(iy*w+ix)*s.InStride] }
	if oxR > oxL && unrolled {
		// Interior columns in place, per band of output rows: rows[j] is
		// input row b0*st-padTop+j (dwZIn outside the image).
		ix0 := oxL*st - s.PadLeft
		var rows [dwBandRows]dwRow
		for b0 := oy0; b0 < oy1; b0 += dwBand {
			b1 := min(b0+dwBand, oy1)
			iy0 := b0*st - s.PadTop
			for j := range (b1-1-b0)*st + k {
				if iy := iy0 + j; iy < 0 || iy >= h {
					rows[j] = dwRow{&zrow[0], 0, 0, 0}
				} else {
					rows[j] = dwRow{pix(iy, ix0), st * s.InStride, -1, s.InStride}
				}
			}
			for oy := b0; oy < b1; oy++ {
				plan.run(oy, &dst[(oy*s.OW+oxL)*s.OutStride], s.OutStride, oxR-oxL, rows[(oy-b0)*st:], rq, zOut, qmin, qmax)
			}
		}
	}
	for oy := oy0; oy < oy1; oy++ {
		iy0 := oy*st - s.PadTop
		if !unrolled && oxR > oxL {
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
		for i, sg := range segs {
			if done[i] {
				continue
			}
			for ox := sg[0]; ox < sg[1]; ox++ {
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
}

// dwPadScratch is one call's scratch for the padded strips of border
// columns (dwConvNeon): input rows of a band of output rows, the window
// columns of a run of output columns, zIn outside the image.
const dwPadScratch = 64 << 10

// dwPadPool holds the strips of concurrent calls; a call that finds every
// slot busy takes the per-pixel dwNeon path for its border columns.
var dwPadPool scratchSlots[dwPadBuf]

// dwPadBiasC bounds the adjusted biases of one call (dwRowPlan): output
// rows with kernel rows outside the image times channels.
const dwPadBiasC = 4096

type dwPadBuf struct {
	strip [dwPadScratch]int8
	bias  [dwPadBiasC]int32
}

// dwPadLimit is the scratch one call uses (tests lower it to force bands
// and the per-pixel fallback).
var dwPadLimit = dwPadScratch

// dwUnrolled calls the unrolled k×k kernel (k odd, 3…11) on n output
// pixels whose kernel rows are rows.
func dwUnrolled(k int, d *int8, outStride, n int, rows *dwRow, nrows int, w *int8, c int, bias *int32,
	rq *quant.Multiplier, zOut, qmin, qmax int32) {
	switch k {
	case 3:
		dwNeonK3(d, outStride, n, rows, nrows, w, c, bias, rq, zOut, qmin, qmax)
	case 5:
		dwNeonK5(d, outStride, n, rows, nrows, w, c, bias, rq, zOut, qmin, qmax)
	case 7:
		dwNeonK7(d, outStride, n, rows, nrows, w, c, bias, rq, zOut, qmin, qmax)
	case 9:
		dwNeonK9(d, outStride, n, rows, nrows, w, c, bias, rq, zOut, qmin, qmax)
	default:
		dwNeonK11(d, outStride, n, rows, nrows, w, c, bias, rq, zOut, qmin, qmax)
	}
}

// dwRowPlan is how the unrolled kernels run the output rows of one call:
// with the weight sums of packDWNeon (skip), only the kernel rows inside
// the image, the bias of a row with rows outside it adjusted by zIn times
// their weight sums (exact in wrapping int32, like the generic sum over
// zIn); else all k rows, those outside the image reading dwZIn.
type dwRowPlan struct {
	k, st, padTop, h, c int
	weights             []int8
	bias                []int32
	skip                bool
	oy0, tTop, tBot     int     // rows oy < tTop or oy >= tBot have kernel rows outside the image
	nTop                int     // such rows in [oy0, tTop)
	rowBias             []int32 // their biases, c apart: top rows, then bottom rows
}

// init plans rows [oy0, oy1); scratch holds the adjusted biases.
func (p *dwRowPlan) init(s *DWConvShape, weights []int8, bias []int32, zIn int32, oy0, oy1 int, scratch []int32) {
	k, c, st := s.K, s.C, s.Stride
	*p = dwRowPlan{k: k, st: st, padTop: s.PadTop, h: s.H, c: c, weights: weights, bias: bias, oy0: oy0}
	top, bot := dwNeonSums(weights, k, c)
	if top == nil {
		return
	}
	p.tTop = min(max((s.PadTop+st-1)/st, oy0), oy1)
	p.tBot = 0
	if lim := s.H - k + s.PadTop; lim >= 0 {
		p.tBot = lim/st + 1
	}
	p.tBot = min(max(p.tBot, p.tTop), oy1)
	p.nTop = p.tTop - oy0
	n := p.nTop + oy1 - p.tBot
	if n*c > len(scratch) {
		return
	}
	p.skip = true
	p.rowBias = scratch[:n*c]
	for i := range n {
		oy := oy0 + i
		if i >= p.nTop {
			oy = p.tBot + i - p.nTop
		}
		kyLo, nr := p.rows(oy)
		dwBiasRows(&p.rowBias[i*c], &bias[0], &top[kyLo*c], &bot[(k-kyLo-nr)*c], c, zIn)
	}
}

// rows returns output row oy's first kernel row inside the image and how
// many there are.
func (p *dwRowPlan) rows(oy int) (kyLo, n int) {
	iy0 := oy*p.st - p.padTop
	kyLo = max(-iy0, 0)
	return kyLo, max(min(p.h-iy0, p.k)-kyLo, 0)
}

// run calls the unrolled kernel for output row oy: n pixels at d, rows[j]
// describing input row oy*st-padTop+j.
func (p *dwRowPlan) run(oy int, d *int8, outStride, n int, rows []dwRow, rq []quant.Multiplier, zOut, qmin, qmax int32) {
	if !p.skip {
		dwUnrolled(p.k, d, outStride, n, &rows[0], p.k, &p.weights[0], p.c, &p.bias[0], &rq[0], zOut, qmin, qmax)
		return
	}
	kyLo, nr := p.rows(oy)
	b := &p.bias[0]
	if oy < p.tTop {
		b = &p.rowBias[(oy-p.oy0)*p.c]
	} else if oy >= p.tBot {
		b = &p.rowBias[(p.nTop+oy-p.tBot)*p.c]
	}
	w := &p.weights[0]
	if nr > 0 {
		w = &p.weights[kyLo*p.k*p.c]
	}
	dwUnrolled(p.k, d, outStride, n, &rows[min(kyLo, p.k-1)], nr, w, p.c, b, &rq[0], zOut, qmin, qmax)
}

// dwBand is the most output rows one table of kernel rows serves
// (dwBandRows entries at stride 2).
const (
	dwBand     = 16
	dwBandRows = (dwBand-1)*2 + dwMaxK
)

// dwPadStrips runs output columns [sx0, sx1) of rows [oy0, oy1) through
// the unrolled kernel over padded copies of their input: per band of
// output rows, the band's input rows inside the image, columns
// [sx0*st-padLeft, (sx1-1)*st-padLeft+k) with zIn outside the image, c
// bytes a pixel. Kernel rows above or below the image read dwZIn. It
// returns false, having done nothing, if one output row's strip does not
// fit buf.
func dwPadStrips(buf []int8, plan *dwRowPlan, dst, src []int8, rq []quant.Multiplier,
	s *DWConvShape, zIn, zOut, qmin, qmax int32, oy0, oy1, sx0, sx1 int) bool {
	h, w, c, k, st := s.H, s.W, s.C, s.K, s.Stride
	ixA := sx0*st - s.PadLeft
	sw := (sx1-1-sx0)*st + k // strip width in pixels
	rowB := sw * c
	maxRows := len(buf) / rowB
	// input rows inside the image of output rows [a, b)
	inRows := func(a, b int) (int, int) {
		return max(a*st-s.PadTop, 0), min((b-1)*st-s.PadTop+k, h)
	}
	for oy := oy0; oy < oy1; oy++ {
		if lo, hi := inRows(oy, oy+1); hi-lo > maxRows {
			return false
		}
	}
	zrow := &dwZIn[uint8(zIn)]
	var rows [dwBandRows]dwRow
	for b0 := oy0; b0 < oy1; {
		b1 := b0 + 1
		for b1 < oy1 && b1-b0 < dwBand {
			if lo, hi := inRows(b0, b1+1); hi-lo > maxRows {
				break
			}
			b1++
		}
		iyA, iyB := inRows(b0, b1)
		// image columns [jA, jB) of the strip; zIn left and right of them
		jA, jB := min(max(-ixA, 0), sw), min(max(w-ixA, 0), sw)
		for iy := iyA; iy < iyB; iy++ {
			row := buf[(iy-iyA)*rowB:][:rowB]
			if jA > 0 {
				dwPadFill(&row[0], jA*c, zIn)
			}
			if jB > jA {
				dwPadCopy(&row[jA*c], &src[(iy*w+ixA+jA)*s.InStride], jB-jA, s.InStride, c)
			}
			if jB < sw {
				dwPadFill(&row[jB*c], (sw-jB)*c, zIn)
			}
		}
		// rows[j]: input row b0*st-padTop+j; output row oy's kernel rows
		// start at rows[(oy-b0)*st].
		iy0 := b0*st - s.PadTop
		for j := range (b1-1-b0)*st + k {
			if iy := iy0 + j; iy < 0 || iy >= h {
				rows[j] = dwRow{&zrow[0], 0, 0, 0}
			} else {
				rows[j] = dwRow{&buf[(iy-iyA)*rowB], st * c, -1, c}
			}
		}
		for oy := b0; oy < b1; oy++ {
			plan.run(oy, &dst[(oy*s.OW+sx0)*s.OutStride], s.OutStride, sx1-sx0, rows[(oy-b0)*st:], rq, zOut, qmin, qmax)
		}
		b0 = b1
	}
	return true
}
