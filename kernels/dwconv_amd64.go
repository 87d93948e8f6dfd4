//go:build !purego

package kernels

import (
	"fmt"
	"math/bits"
	"unsafe"

	"github.com/mixedge/mixedge/quant"
)

// AVX2 depthwise convolution. Channels go in chunks of 32: two blocks of 16
// at chunk offsets 0 and off1 = width-16 (for a last chunk narrower than 32
// the second block overlaps the first and recomputes, writing the same
// bytes). A last chunk of at most 16 channels is one block, moved back to
// end at C (again recomputing, never reading or writing past C), except
// that the last 8 channels of a chunk of 24 or 8 go through an 8-channel
// block (dwRing8AVX2, dwRowHAVX2; dwBlocks). For each
// chunk, every input row an output row needs is converted once into a
// ring of K rows on the stack (dwRingAVX2): zero-point padded, sign-extended
// to int16 and interleaved as (column, next column) pairs, so that a pair
// of horizontal taps is one exact VPMADDWD per 8 channels and the row
// kernel (dwRowAVX2) never sees a border. At stride 2 only the pairs that
// start on an even column are ever read, and only those are built; wide
// 3x3 rows at stride 1 use the same ring (dwPaired). C < 16,
// K > 11 and rows too wide for the ring use the generic kernel.
const (
	dwMaxK   = 11
	dwRingSz = 96 << 10 // bytes of ring rows on the stack
	dwEntry  = 64       // int16s per ring entry: 2 columns x 32 channels
	dwBlockB = 64       // bytes of one block's half of an entry
	dwAlign  = 64       // ring and weight alignment in bytes: a load split
	// over two cache lines costs the kernel about a third of its speed
)

// align64 returns s from its first 64-byte aligned element (s has dwAlign
// bytes of slack). The stack may move, but only by whole pages.
func align64(s []int16) []int16 {
	mis := int(uintptr(unsafe.Pointer(&s[0])) % dwAlign)
	return s[(dwAlign-mis)%dwAlign/2:]
}

// dwLane maps accumulator v's lane i to the channel of a 16-channel block.
var dwLane = [2][8]int{{0, 1, 2, 3, 8, 9, 10, 11}, {4, 5, 6, 7, 12, 13, 14, 15}}

// dwRQ is the requantization of 8 lanes of one accumulator, as the row
// kernel reads it (byte offsets in dwconv_amd64.s). The general path is
// the shared REQ sequence (gemm_amd64.go's rqVec). The fast path holds for
// 2 <= Shift with a small kq below: with s = 32+r, r = Shift-1 >= 1, the
// low 32 bits of acc*M cannot carry into the rounding, so
//
//	(acc*M + 2^(s-1)) >> s + zOut == (hi32(acc*M) + 2^(r-1) + zOut<<r) >> r
//
// exactly (|hi32| < 2^30 and |kq| < 2^30 keep the sum in int32): the
// 64-bit rounding adds and the zero-point add fold into one VPADDD.
type dwRQ struct {
	bias, mE, mO, rsh, kq, lo, hi, lsh [8]int32
	rndE, rndO                         [4]int64
} // 320 bytes

// dwOut is the per-call part of the epilogue.
type dwOut struct {
	zOut       [8]int32
	qmin, qmax [32]int8
}

// set loads lane i's parameters for the general path (every field but kq).
func (v *dwRQ) set(i int, b int32, m quant.Multiplier) {
	v.bias[i] = b
	var rnd int64
	v.lo[i], v.hi[i], v.lsh[i], v.rsh[i], rnd = reqLane(m)
	if i%2 == 0 {
		v.mE[i], v.rndE[i/2] = m.M, rnd
	} else {
		v.mO[i-1], v.rndO[i/2] = m.M, rnd
	}
}

