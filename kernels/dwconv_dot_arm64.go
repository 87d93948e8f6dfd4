//go:build !purego

package kernels

import (
	"fmt"
	"sync/atomic"
	"unsafe"

	"github.com/mixedge/mixedge/quant"
)

// The dotprod tier's depthwise convolution: SDOT over the taps of a kernel
// row, lanes = channels (dwconv_dot_arm64.s has the loops).
//
// For one 16-channel block, each input row is gathered (padding columns
// = zIn) and transposed once into a "window" row T of 64-byte entries:
// entry m holds, for each of the 16 channels, the 4 taps P[s*m .. s*m+3]
// (s = stride, P the padded row). Output column ox, taps 4g..4g+3 of a
// kernel row, is entry ox + (4/s)*g, so a row of G = ceil(K/4) SDOT groups
// per output pixel reads the same window row as every other column, and
// at stride 1 the K output rows that need an input row share its window
// (a ring of K rows in a per-call scratch). Kernel rows in the padding are
// not computed: their contribution, zIn times the row sums of the weights,
// is added to the bias (exact in wrapping int32, like the generic sum).

// dwDotRQ is what dwDotG* needs of one 16-channel block besides the
// rows: M, R = -max(Shift, 1) and L = max(1-Shift, 0) per channel
// (quant/doc.go), the bias b, room for the bias of an output row with
// padding rows (bp), the zero points and clamp, lsh != 0 iff some L != 0
// and clamp != 0 iff the clamp is narrower than int8. The asm reads it at fixed offsets (checked in a test).
type dwDotRQ struct {
	m, r, l, b, bp        [16]int32
	zIn, zOut, qmin, qmax int32
	lsh                   int32
	clamp                 int32 // != 0 unless [qmin, qmax] = [-128, 127]
}

// set fills the block's requantization and bias.
func (q *dwDotRQ) set(rq *[16]quant.Multiplier, bias *[16]int32) {
	lsh := int32(0)
	for i, m := range rq {
		sh := m.Shift
		q.m[i] = m.M
		l := max(1-sh, 0)
		q.l[i] = l
		q.r[i] = -max(sh, 1)
		lsh |= l
	}
	q.lsh = lsh
	q.b = *bias
}

// dwDotBuild is what dwDotRowS1/S2 need to build one window row (the
// asm reads it at fixed offsets, checked in a test).
type dwDotBuild struct {
	t, p, src               *int8
	inStride, padL, n, padR int
	z                       *int8
	nt                      int
}

// dwDotArgs is what dwDotG* need for one output row of one block.
type dwDotArgs struct {
	dst          *int8
	outStride, n int
	xs           **int8
	nrows        int
	w            *int8
	top, bot     *int32
	rq           *dwDotRQ
}

//go:noescape
func dwDotRowS1(a *dwDotBuild)

//go:noescape
func dwDotRowS2(a *dwDotBuild)

//go:noescape
func dwDotG1S1(a *dwDotArgs)

//go:noescape
func dwDotG1S2(a *dwDotArgs)

//go:noescape
func dwDotG2S1(a *dwDotArgs)

//go:noescape
func dwDotG2S2(a *dwDotArgs)

//go:noescape
func dwDotG3S1(a *dwDotArgs)

//go:noescape
func dwDotG3S2(a *dwDotArgs)

// dwDotUses reports whether the SDOT kernel takes a k×k depthwise with c
// channels at this stride (else the dotprod tier runs the neon kernels).
func dwDotUses(k, c, stride int) bool {
	return k >= 3 && k <= dwMaxK && k%2 == 1 && c >= dwMinC && (stride == 1 || stride == 2)
}

// dwDotLayout returns where the packed part starts (after the plain
// [K][K][C] weights, 64-byte aligned), the bytes per 16-channel block and
// the number of blocks (the last one overlaps when c%16 != 0). Per block:
// [K][G][16 ch][4 taps] weights (taps >= K are 0), then top[K+1][16] and
// bot[K+1][16] int32: the weight sums of the first / last n kernel rows.
func dwDotLayout(k, c int) (base, block, nb int) {
	g := (k + 3) / 4
	return (k*k*c + 63) &^ 63, k*g*64 + 2*(k+1)*64, (c + 15) / 16
}

