package kernels

import (
	"fmt"
	"unsafe"

	"github.com/mixedge/mixedge/quant"
)

// ConvShape is the geometry of a full (not depthwise) convolution with few
// input channels, like the 3x3 stride-2 stem on RGB.
type ConvShape struct {
	H, W, Cin int // input rows, columns, channels
	InStride  int // int8s from one input pixel to the next, >= Cin
	Cout      int // output channels written by this call
	OutStride int // int8s from one output pixel to the next, >= Cout
	K, Stride int
	PadTop    int
	PadLeft   int
	OH, OW    int
}

// MaxStemPatch bounds K*K*Cin, the receptive field StemConvQS8 gathers on
// the stack (11x11 RGB fits).
const MaxStemPatch = 512

// Validate reports whether s is a usable geometry.
func (s *ConvShape) Validate() error {
	switch {
	case s.H <= 0 || s.W <= 0 || s.Cin <= 0 || s.Cout <= 0 || s.OH <= 0 || s.OW <= 0:
		return fmt.Errorf("kernels: conv %dx%dx%d -> %dx%dx%d: empty dimension", s.H, s.W, s.Cin, s.OH, s.OW, s.Cout)
	case s.K <= 0 || s.Stride <= 0 || s.PadTop < 0 || s.PadLeft < 0:
		return fmt.Errorf("kernels: conv k=%d stride=%d pad=%d,%d: bad kernel", s.K, s.Stride, s.PadTop, s.PadLeft)
	case s.InStride < s.Cin || s.OutStride < s.Cout:
		return fmt.Errorf("kernels: conv: strides %d/%d narrower than %d/%d channels", s.InStride, s.OutStride, s.Cin, s.Cout)
	case s.K*s.K*s.Cin > MaxStemPatch:
		return fmt.Errorf("kernels: conv: %dx%dx%d patch exceeds %d", s.K, s.K, s.Cin, MaxStemPatch)
	}
	return nil
}

// GatherPatch writes the K×K×Cin receptive field whose top-left input
// pixel is (iy0, ix0) to patch ([ky][kx][ci] order; zIn outside the image):
// the im2col of one output pixel, shared by every stem implementation.
func GatherPatch(patch, src []int8, s *ConvShape, zIn int8, iy0, ix0 int) {
	h, w, cin, k := s.H, s.W, s.Cin, s.K
	j := 0
	for ky := range k {
		iy := iy0 + ky
		if s.InStride == cin && iy >= 0 && iy < h && ix0 >= 0 && ix0+k <= w {
			// Inside the image the K pixels of a kernel row are contiguous.
			if k*cin == 9 { // the 3x3 RGB stem: a fixed-size move, no memmove call
				*(*[9]int8)(patch[j:]) = *(*[9]int8)(src[(iy*w+ix0)*cin:])
			} else {
				copy(patch[j:j+k*cin], src[(iy*w+ix0)*cin:])
			}
			j += k * cin
			continue
		}
		for kx := range k {
			ix := ix0 + kx
			if iy < 0 || iy >= h || ix < 0 || ix >= w {
				for ci := range cin {
					patch[j+ci] = zIn
				}
			} else {
				copy(patch[j:j+cin], src[(iy*w+ix)*s.InStride:])
			}
			j += cin
		}
	}
}

// GatherPatches writes the patches (GatherPatch) of n consecutive output
// pixels of output row oy, from column ox0, to dst, dstStride bytes apart:
// im2col for one row. The pixels whose kernel rows lie inside the image
// are copied a kernel row at a time in one loop per kernel row (for the
// 3x3 RGB stem, 8 + 1 bytes), without a call per pixel; under qemu the
// per-pixel GatherPatch cost ~200 arm64 instructions per stem pixel.
func GatherPatches(dst []int8, dstStride int, src []int8, s *ConvShape, zIn int8, oy, ox0, n int) {
	if n <= 0 {
		return
	}
	kk := s.K * s.K * s.Cin
	if dstStride < kk {
		panic(fmt.Sprintf("kernels: GatherPatches: dst stride %d below the patch size %d", dstStride, kk))
	}
	need("GatherPatches", "dst", len(dst), (n-1)*dstStride+kk)
	iy0 := oy*s.Stride - s.PadTop
	// Interior pixels [a, b): every kernel row inside the image.
	a, b := 0, 0
	if s.InStride == s.Cin && iy0 >= 0 && iy0+s.K <= s.H {
		// ix0 = (ox0+i)*Stride - PadLeft >= 0 and ix0 + K <= W
		a = max(0, (s.PadLeft-ox0*s.Stride+s.Stride-1)/s.Stride)
		if last := (s.W - s.K + s.PadLeft) / s.Stride; s.W-s.K+s.PadLeft >= 0 {
			b = min(n, last-ox0+1)
		}
		if b < a {
			a, b = 0, 0
		}
	}
	for i := 0; i < a; i++ {
		GatherPatch(dst[i*dstStride:][:kk], src, s, zIn, iy0, (ox0+i)*s.Stride-s.PadLeft)
	}
	if b > a {
		row := s.K * s.Cin       // contiguous bytes of one kernel row
		step := s.Stride * s.Cin // source bytes from one pixel to the next
		lineB := s.W * s.Cin     // bytes of one image row
		base := (iy0*s.W + (ox0+a)*s.Stride - s.PadLeft) * s.Cin
		need("GatherPatches", "src", len(src), base+(s.K-1)*lineB+(b-a-1)*step+row)
		if s.K == 3 && row == 9 { // the MixNet stem: 3×3, 3 channels
			// Bounds were checked above for the whole run.
			gather3x9(&dst[a*dstStride], dstStride, &src[base], step, lineB, b-a)
		} else {
			gatherRows(dst[a*dstStride:], dstStride, src[base:], s.K, row, step, lineB, b-a)
		}
	}
	for i := max(a, b); i < n; i++ {
		GatherPatch(dst[i*dstStride:][:kk], src, s, zIn, iy0, (ox0+i)*s.Stride-s.PadLeft)
	}
}