// dwFastR returns how many r = Shift-1 >= 1 take the fast path with this
// zOut: for r in [1, dwFastR(zOut)], r <= 30 and
// kq = 2^(r-1) + zOut<<r = (2zOut+1)<<(r-1) is inside (-2^30, 2^30).
func dwFastR(zOut int32) uint32 {
	a := 2*int64(zOut) + 1
	if a < 0 {
		a = -a
	}
	// a*2^r < 2^30 for r <= 30 - bits.Len(a): 31 - Len values of r >= 0.
	return uint32(min(30, max(0, 31-bits.Len64(uint64(a)))))
}

// dwEpFastAVX2 loads what the fast path reads (bias, mE, mO, rsh, kq)
// for the 2*nb accumulators of a chunk whose bias and multipliers start
// at bias and rq (ep[2b+v]: block b at channel b*off1, lane i channel
// dwLane[v][i]), with kq = z2 << (Shift-2), z2 = 2zOut+1, and returns the
// largest uint32(Shift-2) of its lanes: they all qualify iff it is below
// dwFastR(zOut) (then |z2| < 2^30 and kq is exact in int32). The general
// path's fields are left as they are.
//
//go:noescape
func dwEpFastAVX2(ep *dwRQ, bias *int32, rq *quant.Multiplier, off1 int, nb int, z2 int32) uint32

//go:noescape
func dwRingAVX2(dst *int16, src *int8, inStride int, w int, padLeft int, entries int, off1 int, z *int8, step int,
	half int, nb int)

//go:noescape
func dwRing8AVX2(dst *int16, src *int8, inStride int, w int, padLeft int, entries int, z *int8, step int)

//go:noescape
func dwRowHAVX2(dst *int8, outStride int, ow int, rows **int16, k int, pixAdv int, pairAdv int,
	w *int16, np int, rq *dwRQ, out *dwOut, boff int, fast int, nrows int, rowStep int, dstStep int)

//go:noescape
func dwRowAVX2(dst *int8, outStride int, ow int, rows **int16, k int, pixAdv int, pairAdv int,
	w *int16, np int, rq *dwRQ, out *dwOut, boff int, fast int, nrows int, rowStep int, dstStep int)

// dwPairMin is the narrowest output row dwPaired takes.
const dwPairMin = 32

// dwPaired reports whether a stride-1 call runs as two stride-2 passes
// over a step-2 ring (3x3, rows of at least dwPairMin pixels): even
// output pixel 2u reads entries u, u+1 with the usual weight pairs
// (w0,w1), (w2,0), odd pixel 2u+1 the same entries with the odd phase
// (0,w0), (w1,w2). The ring holds every input column once instead of
// twice: half the conversion and half the ring for the same kernel work.
// (Rows of 28 pixels and the larger kernels gained nothing: the ring is a
// smaller part of their time, and half rows end in more 2-pixel steps.)
func dwPaired(s *DWConvShape) bool {
	return s.Stride == 1 && s.K == 3 && s.OW >= dwPairMin
}

// dwGeom returns the ring step (2 at stride 2 and for dwPaired: pairs
// start on even columns only, entry m holding columns 2m and 2m+1) and
// the entries one ring row needs.
func dwGeom(s *DWConvShape) (step, entries int) {
	np := (s.K + 1) / 2
	switch {
	case s.Stride == 2:
		return 2, s.OW + np - 1
	case dwPaired(s):
		return 2, (s.OW+1)/2 + np - 1
	}
	return 1, (s.OW-1)*s.Stride + s.K
}

// dwPackLen returns the bytes of one 32-channel chunk's ring-transformed
// weights (both 16-channel blocks, [K][np] 64-byte entries each, then for
// K = 3 the same again for dwPaired's odd phase) and the length of
// packDWAVX2's slice for a k×k depthwise with c channels, 0 when the AVX2
// kernel never takes the shape (no packed copy).
func dwPackLen(k, c int) (chunk, total int) {
	if c < 16 || k < 1 || k > dwMaxK {
		return 0, 0
	}
	chunk = 2 * k * (k + 1) / 2 * dwBlockB * dwPhases(k)
	return chunk, k*k*c + dwAlign + (c+31)/32*chunk
}

