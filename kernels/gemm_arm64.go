//go:build !purego

package kernels

import (
	"unsafe"

	"github.com/mixedge/mixedge/quant"
)

// The arm64 GEMMs read weights packed by packGEMMNeon / packGEMMDot and
// compute 4 pixels x nr output channels per register tile (gemmQ8Dot8: 8
// pixels, rows%8 == 0; the *1 variants: 1 pixel, for the last rows%4
// pixels; the 4-pixel kernels require rows%4 == 0). The asm
// functions handle nblk blocks of nr channels, storing the first cols of
// each block (cols < nr only for a padded tail block, nblk == 1). They read
// kpad input bytes per pixel row; the wrapper guarantees that read stays
// inside src's capacity (the padded weights are zero, so the extra bytes do
// not count).

// The neon kernels keep each block's bias (interleaved with zeros), M, R
// and L, or scales, in scr: their row loop needs every register (see
// neongen's genNeonP).
//
//go:noescape
func gemmQ8Neon(dst *int8, dstStride int, src *int8, srcStride int, rows, kpad, nblk, cols int,
	w *int8, bias *int32, rq *quant.Multiplier, zOut, qmin, qmax int32, scr *[40]int32)

//go:noescape
func gemmF32Neon(dst *float32, dstStride int, src *int8, srcStride int, rows, kpad, nblk, cols int,
	w *int8, bias *int32, scale *float32, scr *[40]int32)

//go:noescape
func gemmQ8Dot(dst *int8, dstStride int, src *int8, srcStride int, rows, kpad, nblk, cols int,
	w *int8, bias *int32, rq *quant.Multiplier, zOut, qmin, qmax int32)

//go:noescape
func gemmF32Dot(dst *float32, dstStride int, src *int8, srcStride int, rows, kpad, nblk, cols int,
	w *int8, bias *int32, scale *float32)

//go:noescape
func gemmQ8Neon1(dst *int8, dstStride int, src *int8, srcStride int, rows, kpad, nblk, cols int,
	w *int8, bias *int32, rq *quant.Multiplier, zOut, qmin, qmax int32, scr *[40]int32)

// gemmQ8NeonK8 is gemmQ8Neon for kpad == 8 over nblk 8-channel blocks
// (cols == 8), rows % 4 == 0: lanes are output channels (MUL/MLA by
// element, SADDW), see neongen's genNeonK8.
//
//go:noescape
func gemmQ8NeonK8(dst *int8, dstStride int, src *int8, srcStride int, rows, kpad, nblk, cols int,
	w *int8, bias *int32, rq *quant.Multiplier, zOut, qmin, qmax int32)

// gemmQ8Dot8 is gemmQ8Dot for 8-row groups of whole 8-channel blocks
// (rows % 8 == 0): 16 sums, 8 weight and 8 input registers, so each
// block's requantization constants and bias go through scr (see neongen's genDot8),
// and 16 copies of zOut at scr[40:].
//
//go:noescape
func gemmQ8Dot8(dst *int8, dstStride int, src *int8, srcStride int, rows, kpad, nblk int,
	w *int8, bias *int32, rq *quant.Multiplier, zOut, qmin, qmax int32, scr *[56]int32)

// gemmQ8NeonH and gemmQ8Dot8H compute only channels 4-7 of one 8-channel
// block (nblk == 1, cols == 8), storing them at dst+4: the overlapping last
// block when n % 8 <= 4, whose channels 0-3 the block before it has
// computed. Half the multiplies of the whole block.
//
//go:noescape
func gemmQ8NeonH(dst *int8, dstStride int, src *int8, srcStride int, rows, kpad, nblk, cols int,
	w *int8, bias *int32, rq *quant.Multiplier, zOut, qmin, qmax int32, scr *[40]int32)

//go:noescape
func gemmQ8Dot8H(dst *int8, dstStride int, src *int8, srcStride int, rows, kpad, nblk int,
	w *int8, bias *int32, rq *quant.Multiplier, zOut, qmin, qmax int32, scr *[56]int32)