// gatherRows copies n patches of k rows of row bytes: row ky of patch i
// (at dst[i*dstStride+ky*row:]) is the row bytes at src[ky*line+i*step:].
// The caller checks the bounds.
func gatherRows(dst []int8, dstStride int, src []int8, k, row, step, line, n int) {
	for ky := range k {
		sp := src[ky*line:]
		dp := dst[ky*row:]
		if row == 9 {
			// (No pointer is advanced past the last patch: checkptr.)
			d, p := unsafe.Pointer(&dp[0]), unsafe.Pointer(&sp[0])
			for i := n; ; {
				*(*[9]int8)(d) = *(*[9]int8)(p)
				if i--; i == 0 {
					break
				}
				d, p = unsafe.Add(d, dstStride), unsafe.Add(p, step)
			}
			continue
		}
		for i := range n {
			copy(dp[i*dstStride:i*dstStride+row], sp[i*step:])
		}
	}
}

// gather3x9Go is gather3x9 in Go (n >= 1).
func gather3x9Go(dst *int8, dstStride int, src *int8, step, line, n int) {
	gatherRows(unsafe.Slice(dst, (n-1)*dstStride+27), dstStride, unsafe.Slice(src, 2*line+(n-1)*step+9),
		3, 9, step, line, n)
}

// stemArgs checks a stem call's rows and slices (panicking as every stem
// does) and reports whether it has rows to compute.
func stemArgs(name string, dst, src, weights []int8, bias []int32, rq []quant.Multiplier, s *ConvShape, oy0, oy1 int) bool {
	if oy0 < 0 || oy1 > s.OH || oy0 > oy1 {
		panic(fmt.Sprintf("kernels: %s: rows [%d, %d) outside [0, %d)", name, oy0, oy1, s.OH))
	}
	if oy0 == oy1 {
		return false
	}
	kk := s.K * s.K * s.Cin
	need(name, "src", len(src), span(s.H*s.W, s.InStride, s.Cin))
	need(name, "dst", len(dst), span(oy1*s.OW, s.OutStride, s.Cout))
	need(name, "weights", len(weights), s.Cout*kk)
	need(name, "bias", len(bias), s.Cout)
	need(name, "rq", len(rq), s.Cout)
	return true
}

// gatherRun gathers the receptive fields of output pixels q0..q0+n-1
// (consecutive in dst order, so they may span output rows) into dst, kp
// bytes apart: the im2col of the stems that run their tier's GEMM.
func gatherRun(dst []int8, kp int, src []int8, s *ConvShape, zIn int8, q0, n int) {
	for r := 0; r < n; {
		oy, ox := (q0+r)/s.OW, (q0+r)%s.OW
		run := min(n-r, s.OW-ox) // pixels left in this output row
		GatherPatches(dst[r*kp:], kp, src, s, zIn, oy, ox, run)
		r += run
	}
}

// StemConvQS8 is the full convolution used by the stem, the specification
// of its twins. For output rows oy in [oy0, oy1), every ox < OW and every
// co < Cout:
//
//	acc = bias[co] + Σ_{ky,kx<K, ci<Cin} X(oy*Stride-PadTop+ky, ox*Stride-PadLeft+kx, ci) * weights[((co*K+ky)*K+kx)*Cin+ci]
//	dst[(oy*OW+ox)*OutStride+co] = quant.Requantize(acc, rq[co], zOut, qmin, qmax)
//
// X(iy, ix, ci) is src[(iy*W+ix)*InStride+ci] inside the image and zIn outside.
// Weights are [Cout][K][K][Cin]. bias must be folded: quant.FoldZeroPoint
// with channels = Cout, inner = K*K*Cin. Only rows [oy0, oy1) and channels
// [0, Cout) of dst are written. Allocation-free.
func StemConvQS8(dst, src []int8, weights []int8, bias []int32, rq []quant.Multiplier,
	s *ConvShape, zIn, zOut, qmin, qmax int32, oy0, oy1 int) {
	if err := s.Validate(); err != nil {
		panic(err)
	}
	if !stemArgs("StemConvQS8", dst, src, weights, bias, rq, s, oy0, oy1) {
		return
	}
	cin, k := s.Cin, s.K
	kk := k * k * cin

	var patchBuf [MaxStemPatch]int8
	patch := patchBuf[:kk]
	for oy := oy0; oy < oy1; oy++ {
		iy0 := oy*s.Stride - s.PadTop
		for ox := 0; ox < s.OW; ox++ {
			ix0 := ox*s.Stride - s.PadLeft
			GatherPatch(patch, src, s, int8(zIn), iy0, ix0)
			out := dst[(oy*s.OW+ox)*s.OutStride:][:s.Cout]
			for co := range out {
				acc := bias[co] + dot(patch, weights[co*kk:][:kk])
				out[co] = quant.Requantize(acc, rq[co], zOut, qmin, qmax)
			}
		}
	}
}