// packDWAVX2 is the AVX2 tier's PackDW: the plain [K][K][C] weights, then
// d < 64 bytes that put the next one on a 64-byte boundary, the weights of
// every 32-channel chunk as dwChunks transforms them (dwWeightsAVX2), in
// chunk order, and last the byte d (so a copy of the slice to another
// alignment still reads right, only slower).
func packDWAVX2(w []int8, k, c int) []int8 {
	n := k * k * c
	need("PackDW", "weights", len(w), n)
	chunk, total := dwPackLen(k, c)
	if total == 0 {
		return w[:n:n]
	}
	out := make([]int8, total)
	copy(out, w[:n])
	d := (dwAlign - int(uintptr(unsafe.Pointer(&out[n]))%dwAlign)) % dwAlign
	out[total-1] = int8(d)
	pk := out[n+d : total-dwAlign+d]
	for i, c0 := 0, 0; c0 < c; i, c0 = i+1, c0+32 {
		c0, r := dwChunk(c, c0) // shadows the loop's c0, as in dwChunks
		dwWeightsAVX2((*int16)(unsafe.Pointer(&pk[i*chunk])), w, k, c, c0, r)
	}
	return out
}

// dwPacked returns the packed chunks of weights when it is packDWAVX2's
// form (told apart by its length), else nil.
func dwPacked(weights []int8, k, c int) []int8 {
	_, total := dwPackLen(k, c)
	if total == 0 || len(weights) != total {
		return nil
	}
	n := k * k * c
	d := int(uint8(weights[total-1])) % dwAlign
	return weights[n+d : total-dwAlign+d]
}

// dwChunk returns the channels of the chunk that starts at c0 < c: 32, or
// what is left: 8, or never fewer than 16 (a narrower last chunk moves
// back to end at c). dwBlocks tells its blocks.
func dwChunk(c, c0 int) (start, r int) {
	r = min(32, c-c0)
	if r < 16 && r != 8 {
		return c - 16, 16
	}
	return c0, r
}

// dwBlocks returns how a chunk of r channels is computed: nb blocks of 16
// channels at 0 and off1 (for r < 32 the second overlaps the first and
// recomputes the same bytes), and for r = 24 and r = 8 instead an
// 8-channel block (hb) at off1, which would otherwise cost a whole block
// of 16 (MixNet-S's 72 and 120 channels: 80 and 128 computed).
func dwBlocks(r int) (nb, off1 int, hb bool) {
	switch r {
	case 8:
		return 0, 0, true
	case 16:
		return 1, 0, false
	case 24:
		return 1, 16, true
	}
	return 2, r - 16, false
}

// dwPhases returns the weight phases a chunk stores: the odd one too for
// the kernels dwPaired takes.
func dwPhases(k int) int {
	if k == 3 {
		return 2
	}
	return 1
}

// dwWeightsAVX2 writes the weights of the chunk of r channels at c0
// (dwBlocks: blocks at c0 and c0+off1) to w16: for each kernel row, the
// ring transform of its taps at step 2 (entry t pairs taps 2t and 2t+1; a
// tap past the row is 0), block 1 k*np entries after block 0; an 8-channel
// block takes block 1's place (32-byte entries). For k = 3 the odd phase
// follows (2*k*np entries after the start): the taps shifted by one, entry
// t pairing taps 2t-1 and 2t (tap -1 is 0).
func dwWeightsAVX2(w16 *int16, weights []int8, k, c, c0, r int) {
	var zero [32]int8
	np := (k + 1) / 2
	wHalf := k * np * dwBlockB
	nb, off1, hb := dwBlocks(r)
	for ph := range dwPhases(k) {
		for ky := range k {
			w := unsafe.Add(unsafe.Pointer(w16), ph*2*wHalf+ky*np*dwBlockB)
			if nb > 0 {
				dwRingAVX2((*int16)(w), &weights[ky*k*c+c0], c, k, ph, np, off1, &zero[0], 2, wHalf, nb)
			}
			if hb {
				dwRing8AVX2((*int16)(unsafe.Add(w, wHalf-ky*np*dwBlockB/2)), &weights[ky*k*c+c0+off1], c, k, ph, np,
					&zero[0], 2)
			}
		}
	}
}

