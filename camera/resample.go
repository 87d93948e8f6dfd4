package camera

import (
	"fmt"
	"math"
)

// This file reimplements the arithmetic of Pillow's libImaging/Resample.c for
// 8-bit images with the bicubic filter, so that the result is bit-identical to
// PIL's Image.resize(size, Image.BICUBIC) (which torchvision and timm call).
//
// Float64 expressions that contain a multiply followed by an add are wrapped in
// explicit float64(...) conversions: the Go spec lets the compiler fuse x*y+z
// into one FMA (it does on arm64), and a fused result can round differently
// from Pillow's separately rounded C operations on x86-64. A conversion forbids
// the fusion.

// precisionBits is Pillow's PRECISION_BITS: 8 bits of result, 2 bits of
// headroom for filters whose partial sums leave [0, 1].
const precisionBits = 32 - 8 - 2

// bicubicSupport is the radius of Pillow's bicubic filter at scale 1.
const bicubicSupport = 2.0

// bicubic is Pillow's bicubic_filter with a = -0.5.
func bicubic(x float64) float64 {
	const a = -0.5
	if x < 0 {
		x = -x
	}
	if x < 1 {
		t := float64((a+2)*x) - (a + 3)
		return float64(t*x*x) + 1
	}
	if x < 2 {
		t := float64((x-5)*x) + 8
		t = float64(t*x) - 4
		return t * a
	}
	return 0
}

// axis holds Pillow's fixed-point taps for one direction of a resize, for the
// output indices [lo, lo+n). Each output index depends only on its own taps,
// so computing a window of outputs gives the same values as Pillow computing
// all of them.
type axis struct {
	inSize, outSize int
	lo, n           int
	ksize           int
	first           []int32 // first input index per output
	count           []int32 // number of taps per output
	k               []int32 // n*ksize taps, fixed point, zero padded
}

// newAxis follows Pillow's precompute_coeffs with box (0, inSize) followed by
// normalize_coeffs_8bpc.
func newAxis(inSize, outSize, lo, n int) (axis, error) {
	// Pillow: (double)(in1 - in0) / outSize, where the box edges are C floats.
	scale := float64(float32(inSize)) / float64(outSize)
	filterscale := scale
	if filterscale < 1 {
		filterscale = 1
	}
	support := bicubicSupport * filterscale
	ksize := int(math.Ceil(support))*2 + 1
	// Pillow refuses (MemoryError) when the coefficient table would pass
	// INT_MAX bytes; so do we, which also keeps the sizes int32-safe.
	if int64(n)*int64(ksize)*8 > math.MaxInt32 {
		return axis{}, fmt.Errorf("camera: resize %d -> %d: coefficient table too large", inSize, outSize)
	}

	a := axis{
		inSize: inSize, outSize: outSize, lo: lo, n: n, ksize: ksize,
		first: make([]int32, n),
		count: make([]int32, n),
		k:     make([]int32, n*ksize),
	}
	w := make([]float64, ksize)
	ss := 1.0 / filterscale
	for i := range n {
		xx := lo + i
		center := float64((float64(xx) + 0.5) * scale)
		// C's (int) cast truncates toward zero, as Go's conversion does.
		xmin := int(center - support + 0.5)
		if xmin < 0 {
			xmin = 0
		}
		xmax := int(center + support + 0.5)
		if xmax > inSize {
			xmax = inSize
		}
		cnt := xmax - xmin
		ww := 0.0
		for x := range cnt {
			v := bicubic(float64((float64(x+xmin) - center + 0.5) * ss))
			w[x] = v
			ww += v
		}
		k := a.k[i*ksize : i*ksize+ksize]
		for x := range cnt {
			v := w[x]
			if ww != 0 {
				v /= ww
			}
			// normalize_coeffs_8bpc: round half away from zero via a
			// truncating cast.
			if v < 0 {
				k[x] = int32(-0.5 + float64(v*(1<<precisionBits)))
			} else {
				k[x] = int32(0.5 + float64(v*(1<<precisionBits)))
			}
		}
		a.first[i] = int32(xmin)
		a.count[i] = int32(cnt)
	}
	return a, nil
}

// span returns the input range [from, to) that the outputs [lo+i0, lo+i1)
// read. Pillow's bounds are monotonic, so the ends decide it.
func (a *axis) span(i0, i1 int) (from, to int) {
	return int(a.first[i0]), int(a.first[i1-1] + a.count[i1-1])
}