// gemmQ8Dot8Packed and gemmQ8Dot8HPacked are gemmQ8Dot8 and gemmQ8Dot8H
// over rows packed by packDot8Rows (srcStride = kpad): a 16-k step's inputs
// are 2 loads instead of 8.
//
//go:noescape
func gemmQ8Dot8Packed(dst *int8, dstStride int, src *int8, srcStride int, rows, kpad, nblk int,
	w *int8, bias *int32, rq *quant.Multiplier, zOut, qmin, qmax int32, scr *[56]int32)

//go:noescape
func gemmQ8Dot8HPacked(dst *int8, dstStride int, src *int8, srcStride int, rows, kpad, nblk int,
	w *int8, bias *int32, rq *quant.Multiplier, zOut, qmin, qmax int32, scr *[56]int32)

// packDot8Rows copies rows (a multiple of 8) rows of kpad bytes, srcStride
// apart, to dst as [rows/8][kpad/16][8][16], then the 8-k and 4-k tail
// steps as [8][8] and [8][4] (rows*kpad bytes).
//
//go:noescape
func packDot8Rows(dst *int8, src *int8, srcStride, rows, kpad int)

//go:noescape
func gemmQ8Dot1(dst *int8, dstStride int, src *int8, srcStride int, rows, kpad, nblk, cols int,
	w *int8, bias *int32, rq *quant.Multiplier, zOut, qmin, qmax int32)

//go:noescape
func gemmF32Neon1(dst *float32, dstStride int, src *int8, srcStride int, rows, kpad, nblk, cols int,
	w *int8, bias *int32, scale *float32, scr *[40]int32)

//go:noescape
func gemmF32Dot1(dst *float32, dstStride int, src *int8, srcStride int, rows, kpad, nblk, cols int,
	w *int8, bias *int32, scale *float32)

// gemmQ8Asm and gemmF32Asm call the asm of a layout directly (not through
// a func value, which would make escape analysis move the stack row
// buffer to the heap).
type (
	gemmQ8Asm  bool
	gemmF32Asm bool
)

const (
	q8Neon  gemmQ8Asm  = false
	q8Dot   gemmQ8Asm  = true
	f32Neon gemmF32Asm = false
	f32Dot  gemmF32Asm = true
)

// callHalf computes channels 4-7 of one overlapping last block: the
// half-block kernel for the 8-row (dotprod) or 4-row (neon) groups, the
// whole block for the remaining rows.
func (dot gemmQ8Asm) callHalf(dst *int8, dstStride int, src *int8, srcStride int, rows, kpad int,
	w *int8, bias *int32, rq *quant.Multiplier, zOut, qmin, qmax int32) {
	var scr [56]int32
	var rh int
	if dot {
		if rh = rows &^ 7; rh > 0 {
			gemmQ8Dot8H(dst, dstStride, src, srcStride, rh, kpad, 1, w, bias, rq, zOut, qmin, qmax, &scr)
		}
	} else if rh = rows &^ 3; rh > 0 {
		gemmQ8NeonH(dst, dstStride, src, srcStride, rh, kpad, 1, 8, w, bias, rq, zOut, qmin, qmax, (*[40]int32)(scr[:40]))
	}
	if rh < rows {
		dst = (*int8)(unsafe.Add(unsafe.Pointer(dst), rh*dstStride))
		src = (*int8)(unsafe.Add(unsafe.Pointer(src), rh*srcStride))
		dot.call(dst, dstStride, src, srcStride, rows-rh, kpad, 1, 8, w, bias, rq, zOut, qmin, qmax)
	}
}