// DWConvQS8AVX2 is DWConvQS8 in AVX2. weights are the plain [K][K][C]
// ones or packDWAVX2's form of them (which skips the per-call transform);
// the length tells them apart, so plain weights in a longer slice must
// not have exactly the packed form's length (pass weights[:K*K*C]).
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
	h, w, c, k := s.H, s.W, s.C, s.K
	need("DWConvQS8AVX2", "src", len(src), span(h*w, s.InStride, c))
	need("DWConvQS8AVX2", "dst", len(dst), span(oy1*s.OW, s.OutStride, c))
	need("DWConvQS8AVX2", "weights", len(weights), k*k*c)
	need("DWConvQS8AVX2", "bias", len(bias), c)
	need("DWConvQS8AVX2", "rq", len(rq), c)
	_, entries := dwGeom(s)
	rowN := entries * dwEntry // int16s per ring row
	if c < 16 || k > dwMaxK || (k+1)*rowN*2+dwAlign > dwRingSz {
		DWConvQS8(dst, src, weights[:k*k*c], bias, rq, s, zIn, zOut, qmin, qmax, oy0, oy1)
		return
	}
	if pk := dwPacked(weights, k, c); pk != nil {
		dwRing(dst, src, weights, pk, nil, bias, rq, s, zIn, zOut, qmin, qmax, oy0, oy1)
	} else {
		dwPlain(dst, src, weights, bias, rq, s, zIn, zOut, qmin, qmax, oy0, oy1)
	}
}

// dwPlain runs plain weights: its frame holds the scratch each chunk's
// weights are transformed into (packed weights skip it, and the zeroing
// Go does on every call).
//
//go:noinline
func dwPlain(dst, src []int8, weights []int8, bias []int32, rq []quant.Multiplier,
	s *DWConvShape, zIn, zOut, qmin, qmax int32, oy0, oy1 int) {
	var w16 [dwMaxK*(dwMaxK+1)/2*dwEntry + dwAlign/2]int16
	dwRing(dst, src, weights, nil, &align64(w16[:])[0], bias, rq, s, zIn, zOut, qmin, qmax, oy0, oy1)
}

// dwRingPool holds ring scratch for concurrent calls (one slot per worker
// thread): a ring in a stack frame is zeroed by Go on every call (16-96
// KiB, ~1.4 % of MixNet-S's depthwise time). A call that finds every slot
// busy takes one in the frame of dwStackRing.
var dwRingPool scratchSlots[dwScratch]

// dwScratch is a call's ring and the epilogue parameters the row kernels
// read while their stores to dst are in flight: in the pool slot rather
// than in the caller's frame, where a stack that happened to sit at dst's
// offsets modulo 4 KiB made those loads wait for the stores (4K aliasing;
// one build ran MixNet-S's AVX2 depthwise layers 2-3x slower for it, as
// the vnni kernel once did, kernels/VNNI.md).
type dwScratch struct {
	ring [dwRingSz / 2]int16
	ep   [dwRowsMax][4]dwRQ // a chunk's blocks (dwCtx.setup); byRows has up to dwRowsMax chunks
	out  dwOut
	// The input-row pointers a row kernel call reads: rows of the ring
	// (streaming) or of every input row ("whole").
	rows  [dwMaxK]*int16
	table [dwMaxTable]*int16
}

