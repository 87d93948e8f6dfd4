package kernels

import (
	"fmt"

	"github.com/mixedge/mixedge/quant"
)

// SymmetricPad returns the output size and leading padding of PyTorch-style
// static padding for an odd kernel: k/2 on both sides.
func SymmetricPad(in, k, stride int) (out, before int) {
	before = k / 2
	return (in+2*before-k)/stride + 1, before
}

// SamePad returns the output size and leading padding of TensorFlow SAME
// padding: out = ceil(in/stride), total = max((out-1)*stride+k-in, 0),
// before = total/2 (the extra pixel, if any, goes after).
func SamePad(in, k, stride int) (out, before int) {
	out = (in + stride - 1) / stride
	total := max((out-1)*stride+k-in, 0)
	return out, total / 2
}

// DWConvShape is the geometry of one depthwise convolution call. C may be
// a channel group of wider tensors: InStride and OutStride are the full
// pixel strides, and the caller offsets src, dst, weights, bias and rq to
// the group's first channel.
type DWConvShape struct {
	H, W, C   int // input rows, columns and channels handled by this call
	InStride  int // int8s from one input pixel to the next, >= C
	OutStride int // int8s from one output pixel to the next, >= C
	K, Stride int // square kernel size and stride
	PadTop    int // input rows above the image the first output row sees
	PadLeft   int
	OH, OW    int // output rows and columns
}

// Validate reports whether s is a usable geometry. Kernels check the same
// conditions and panic; planners call Validate to fail with an error early.
func (s *DWConvShape) Validate() error {
	switch {
	case s.H <= 0 || s.W <= 0 || s.C <= 0 || s.OH <= 0 || s.OW <= 0:
		return fmt.Errorf("kernels: depthwise %dx%dx%d -> %dx%d: empty dimension", s.H, s.W, s.C, s.OH, s.OW)
	case s.K <= 0 || s.Stride <= 0 || s.PadTop < 0 || s.PadLeft < 0:
		return fmt.Errorf("kernels: depthwise k=%d stride=%d pad=%d,%d: bad kernel", s.K, s.Stride, s.PadTop, s.PadLeft)
	case s.InStride < s.C || s.OutStride < s.C:
		return fmt.Errorf("kernels: depthwise: strides %d/%d narrower than %d channels", s.InStride, s.OutStride, s.C)
	}
	return nil
}

// dwTile is how many channels one pass accumulates in a stack array.
const dwTile = 128

// DWConvQS8 is the depthwise convolution, the specification of every
// depthwise twin. For output rows oy in [oy0, oy1), every ox < OW and every
// c < C:
//
//	acc = bias[c] + Σ_{ky,kx < K} X(oy*Stride-PadTop+ky, ox*Stride-PadLeft+kx, c) * weights[(ky*K+kx)*C+c]
//	dst[(oy*OW+ox)*OutStride+c] = quant.Requantize(acc, rq[c], zOut, qmin, qmax)
//
// X(iy, ix, c) is src[(iy*W+ix)*InStride+c] inside the image and zIn outside it
// (padding is real 0). bias must be folded: quant.FoldZeroPoint with
// inner = 1 over the [K][K][C] weights. The sum wraps in int32 (see package
// quant). Rows outside [oy0, oy1) and channels outside [0, C) of dst are
// not touched, so threads may split rows and MixConv groups may share dst.
// Allocation-free.
func DWConvQS8(dst, src []int8, weights []int8, bias []int32, rq []quant.Multiplier,
	s *DWConvShape, zIn, zOut, qmin, qmax int32, oy0, oy1 int) {
	if err := s.Validate(); err != nil {
		panic(err)
	}
	if oy0 < 0 || oy1 > s.OH || oy0 > oy1 {
		panic(fmt.Sprintf("kernels: DWConvQS8: rows [%d, %d) outside [0, %d)", oy0, oy1, s.OH))
	}
	if oy0 == oy1 {
		return
	}
	h, w, c, k, st := s.H, s.W, s.C, s.K, s.Stride
	need("DWConvQS8", "src", len(src), span(h*w, s.InStride, c))
	need("DWConvQS8", "dst", len(dst), span(oy1*s.OW, s.OutStride, c))
	need("DWConvQS8", "weights", len(weights), k*k*c)
	need("DWConvQS8", "bias", len(bias), c)
	need("DWConvQS8", "rq", len(rq), c)

	var accBuf [dwTile]int32
	for oy := oy0; oy < oy1; oy++ {
		iy0 := oy*st - s.PadTop
		for ox := 0; ox < s.OW; ox++ {
			ix0 := ox*st - s.PadLeft
			outPix := dst[(oy*s.OW+ox)*s.OutStride:]
			for c0 := 0; c0 < c; c0 += dwTile {
				acc := accBuf[:min(dwTile, c-c0)]
				copy(acc, bias[c0:])
				for ky := range k {
					iy := iy0 + ky
					for kx := range k {
						ix := ix0 + kx
						wt := weights[(ky*k+kx)*c+c0:]
						wt = wt[:len(acc)]
						if iy < 0 || iy >= h || ix < 0 || ix >= w {
							for i, wv := range wt {
								acc[i] += zIn * int32(wv)
							}
							continue
						}
						in := src[(iy*w+ix)*s.InStride+c0:]
						in = in[:len(acc)]
						for i, wv := range wt {
							acc[i] += int32(in[i]) * int32(wv)
						}
					}
				}
				out := outPix[c0:][:len(acc)]
				m := rq[c0:][:len(acc)]
				for i, a := range acc {
					out[i] = quant.Requantize(a, m[i], zOut, qmin, qmax)
				}
			}
		}
	}
}
