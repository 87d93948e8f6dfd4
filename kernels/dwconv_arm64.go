//go:build !purego

package kernels

import (
	"fmt"
	"unsafe"

	"github.com/mixedge/mixedge/quant"
)

// dwTap is one depthwise tap of a run of output pixels (the per-tap
// dwNeon): pixel i of the run reads channel block cb at p + i*inc +
// cb&mask. A tap in the padding has inc = mask = 0 and p =
// &dwZIn[uint8(zIn)][0], 16 copies of zIn. (A global, because a pointer to
// a stack row stored in the tap table would move that row to the heap.)
type dwTap struct {
	p    *int8
	inc  int
	mask int
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

// dwPrepRQ writes the unrolled kernels' requantization of c >= 16
// channels: per 16-channel block (the last one overlapping), 208 bytes:
// M (M>>Shift if the block is on the 2^-31 grid), L = max(1-Shift, 0),
// R = -max(Shift, 1) (16 int32 each), flags (bit 0: some L != 0, bit 1:
// [qmin, qmax] narrower than int8, bit 2: some multiplier off the grid:
// else one SQRDMULH by M>>Shift requantizes), padding.
//
//go:noescape
func dwPrepRQ(dst *int32, rq *quant.Multiplier, c int, qmin, qmax int32)

// dwPrepWords is dwPrepRQ's size in int32 per block.
const dwPrepWords = 52

// dwPadRows builds nrows padded rows, rowB bytes apart at dst, of c-byte
// pixels (c >= 16): nL pixels of z, nIn pixels from src (inStride apart;
// rows rowIn apart), nR pixels of z.
//
//go:noescape
func dwPadRows(dst *int8, rowB int, src *int8, rowIn int, nrows int, nL, nIn, nR int, inStride int, c int, z int32)

//go:noescape
func dwNeonK3(dst *int8, outStride int, n int, rows **int8, nrows int, w *int8, c int, bias *int32,
	prep *int32, zOut, qmin, qmax int32, inc, kxs int)

//go:noescape
func dwNeonK3S1(dst *int8, outStride int, n int, rows **int8, nrows int, w *int8, c int, bias *int32,
	prep *int32, zOut, qmin, qmax int32, inc, kxs int)

//go:noescape
func dwNeonK3S2(dst *int8, outStride int, n int, rows **int8, nrows int, w *int8, c int, bias *int32,
	prep *int32, zOut, qmin, qmax int32, inc, kxs int)

//go:noescape
func dwNeonK5(dst *int8, outStride int, n int, rows **int8, nrows int, w *int8, c int, bias *int32,
	prep *int32, zOut, qmin, qmax int32, inc, kxs int)

//go:noescape
func dwNeonK5S1(dst *int8, outStride int, n int, rows **int8, nrows int, w *int8, c int, bias *int32,
	prep *int32, zOut, qmin, qmax int32, inc, kxs int)

//go:noescape
func dwNeonK5S2(dst *int8, outStride int, n int, rows **int8, nrows int, w *int8, c int, bias *int32,
	prep *int32, zOut, qmin, qmax int32, inc, kxs int)

//go:noescape
func dwNeonK7(dst *int8, outStride int, n int, rows **int8, nrows int, w *int8, c int, bias *int32,
	prep *int32, zOut, qmin, qmax int32, inc, kxs int)

//go:noescape
func dwNeonK7S1(dst *int8, outStride int, n int, rows **int8, nrows int, w *int8, c int, bias *int32,
	prep *int32, zOut, qmin, qmax int32, inc, kxs int)

//go:noescape
func dwNeonK7S2(dst *int8, outStride int, n int, rows **int8, nrows int, w *int8, c int, bias *int32,
	prep *int32, zOut, qmin, qmax int32, inc, kxs int)

//go:noescape
func dwNeonK9(dst *int8, outStride int, n int, rows **int8, nrows int, w *int8, c int, bias *int32,
	prep *int32, zOut, qmin, qmax int32, inc, kxs int)

//go:noescape
func dwNeonK9S1(dst *int8, outStride int, n int, rows **int8, nrows int, w *int8, c int, bias *int32,
	prep *int32, zOut, qmin, qmax int32, inc, kxs int)

//go:noescape
func dwNeonK9S2(dst *int8, outStride int, n int, rows **int8, nrows int, w *int8, c int, bias *int32,
	prep *int32, zOut, qmin, qmax int32, inc, kxs int)

//go:noescape
func dwNeonK11(dst *int8, outStride int, n int, rows **int8, nrows int, w *int8, c int, bias *int32,
	prep *int32, zOut, qmin, qmax int32, inc, kxs int)

//go:noescape
func dwNeonK11S1(dst *int8, outStride int, n int, rows **int8, nrows int, w *int8, c int, bias *int32,
	prep *int32, zOut, qmin, qmax int32, inc, kxs int)

//go:noescape
func dwNeonK11S2(dst *int8, outStride int, n int, rows **int8, nrows int, w *int8, c int, bias *int32,
	prep *int32, zOut, qmin, qmax int32, inc, kxs int)

const (
	dwMaxK    = 11 // largest kernel with a NEON path
	dwMinC    = 16 // one full vector of channels
	dwMaxTaps = dwMaxK * dwMaxK
)

// dwConvNeon is DWConvQS8 for arm64 NEON. Shapes outside its range
// (C < 16, K > 11) take the generic kernel.
//
// Odd K from 3 to 11 run the unrolled kernels on the kernel rows inside
// the image (dwRowPlan): image-interior columns read the input in place,
// border columns (whose window crosses the left or right padding) a
// zIn-padded copy of their input (dwPadStrips; the whole row when the two
// borders' strips meet, as on 7×7 and 14×14 maps with large kernels).
// Even K, K = 1, border columns whose strip does not fit the scratch even
// one column wide, C > dwPrepMaxC (or more biases of rows with kernel rows
// outside the image than dwPadBiasC), and calls that find every scratch
// slot busy take the per-tap dwNeon.
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

	// Interior columns: every kx of ox in [oxL, oxR) is inside the image.
	oxL := min((s.PadLeft+st-1)/st, s.OW)
	oxR := oxL
	if lim := w - k + s.PadLeft; lim >= 0 {
		oxR = min(max(lim/st+1, oxL), s.OW)
	}
	if dwNeonUses(k, c) {
		if sc, slot := dwPadPool.take(); sc != nil {
			var plan dwRowPlan
			if plan.init(s, weights, bias, rq, zIn, qmin, qmax, oy0, oy1, sc.bias[:], sc.prep[:]) {
				dwConvNeonRows(&plan, sc.strip[:dwPadLimit], dst, src, rq, s, zIn, zOut, qmin, qmax, oy0, oy1, oxL, oxR)
				dwPadPool.release(slot)
				return
			}
			dwPadPool.release(slot)
		}
	}
	dwConvNeonTaps(dst, src, weights, bias, rq, s, zIn, zOut, qmin, qmax, oy0, oy1, oxL, oxR,
		[2][2]int{{0, oxL}, {oxR, s.OW}})
}

