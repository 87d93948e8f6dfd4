// Package camera turns images into model input exactly as timm's eval
// transform does for MixNet (spec §8.1): PIL convert("RGB"), torchvision
// Resize(floor(size/crop_pct), BICUBIC) of the shorter side, CenterCrop(size),
// ToTensor, Normalize(mean, std).
//
// The resize is bit-identical to Pillow's (checked against PIL 9.4 goldens and,
// when /usr/bin/python3 has PIL, live), and so is the float output of the
// whole transform (torchvision 0.14 goldens). PNG decoding matches PIL for
// every colour type and bit depth. JPEG decoding runs Go's image/jpeg and then
// libjpeg's own chroma upsampling and colour conversion, but the IDCT is Go's,
// which rounds differently from libjpeg's now and then: JPEG pixels are within
// a few levels of PIL's (mean 0.04, see TestJPEGNearPIL), not identical. EXIF
// orientation is ignored, as PIL's Image.open ignores it.
package camera

import (
	"fmt"
	"math"
)

// Preprocess is timm's eval transform configuration.
type Preprocess struct {
	Size      int     // crop size, e.g. 224
	CropPct   float64 // e.g. 0.875; 1.0 resizes the shorter side to Size
	Mean, Std [3]float32
}

// DefaultPreprocess is the pretrained MixNet cfg: 224, crop 0.875, ImageNet
// mean/std.
func DefaultPreprocess() Preprocess {
	return Preprocess{
		Size:    224,
		CropPct: 0.875,
		Mean:    [3]float32{0.485, 0.456, 0.406},
		Std:     [3]float32{0.229, 0.224, 0.225},
	}
}

// maxSize bounds Size so that Size² pixels stay within the pixel limit.
const maxSize = 1 << 13

// Validate reports a configuration timm could not run or that would make
// the output meaningless.
func (p Preprocess) Validate() error {
	if p.Size <= 0 || p.Size > maxSize {
		return fmt.Errorf("camera: preprocess size %d: want 1..%d", p.Size, maxSize)
	}
	if !(p.CropPct > 0) || math.IsInf(p.CropPct, 0) {
		return fmt.Errorf("camera: preprocess crop_pct %v: want a finite value > 0", p.CropPct)
	}
	if s := math.Floor(float64(p.Size) / p.CropPct); s < 1 || s > maxPixels {
		return fmt.Errorf("camera: preprocess size %d / crop_pct %v gives resize %v: want 1..%d",
			p.Size, p.CropPct, s, maxPixels)
	}
	for c := range 3 {
		m, s := float64(p.Mean[c]), float64(p.Std[c])
		if math.IsNaN(m) || math.IsInf(m, 0) {
			return fmt.Errorf("camera: preprocess mean[%d] = %v: want finite", c, m)
		}
		if s == 0 || math.IsNaN(s) || math.IsInf(s, 0) {
			return fmt.Errorf("camera: preprocess std[%d] = %v: want finite and non-zero", c, s)
		}
	}
	return nil
}

// scale is timm's scale_size = math.floor(img_size / crop_pct), in float64 as
// Python computes it (224/0.875 is exactly 256.0 there too).
func (p Preprocess) scale() int { return int(math.Floor(float64(p.Size) / p.CropPct)) }

// ResizedSize is the size torchvision's Resize(scale) gives a w×h image: the
// shorter side (width on ties) becomes scale, the longer one
// int(scale*long/short), truncated (_compute_resized_output_size). w and h
// must be positive and p valid.
func (p Preprocess) ResizedSize(w, h int) (rw, rh int) {
	s := p.scale()
	if w <= h {
		return s, int(float64(s) * float64(h) / float64(w))
	}
	return int(float64(s) * float64(w) / float64(h)), s
}

// cropAxis is torchvision CenterCrop along one axis of length n cut to c:
// zero padding of (c-n)//2 before when n < c, else an offset of
// round((n-c)/2) with Python's half-to-even round.
type cropAxis struct {
	pad  int // output positions before the image starts
	off  int // first resized index kept
	keep int // number of resized indices kept
}

func newCropAxis(n, c int) cropAxis {
	if n < c {
		return cropAxis{pad: (c - n) / 2, off: 0, keep: n}
	}
	d := n - c
	off := d / 2
	if d%2 == 1 && off%2 == 1 { // x.5 rounds to the even neighbour
		off++
	}
	return cropAxis{off: off, keep: c}
}

// Pipeline is a Preprocess bound to one source size: resize coefficients,
// crop geometry, scratch and the normalisation table are made once, and Apply
// allocates nothing. Only the pixels inside the crop are resampled. Not safe
// for concurrent use.
type Pipeline struct {
	p          Preprocess
	srcW, srcH int
	rw, rh     int
	cx, cy     cropAxis
	rs         *Resampler // nil when the image already has the resized size
	crop       RGB        // resampled crop window
	lut        [3][256]float32
}