func (dot gemmQ8Asm) call(dst *int8, dstStride int, src *int8, srcStride int, rows, kpad, nblk, cols int,
	w *int8, bias *int32, rq *quant.Multiplier, zOut, qmin, qmax int32) {
	var scr [56]int32
	if r8 := rows &^ 7; dot && r8 > 0 && cols == 8 {
		gemmQ8Dot8(dst, dstStride, src, srcStride, r8, kpad, nblk, w, bias, rq, zOut, qmin, qmax, &scr)
		if rows == r8 {
			return
		}
		dst = (*int8)(unsafe.Add(unsafe.Pointer(dst), r8*dstStride))
		src = (*int8)(unsafe.Add(unsafe.Pointer(src), r8*srcStride))
		rows -= r8
	}
	r4 := rows &^ 3
	if r4 > 0 {
		if dot {
			gemmQ8Dot(dst, dstStride, src, srcStride, r4, kpad, nblk, cols, w, bias, rq, zOut, qmin, qmax)
		} else {
			gemmQ8Neon(dst, dstStride, src, srcStride, r4, kpad, nblk, cols, w, bias, rq, zOut, qmin, qmax, (*[40]int32)(scr[:40]))
		}
	}
	if rows == r4 {
		return
	}
	dst = (*int8)(unsafe.Add(unsafe.Pointer(dst), r4*dstStride))
	src = (*int8)(unsafe.Add(unsafe.Pointer(src), r4*srcStride))
	if dot {
		gemmQ8Dot1(dst, dstStride, src, srcStride, rows-r4, kpad, nblk, cols, w, bias, rq, zOut, qmin, qmax)
	} else {
		gemmQ8Neon1(dst, dstStride, src, srcStride, rows-r4, kpad, nblk, cols, w, bias, rq, zOut, qmin, qmax, (*[40]int32)(scr[:40]))
	}
}

func (dot gemmF32Asm) call(dst *float32, dstStride int, src *int8, srcStride int, rows, kpad, nblk, cols int,
	w *int8, bias *int32, scale *float32) {
	var scr [40]int32
	r4 := rows &^ 3
	if r4 > 0 {
		if dot {
			gemmF32Dot(dst, dstStride, src, srcStride, r4, kpad, nblk, cols, w, bias, scale)
		} else {
			gemmF32Neon(dst, dstStride, src, srcStride, r4, kpad, nblk, cols, w, bias, scale, &scr)
		}
	}
	if rows == r4 {
		return
	}
	dst = (*float32)(unsafe.Add(unsafe.Pointer(dst), 4*r4*dstStride))
	src = (*int8)(unsafe.Add(unsafe.Pointer(src), r4*srcStride))
	if dot {
		gemmF32Dot1(dst, dstStride, src, srcStride, rows-r4, kpad, nblk, cols, w, bias, scale)
	} else {
		gemmF32Neon1(dst, dstStride, src, srcStride, rows-r4, kpad, nblk, cols, w, bias, scale, &scr)
	}
}

// gemmLayout describes one packed weight layout.
type gemmLayout struct {
	nr   int // output channels per block
	kmul int // kpad is k rounded up to this
}

var (
	// [n/8][kpad/4][8][4] for both: SDOT reads a 4-k group of 8 channels,
	// the neon kernels a pair of groups of 4 channels (genNeonP)
	neonLayout = gemmLayout{nr: 8, kmul: 4}
	dotLayout  = gemmLayout{nr: 8, kmul: 4}
)

// When n > nr is not a multiple of nr, the last block holds channels
// n-nr … n-1 (overlapping the block before it) instead of a padded block,
// so that every block is stored whole by the 16-byte / 8-byte lane stores
// (a padded block took a lane-by-lane slow path: 0.8 M instructions a
// MixNet-S frame on dotprod, whose grouped 1×1s have n = 12, 20, 60, 100).
// Only n < nr pads (with zero weights).

func (l gemmLayout) kpad(k int) int { return (k + l.kmul - 1) / l.kmul * l.kmul }

func (l gemmLayout) size(k, n int) int { return (n + l.nr - 1) / l.nr * l.nr * l.kpad(k) }

// lastStart is the first channel of the last block when n % nr != 0.
func (l gemmLayout) lastStart(n int) int { return max(n-l.nr, 0) }

// channel is the output channel of lane c of block b, -1 for padding.
func (l gemmLayout) channel(b, c, n int) int {
	if b < n/l.nr {
		return b*l.nr + c
	}
	if co := l.lastStart(n) + c; co < n {
		return co
	}
	return -1
}