// dwRing runs dwChunks with scratch from dwRingPool, or on the stack.
func dwRing(dst, src []int8, weights, pk []int8, w16 *int16, bias []int32, rq []quant.Multiplier,
	s *DWConvShape, zIn, zOut, qmin, qmax int32, oy0, oy1 int) {
	whole := dwPlan(s, oy0, oy1)
	if sc, slot := dwRingPool.take(); sc != nil {
		dwChunks(sc, dst, src, weights, pk, w16, bias, rq, s, zIn, zOut, qmin, qmax, oy0, oy1, whole)
		dwRingPool.release(slot)
		return
	}
	dwStackRing(dst, src, weights, pk, w16, bias, rq, s, zIn, zOut, qmin, qmax, oy0, oy1, whole)
}

// dwPlan returns the mode. Small maps convert every input row of the call
// once per chunk and run all output rows in one kernel call per block
// ("whole"); otherwise a ring of K rows streams down the image, one kernel
// call per output row and block.
func dwPlan(s *DWConvShape, oy0, oy1 int) (whole bool) {
	_, entries := dwGeom(s)
	_, _, nv := dwSpan(s, oy0, oy1)
	return (oy1-oy0-1)*s.Stride+s.K <= dwMaxTable && (nv+1)*entries*dwEntry+dwAlign/2 <= 48<<10/2
}

// dwMaxTable bounds the input rows (image and padding) of a "whole" call.
const dwMaxTable = 64

// dwSpan returns the first input row output rows [oy0, oy1) read (may be
// negative), the first one inside the image and how many are inside.
func dwSpan(s *DWConvShape, oy0, oy1 int) (iyA, lo, nv int) {
	iyA = oy0*s.Stride - s.PadTop
	iyB := (oy1-1)*s.Stride - s.PadTop + s.K // exclusive
	lo, hi := max(iyA, 0), min(iyB, s.H)
	return iyA, lo, max(hi-lo, 0)
}

// dwStackRing is dwRing's fallback when every pool slot is busy (more
// concurrent calls than slots): a ring of the pool's size on the stack.
//
//go:noinline
func dwStackRing(dst, src []int8, weights, pk []int8, w16 *int16, bias []int32, rq []quant.Multiplier,
	s *DWConvShape, zIn, zOut, qmin, qmax int32, oy0, oy1 int, whole bool) {
	var sc dwScratch
	dwChunks(&sc, dst, src, weights, pk, w16, bias, rq, s, zIn, zOut, qmin, qmax, oy0, oy1, whole)
}

// dwCtx is what the chunk loops share: the call's geometry, operands and
// epilogue constants.
type dwCtx struct {
	s                                 *DWConvShape
	dst, src, weights, pk             []int8
	w16                               *int16
	bias                              []int32
	rq                                []quant.Multiplier
	k, np, step, entries, rowN, chunk int
	pixAdv, pairAdv                   int
	half                              int // bytes from a ring row's block 0 to its block 1
	wHalf                             int // the same for the weights
	paired                            bool
	rmax                              uint32
	z2                                int64
	zb                                [32]int8
	out                               *dwOut // in the call's scratch (dwScratch)
}

func newDWCtx(out *dwOut, dst, src []int8, weights, pk []int8, w16 *int16, bias []int32, rq []quant.Multiplier,
	s *DWConvShape, zIn, zOut, qmin, qmax int32) (x dwCtx) {
	x.s, x.dst, x.src, x.weights, x.pk, x.w16, x.bias, x.rq = s, dst, src, weights, pk, w16, bias, rq
	x.out = out
	x.k, x.np = s.K, (s.K+1)/2
	x.step, x.entries = dwGeom(s)
	x.rowN = x.entries * dwEntry
	x.chunk, _ = dwPackLen(s.K, s.C)
	x.pixAdv, x.pairAdv = s.Stride/x.step*dwBlockB, 2/x.step*dwBlockB
	x.paired = dwPaired(s)
	if x.paired {
		x.pixAdv, x.pairAdv = dwBlockB, dwBlockB
	}
	x.half = x.entries * dwBlockB
	x.wHalf = x.k * x.np * dwBlockB
	x.rmax, x.z2 = dwFastR(zOut), 2*int64(zOut)+1
	for i := range x.zb {
		x.zb[i] = int8(zIn)
	}
	for i := range x.out.zOut {
		x.out.zOut[i] = zOut
	}
	for i := range x.out.qmin {
		x.out.qmin[i], x.out.qmax[i] = int8(qmin), int8(qmax)
	}
	return x
}

