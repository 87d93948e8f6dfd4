package camera

import (
	"fmt"
	"math"
)

// Quant is the int8 quantization of the model input: q = clamp(
// RoundToEven(x/Scale) + Zero, -128, 127), the arithmetic of
// quant.Params.Quantize (camera does not import quant; the tests check the
// two agree).
type Quant struct {
	Scale float32
	Zero  int32
}

func (q Quant) validate() error {
	s := float64(q.Scale)
	if !(s > 0) || math.IsInf(s, 0) || q.Zero < -128 || q.Zero > 127 {
		return fmt.Errorf("camera: input quantization scale %g zero %d: want scale > 0 and zero in [-128, 127]", s, q.Zero)
	}
	return nil
}

func (q Quant) quantize(x float32) int8 {
	v := math.RoundToEven(float64(x)/float64(q.Scale)) + float64(q.Zero)
	switch {
	case v >= 127:
		return 127
	case v <= -128:
		return -128
	case v == v:
		return int8(v)
	}
	return int8(q.Zero)
}

// Fused is the whole input transform for one raw frame format: colour
// conversion, PIL-exact bicubic resize, centre crop, normalisation and int8
// quantization, writing straight into a model's int8 NHWC input tensor.
//
// Only the source rows the crop needs are converted to RGB (into a scratch
// buffer made once); the vertical resize pass then emits each output pixel
// already normalised and quantized through a 256-entry table per channel,
// so there is no float image and no per-frame allocation. The result is bit
// for bit what Preprocess.Apply on ConvertFrame's image followed by
// quant.QuantizeSlice gives. Not safe for concurrent use.
type Fused struct {
	pl   *Pipeline
	f    FrameFormat
	q    Quant
	m    *yuvMatrix
	rgb  RGB          // converted frame (only the needed rows are written)
	qlut [3][256]int8 // byte → normalised → quantized
	y0   int          // source rows converted per frame: [y0, y1)
	y1   int
	rows *rowPlan // the row pipeline when both axes are resized (rgb unused)
}

// NewFused prepares the transform of frames of format f into an int8 input
// quantized with q.
func (p Preprocess) NewFused(f FrameFormat, q Quant) (*Fused, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	if err := q.validate(); err != nil {
		return nil, err
	}
	pl, err := p.NewPipeline(f.W, f.H)
	if err != nil {
		return nil, err
	}
	fu := &Fused{pl: pl, f: f, q: q, m: &bt601Limited}
	for c := range 3 {
		for v := range 256 {
			fu.qlut[c][v] = q.quantize(pl.lut[c][v])
		}
	}
	switch rs := pl.rs; {
	case rs == nil:
		fu.y0, fu.y1 = pl.cy.off, pl.cy.off+pl.cy.keep
	case rs.needV:
		fu.y0, fu.y1 = rs.v.span(0, rs.win.H)
	default:
		fu.y0, fu.y1 = rs.win.Y0, rs.win.Y0+rs.win.H
	}
	// The row pipeline converts with a yuvMatrix: limited range (and RGB)
	// only; full-range frames (MJPEG) take the whole-frame path below.
	if rs := pl.rs; rs != nil && rs.needV && rs.needH && (f.Range == RangeLimited || !f.Pix.isYUV()) {
		fu.rows = newRowPlan(&rs.h, &rs.v, simdRows, fu.m)
		for c := range 3 {
			slope := float64(pl.lut[c][255]-pl.lut[c][0]) / 255 / float64(q.Scale)
			fu.rows.qa[c], fu.rows.qok[c] = fitAffine(&fu.qlut[c], slope)
		}
	} else {
		fu.rgb = RGB{W: f.W, H: f.H, Pix: make([]uint8, 3*f.W*f.H)}
	}
	return fu, nil
}

// Format is the frame format Fused was made for.
func (fu *Fused) Format() FrameFormat { return fu.f }

// Size is the side of the square output (the model input size).
func (fu *Fused) Size() int { return fu.pl.p.Size }