// index is the position of w[co][ci] in the packed slice (its first copy
// when co is in two blocks).
func (l gemmLayout) index(co, ci, kp, n int) int {
	b, c := co/l.nr, co%l.nr
	if co >= n/l.nr*l.nr { // the last, overlapping or padded block
		c = co - l.lastStart(n)
	}
	return b*l.nr*kp + ci/4*32 + c*4 + ci%4
}

func (l gemmLayout) pack(w []int8, k, n int) []int8 {
	if k <= 0 || n <= 0 {
		panic("kernels: PackGEMM: k and n must be positive")
	}
	need("PackGEMM", "w", len(w), n*k)
	out := make([]int8, l.size(k, n))
	l.packInto(out, w, k, n)
	return out
}

// packInto packs w ([n][k]) into out (l.size(k, n) bytes, zero).
func (l gemmLayout) packInto(out, w []int8, k, n int) {
	kp := l.kpad(k)
	// Runs of 4 k of w's row are contiguous in the layout: copy them, as
	// index would place each byte (a byte-by-byte loop with a division per
	// byte cost ~10^8 instructions at load on a Pi).
	nb := (n + l.nr - 1) / l.nr
	for b := range nb {
		base := b * l.nr * kp
		for c := range l.nr {
			co := l.channel(b, c, n)
			if co < 0 {
				continue
			}
			row := w[co*k : co*k+k]
			k4 := k &^ 3
			for k0 := 0; k0 < k4; k0 += 4 { // 4-byte moves: a copy call each cost ~45 instructions
				*(*[4]int8)(out[base+k0*8+c*4:]) = *(*[4]int8)(row[k0:])
			}
			if k4 < k {
				copy(out[base+k4*8+c*4:], row[k4:])
			}
		}
	}
}

func packGEMMNeon(w []int8, k, n int) []int8 { return neonLayout.pack(w, k, n) }
func packGEMMDot(w []int8, k, n int) []int8  { return dotLayout.pack(w, k, n) }

// safeRows is how many leading rows can be read kp bytes wide without
// leaving src's capacity.
func safeRows(src []int8, srcStride, pixels, kp int) int {
	c := cap(src)
	if (pixels-1)*srcStride+kp <= c {
		return pixels
	}
	if kp > c {
		return 0
	}
	return min(pixels, (c-kp)/srcStride+1)
}

// rowBufLen bounds the stack copy of a pixel row whose padded read would
// leave src; longer rows of that kind take the scalar path.
const rowBufLen = 4096

func gemmQ8Arm64(name string, l gemmLayout, fn gemmQ8Asm, dst []int8, dstStride int, src []int8, srcStride int,
	pixels, k, n int, w []int8, bias []int32, rq []quant.Multiplier, zOut, qmin, qmax int32) {
	if pixels <= 0 || n <= 0 {
		return
	}
	kp := l.kpad(k)
	checkGEMM(name, len(src), srcStride, pixels, k, n, n*k, len(bias))
	need(name, "packed w", len(w), l.size(k, n))
	checkStride(name, "dst", dstStride, n)
	need(name, "dst", len(dst), span(pixels, dstStride, n))
	need(name, "rq", len(rq), n)
	// The multipliers are not checked here (a loop over n per call was 0.4 %
	// of a frame under qemu): whoever builds them validates them once
	// (quant.ConvMultipliers, the firmware decoder), and one out of its range
	// gives wrong numbers, never an access outside the operands.
	safe := safeRows(src, srcStride, pixels, kp)
	if safe > 0 {
		gemmQ8Blocks(l, fn, dst, dstStride, &src[0], srcStride, safe, k, n, w, bias, rq, zOut, qmin, qmax)
	}
	for p := safe; p < pixels; p++ {
		gemmQ8Row(l, fn, dst[p*dstStride:], src[p*srcStride:][:k], k, n, w, bias, rq, zOut, qmin, qmax)
	}
}