// clip8 is Pillow's clip8: drop the fraction, clamp to a byte.
func clip8(v int32) uint8 {
	v >>= precisionBits
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return uint8(v)
}

const roundHalf = int32(1) << (precisionBits - 1)

// Resampler is a PIL-exact bicubic resize from one RGB size to another,
// restricted to a window of the output. The coefficients are computed once,
// so a stream of equally sized frames pays only for the two passes. Not safe
// for concurrent use (it owns its scratch buffer).
type Resampler struct {
	srcW, srcH int
	dstW, dstH int
	win        Rect
	needH      bool // Pillow skips a pass whose size does not change
	needV      bool
	h, v       axis
	tmp        []uint8
	acc        []int32
}

// Rect is a window [X0, X0+W) × [Y0, Y0+H) of the resized image.
type Rect struct{ X0, Y0, W, H int }

// maxPixels bounds every image dimension product this package accepts. It is
// PIL's DecompressionBombError threshold (2 * MAX_IMAGE_PIXELS).
const maxPixels = 2 * 89478485

func checkSize(what string, w, h int) error {
	if w <= 0 || h <= 0 {
		return fmt.Errorf("camera: %s size %dx%d: must be positive", what, w, h)
	}
	if int64(w)*int64(h) > maxPixels {
		return fmt.Errorf("camera: %s size %dx%d: more than %d pixels", what, w, h, maxPixels)
	}
	return nil
}

// NewResampler prepares a resize of srcW×srcH to dstW×dstH computing the
// whole output.
func NewResampler(srcW, srcH, dstW, dstH int) (*Resampler, error) {
	return NewWindowResampler(srcW, srcH, dstW, dstH, Rect{0, 0, dstW, dstH})
}

// NewWindowResampler prepares a resize of srcW×srcH to dstW×dstH that only
// produces the pixels of win (e.g. the centre crop). The pixels produced equal
// the same pixels of the full resize. The output dimensions may exceed the
// pixel limit as long as the window does not: a 1×4000 strip resized to
// 256×1024000 and cropped needs only the crop.
func NewWindowResampler(srcW, srcH, dstW, dstH int, win Rect) (*Resampler, error) {
	if err := checkSize("resize source", srcW, srcH); err != nil {
		return nil, err
	}
	if dstW <= 0 || dstH <= 0 || dstW > maxPixels || dstH > maxPixels {
		return nil, fmt.Errorf("camera: resize target %dx%d: out of range", dstW, dstH)
	}
	if err := checkSize("resize window", win.W, win.H); err != nil {
		return nil, err
	}
	if win.X0 < 0 || win.Y0 < 0 || win.X0+win.W > dstW || win.Y0+win.H > dstH {
		return nil, fmt.Errorf("camera: resize window %+v outside %dx%d", win, dstW, dstH)
	}
	r := &Resampler{
		srcW: srcW, srcH: srcH, dstW: dstW, dstH: dstH, win: win,
		needH: dstW != srcW,
		needV: dstH != srcH,
	}
	rows := win.H
	var err error
	if r.needV {
		if r.v, err = newAxis(srcH, dstH, win.Y0, win.H); err != nil {
			return nil, err
		}
		from, to := r.v.span(0, win.H)
		rows = to - from
		r.acc = make([]int32, 3*win.W)
	}
	if r.needH {
		if r.h, err = newAxis(srcW, dstW, win.X0, win.W); err != nil {
			return nil, err
		}
		if r.needV {
			// Only the vertical pass reads the intermediate image.
			r.tmp = make([]uint8, 3*win.W*rows)
		}
	}
	return r, nil
}

// SrcSize is the source size the Resampler was built for.
func (r *Resampler) SrcSize() (w, h int) { return r.srcW, r.srcH }

// DstSize is the full resized size (the window is a part of it).
func (r *Resampler) DstSize() (w, h int) { return r.dstW, r.dstH }

// Window is the part of the resized image that Resize produces.
func (r *Resampler) Window() Rect { return r.win }

