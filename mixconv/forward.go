package mixconv

import "fmt"

// Forward computes dst = mixconv(src) + bias.
// src: NHWC [h][w][C]; dst: [oh][ow][C]; weights[g]: group g laid out
// [ky][kx][c] (c fastest, Cg channels); bias: [C] or nil.
// Out-of-image taps read zero. It does not allocate and does not read dst's
// previous contents. It panics with CheckBuffers' error on an invalid Spec
// or wrong slice lengths.
func Forward(dst, src []float32, h, w int, s Spec, weights [][]float32, bias []float32) {
	if err := s.CheckBuffers(dst, src, h, w, weights, bias); err != nil {
		panic(err)
	}
	oh, _ := s.OutSize(h, w)
	forwardRows(dst, src, h, w, &s, weights, bias, 0, oh)
}

// ForwardRows is Forward restricted to output rows [oy0, oy1): dst is still
// the whole [oh][ow][C] output and only those rows are written, so disjoint
// row ranges can run concurrently.
func ForwardRows(dst, src []float32, h, w int, s Spec, weights [][]float32, bias []float32, oy0, oy1 int) {
	if err := s.CheckBuffers(dst, src, h, w, weights, bias); err != nil {
		panic(err)
	}
	if oh, _ := s.OutSize(h, w); oy0 < 0 || oy0 > oy1 || oy1 > oh {
		panic(fmt.Errorf("mixconv: ForwardRows rows [%d,%d), want 0 <= oy0 <= oy1 <= oh = %d", oy0, oy1, oh))
	}
	forwardRows(dst, src, h, w, &s, weights, bias, oy0, oy1)
}

func forwardRows(dst, src []float32, h, w int, s *Spec, weights [][]float32, bias []float32, oy0, oy1 int) {
	_, ow := s.OutSize(h, w)
	p := plane{h: h, w: w, c: s.Channels(), ow: ow, stride: s.Stride, dil: s.dilation()}
	for g, k := range s.Kernels {
		p.k, p.cg = k, s.Split[g]
		p.top, _, p.left, _ = s.Pads(g, h, w)
		var b []float32
		if bias != nil {
			b = bias[p.c0 : p.c0+p.cg]
		}
		for oy := oy0; oy < oy1; oy++ {
			p.row(dst, src, weights[g], b, oy)
		}
		p.c0 += p.cg
	}
}

// plane is one group's geometry: the input is h×w×c, the group owns
// channels [c0, c0+cg) of input and output and is shifted by top/left pads.
type plane struct {
	h, w, c     int
	ow          int
	stride, dil int
	k, cg, c0   int
	top, left   int
}

// window is the tap range [kyLo,kyHi)×[kxLo,kxHi) of one output pixel that
// lands inside the image; tap (0,0) sits at input (iy0, ix0).
type window struct {
	iy0, ix0   int
	kyLo, kyHi int
	kxLo, kxHi int
}

// block is the number of channels accumulated in registers at once: 8
// accumulators fit the 16 FP registers of amd64 with room for operands, and
// on arm64 the compiler turns their loads into load pairs.
const block = 8

// row computes output row oy of the group. Tap ranges are clipped once per
// pixel, so the tap loops never test image bounds; interior pixels, whose
// taps all land inside the image, skip even the clipping. Channel blocks are
// the outer loop so one block's weights (k*k*32 bytes) stay in L1 across
// the row.
func (p *plane) row(dst, src, wts, bias []float32, oy int) {
	win := window{iy0: oy*p.stride - p.top}
	win.kyLo, win.kyHi = tapRange(win.iy0, p.h, p.k, p.dil)
	// Interior columns: ix0 >= 0 and ix0 + (k-1)*dil <= w-1.
	oxLo := min(ceilDiv(p.left, p.stride), p.ow)
	oxHi := max(min(floorDiv(p.w-1-(p.k-1)*p.dil+p.left, p.stride)+1, p.ow), oxLo)

	for c := 0; c < p.cg; c += block {
		n := min(block, p.cg-c)
		var b []float32
		if bias != nil {
			b = bias[c : c+n]
		}
		for ox := range p.ow {
			win.ix0 = ox*p.stride - p.left
			if ox < oxLo || ox >= oxHi {
				win.kxLo, win.kxHi = tapRange(win.ix0, p.w, p.k, p.dil)
			} else {
				win.kxLo, win.kxHi = 0, p.k
			}
			o := (oy*p.ow+ox)*p.c + p.c0 + c
			if n == block {
				p.block8(dst[o:o+block], src, wts, b, c, &win)
			} else {
				p.tail(dst[o:o+n], src, wts, b, c, &win)
			}
		}
	}
}