func gemmQ8Blocks(l gemmLayout, fn gemmQ8Asm, dst []int8, dstStride int, src *int8, srcStride, rows, k, n int,
	w []int8, bias []int32, rq []quant.Multiplier, zOut, qmin, qmax int32) {
	kp := l.kpad(k)
	if fn == q8Dot && dotPackPays(rows&^7, kp, n) {
		r := gemmQ8DotPacked(dst, dstStride, src, srcStride, rows&^7, kp, n, w, bias, rq, zOut, qmin, qmax)
		if r == rows {
			return
		}
		dst, src, rows = dst[r*dstStride:], (*int8)(unsafe.Add(unsafe.Pointer(src), r*srcStride)), rows-r
	}
	if r4, n8 := rows&^3, n&^7; fn == q8Neon && kp == 8 && r4 > 0 && n8 > 0 {
		// k <= 8: the 8-channel kernel for the 4-row groups of the first
		// n8 channels, the usual kernels for the rest.
		gemmQ8NeonK8(&dst[0], dstStride, src, srcStride, r4, kp, n8/8, 8, &w[0], &bias[0], &rq[0], zOut, qmin, qmax)
		if n8 < n {
			gemmQ8BlocksFrom(l, fn, n8/l.nr, dst, dstStride, src, srcStride, r4, k, n, w, bias, rq, zOut, qmin, qmax)
		}
		if r4 < rows {
			gemmQ8BlocksFrom(l, fn, 0, dst[r4*dstStride:], dstStride, (*int8)(unsafe.Add(unsafe.Pointer(src), r4*srcStride)),
				srcStride, rows-r4, k, n, w, bias, rq, zOut, qmin, qmax)
		}
		return
	}
	gemmQ8BlocksFrom(l, fn, 0, dst, dstStride, src, srcStride, rows, k, n, w, bias, rq, zOut, qmin, qmax)
}

// gemmQ8BlocksFrom computes the layout's blocks b0… of n channels.
func gemmQ8BlocksFrom(l gemmLayout, fn gemmQ8Asm, b0 int, dst []int8, dstStride int, src *int8, srcStride, rows, k, n int,
	w []int8, bias []int32, rq []quant.Multiplier, zOut, qmin, qmax int32) {
	kp := l.kpad(k)
	nfull, tail := n/l.nr, n%l.nr
	if nfull > b0 {
		c := b0 * l.nr
		fn.call(&dst[c], dstStride, src, srcStride, rows, kp, nfull-b0, l.nr, &w[c*kp], &bias[c], &rq[c], zOut, qmin, qmax)
	}
	if tail > 0 && nfull > 0 { // the overlapping last block
		c0 := l.lastStart(n)
		if tail <= l.nr/2 { // its first half was computed by the block before
			fn.callHalf(&dst[c0], dstStride, src, srcStride, rows, kp, &w[nfull*l.nr*kp], &bias[c0], &rq[c0], zOut, qmin, qmax)
		} else {
			fn.call(&dst[c0], dstStride, src, srcStride, rows, kp, 1, l.nr, &w[nfull*l.nr*kp], &bias[c0], &rq[c0], zOut, qmin, qmax)
		}
	} else if tail > 0 {
		var tb [8]int32
		var tr [8]quant.Multiplier
		for i := range tr {
			tr[i].Shift = 1 // padding lanes: no left shift (the SQSHLs stay skipped)
		}
		copy(tb[:], bias[:n])
		copy(tr[:], rq[:n])
		fn.call(&dst[0], dstStride, src, srcStride, rows, kp, 1, tail, &w[0], &tb[0], &tr[0], zOut, qmin, qmax)
	}
}

// gemmQ8Row handles one pixel whose padded read would leave src.
func gemmQ8Row(l gemmLayout, fn gemmQ8Asm, dst []int8, x []int8, k, n int,
	w []int8, bias []int32, rq []quant.Multiplier, zOut, qmin, qmax int32) {
	kp := l.kpad(k)
	if kp <= rowBufLen {
		var buf [rowBufLen]int8
		copy(buf[:], x)
		gemmQ8Blocks(l, fn, dst, n, &buf[0], kp, 1, k, n, w, bias, rq, zOut, qmin, qmax)
		return
	}
	for co := range n {
		dst[co] = quant.Requantize(bias[co]+l.dot(x, w, co, kp, n), rq[co], zOut, qmin, qmax)
	}
}