// dwConvNeonRows runs output rows [oy0, oy1) through the unrolled kernels:
// interior columns [oxL, oxR) in place, the border columns through padded
// strips (or, if a strip one column wide does not fit buf, dwNeon).
func dwConvNeonRows(plan *dwRowPlan, buf []int8, dst, src []int8, rq []quant.Multiplier,
	s *DWConvShape, zIn, zOut, qmin, qmax int32, oy0, oy1, oxL, oxR int) {
	k, st := s.K, s.Stride
	// Border column runs: left and right, or the whole row when there is
	// no interior or the two strips would overlap.
	segs := [2][2]int{{0, oxL}, {oxR, s.OW}}
	if oxR <= oxL || (oxL > 0 && oxR < s.OW && (oxL-1)*st+k >= oxR*st) {
		segs = [2][2]int{{0, s.OW}, {s.OW, s.OW}}
		oxL, oxR = 0, 0
	}
	var failed [2][2]int // runs left to dwNeon
	for i, sg := range segs {
		if sg[0] < sg[1] && !dwPadStrips(buf, plan, dst, src, s, zIn, zOut, qmin, qmax, oy0, oy1, sg[0], sg[1]) {
			failed[i] = sg
		}
	}
	if oxR > oxL {
		// Interior columns in place, per band of output rows: rows[j] is
		// input row b0*st-padTop+j (nil outside the image: never read).
		ix0 := oxL*st - s.PadLeft
		var rows [dwBandRows]*int8
		for b0 := oy0; b0 < oy1; b0 += dwBand {
			b1 := min(b0+dwBand, oy1)
			iy0 := b0*st - s.PadTop
			for j := range (b1-1-b0)*st + k {
				rows[j] = nil
				if iy := iy0 + j; iy >= 0 && iy < s.H {
					rows[j] = &src[(iy*s.W+ix0)*s.InStride]
				}
			}
			for oy := b0; oy < b1; oy++ {
				plan.run(oy, &dst[(oy*s.OW+oxL)*s.OutStride], s.OutStride, oxR-oxL, rows[(oy-b0)*st:],
					st*s.InStride, s.InStride, zOut, qmin, qmax)
			}
		}
	}
	if failed != [2][2]int{} {
		dwConvNeonTaps(dst, src, plan.weights, plan.bias, rq, s, zIn, zOut, qmin, qmax, oy0, oy1, 0, 0, failed)
	}
}

