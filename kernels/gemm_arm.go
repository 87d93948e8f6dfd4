//go:build !purego

package kernels

import (
	"unsafe"

	"github.com/mixedge/mixedge/quant"
)

// The 32-bit ARM GEMMs (gemm_neon_arm.s) read the arm64 neon tier's
// layout: kpad = k rounded up to 8, blocks of 4 output channels, per block
// 16-k chunks [4 ch][16 k] and, if kpad%16 == 8, a last [4 ch][8 k] chunk.
// The asm computes 2 pixels x 4 channels per register tile (…x1: 1 pixel,
// for an odd last row), nblk full blocks per call; the driver runs a
// narrower last block into a stack buffer. It reads kpad bytes per pixel
// row; the driver keeps that read inside src's capacity (the padded
// weights are zero, so the extra bytes add nothing).

//go:noescape
func gemmQ8Neon32(dst *int8, dstStride int, src *int8, srcStride int, rows, kpad, nblk int,
	w *int8, bias *int32, rq *quant.Multiplier, zOut, qmin, qmax int32)

//go:noescape
func gemmQ8Neon32x1(dst *int8, dstStride int, src *int8, srcStride int, rows, kpad, nblk int,
	w *int8, bias *int32, rq *quant.Multiplier, zOut, qmin, qmax int32)

//go:noescape
func gemmF32Neon32(dst *float32, dstStride int, src *int8, srcStride int, rows, kpad, nblk int,
	w *int8, bias *int32, scale *float32)

//go:noescape
func gemmF32Neon32x1(dst *float32, dstStride int, src *int8, srcStride int, rows, kpad, nblk int,
	w *int8, bias *int32, scale *float32)

func n32Kpad(k int) int { return (k + 7) &^ 7 }

func n32Size(k, n int) int { return (n + 3) &^ 3 * n32Kpad(k) }

// n32Index is the position of w[co][ci] in the packed slice.
func n32Index(co, ci, kp int) int {
	k0 := ci &^ 15
	return co/4*4*kp + k0*4 + co%4*min(16, kp-k0) + ci - k0
}

func packGEMMNeon32(w []int8, k, n int) []int8 {
	if k <= 0 || n <= 0 {
		panic("kernels: PackGEMM: k and n must be positive")
	}
	need("PackGEMM", "w", len(w), n*k)
	kp := n32Kpad(k)
	out := make([]int8, n32Size(k, n))
	for co := range n {
		row := w[co*k : co*k+k]
		for k0 := 0; k0 < k; k0 += 16 { // runs of 16 k are contiguous
			copy(out[n32Index(co, k0, kp):], row[k0:min(k0+16, k)])
		}
	}
	return out
}

// n32SafeRows is how many leading rows can be read kp bytes wide without
// leaving src's capacity.
func n32SafeRows(src []int8, srcStride, pixels, kp int) int {
	c := cap(src)
	if (pixels-1)*srcStride+kp <= c {
		return pixels
	}
	if kp > c {
		return 0
	}
	return min(pixels, (c-kp)/srcStride+1)
}

// n32RowMax bounds the stack copy of a pixel row whose padded read would
// leave src; longer rows of that kind take the scalar path.
const n32RowMax = 4096

// n32TailRows is the pixel chunk of a narrow last block (computed into a
// stack buffer of 4 channels a pixel, then copied).
const n32TailRows = 64

func gemmQ8Neon32Rows(dst *int8, dstStride int, src *int8, srcStride, rows, kp, nblk int,
	w *int8, bias *int32, rq *quant.Multiplier, zOut, qmin, qmax int32) {
	r2 := rows &^ 1
	if r2 > 0 {
		gemmQ8Neon32(dst, dstStride, src, srcStride, r2, kp, nblk, w, bias, rq, zOut, qmin, qmax)
	}
	if rows > r2 {
		gemmQ8Neon32x1((*int8)(unsafe.Add(unsafe.Pointer(dst), r2*dstStride)), dstStride,
			(*int8)(unsafe.Add(unsafe.Pointer(src), r2*srcStride)), srcStride, 1, kp, nblk, w, bias, rq, zOut, qmin, qmax)
	}
}

func gemmF32Neon32Rows(dst *float32, dstStride int, src *int8, srcStride, rows, kp, nblk int,
	w *int8, bias *int32, scale *float32) {
	r2 := rows &^ 1
	if r2 > 0 {
		gemmF32Neon32(dst, dstStride, src, srcStride, r2, kp, nblk, w, bias, scale)
	}
	if rows > r2 {
		gemmF32Neon32x1((*float32)(unsafe.Add(unsafe.Pointer(dst), 4*r2*dstStride)), dstStride,
			(*int8)(unsafe.Add(unsafe.Pointer(src), r2*srcStride)), srcStride, 1, kp, nblk, w, bias, scale)
	}
}