func (l gemmLayout) dot(x, w []int8, co, kp, n int) int32 {
	var a int32
	for ci, xv := range x {
		a += int32(xv) * int32(w[l.index(co, ci, kp, n)])
	}
	return a
}

func gemmF32Arm64(name string, l gemmLayout, fn gemmF32Asm, dst []float32, src []int8, srcStride int,
	pixels, k, n int, w []int8, bias []int32, scale []float32) {
	if pixels <= 0 || n <= 0 {
		return
	}
	kp := l.kpad(k)
	checkGEMM(name, len(src), srcStride, pixels, k, n, n*k, len(bias))
	need(name, "packed w", len(w), l.size(k, n))
	need(name, "dst", len(dst), pixels*n)
	need(name, "scale", len(scale), n)
	safe := safeRows(src, srcStride, pixels, kp)
	if safe > 0 {
		gemmF32Blocks(l, fn, dst, n, &src[0], srcStride, safe, kp, n, w, bias, scale)
	}
	for p := safe; p < pixels; p++ {
		gemmF32Row(l, fn, dst[p*n:], src[p*srcStride:][:k], k, n, w, bias, scale)
	}
}

func gemmF32Blocks(l gemmLayout, fn gemmF32Asm, dst []float32, dstStride int, src *int8, srcStride, rows, kp, n int,
	w []int8, bias []int32, scale []float32) {
	nfull, tail := n/l.nr, n%l.nr
	if nfull > 0 {
		fn.call(&dst[0], dstStride, src, srcStride, rows, kp, nfull, l.nr, &w[0], &bias[0], &scale[0])
	}
	if tail > 0 && nfull > 0 { // the overlapping last block
		c0 := l.lastStart(n)
		fn.call(&dst[c0], dstStride, src, srcStride, rows, kp, 1, l.nr, &w[nfull*l.nr*kp], &bias[c0], &scale[c0])
	} else if tail > 0 {
		var tb [8]int32
		var ts [8]float32
		copy(tb[:], bias[:n])
		copy(ts[:], scale[:n])
		fn.call(&dst[0], dstStride, src, srcStride, rows, kp, 1, tail, &w[0], &tb[0], &ts[0])
	}
}

func gemmF32Row(l gemmLayout, fn gemmF32Asm, dst []float32, x []int8, k, n int,
	w []int8, bias []int32, scale []float32) {
	kp := l.kpad(k)
	if kp <= rowBufLen {
		var buf [rowBufLen]int8
		copy(buf[:], x)
		gemmF32Blocks(l, fn, dst, n, &buf[0], kp, 1, kp, n, w, bias, scale)
		return
	}
	for co := range n {
		dst[co] = float32(bias[co]+l.dot(x, w, co, kp, n)) * scale[co]
	}
}

func gemmQS8Neon(dst []int8, dstStride int, src []int8, srcStride int, pixels, k, n int,
	w []int8, bias []int32, rq []quant.Multiplier, zOut, qmin, qmax int32) {
	gemmQ8Arm64("GEMMQS8 neon", neonLayout, q8Neon, dst, dstStride, src, srcStride, pixels, k, n, w, bias, rq, zOut, qmin, qmax)
}

func gemmQS8Dot(dst []int8, dstStride int, src []int8, srcStride int, pixels, k, n int,
	w []int8, bias []int32, rq []quant.Multiplier, zOut, qmin, qmax int32) {
	gemmQ8Arm64("GEMMQS8 dotprod", dotLayout, q8Dot, dst, dstStride, src, srcStride, pixels, k, n, w, bias, rq, zOut, qmin, qmax)
}

func gemmQS8F32Neon(dst []float32, src []int8, srcStride int, pixels, k, n int, w []int8, bias []int32, scale []float32) {
	gemmF32Arm64("GEMMQS8F32 neon", neonLayout, f32Neon, dst, src, srcStride, pixels, k, n, w, bias, scale)
}