// Apply transforms one frame (at least FrameSize bytes) into dst, the int8
// NHWC [Size][Size][3] input tensor.
func (fu *Fused) Apply(dst []int8, frame []byte) error {
	if n := fu.f.FrameSize(); len(frame) < n {
		return fmt.Errorf("camera: %s frame has %d bytes, want %d", fu.f, len(frame), n)
	}
	pl := fu.pl
	s := pl.p.Size
	if len(dst) != s*s*3 {
		return fmt.Errorf("camera: fused output has %d values, want %d (%dx%dx3)", len(dst), s*s*3, s, s)
	}
	if pl.cx.pad > 0 || pl.cy.pad > 0 || pl.cx.keep < s || pl.cy.keep < s {
		z0, z1, z2 := fu.qlut[0][0], fu.qlut[1][0], fu.qlut[2][0]
		for i := 0; i < len(dst); i += 3 {
			dst[i], dst[i+1], dst[i+2] = z0, z1, z2
		}
	}
	if fu.rows != nil {
		fu.applyRows(dst, frame)
		return nil
	}
	convertRows(fu.rgb.Pix, frame, fu.f, fu.y0, fu.y1)
	stride := 3 * fu.f.W
	rs := pl.rs
	switch {
	case rs == nil:
		fu.lutRows(dst, fu.rgb.Pix[pl.cy.off*stride+3*pl.cx.off:], stride)
	case rs.needV && rs.needH: // full-range frames (see NewFused)
		from, to := rs.v.span(0, rs.win.H)
		ts := 3 * rs.win.W
		rs.horizontal(rs.tmp, ts, fu.rgb.Pix, stride, from, to-from)
		fu.vertical(dst, rs.tmp, ts, 0, from)
	case rs.needV:
		fu.vertical(dst, fu.rgb.Pix, stride, 3*rs.win.X0, 0)
	default:
		rs.horizontal(pl.crop.Pix, 3*pl.crop.W, fu.rgb.Pix, stride, rs.win.Y0, rs.win.H)
		fu.lutRows(dst, pl.crop.Pix, 3*pl.crop.W)
	}
	return nil
}

// applyRows is Apply for a resize of both axes (see fusedrow.go).
func (fu *Fused) applyRows(dst []int8, frame []byte) {
	p, pl := fu.rows, fu.pl
	s := pl.p.Size
	for y := fu.y0; y < fu.y1; y++ {
		p.convertRow(frame, fu.f, fu.m, y)
		p.hRow(y - fu.y0)
	}
	for i := range p.v.n {
		p.outRow(dst[((pl.cy.pad+i)*s+pl.cx.pad)*3:], i, int(p.v.first[i])-fu.y0, &fu.qlut)
	}
}

// lutRows normalises and quantizes the kept window (rows stride apart).
func (fu *Fused) lutRows(dst []int8, src []uint8, stride int) {
	pl := fu.pl
	s := pl.p.Size
	l0, l1, l2 := &fu.qlut[0], &fu.qlut[1], &fu.qlut[2]
	for y := range pl.cy.keep {
		in := src[y*stride : y*stride+3*pl.cx.keep]
		o := dst[((pl.cy.pad+y)*s+pl.cx.pad)*3:]
		o = o[:len(in)]
		for i := 0; i < len(in); i += 3 {
			o[i], o[i+1], o[i+2] = l0[in[i]], l1[in[i+1]], l2[in[i+2]]
		}
	}
}

// vertical is Resampler.vertical with the normalise + quantize table applied
// to each clipped byte as it is produced, written into the crop position of
// the output tensor.
func (fu *Fused) vertical(dst []int8, src []uint8, srcStride, colOff, rowBase int) {
	pl := fu.pl
	r := pl.rs
	s := pl.p.Size
	width := 3 * r.win.W
	l0, l1, l2 := &fu.qlut[0], &fu.qlut[1], &fu.qlut[2]
	for i := range r.v.n {
		acc := r.verticalSums(i, src, srcStride, colOff, rowBase)
		o := dst[((pl.cy.pad+i)*s+pl.cx.pad)*3:]
		o = o[:width]
		for j := 0; j < width; j += 3 {
			o[j] = l0[clip8(acc[j])]
			o[j+1] = l1[clip8(acc[j+1])]
			o[j+2] = l2[clip8(acc[j+2])]
		}
	}
}