// dwPart is one chunk as dwCtx.setup prepares it (dwBlocks).
type dwPart struct {
	c0, off1, nb int
	hb           bool
	fast         int    // every lane takes the short epilogue
	wt           *int16 // the chunk's weights
}

// setup prepares chunk ci (channels from c0, r of them): the epilogue
// parameters of its blocks in ep (block b's in ep[2b], ep[2b+1], an
// 8-channel block's in ep[2]), whether every lane takes the short
// epilogue (then only its fields are loaded), and its weights (packed, or
// transformed into w16).
func (x *dwCtx) setup(ci, c0, r int, ep *[4]dwRQ) (p dwPart) {
	p.c0 = c0
	p.nb, p.off1, p.hb = dwBlocks(r)
	bias, rq := x.bias, x.rq
	_, _ = bias[c0+r-1], rq[c0+r-1]
	if x.rmax > 0 {
		p.fast = 1
		if p.nb > 0 && dwEpFastAVX2(&ep[0], &bias[c0], &rq[c0], p.off1, p.nb, int32(x.z2)) >= x.rmax {
			p.fast = 0
		}
		if p.hb && !ep[2].setFast8(bias[c0+p.off1:], rq[c0+p.off1:], x.rmax, x.z2) {
			p.fast = 0
		}
	}
	if p.fast == 0 {
		off := [2]int{0, p.off1}
		for b := range p.nb {
			for v := range 2 {
				for i, l := range dwLane[v] {
					ch := c0 + off[b] + l
					ep[2*b+v].set(i, bias[ch], rq[ch])
				}
			}
		}
		if p.hb {
			for i := range 8 {
				ch := c0 + p.off1 + i
				ep[2].set(i, bias[ch], rq[ch])
			}
		}
	}
	if x.pk != nil {
		p.wt = (*int16)(unsafe.Pointer(&x.pk[ci*x.chunk]))
		return p
	}
	dwWeightsAVX2(x.w16, x.weights, x.k, x.s.C, c0, r)
	p.wt = x.w16
	return p
}

// setFast8 loads the short epilogue's fields of an 8-channel block (lanes
// in channel order, as dwEpFastAVX2 for one accumulator) and reports
// whether every lane takes it.
func (v *dwRQ) setFast8(bias []int32, rq []quant.Multiplier, rmax uint32, z2 int64) bool {
	ok := true
	for i := range 8 {
		m := rq[i]
		v.bias[i] = bias[i]
		if i%2 == 0 {
			v.mE[i] = m.M
		} else {
			v.mO[i-1] = m.M
		}
		r := uint32(m.Shift - 2)
		if r >= rmax {
			ok = false
			continue
		}
		v.rsh[i], v.kq[i] = m.Shift-1, int32(z2<<r)
	}
	return ok
}

// convert builds ring row row from input row iy of chunk p (an 8-channel
// block in block 1's place, 32-byte entries).
func (x *dwCtx) convert(row []int16, iy int, p *dwPart) {
	s := x.s
	in := iy*s.W*s.InStride + p.c0
	if p.nb > 0 {
		dwRingAVX2(&row[0], &x.src[in], s.InStride, s.W, s.PadLeft, x.entries, p.off1, &x.zb[0], x.step, x.half, p.nb)
	}
	if p.hb {
		dwRing8AVX2(&row[x.half/2], &x.src[in+p.off1], s.InStride, s.W, s.PadLeft, x.entries, &x.zb[0], x.step)
	}
}