// Resize writes the window of the resized src into dst, which must be
// Window().W × Window().H with a full Pix. It panics on size mismatches, which
// are programming errors.
func (r *Resampler) Resize(dst, src *RGB) {
	if src.W != r.srcW || src.H != r.srcH || len(src.Pix) < 3*src.W*src.H {
		panic(fmt.Sprintf("camera: Resampler for %dx%d source given %dx%d (%d bytes)",
			r.srcW, r.srcH, src.W, src.H, len(src.Pix)))
	}
	if dst.W != r.win.W || dst.H != r.win.H || len(dst.Pix) < 3*dst.W*dst.H {
		panic(fmt.Sprintf("camera: Resampler window %dx%d given %dx%d destination (%d bytes)",
			r.win.W, r.win.H, dst.W, dst.H, len(dst.Pix)))
	}
	r.resize(dst.Pix, 3*dst.W, src.Pix, 3*src.W)
}

func (r *Resampler) resize(dst []uint8, dstStride int, src []uint8, srcStride int) {
	win := r.win
	switch {
	case r.needH && r.needV:
		from, to := r.v.span(0, win.H)
		tstride := 3 * win.W
		r.horizontal(r.tmp, tstride, src, srcStride, from, to-from)
		r.vertical(dst, dstStride, r.tmp, tstride, 0, from)
	case r.needH:
		r.horizontal(dst, dstStride, src, srcStride, win.Y0, win.H)
	case r.needV:
		r.vertical(dst, dstStride, src, srcStride, 3*win.X0, 0)
	default:
		// Same size: PIL returns a copy.
		for y := range win.H {
			s := src[(win.Y0+y)*srcStride+3*win.X0:]
			copy(dst[y*dstStride:y*dstStride+3*win.W], s[:3*win.W])
		}
	}
}

// horizontal resamples rows [row0, row0+rows) of src into rows 0.. of dst,
// producing the window's columns.
func (r *Resampler) horizontal(dst []uint8, dstStride int, src []uint8, srcStride, row0, rows int) {
	a := &r.h
	ks := a.ksize
	for y := range rows {
		in := src[(row0+y)*srcStride : (row0+y)*srcStride+3*r.srcW]
		out := dst[y*dstStride : y*dstStride+3*a.n]
		for i := range a.n {
			first, cnt := int(a.first[i]), int(a.count[i])
			k := a.k[i*ks : i*ks+cnt]
			p := in[3*first : 3*(first+cnt)]
			s0, s1, s2 := roundHalf, roundHalf, roundHalf
			for j, kv := range k {
				q := p[3*j : 3*j+3]
				s0 += int32(q[0]) * kv
				s1 += int32(q[1]) * kv
				s2 += int32(q[2]) * kv
			}
			o := out[3*i : 3*i+3]
			o[0], o[1], o[2] = clip8(s0), clip8(s1), clip8(s2)
		}
	}
}

// vertical resamples the window's rows from src, whose row 0 is input row
// rowBase and whose columns start at byte colOff, into dst. Integer sums are
// order independent, so taps are applied row by row over the whole width
// instead of Pillow's pixel by pixel.
func (r *Resampler) vertical(dst []uint8, dstStride int, src []uint8, srcStride, colOff, rowBase int) {
	width := 3 * r.win.W
	for i := range r.v.n {
		acc := r.verticalSums(i, src, srcStride, colOff, rowBase)
		out := dst[i*dstStride : i*dstStride+width]
		for j, s := range acc {
			out[j] = clip8(s)
		}
	}
}

// verticalSums is output row i's fixed-point sums (before clip8) over the
// window's width, in r.acc.
func (r *Resampler) verticalSums(i int, src []uint8, srcStride, colOff, rowBase int) []int32 {
	a := &r.v
	width := 3 * r.win.W
	acc := r.acc[:width]
	first, cnt := int(a.first[i]), int(a.count[i])
	for j := range acc {
		acc[j] = roundHalf
	}
	for t, kv := range a.k[i*a.ksize : i*a.ksize+cnt] {
		off := (first+t-rowBase)*srcStride + colOff
		row := src[off : off+width]
		for j, p := range row {
			acc[j] += int32(p) * kv
		}
	}
	return acc
}

// ResizeBicubic resizes src to dst's size exactly as PIL's
// Image.resize((dst.W, dst.H), Image.BICUBIC) does on an RGB image. dst.Pix
// must be preallocated (3*dst.W*dst.H bytes). It panics on invalid sizes; use
// NewResampler to get an error instead, and to reuse coefficients and scratch
// across frames.
func ResizeBicubic(dst, src *RGB) {
	r, err := NewResampler(src.W, src.H, dst.W, dst.H)
	if err != nil {
		panic(err)
	}
	r.Resize(dst, src)
}