// block8 computes channels [c, c+8) of the group for one output pixel.
func (p *plane) block8(out, src, wts, bias []float32, c int, win *window) {
	var a0, a1, a2, a3, a4, a5, a6, a7 float32
	if bias != nil {
		b := bias[:block]
		a0, a1, a2, a3, a4, a5, a6, a7 = b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]
	}
	step := p.dil * p.c
	for ky := win.kyLo; ky < win.kyHi; ky++ {
		si := ((win.iy0+ky*p.dil)*p.w+win.ix0+win.kxLo*p.dil)*p.c + p.c0 + c
		wi := (ky*p.k+win.kxLo)*p.cg + c
		for kx := win.kxLo; kx < win.kxHi; kx++ {
			x := src[si : si+block : si+block]
			y := wts[wi : wi+block : wi+block]
			a0 += x[0] * y[0]
			a1 += x[1] * y[1]
			a2 += x[2] * y[2]
			a3 += x[3] * y[3]
			a4 += x[4] * y[4]
			a5 += x[5] * y[5]
			a6 += x[6] * y[6]
			a7 += x[7] * y[7]
			si += step
			wi += p.cg
		}
	}
	out = out[:block]
	out[0], out[1], out[2], out[3], out[4], out[5], out[6], out[7] = a0, a1, a2, a3, a4, a5, a6, a7
}

// tail computes the last len(out) < 8 channels of the group, starting at c,
// for one output pixel.
func (p *plane) tail(out, src, wts, bias []float32, c int, win *window) {
	step := p.dil * p.c
	for j := range out {
		var a float32
		if bias != nil {
			a = bias[j]
		}
		for ky := win.kyLo; ky < win.kyHi; ky++ {
			si := ((win.iy0+ky*p.dil)*p.w+win.ix0+win.kxLo*p.dil)*p.c + p.c0 + c + j
			wi := (ky*p.k+win.kxLo)*p.cg + c + j
			for kx := win.kxLo; kx < win.kxHi; kx++ {
				a += src[si] * wts[wi]
				si += step
				wi += p.cg
			}
		}
		out[j] = a
	}
}

// tapRange returns the taps [lo, hi) of a k-tap, dil-dilated window starting
// at input coordinate i0 that fall inside [0, n). lo == hi if none do.
func tapRange(i0, n, k, dil int) (lo, hi int) {
	lo = max(ceilDiv(-i0, dil), 0)
	hi = min(floorDiv(n-1-i0, dil)+1, k)
	return lo, max(hi, lo)
}

// ConvertTorchWeight converts a PyTorch depthwise weight [Cg,1,k,k] (flat, C
// order) to the [k][k][Cg] layout, into dst.
func ConvertTorchWeight(dst, torch []float32, cg, k int) {
	if cg < 1 || k < 1 || len(torch) != cg*k*k || len(dst) != cg*k*k {
		panic(fmt.Errorf("mixconv: ConvertTorchWeight: len(dst) = %d, len(torch) = %d, want both cg*k*k = %d*%d*%d with cg, k >= 1",
			len(dst), len(torch), cg, k, k))
	}
	for c := range cg {
		for t := range k * k {
			dst[t*cg+c] = torch[c*k*k+t]
		}
	}
}