// rowOut runs nrows output rows of chunk p from dst offset d (rows
// advance by rowStep bytes in rp, dst by dstStep): one kernel call per
// block, or for dwPaired the even pixels with the even weights and the
// odd ones with the odd phase (2*wHalf further), each at twice the output
// stride.
func (x *dwCtx) rowOut(p *dwPart, d int, rp **int16, nrows, rowStep, dstStep int, ep *[4]dwRQ) {
	s, k, np := x.s, x.k, x.np
	ow, ostr, nph := s.OW, s.OutStride, 1
	if x.paired {
		ow, ostr, nph = (s.OW+1)/2, 2*s.OutStride, 2
	}
	for ph := range nph {
		d := d + ph*s.OutStride
		ow := ow - ph*(s.OW%2)
		w := unsafe.Add(unsafe.Pointer(p.wt), ph*2*x.wHalf)
		for b := range p.nb {
			off := [2]int{0, p.off1}[b]
			dwRowAVX2(&x.dst[d+off], ostr, ow, rp, k, x.pixAdv, x.pairAdv, (*int16)(unsafe.Add(w, b*x.wHalf)), np, &ep[2*b],
				x.out, b*x.half, p.fast, nrows, rowStep, dstStep)
		}
		if p.hb {
			dwRowHAVX2(&x.dst[d+p.off1], ostr, ow, rp, k, x.pixAdv/2, x.pairAdv/2, (*int16)(unsafe.Add(w, x.wHalf)), np, &ep[2],
				x.out, x.half, p.fast, nrows, rowStep, dstStep)
		}
	}
}

// dwChunks is the body of DWConvQS8AVX2, after the checks, with a ring of
// at least (K+1) rows, or of every input row the call reads plus one when
// whole. pk is the packed weights (dwPacked), or nil and each chunk's
// weights are transformed into w16 (64-byte aligned, room for K = 11, or
// both phases of K = 3).
func dwChunks(sc *dwScratch, dst, src []int8, weights, pk []int8, w16 *int16, bias []int32, rq []quant.Multiplier,
	s *DWConvShape, zIn, zOut, qmin, qmax int32, oy0, oy1 int, whole bool) {
	x := newDWCtx(&sc.out, dst, src, weights, pk, w16, bias, rq, s, zIn, zOut, qmin, qmax)
	c, k, st, rowN := s.C, s.K, s.Stride, x.rowN
	ring := align64(sc.ring[:])
	if !whole && dwByRows(s, pk, len(ring)) {
		x.byRows(ring, &sc.ep, &sc.rows, oy0, oy1)
		return
	}
	rows, table := &sc.rows, &sc.table
	ep := &sc.ep[0]
	zrow := ring[k*rowN : (k+1)*rowN]
	iyA, lo, nv := dwSpan(s, oy0, oy1)
	if whole {
		zrow = ring[nv*rowN : (nv+1)*rowN]
		for j := range (oy1-oy0-1)*st + k {
			table[j] = &zrow[0]
			if iy := iyA + j; iy >= lo && iy < lo+nv {
				table[j] = &ring[(iy-lo)*rowN]
			}
		}
	}
	// The padding row (every column zIn) is the same for every chunk.
	dwRingAVX2(&zrow[0], &src[0], s.InStride, 0, 0, x.entries, 0, &x.zb[0], x.step, x.half, 2)
	for ci, c0 := 0, 0; c0 < c; ci, c0 = ci+1, c0+32 {
		c0, r := dwChunk(c, c0) // shadows the loop's c0
		p := x.setup(ci, c0, r, ep)
		if whole {
			for i := range nv {
				x.convert(ring[i*rowN:], lo+i, &p)
			}
			x.rowOut(&p, oy0*s.OW*s.OutStride+c0, &table[0], oy1-oy0, st*8, s.OW*s.OutStride, ep)
			continue
		}
		rs := newDWStream(ring, zrow)
		for oy := oy0; oy < oy1; oy++ {
			x.streamRows(&rs, oy, &p, rows)
			x.rowOut(&p, oy*s.OW*s.OutStride+c0, &rows[0], 1, 0, 0, ep)
		}
	}
}