// dwConvNeonTaps is the per-tap path (dwNeon): the interior columns [oxL,
// oxR) as one run per output row, then the columns of segs pixel by pixel.
func dwConvNeonTaps(dst, src []int8, weights []int8, bias []int32, rq []quant.Multiplier,
	s *DWConvShape, zIn, zOut, qmin, qmax int32, oy0, oy1, oxL, oxR int, segs [2][2]int) {
	h, w, c, k, st := s.H, s.W, s.C, s.K, s.Stride
	zrow := &dwZIn[uint8(zIn)]
	var taps [dwMaxTaps]dwTap
	ntaps := k * k
	pix := func(iy, ix int) *int8 { return &src[(iy*w+ix)*s.InStride] }
	for oy := oy0; oy < oy1; oy++ {
		iy0 := oy*st - s.PadTop
		if oxR > oxL {
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
		for _, sg := range segs {
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
// columns: input rows of a band of output rows, the window columns of a
// run of output columns, zIn outside the image.
const dwPadScratch = 64 << 10

// dwPadBiasC bounds the adjusted biases of one call (dwRowPlan): output
// rows with kernel rows outside the image times channels.
const dwPadBiasC = 8 << 10

// dwPrepMaxC bounds the channels of the prepared requantization.
const dwPrepMaxC = 2048

type dwPadBuf struct {
	strip [dwPadScratch]int8
	bias  [dwPadBiasC]int32
	prep  [dwPrepMaxC / 16 * dwPrepWords]int32
}

// dwPadPool holds the scratch of concurrent calls; a call that finds
// every slot busy takes the per-tap dwNeon.
var dwPadPool scratchSlots[dwPadBuf]

// dwPadLimit is the strip scratch one call uses (tests lower it to force
// bands, column tiles and the per-tap fallback).
var dwPadLimit = dwPadScratch

// dwUnrolled calls the unrolled k×k kernel (k odd, 3…11), its stride-1
// or stride-2 form when inc is kxs or 2*kxs.
func dwUnrolled(k int, d *int8, outStride, n int, rows **int8, nrows int, w *int8, c int, bias *int32,
	rq *int32, zOut, qmin, qmax int32, inc, kxs int) {
	st := 0
	if inc == kxs {
		st = 1
	} else if inc == 2*kxs {
		st = 2
	}
	switch 4*k + st {
	case 13:
		dwNeonK3S1(d, outStride, n, rows, nrows, w, c, bias, rq, zOut, qmin, qmax, inc, kxs)
	case 14:
		dwNeonK3S2(d, outStride, n, rows, nrows, w, c, bias, rq, zOut, qmin, qmax, inc, kxs)
	case 12:
		dwNeonK3(d, outStride, n, rows, nrows, w, c, bias, rq, zOut, qmin, qmax, inc, kxs)
	case 21:
		dwNeonK5S1(d, outStride, n, rows, nrows, w, c, bias, rq, zOut, qmin, qmax, inc, kxs)
	case 22:
		dwNeonK5S2(d, outStride, n, rows, nrows, w, c, bias, rq, zOut, qmin, qmax, inc, kxs)
	case 20:
		dwNeonK5(d, outStride, n, rows, nrows, w, c, bias, rq, zOut, qmin, qmax, inc, kxs)
	case 29:
		dwNeonK7S1(d, outStride, n, rows, nrows, w, c, bias, rq, zOut, qmin, qmax, inc, kxs)
	case 30:
		dwNeonK7S2(d, outStride, n, rows, nrows, w, c, bias, rq, zOut, qmin, qmax, inc, kxs)
	case 28:
		dwNeonK7(d, outStride, n, rows, nrows, w, c, bias, rq, zOut, qmin, qmax, inc, kxs)
	case 37:
		dwNeonK9S1(d, outStride, n, rows, nrows, w, c, bias, rq, zOut, qmin, qmax, inc, kxs)
	case 38:
		dwNeonK9S2(d, outStride, n, rows, nrows, w, c, bias, rq, zOut, qmin, qmax, inc, kxs)
	case 36:
		dwNeonK9(d, outStride, n, rows, nrows, w, c, bias, rq, zOut, qmin, qmax, inc, kxs)
	case 45:
		dwNeonK11S1(d, outStride, n, rows, nrows, w, c, bias, rq, zOut, qmin, qmax, inc, kxs)
	case 46:
		dwNeonK11S2(d, outStride, n, rows, nrows, w, c, bias, rq, zOut, qmin, qmax, inc, kxs)
	case 44:
		dwNeonK11(d, outStride, n, rows, nrows, w, c, bias, rq, zOut, qmin, qmax, inc, kxs)
	default:
		panic(fmt.Sprintf("kernels: dwUnrolled: no %dx%d kernel", k, k))
	}
}

// dwRowPlan runs output rows on the kernel rows inside the image only:
// the bias of a row with kernel rows above or below the image is adjusted
// by zIn times those rows' weights (exact in wrapping int32, like the
// generic sum over zIn): from packDWNeon's row sums (dwBiasRows), or
// summed here for plain weights (the dotprod tier's fallback).
type dwRowPlan struct {
	k, st, padTop, h, c int
	weights             []int8
	bias                []int32
	oy0, tTop, tBot     int     // rows oy < tTop or oy >= tBot have kernel rows outside the image
	nTop                int     // such rows in [oy0, tTop)
	rowBias             []int32 // their biases, c apart: top rows, then bottom rows
	prep                []int32 // dwPrepRQ of the call
}

// init plans rows [oy0, oy1), the adjusted biases in scratch and the
// prepared requantization in prep; false if they do not fit.
func (p *dwRowPlan) init(s *DWConvShape, weights []int8, bias []int32, rq []quant.Multiplier, zIn, qmin, qmax int32,
	oy0, oy1 int, scratch, prep []int32) bool {
	k, c, st := s.K, s.C, s.Stride
	*p = dwRowPlan{k: k, st: st, padTop: s.PadTop, h: s.H, c: c, weights: weights, bias: bias, oy0: oy0}
	p.tTop = min(max((s.PadTop+st-1)/st, oy0), oy1)
	p.tBot = 0
	if lim := s.H - k + s.PadTop; lim >= 0 {
		p.tBot = lim/st + 1
	}
	p.tBot = min(max(p.tBot, p.tTop), oy1)
	p.nTop = p.tTop - oy0
	n := p.nTop + oy1 - p.tBot
	nb := (c + 15) / 16
	if n*c > len(scratch) || nb*dwPrepWords > len(prep) {
		return false
	}
	p.prep = prep[:nb*dwPrepWords]
	dwPrepRQ(&p.prep[0], &rq[0], c, qmin, qmax)
	p.rowBias = scratch[:n*c]
	top, bot := dwNeonSums(weights, k, c)
	for i := range n {
		oy := oy0 + i
		if i >= p.nTop {
			oy = p.tBot + i - p.nTop
		}
		kyLo, nr := p.rows(oy)
		if top != nil {
			dwBiasRows(&p.rowBias[i*c], &bias[0], &top[kyLo*c], &bot[(k-kyLo-nr)*c], c, zIn)
			continue
		}
		rb := p.rowBias[i*c:][:c]
		copy(rb, bias[:c])
		for ky := range k {
			if ky >= kyLo && ky < kyLo+nr {
				continue
			}
			for kx := range k {
				for ch, v := range weights[(ky*k+kx)*c:][:c] {
					rb[ch] += zIn * int32(v)
				}
			}
		}
	}
	return true
}

// rows returns output row oy's first kernel row inside the image and how
// many there are.
func (p *dwRowPlan) rows(oy int) (kyLo, n int) {
	iy0 := oy*p.st - p.padTop
	kyLo = min(max(-iy0, 0), p.k)
	return kyLo, max(min(p.h-iy0, p.k)-kyLo, 0)
}

// run calls the unrolled kernel for output row oy: n pixels at d, rows[j]
// the input row oy*st-padTop+j (pixel i at +i*inc, tap kx at +kx*kxs).
func (p *dwRowPlan) run(oy int, d *int8, outStride, n int, rows []*int8, inc, kxs int, zOut, qmin, qmax int32) {
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
	dwUnrolled(p.k, d, outStride, n, &rows[min(kyLo, p.k-1)], nr, w, p.c, b, &p.prep[0], zOut, qmin, qmax, inc, kxs)
}

// dwBand is the most output rows one table of kernel rows serves
// (dwBandRows entries at stride 2).
const (
	dwBand     = 16
	dwBandRows = (dwBand-1)*2 + dwMaxK
)

// dwPadStrips runs output columns [sx0, sx1) of rows [oy0, oy1) through
// the unrolled kernels over padded copies of their input: per band of
// output rows, the band's input rows inside the image, columns
// [sx0*st-padLeft, (sx1-1)*st-padLeft+k) with zIn outside the image, c
// bytes a pixel. A run whose strip for one output row does not fit buf is
// split into column tiles; it returns false, having done nothing, if one
// column does not fit.
func dwPadStrips(buf []int8, plan *dwRowPlan, dst, src []int8, s *DWConvShape, zIn, zOut, qmin, qmax int32, oy0, oy1, sx0, sx1 int) bool {
	h, w, c, k, st := s.H, s.W, s.C, s.K, s.Stride
	// input rows inside the image of output rows [a, b)
	inRows := func(a, b int) (int, int) {
		return max(a*st-s.PadTop, 0), min((b-1)*st-s.PadTop+k, h)
	}
	most := 0 // most input rows of one output row
	for oy := oy0; oy < oy1; oy++ {
		lo, hi := inRows(oy, oy+1)
		most = max(most, hi-lo)
	}
	ncols := sx1 - sx0
	for most*((ncols-1)*st+k)*c > len(buf) {
		if ncols == 1 {
			return false
		}
		ncols = (ncols + 1) / 2
	}
	var rows [dwBandRows]*int8
	for tx0 := sx0; tx0 < sx1; tx0 += ncols {
		tx1 := min(tx0+ncols, sx1)
		ixA := tx0*st - s.PadLeft
		sw := (tx1-1-tx0)*st + k // strip width in pixels
		rowB := sw * c
		maxRows := len(buf) / rowB
		// image columns [jA, jB) of the strip; zIn left and right of them
		jA, jB := min(max(-ixA, 0), sw), min(max(w-ixA, 0), sw)
		for b0 := oy0; b0 < oy1; {
			b1 := b0 + 1
			for b1 < oy1 && b1-b0 < dwBand {
				if lo, hi := inRows(b0, b1+1); hi-lo > maxRows {
					break
				}
				b1++
			}
			iyA, iyB := inRows(b0, b1)
			if iyB > iyA {
				_ = buf[(iyB-iyA)*rowB-1]
				// src: the first image pixel of row iyA (jB > jA), or any
				// pixel (nothing is copied)
				p := &src[0]
				if jB > jA {
					p = &src[(iyA*w+ixA+jA)*s.InStride]
				}
				dwPadRows(&buf[0], rowB, p, w*s.InStride, iyB-iyA, jA, jB-jA, sw-jB, s.InStride, c, zIn)
			}
			// rows[j]: input row b0*st-padTop+j (nil outside the image:
			// never read); output row oy's kernel rows start at
			// rows[(oy-b0)*st].
			iy0 := b0*st - s.PadTop
			for j := range (b1-1-b0)*st + k {
				rows[j] = nil
				if iy := iy0 + j; iy >= 0 && iy < h {
					rows[j] = &buf[(iy-iyA)*rowB]
				}
			}
			for oy := b0; oy < b1; oy++ {
				plan.run(oy, &dst[(oy*s.OW+tx0)*s.OutStride], s.OutStride, tx1-tx0, rows[(oy-b0)*st:],
					st*c, c, zOut, qmin, qmax)
			}
			b0 = b1
		}
	}
	return true
}
