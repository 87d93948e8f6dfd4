//go:build !purego

package kernels

import (
	"fmt"
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

// dwDotRQ is the requantization of one 16-channel block: M, R =
// -max(Shift, 1) and L = max(1-Shift, 0) per channel (quant/doc.go), the
// bias b, room for the bias of an output row with padding rows (bp), the
// zero points and clamp, flags (bit 0: some L != 0; bit 1: some multiplier
// off the 2^-31 grid, else m holds M>>Shift for SQRDMULH) and clamp != 0
// iff the clamp is narrower than int8. The asm reads it at fixed offsets
// (checked in a test).
type dwDotRQ struct {
	m, r, l, b, bp        [16]int32
	zIn, zOut, qmin, qmax int32
	flags                 int32
	clamp                 int32 // != 0 unless [qmin, qmax] = [-128, 127]
}

// dwDotSetRQ fills q's m, r, l, b and flags for one block from
// rq[0:16] and bias[0:16] (dwconv_dot_arm64.s).
//
//go:noescape
func dwDotSetRQ(q *dwDotRQ, rq *quant.Multiplier, bias *int32)

// dwDotTile is what dwDotTileG*S* need for the output rows of one
// 16-channel block and column tile (the asm reads it at fixed offsets,
// checked in a test).
type dwDotTile struct {
	dst             *int8 // output row 0, the tile's first column, the block's first channel
	outStride, n    int   // output pixel stride, columns of the tile
	rowOut          int   // output row stride
	src             *int8 // &src[0]
	srcOff          int   // input row 0's first gathered pixel (column ix0+padL), the block's channel
	rowIn, inStride int
	p               *int8 // the gathered row (scratch)
	padL, nIn, padR int   // the gathered row: zIn pixels, image pixels, zIn pixels
	z               *int8 // 16 bytes of zIn
	nt              int   // window entries of a row
	xs              **int8
	k, padTop, h    int
	oy0, oy1        int
	w               *int8    // the block's packed weights
	sums            *int32   // top[k+1][16], bot[k+1][16]
	rq              *dwDotRQ // the block's requantization
	rxs             **int8   // per output row, written by the asm
	rn              int
	rw              *int8
	rtop, rbot      *int32
}

//go:noescape
func dwDotTileG1S1(a *dwDotTile)

//go:noescape
func dwDotTileG1S2(a *dwDotTile)

//go:noescape
func dwDotTileG2S1(a *dwDotTile)

//go:noescape
func dwDotTileG2S2(a *dwDotTile)

//go:noescape
func dwDotTileG3S1(a *dwDotTile)

//go:noescape
func dwDotTileG3S2(a *dwDotTile)

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
var dwDotPool scratchSlots[[dwDotScratchSize]int8]

// dwDotTileSize returns the window entries (a multiple of 4) and gathered
// pixels a tile of nc output columns needs.
func dwDotTileSize(nc, g, stride int) (nt, np int) {
	nt = (nc + (4/stride)*(g-1) + 3) &^ 3
	if stride == 1 {
		return nt, nt + 3
	}
	return nt, 2*nt + 2
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
	scratch, slot := dwDotPool.take()
	if scratch == nil {
		dwConvNeon(dst, src, weights[:k*k*c], bias, rq, s, zIn, zOut, qmin, qmax, oy0, oy1)
		return
	}
	buf := scratch[:dwDotScratchLimit]

	g := (k + 3) / 4
	// Column tiles: as wide as the scratch allows (the whole row for every
	// MixNet layer).
	ncols := s.OW
	for {
		nt, np := dwDotTileSize(ncols, g, st)
		if k*nt*64+np*16 <= len(buf) {
			break
		}
		if ncols == 1 { // only with a lowered dwDotScratchLimit
			dwDotPool.release(slot)
			dwConvNeon(dst, src, weights[:k*k*c], bias, rq, s, zIn, zOut, qmin, qmax, oy0, oy1)
			return
		}
		ncols = (ncols + 1) / 2
	}
	rqv := dwDotRQ{zIn: zIn, zOut: zOut, qmin: qmin, qmax: qmax}
	if qmin > -128 || qmax < 127 {
		rqv.clamp = 1
	}
	// xs[j] and xs[j+k] are ring slot j, so the rows of an output row,
	// input rows lo..hi-1 in slots lo%k, (lo+1)%k, …, are xs[lo%k:].
	var xs [2 * dwMaxK]*int8
	t := dwDotTile{outStride: s.OutStride, rowOut: s.OW * s.OutStride, src: &src[0], rowIn: w * s.InStride,
		inStride: s.InStride, z: &dwZIn[uint8(zIn)][0], xs: &xs[0], k: k, padTop: s.PadTop, h: h,
		oy0: oy0, oy1: oy1, rq: &rqv}
	for b := range nb {
		cb := min(16*b, c-16)
		blk := weights[base+b*block : base+(b+1)*block]
		t.w, t.sums = &blk[0], (*int32)(unsafe.Pointer(&blk[k*g*64]))
		_, _ = rq[cb+15], bias[cb+15]
		dwDotSetRQ(&rqv, &rq[cb], &bias[cb])
		for ox0 := 0; ox0 < s.OW; ox0 += ncols {
			nc := min(ncols, s.OW-ox0)
			nt, np := dwDotTileSize(nc, g, st)
			for j := range k {
				xs[j] = &buf[j*nt*64]
				xs[j+k] = xs[j]
			}
			ix0 := ox0*st - s.PadLeft
			padL := min(max(-ix0, 0), np)
			end := min(max(w-ix0, padL), np)
			t.dst, t.n = &dst[ox0*s.OutStride+cb], nc
			t.srcOff = (ix0+padL)*s.InStride + cb
			t.p, t.nt, t.padL, t.nIn, t.padR = &buf[k*nt*64], nt, padL, end-padL, np-end
			switch {
			case g == 1 && st == 1:
				dwDotTileG1S1(&t)
			case g == 1:
				dwDotTileG1S2(&t)
			case g == 2 && st == 1:
				dwDotTileG2S1(&t)
			case g == 2:
				dwDotTileG2S2(&t)
			case st == 1:
				dwDotTileG3S1(&t)
			default:
				dwDotTileG3S2(&t)
			}
		}
	}
	dwDotPool.release(slot)
}