// dwRowsMin is the input size (bytes the image spans) from which a
// streaming call with several chunks goes output row by output row over
// every chunk (byRows): per chunk, the rows of an image that does not stay
// in the L2 would come from memory again (MixNet-S's 112x112x96 stride-2
// layer: each chunk pass touches every line of its 1.2 MB; 56x56x144:
// 0.97-0.99x). At 128 KiB the 28x28 layers went 0-7% slower. dwRowsMax
// bounds the chunks.
const (
	dwRowsMin = 256 << 10
	dwRowsMax = 4
)

// dwByRows reports whether a streaming call goes byRows: packed weights
// (the chunks' weights all at hand), an image of dwRowsMin bytes or more,
// 2 to dwRowsMax chunks whose rings (K rows each) and the padding row fit
// in a ring of n int16s.
func dwByRows(s *DWConvShape, pk []int8, n int) bool {
	if pk == nil || span(s.H*s.W, s.InStride, s.C) < dwRowsMin {
		return false
	}
	nch := (s.C + 31) / 32
	_, entries := dwGeom(s)
	return nch >= 2 && nch <= dwRowsMax && (nch*s.K+1)*entries*dwEntry <= n
}

// byRows is dwChunks' streaming loop with the output rows outermost: each
// chunk keeps its own ring of K rows (chunk ci's at ring[ci*K*rowN:]), so
// each input row is converted for every chunk in turn while its lines are
// in the cache.
func (x *dwCtx) byRows(ring []int16, ep *[dwRowsMax][4]dwRQ, rows *[dwMaxK]*int16, oy0, oy1 int) {
	s, k, rowN := x.s, x.k, x.rowN
	nch := (s.C + 31) / 32
	zrow := ring[nch*k*rowN : (nch*k+1)*rowN]
	dwRingAVX2(&zrow[0], &x.src[0], s.InStride, 0, 0, x.entries, 0, &x.zb[0], x.step, x.half, 2)
	var (
		parts  [dwRowsMax]dwPart
		stream [dwRowsMax]dwStream
	)
	for ci := range nch {
		c0, r := dwChunk(s.C, ci*32)
		parts[ci] = x.setup(ci, c0, r, &ep[ci])
		stream[ci] = newDWStream(ring[ci*k*rowN:], zrow)
	}
	for oy := oy0; oy < oy1; oy++ {
		for ci := range nch {
			x.streamRows(&stream[ci], oy, &parts[ci], rows)
			x.rowOut(&parts[ci], oy*s.OW*s.OutStride+parts[ci].c0, &rows[0], 1, 0, 0, &ep[ci])
		}
	}
}

// dwStream is a ring of K input rows streaming down the image for one
// chunk: slot iy%K holds input row slotRow[iy%K] (-1: none yet).
type dwStream struct {
	ring, zrow []int16
	slotRow    [dwMaxK]int
}

func newDWStream(ring, zrow []int16) dwStream {
	r := dwStream{ring: ring, zrow: zrow}
	for i := range r.slotRow {
		r.slotRow[i] = -1
	}
	return r
}

// streamRows points rows at the K input rows output row oy reads (the
// padding row outside the image), converting those the ring lacks.
func (x *dwCtx) streamRows(r *dwStream, oy int, p *dwPart, rows *[dwMaxK]*int16) {
	s, k, rowN := x.s, x.k, x.rowN
	iy0 := oy*s.Stride - s.PadTop
	for ky := range k {
		iy := iy0 + ky
		if iy < 0 || iy >= s.H {
			rows[ky] = &r.zrow[0]
			continue
		}
		slot := iy % k
		row := r.ring[slot*rowN : (slot+1)*rowN]
		if r.slotRow[slot] != iy {
			r.slotRow[slot] = iy
			x.convert(row, iy, p)
		}
		rows[ky] = &row[0]
	}
}