func gemmQS8F32Dot(dst []float32, src []int8, srcStride int, pixels, k, n int, w []int8, bias []int32, scale []float32) {
	gemmF32Arm64("GEMMQS8F32 dotprod", dotLayout, f32Dot, dst, src, srcStride, pixels, k, n, w, bias, scale)
}

// The dotprod tier packs the 8-row groups of a GEMM's input once
// (packDot8Rows) when its n channels span several blocks: every block then
// loads a 16-k step of 8 rows with 2 loads instead of 8.
const dotPackBytes = 32 << 10 // scratch of one call: rows*kpad bytes a chunk

// dotPackPays reports whether packing rows8 rows of kpad bytes saves
// instructions over the nb blocks of n channels (the overlapping last
// block, whole or half, counts as one). Per 8-row group, from the
// generated code: the packed kernels save 2 + 6 per 16-k step + 7 per 8-k
// or 4-k step for each block; packDot8Rows costs 9 + 11 and 9 of them;
// a call's fixed cost (the scratch slot, the extra calls) is about
// dotPackCall. Two blocks barely gain or lose (s + 5t > 5); from three on
// it pays for every k. On a MixNet-S frame (frames.sh, cortex-a76) the GEMM
// symbols count 4 k fewer with this rule than packing every n > 16, 12 k
// fewer than every n > 8, 34 k fewer than every n > 20.
func dotPackPays(rows8, kp, n int) bool {
	if n <= 8 || rows8 < 8 {
		return false
	}
	s, t := kp/16, (kp>>3&1)+(kp>>2&1)
	nb := (n + 7) / 8
	return rows8/8*(nb*(2+6*s+7*t)-(9+11*s+9*t)) > dotPackCall
}

const dotPackCall = 150

// dotPackLimit is the packed bytes of one chunk (tests lower it to force
// several chunks).
var dotPackLimit = dotPackBytes

type dotPackScratch struct {
	rows [dotPackBytes]int8
	scr  [56]int32
}

// dotPackPool holds the packed rows of concurrent calls (one per worker
// thread); a call that finds every slot busy runs unpacked.
var dotPackPool scratchSlots[dotPackScratch]

// gemmQ8DotPacked computes rows8 (a multiple of 8) rows of n > 8 channels
// over packed chunks of rows; it returns the rows done: rows8, or 0 when
// no scratch is free or a chunk of 8 rows does not fit.
func gemmQ8DotPacked(dst []int8, dstStride int, src *int8, srcStride, rows8, kp, n int,
	w []int8, bias []int32, rq []quant.Multiplier, zOut, qmin, qmax int32) int {
	chunk := dotPackLimit / kp &^ 7
	if chunk == 0 {
		return 0
	}
	sc, slot := dotPackPool.take()
	if sc == nil {
		return 0
	}
	nfull, tail := n/8, n%8
	c0 := max(n-8, 0)
	for r0 := 0; r0 < rows8; r0 += chunk {
		m := min(chunk, rows8-r0)
		packDot8Rows(&sc.rows[0], (*int8)(unsafe.Add(unsafe.Pointer(src), r0*srcStride)), srcStride, m, kp)
		d := dst[r0*dstStride:]
		gemmQ8Dot8Packed(&d[0], dstStride, &sc.rows[0], kp, m, kp, nfull, &w[0], &bias[0], &rq[0], zOut, qmin, qmax, &sc.scr)
		switch { // the overlapping last block: its channels 4-7, or all 8
		case tail > 0 && tail <= 4:
			gemmQ8Dot8HPacked(&d[c0], dstStride, &sc.rows[0], kp, m, kp, 1, &w[nfull*8*kp], &bias[c0], &rq[c0], zOut, qmin, qmax, &sc.scr)
		case tail > 4:
			gemmQ8Dot8Packed(&d[c0], dstStride, &sc.rows[0], kp, m, kp, 1, &w[nfull*8*kp], &bias[c0], &rq[c0], zOut, qmin, qmax, &sc.scr)
		}
	}
	dotPackPool.release(slot)
	return rows8
}
