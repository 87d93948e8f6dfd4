//go:build linux && !purego

package kernels

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"syscall"
	"testing"
	"unsafe"
)

// TestAVXVNNIDWConvSrcEnd puts src's last byte at the end of a page whose
// successor is unmapped: the avxvnni gather reads whole 16-byte pixels,
// and one byte read past src faults. Channel counts and strides where the
// last pixels' reads would cross the end.
func TestAVXVNNIDWConvSrcEnd(t *testing.T) {
	needAVXVNNI(t)
	dwvForce = true
	defer func() { dwvForce = false }()
	page := syscall.Getpagesize()
	mem, err := syscall.Mmap(-1, 0, 2*page, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Munmap(mem)
	if err := syscall.Mprotect(mem[page:], syscall.PROT_NONE); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(91, 92))
	// inStride > c: a group of a wider tensor, its last channels.
	for _, c := range []struct{ c, inStride, k, st, h, w int }{
		{1, 1, 3, 1, 9, 9}, {5, 5, 5, 1, 7, 6}, {5, 7, 3, 2, 8, 9}, {17, 17, 7, 1, 5, 5},
		{12, 40, 3, 1, 6, 6}, {40, 40, 9, 2, 10, 7}, {16, 16, 3, 1, 4, 20}, {3, 48, 11, 1, 3, 3},
	} {
		t.Run(fmt.Sprintf("c%d_in%d_k%d_s%d_%dx%d", c.c, c.inStride, c.k, c.st, c.h, c.w), func(t *testing.T) {
			oh, pt := padding(c.h, c.k, c.st, true)
			ow, pl := padding(c.w, c.k, c.st, true)
			s := DWConvShape{H: c.h, W: c.w, C: c.c, InStride: c.inStride, OutStride: c.c, K: c.k, Stride: c.st,
				PadTop: pt, PadLeft: pl, OH: oh, OW: ow}
			n := span(c.h*c.w, c.inStride, c.c)
			view := unsafe.Slice((*int8)(unsafe.Pointer(&mem[page-n])), n) // ends at the unmapped page
			copy(view, randInt8s(rng, n, false))
			w := randWeights(rng, c.k*c.k*c.c, false)
			q := randQuantOut(rng)
			rq := fastMults(t, rng, c.c, q.zOut)
			bias := fold(t, randBias(rng, c.c, false), w, c.c, 1, q.zIn)
			want := make([]int8, oh*ow*c.c)
			got := slices.Clone(want)
			DWConvQS8(want, view, w, bias, rq, &s, q.zIn, q.zOut, q.qmin, q.qmax, 0, oh)
			DWConvQS8AVXVNNI(got, view, packDWVNNI(w, c.k, c.c), bias, rq, &s, q.zIn, q.zOut, q.qmin, q.qmax, 0, oh)
			checkBuf(t, "dst", got, want)
		})
	}
}