// packDWDot is the dotprod tier's PackDW: the plain weights followed, for
// the shapes the SDOT kernel takes (any stride: the layout does not depend
// on it), by the packed blocks.
func packDWDot(w []int8, k, c int) []int8 {
	n := k * k * c
	need("PackDW", "weights", len(w), n)
	if !dwDotUses(k, c, 1) {
		return w[:n:n]
	}
	base, block, nb := dwDotLayout(k, c)
	// int32 storage keeps the sums 4-byte aligned.
	words := make([]int32, (base+nb*block)/4)
	out := unsafe.Slice((*int8)(unsafe.Pointer(&words[0])), len(words)*4)
	copy(out, w[:n])
	g := (k + 3) / 4
	var rows [dwMaxK][16]int32 // weight sums of each kernel row
	for b := range nb {
		cb := min(16*b, c-16)
		blk := out[base+b*block:]
		for ky := range k {
			rs := &rows[ky]
			*rs = [16]int32{}
			for kx := range k {
				from := w[(ky*k+kx)*c+cb:][:16]
				to := blk[(ky*g+kx/4)*64+kx%4:][:61]
				for i, v := range from {
					to[4*i] = v
					rs[i] += int32(v)
				}
			}
		}
		sums := unsafe.Slice((*int32)(unsafe.Pointer(&blk[k*g*64])), 2*(k+1)*16)
		top, bot := sums[:(k+1)*16], sums[(k+1)*16:]
		for n := 1; n <= k; n++ {
			for i := range 16 {
				top[n*16+i] = top[(n-1)*16+i] + rows[n-1][i]
				bot[n*16+i] = bot[(n-1)*16+i] + rows[k-n][i]
			}
		}
	}
	return out
}

// dwDotScratchSize is one call's scratch: the window ring (K rows) plus the
// gathered row of a column tile.
const dwDotScratchSize = 32 << 10

// dwDotScratchLimit is the scratch one call uses (tests lower it to force
// column tiles).
var dwDotScratchLimit = dwDotScratchSize

// dwDotPool holds the scratch of concurrent calls (one per worker thread);
// a call that finds every slot busy runs the neon kernels instead.
var dwDotPool [8]struct {
	busy atomic.Bool
	buf  [dwDotScratchSize]int8
}

// dwDotTile returns the window entries (a multiple of 4) and gathered
// pixels a tile of nc output columns needs.
func dwDotTile(nc, g, stride int) (nt, np int) {
	nt = (nc + (4/stride)*(g-1) + 3) &^ 3
	if stride == 1 {
		return nt, nt + 3
	}
	return nt, 2*nt + 2
}

// dwDotRows runs output rows [oy0, oy1) of one block and column tile:
// it builds each input row's window once (into the ring xs) and calls the
// SDOT kernel per output row.
// ka and bd come filled but for the per-row fields; the ring's k slots
// are nt window entries each from buf[0].
func dwDotRows(ka dwDotArgs, bd dwDotBuild, buf []int8, nt int, src, dst []int8, sums []int32, blk []int8,
	s *DWConvShape, oy0, oy1, srcOff, dstOff int) {
	k, st, h := s.K, s.Stride, s.H
	// xs[j] and xs[j+k] are ring slot j: the rows of an output row, input
	// rows lo..hi-1 in slots lo%k, (lo+1)%k, …, are xs[lo%k:].
	var xs [2 * dwMaxK]*int8
	for j := range k {
		xs[j] = &buf[j*nt*64]
		xs[j+k] = xs[j]
	}
	g := (k + 3) / 4
	rowIn, rowOut := s.W*s.InStride, s.OW*s.OutStride
	next := 0 // input rows below next are built (the last k of them are in the ring)
	for oy := oy0; oy < oy1; oy++ {
		iy0 := oy*st - s.PadTop
		kyLo, kyHi := max(-iy0, 0), min(h-iy0, k)
		lo, hi := iy0+kyLo, iy0+kyHi // input rows in the image
		if bd.n > 0 {
			for iy := max(next, lo); iy < hi; iy++ {
				bd.t, bd.src = xs[iy%k], &src[iy*rowIn+srcOff]
				if st == 1 {
					dwDotRowS1(&bd)
				} else {
					dwDotRowS2(&bd)
				}
			}
		} else { // the tile reads only padding columns
			for iy := max(next, lo); iy < hi; iy++ {
				bd.t = xs[iy%k]
				if st == 1 {
					dwDotRowS1(&bd)
				} else {
					dwDotRowS2(&bd)
				}
			}
		}
		next = max(next, hi)
		ka.nrows, ka.xs, ka.w, ka.top, ka.bot = 0, &xs[0], &blk[0], nil, nil
		if hi > lo {
			ka.nrows, ka.xs, ka.w = hi-lo, &xs[lo%k], &blk[kyLo*g*64]
		}
		if ka.nrows < k {
			ntop, nbot := k, 0
			if ka.nrows > 0 {
				ntop, nbot = kyLo, k-kyHi
			}
			ka.top, ka.bot = &sums[ntop*16], &sums[(k+1+nbot)*16]
		}
		ka.dst = &dst[oy*rowOut+dstOff]
		switch {
		case g == 1 && st == 1:
			dwDotG1S1(&ka)
		case g == 1:
			dwDotG1S2(&ka)
		case g == 2 && st == 1:
			dwDotG2S1(&ka)
		case g == 2:
			dwDotG2S2(&ka)
		case st == 1:
			dwDotG3S1(&ka)
		default:
			dwDotG3S2(&ka)
		}
	}
}