// NewPipeline prepares the transform for srcW×srcH images.
func (p Preprocess) NewPipeline(srcW, srcH int) (*Pipeline, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if err := checkSize("preprocess source", srcW, srcH); err != nil {
		return nil, err
	}
	// Checked in float64 first: an extreme aspect ratio must not overflow
	// int on 32-bit targets.
	if long := float64(p.scale()) * float64(max(srcW, srcH)) / float64(min(srcW, srcH)); long > maxPixels {
		return nil, fmt.Errorf("camera: %dx%d resizes to a %.0f pixel long side: more than %d",
			srcW, srcH, long, maxPixels)
	}
	pl := &Pipeline{p: p, srcW: srcW, srcH: srcH}
	pl.rw, pl.rh = p.ResizedSize(srcW, srcH)
	pl.cx = newCropAxis(pl.rw, p.Size)
	pl.cy = newCropAxis(pl.rh, p.Size)
	if pl.rw != srcW || pl.rh != srcH {
		win := Rect{X0: pl.cx.off, Y0: pl.cy.off, W: pl.cx.keep, H: pl.cy.keep}
		rs, err := NewWindowResampler(srcW, srcH, pl.rw, pl.rh, win)
		if err != nil {
			return nil, err
		}
		pl.rs = rs
		pl.crop = RGB{W: win.W, H: win.H, Pix: make([]uint8, 3*win.W*win.H)}
	}
	for c := range 3 {
		for v := range 256 {
			// ToTensor then Normalize, each op rounded to float32 in
			// torchvision's order.
			pl.lut[c][v] = (float32(v)/255 - p.Mean[c]) / p.Std[c]
		}
	}
	return pl, nil
}

// CropRect reports where the crop lies: the resized size, the window of the
// resized image that is kept, and the zero padding (left, top) before it in
// the Size×Size output.
func (pl *Pipeline) CropRect() (rw, rh int, win Rect, padX, padY int) {
	return pl.rw, pl.rh, Rect{pl.cx.off, pl.cy.off, pl.cx.keep, pl.cy.keep}, pl.cx.pad, pl.cy.pad
}

// Apply runs resize + centre crop + normalize on img (which must have the
// Pipeline's source size) and writes NHWC float32 [Size][Size][3] into dst.
func (pl *Pipeline) Apply(dst []float32, img *RGB) error {
	if err := img.check("input"); err != nil {
		return err
	}
	if img.W != pl.srcW || img.H != pl.srcH {
		return fmt.Errorf("camera: pipeline for %dx%d given a %dx%d image", pl.srcW, pl.srcH, img.W, img.H)
	}
	s := pl.p.Size
	if len(dst) != s*s*3 {
		return fmt.Errorf("camera: preprocess output has %d floats, want %d (%dx%dx3)", len(dst), s*s*3, s, s)
	}
	// src is the kept window with its own stride.
	var (
		src    []uint8
		stride int
	)
	if pl.rs != nil {
		pl.rs.Resize(&pl.crop, img)
		src, stride = pl.crop.Pix, 3*pl.crop.W
	} else {
		src, stride = img.Pix[pl.cy.off*3*img.W+3*pl.cx.off:], 3*img.W
	}
	if pl.cx.pad > 0 || pl.cy.pad > 0 || pl.cx.keep < s || pl.cy.keep < s {
		// torchvision pads the PIL image with black before ToTensor.
		z := [3]float32{pl.lut[0][0], pl.lut[1][0], pl.lut[2][0]}
		for i := 0; i < len(dst); i += 3 {
			dst[i], dst[i+1], dst[i+2] = z[0], z[1], z[2]
		}
	}
	l0, l1, l2 := &pl.lut[0], &pl.lut[1], &pl.lut[2]
	for y := range pl.cy.keep {
		in := src[y*stride : y*stride+3*pl.cx.keep]
		o := dst[((pl.cy.pad+y)*s+pl.cx.pad)*3:]
		o = o[:len(in)]
		for i := 0; i < len(in); i += 3 {
			o[i] = l0[in[i]]
			o[i+1] = l1[in[i+1]]
			o[i+2] = l2[in[i+2]]
		}
	}
	return nil
}

// Apply runs resize + centre crop + normalize, writing NHWC float32
// [Size][Size][3] into dst (len = Size*Size*3). For a stream of equally sized
// frames use NewPipeline once and Pipeline.Apply per frame.
func (p Preprocess) Apply(dst []float32, img *RGB) error {
	if err := img.check("input"); err != nil {
		return err
	}
	pl, err := p.NewPipeline(img.W, img.H)
	if err != nil {
		return err
	}
	return pl.Apply(dst, img)
}

// NHWCToNCHW transposes one h×w×c tensor to c×h×w. dst and src must not
// overlap.
func NHWCToNCHW(dst, src []float32, h, w, c int) {
	n := h * w
	if len(src) < n*c || len(dst) < n*c {
		panic(fmt.Sprintf("camera: NHWCToNCHW %dx%dx%d needs %d floats, have src %d dst %d", h, w, c, n*c, len(src), len(dst)))
	}
	for ch := range c {
		d := dst[ch*n : ch*n+n]
		for i := range d {
			d[i] = src[i*c+ch]
		}
	}
}

// NCHWToNHWC transposes one c×h×w tensor to h×w×c. dst and src must not
// overlap.
func NCHWToNHWC(dst, src []float32, h, w, c int) {
	n := h * w
	if len(src) < n*c || len(dst) < n*c {
		panic(fmt.Sprintf("camera: NCHWToNHWC %dx%dx%d needs %d floats, have src %d dst %d", h, w, c, n*c, len(src), len(dst)))
	}
	for ch := range c {
		s := src[ch*n : ch*n+n]
		for i, v := range s {
			dst[i*c+ch] = v
		}
	}
}