// gemmQ8Neon32Blocks runs rows pixel rows (read kp bytes wide) through
// every channel block.
func gemmQ8Neon32Blocks(dst []int8, dstStride int, src *int8, srcStride, rows, kp, n int,
	w []int8, bias []int32, rq []quant.Multiplier, zOut, qmin, qmax int32) {
	nfull, tail := n/4, n%4
	if nfull > 0 {
		gemmQ8Neon32Rows(&dst[0], dstStride, src, srcStride, rows, kp, nfull, &w[0], &bias[0], &rq[0], zOut, qmin, qmax)
	}
	if tail == 0 {
		return
	}
	var tb [4]int32
	var tr [4]quant.Multiplier
	copy(tb[:], bias[nfull*4:n])
	copy(tr[:], rq[nfull*4:n])
	var out [n32TailRows * 4]int8
	for r0 := 0; r0 < rows; r0 += n32TailRows {
		m := min(n32TailRows, rows-r0)
		gemmQ8Neon32Rows(&out[0], 4, (*int8)(unsafe.Add(unsafe.Pointer(src), r0*srcStride)), srcStride, m, kp, 1,
			&w[nfull*4*kp], &tb[0], &tr[0], zOut, qmin, qmax)
		for r := range m {
			copy(dst[(r0+r)*dstStride+nfull*4:][:tail], out[4*r:])
		}
	}
}

func gemmF32Neon32Blocks(dst []float32, src *int8, srcStride, rows, kp, n int, w []int8, bias []int32, scale []float32) {
	nfull, tail := n/4, n%4
	if nfull > 0 {
		gemmF32Neon32Rows(&dst[0], n, src, srcStride, rows, kp, nfull, &w[0], &bias[0], &scale[0])
	}
	if tail == 0 {
		return
	}
	var tb [4]int32
	var ts [4]float32
	copy(tb[:], bias[nfull*4:n])
	copy(ts[:], scale[nfull*4:n])
	var out [n32TailRows * 4]float32
	for r0 := 0; r0 < rows; r0 += n32TailRows {
		m := min(n32TailRows, rows-r0)
		gemmF32Neon32Rows(&out[0], 4, (*int8)(unsafe.Add(unsafe.Pointer(src), r0*srcStride)), srcStride, m, kp, 1,
			&w[nfull*4*kp], &tb[0], &ts[0])
		for r := range m {
			copy(dst[(r0+r)*n+nfull*4:][:tail], out[4*r:])
		}
	}
}

func n32Dot(x, w []int8, co, kp int) int32 {
	var a int32
	for ci, xv := range x {
		a += int32(xv) * int32(w[n32Index(co, ci, kp)])
	}
	return a
}

func gemmQS8Neon32(dst []int8, dstStride int, src []int8, srcStride int, pixels, k, n int,
	w []int8, bias []int32, rq []quant.Multiplier, zOut, qmin, qmax int32) {
	const name = "GEMMQS8 neon"
	if pixels <= 0 || n <= 0 {
		return
	}
	kp := n32Kpad(k)
	checkGEMM(name, len(src), srcStride, pixels, k, n, n*k, len(bias))
	need(name, "packed w", len(w), n32Size(k, n))
	checkStride(name, "dst", dstStride, n)
	need(name, "dst", len(dst), span(pixels, dstStride, n))
	need(name, "rq", len(rq), n)
	for _, m := range rq[:n] {
		if m.Shift < quant.MinShift || m.Shift > quant.MaxShift {
			panic("kernels: " + name + ": multiplier shift out of range")
		}
	}
	safe := n32SafeRows(src, srcStride, pixels, kp)
	if safe > 0 {
		gemmQ8Neon32Blocks(dst, dstStride, &src[0], srcStride, safe, kp, n, w, bias, rq, zOut, qmin, qmax)
	}
	for p := safe; p < pixels; p++ {
		x := src[p*srcStride:][:k]
		d := dst[p*dstStride:]
		if kp <= n32RowMax {
			var row [n32RowMax]int8
			copy(row[:], x)
			gemmQ8Neon32Blocks(d, n, &row[0], kp, 1, kp, n, w, bias, rq, zOut, qmin, qmax)
			continue
		}
		for co := range n {
			d[co] = quant.Requantize(bias[co]+n32Dot(x, w, co, kp), rq[co], zOut, qmin, qmax)
		}
	}
}

func gemmQS8F32Neon32(dst []float32, src []int8, srcStride int, pixels, k, n int, w []int8, bias []int32, scale []float32) {
	const name = "GEMMQS8F32 neon"
	if pixels <= 0 || n <= 0 {
		return
	}
	kp := n32Kpad(k)
	checkGEMM(name, len(src), srcStride, pixels, k, n, n*k, len(bias))
	need(name, "packed w", len(w), n32Size(k, n))
	need(name, "dst", len(dst), pixels*n)
	need(name, "scale", len(scale), n)
	safe := n32SafeRows(src, srcStride, pixels, kp)
	if safe > 0 {
		gemmF32Neon32Blocks(dst, &src[0], srcStride, safe, kp, n, w, bias, scale)
	}
	for p := safe; p < pixels; p++ {
		x := src[p*srcStride:][:k]
		d := dst[p*n:]
		if kp <= n32RowMax {
			var row [n32RowMax]int8
			copy(row[:], x)
			gemmF32Neon32Blocks(d, &row[0], kp, 1, kp, n, w, bias, scale)
			continue
		}
		for co := range n {
			d[co] = float32(bias[co]+n32Dot(x, w, co, kp)) * scale[co]
		}
	}
}