// dwConvDot is DWConvQS8 for the dotprod tier. weights must come from
// packDWDot for the SDOT path; plain [K][K][C] weights, and shapes it does
// not take, go to dwConvNeon (the same bits).
func dwConvDot(dst, src []int8, weights []int8, bias []int32, rq []quant.Multiplier,
	s *DWConvShape, zIn, zOut, qmin, qmax int32, oy0, oy1 int) {
	if err := s.Validate(); err != nil {
		panic(err)
	}
	h, w, c, k, st := s.H, s.W, s.C, s.K, s.Stride
	base, block, nb := dwDotLayout(k, c)
	if !dwDotUses(k, c, st) || len(weights) != base+nb*block {
		dwConvNeon(dst, src, weights, bias, rq, s, zIn, zOut, qmin, qmax, oy0, oy1)
		return
	}
	if oy0 < 0 || oy1 > s.OH || oy0 > oy1 {
		panic(fmt.Sprintf("kernels: DWConvQS8 dotprod: rows [%d, %d) outside [0, %d)", oy0, oy1, s.OH))
	}
	if oy0 == oy1 {
		return
	}
	need("DWConvQS8 dotprod", "src", len(src), span(h*w, s.InStride, c))
	need("DWConvQS8 dotprod", "dst", len(dst), span(oy1*s.OW, s.OutStride, c))
	need("DWConvQS8 dotprod", "bias", len(bias), c)
	need("DWConvQS8 dotprod", "rq", len(rq), c)
	slot := -1
	for i := range dwDotPool {
		if dwDotPool[i].busy.CompareAndSwap(false, true) {
			slot = i
			break
		}
	}
	if slot < 0 {
		dwConvNeon(dst, src, weights[:k*k*c], bias, rq, s, zIn, zOut, qmin, qmax, oy0, oy1)
		return
	}
	buf := dwDotPool[slot].buf[:dwDotScratchLimit]

	g := (k + 3) / 4
	// Column tiles: as wide as the scratch allows (the whole row for every
	// MixNet layer).
	ncols := s.OW
	for {
		nt, np := dwDotTile(ncols, g, st)
		if k*nt*64+np*16 <= len(buf) {
			break
		}
		if ncols == 1 { // only with a lowered dwDotScratchLimit
			dwDotPool[slot].busy.Store(false)
			dwConvNeon(dst, src, weights[:k*k*c], bias, rq, s, zIn, zOut, qmin, qmax, oy0, oy1)
			return
		}
		ncols = (ncols + 1) / 2
	}
	rqv := dwDotRQ{zIn: zIn, zOut: zOut, qmin: qmin, qmax: qmax}
	if qmin > -128 || qmax < 127 {
		rqv.clamp = 1
	}
	bd := dwDotBuild{inStride: s.InStride, z: &dwZIn[uint8(zIn)][0]}
	ka := dwDotArgs{outStride: s.OutStride, rq: &rqv}
	for b := range nb {
		cb := min(16*b, c-16)
		blk := weights[base+b*block : base+(b+1)*block]
		sums := unsafe.Slice((*int32)(unsafe.Pointer(&blk[k*g*64])), 2*(k+1)*16)
		rqv.set((*[16]quant.Multiplier)(rq[cb:]), (*[16]int32)(bias[cb:]))
		for ox0 := 0; ox0 < s.OW; ox0 += ncols {
			nc := min(ncols, s.OW-ox0)
			nt, np := dwDotTile(nc, g, st)
			ix0 := ox0*st - s.PadLeft
			padL := min(max(-ix0, 0), np)
			end := min(max(w-ix0, padL), np)
			bd.p, bd.nt, bd.padL, bd.n, bd.padR = &buf[k*nt*64], nt, padL, end-padL, np-end
			srcOff := (ix0+padL)*s.InStride + cb // + iy*w*InStride for input row iy
			ka.n = nc
			dstOff := ox0*s.OutStride + cb // + oy*OW*OutStride
			dwDotRows(ka, bd, buf, nt, src, dst, sums, blk, s, oy0, oy1, srcOff, dstOff)
		}
	}
	dwDotPool[slot].busy.Store(false)
}
