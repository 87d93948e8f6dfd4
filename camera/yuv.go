package camera

import (
	"fmt"
	"image/color"
	"strings"
)

// PixelFormat is the memory layout of a raw camera frame.
type PixelFormat uint8

// The raw formats a FrameSource delivers. The planar YUV formats are what
// rpicam-vid --codec yuv420, ffmpeg -f rawvideo and YUV4MPEG2 streams carry.
const (
	I420    PixelFormat = iota + 1 // planar Y, U (w/2×h/2), V (w/2×h/2); yuv420p
	NV12                           // planar Y, interleaved UV (w/2×h/2 pairs)
	YUYV                           // packed 4:2:2: Y0 U Y1 V per two pixels; yuyv422
	RGB24                          // packed R G B
	YUV422P                        // planar Y, U (w/2×h), V (w/2×h)
	YUV444P                        // planar Y, U, V, all full size
	Gray                           // Y only (Y4M Cmono); Cb = Cr = 128
)

var pixNames = map[PixelFormat]string{I420: "i420", NV12: "nv12", YUYV: "yuyv", RGB24: "rgb24",
	YUV422P: "yuv422p", YUV444P: "yuv444p", Gray: "gray"}

func (p PixelFormat) String() string {
	if s, ok := pixNames[p]; ok {
		return s
	}
	return fmt.Sprintf("PixelFormat(%d)", uint8(p))
}

// ParsePixelFormat accepts i420 (yuv420, yuv420p), nv12, yuyv (yuyv422,
// yuy2), rgb24 (rgb), yuv422p, yuv444p and gray.
func ParsePixelFormat(s string) (PixelFormat, error) {
	switch strings.ToLower(s) {
	case "i420", "yuv420", "yuv420p", "iyuv":
		return I420, nil
	case "nv12":
		return NV12, nil
	case "yuyv", "yuyv422", "yuy2":
		return YUYV, nil
	case "rgb24", "rgb":
		return RGB24, nil
	case "yuv422p":
		return YUV422P, nil
	case "yuv444p":
		return YUV444P, nil
	case "gray", "grey", "mono", "y8":
		return Gray, nil
	}
	return 0, fmt.Errorf("camera: pixel format %q: want i420, nv12, yuyv, rgb24, yuv422p, yuv444p or gray", s)
}

// FrameFormat describes one raw frame: pixel format, size and the row
// stride in bytes of the first plane (Y, or the packed pixels). Stride 0
// means rows without padding. Chroma planes of the planar formats have the
// stride of their width scaled like the luma stride (stride/2 for 4:2:0 and
// 4:2:2, which is what rpicam-vid and V4L2 use for padded rows; NV12's
// interleaved plane has the luma stride).
//
// Range is the YUV colour range: limited (BT.601 "TV range", the zero
// value: rpicam-vid, ffmpeg, Y4M) or full (JFIF: MJPEG webcams, Y4M with
// XCOLORRANGE=FULL). RGB24 frames ignore it.
type FrameFormat struct {
	Pix    PixelFormat
	W, H   int
	Stride int
	Range  ColorRange
}

// ColorRange is the range of the Y, Cb and Cr samples of a YUV frame.
type ColorRange uint8

const (
	// RangeLimited is BT.601 limited range: Y in [16, 235], Cb and Cr in
	// [16, 240] (what rpicam-vid and ffmpeg emit by default).
	RangeLimited ColorRange = iota
	// RangeFull is JFIF full range: Y, Cb and Cr in [0, 255] (JPEG and
	// MJPEG frames).
	RangeFull
)

func (r ColorRange) String() string {
	switch r {
	case RangeLimited:
		return "limited"
	case RangeFull:
		return "full"
	}
	return fmt.Sprintf("ColorRange(%d)", uint8(r))
}

// ParseColorRange accepts limited (tv, mpeg) and full (pc, jpeg).
func ParseColorRange(s string) (ColorRange, error) {
	switch strings.ToLower(s) {
	case "limited", "tv", "mpeg":
		return RangeLimited, nil
	case "full", "pc", "jpeg":
		return RangeFull, nil
	}
	return 0, fmt.Errorf("camera: colour range %q: want limited or full", s)
}

// isYUV reports a YUV format (one the colour range applies to).
func (p PixelFormat) isYUV() bool { return p != RGB24 }

// rowBytes is the unpadded length of a first-plane row.
func (f FrameFormat) rowBytes() int {
	switch f.Pix {
	case YUYV:
		return 4 * ((f.W + 1) / 2)
	case RGB24:
		return 3 * f.W
	}
	return f.W
}

// stride is the first plane's row stride.
func (f FrameFormat) stride() int {
	if f.Stride > 0 {
		return f.Stride
	}
	return f.rowBytes()
}

// chroma returns the chroma plane geometry of a planar format: width,
// height and stride of each of U and V (NV12: of the UV plane, in bytes).
func (f FrameFormat) chroma() (cw, ch, cs int) {
	s := f.stride()
	switch f.Pix {
	case I420:
		return (f.W + 1) / 2, (f.H + 1) / 2, (s + 1) / 2
	case NV12:
		return (f.W + 1) / 2, (f.H + 1) / 2, s + s%2
	case YUV422P:
		return (f.W + 1) / 2, f.H, (s + 1) / 2
	case YUV444P:
		return f.W, f.H, s
	}
	return 0, 0, 0
}

// Validate reports a format that cannot describe a frame.
func (f FrameFormat) Validate() error {
	if _, ok := pixNames[f.Pix]; !ok {
		return fmt.Errorf("camera: unknown pixel format %d", f.Pix)
	}
	if f.Range > RangeFull {
		return fmt.Errorf("camera: %s: unknown colour range %d", f.Pix, f.Range)
	}
	if err := checkSize("frame", f.W, f.H); err != nil {
		return err
	}
	if f.Stride != 0 && f.Stride < f.rowBytes() {
		return fmt.Errorf("camera: %s %dx%d: stride %d is less than a row (%d bytes)", f.Pix, f.W, f.H, f.Stride, f.rowBytes())
	}
	if int64(f.stride())*int64(f.H)*3 > 1<<31 {
		return fmt.Errorf("camera: %s %dx%d stride %d: frame too large", f.Pix, f.W, f.H, f.Stride)
	}
	return nil
}

// FrameSize is the number of bytes of one frame.
func (f FrameFormat) FrameSize() int {
	n := f.stride() * f.H
	switch f.Pix {
	case I420, YUV422P, YUV444P:
		_, ch, cs := f.chroma()
		n += 2 * ch * cs
	case NV12:
		_, ch, cs := f.chroma()
		n += ch * cs
	}
	return n
}

func (f FrameFormat) String() string {
	s := fmt.Sprintf("%s %dx%d", f.Pix, f.W, f.H)
	if f.Stride != 0 && f.Stride != f.rowBytes() {
		s += fmt.Sprintf(" stride %d", f.Stride)
	}
	if f.Range == RangeFull && f.Pix.isYUV() {
		s += " full range"
	}
	return s
}

// yuvTable converts one Y, Cb, Cr triple to RGB in 16-bit fixed point:
//
//	R = (y[Y] + rv[V]) >> 16
//	G = (y[Y] + gu[U] + gv[V]) >> 16
//	B = (y[Y] + bu[U]) >> 16
//
// each clamped to [0, 255]. Both ranges are exact in this form:
//
// Limited range (BT.601 "TV range", what rpicam-vid and ffmpeg emit by
// default) is bt601Limited below, the usual 8-bit fixed point scaled by 256.
//
// Full range (JFIF) is libjpeg's jdcolor.c arithmetic (ycbcrToRGB, what
// classify applies to a JPEG file): R = Y + round(1.402(V-128)), G = Y +
// (-0.34414(U-128) - 0.71414(V-128) + 1/2 in 16-bit fixed point) >> 16,
// B = Y + round(1.772(U-128)). It rounds its chroma terms separately, so it
// is not a yuvMatrix and has no SIMD converter (Fused takes the scalar
// path for it).
//
// Chroma is replicated (nearest sample) when it is subsampled, whatever the
// siting the stream declares.
type yuvTable struct {
	y, rv, gu, gv, bu [256]int32
}

var yuvTables = func() (t [2]yuvTable) {
	m := &bt601Limited
	for i := range 256 {
		l, e := int32(i), int32(i)-128
		lim := &t[RangeLimited]
		lim.y[i] = (m.yMul*(l-m.yOff) + 128) << 8
		lim.rv[i] = (m.rv * e) << 8
		lim.gu[i] = (m.gu * e) << 8
		lim.gv[i] = (m.gv * e) << 8
		lim.bu[i] = (m.bu * e) << 8
		full, c := &t[RangeFull], &yccTables
		full.y[i] = l << yccScaleBits
		full.rv[i] = c.crR[i] << yccScaleBits
		full.gu[i] = c.cbG[i]
		full.gv[i] = c.crG[i]
		full.bu[i] = c.cbB[i] << yccScaleBits
	}
	return t
}()

func yuvToRGB(t *yuvTable, y, u, v uint8, d []uint8) {
	c := t.y[y]
	d[0] = clamp8((c + t.rv[v]) >> 16)
	d[1] = clamp8((c + t.gu[u] + t.gv[v]) >> 16)
	d[2] = clamp8((c + t.bu[u]) >> 16)
}

// yuvMatrix is one YUV → RGB conversion in 8-bit fixed point:
//
//	c = yMul(Y-yOff) + 128
//	R = (c + rv(V-128)) >> 8
//	G = (c + gu(U-128) + gv(V-128)) >> 8
//	B = (c + bu(U-128)) >> 8
//
// each clamped to [0, 255]. The fused row converters (the scalar one and
// the SIMD kernels) take their constants from a yuvMatrix. The SIMD kernels
// need every constant and 128 - yMul*yOff to fit int16.
type yuvMatrix struct{ yOff, yMul, rv, gu, gv, bu int32 }

// bt601Limited is BT.601 limited range; yuvTables[RangeLimited] is built
// from it, so both converters agree by construction (and by test).
var bt601Limited = yuvMatrix{yOff: 16, yMul: 298, rv: 409, gu: -100, gv: -208, bu: 516}

func (m *yuvMatrix) rgb(y, u, v uint8) (r, g, b uint8) {
	c := m.yMul*(int32(y)-m.yOff) + 128
	e, dd := int32(v)-128, int32(u)-128
	return clamp8((c + m.rv*e) >> 8), clamp8((c + m.gu*dd + m.gv*e) >> 8), clamp8((c + m.bu*dd) >> 8)
}

func clamp8(v int32) uint8 {
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return uint8(v)
}

// convertRows writes rows [y0, y1) of frame (format f, FrameSize bytes) as
// packed RGB into dst, whose rows are 3*f.W bytes apart and which holds the
// whole image. The caller checks the sizes.
func convertRows(dst []uint8, frame []byte, f FrameFormat, y0, y1 int) {
	w, s := f.W, f.stride()
	t := &yuvTables[f.Range&1]
	switch f.Pix {
	case RGB24:
		for y := y0; y < y1; y++ {
			copy(dst[3*w*y:3*w*(y+1)], frame[y*s:y*s+3*w])
		}
	case Gray:
		for y := y0; y < y1; y++ {
			row, o := frame[y*s:y*s+w], dst[3*w*y:3*w*(y+1)]
			for x, v := range row {
				yuvToRGB(t, v, 128, 128, o[3*x:3*x+3])
			}
		}
	case YUYV:
		for y := y0; y < y1; y++ {
			row, o := frame[y*s:y*s+f.rowBytes()], dst[3*w*y:3*w*(y+1)]
			for x := range w {
				q := row[4*(x/2) : 4*(x/2)+4]
				yuvToRGB(t, q[2*(x&1)], q[1], q[3], o[3*x:3*x+3])
			}
		}
	case NV12:
		_, ch, cs := f.chroma()
		uv := frame[s*f.H : s*f.H+ch*cs]
		for y := y0; y < y1; y++ {
			row, o := frame[y*s:y*s+w], dst[3*w*y:3*w*(y+1)]
			c := uv[(y/2)*cs:]
			for x, v := range row {
				yuvToRGB(t, v, c[2*(x/2)], c[2*(x/2)+1], o[3*x:3*x+3])
			}
		}
	case I420, YUV422P, YUV444P:
		_, ch, cs := f.chroma()
		up := frame[s*f.H : s*f.H+ch*cs]
		vp := frame[s*f.H+ch*cs : s*f.H+2*ch*cs]
		hs, vs := 1, 1
		switch f.Pix {
		case I420:
			hs, vs = 2, 2
		case YUV422P:
			hs = 2
		}
		for y := y0; y < y1; y++ {
			row, o := frame[y*s:y*s+w], dst[3*w*y:3*w*(y+1)]
			u, v := up[(y/vs)*cs:], vp[(y/vs)*cs:]
			if hs == 1 {
				for x, l := range row {
					yuvToRGB(t, l, u[x], v[x], o[3*x:3*x+3])
				}
				continue
			}
			for x, l := range row {
				yuvToRGB(t, l, u[x/2], v[x/2], o[3*x:3*x+3])
			}
		}
	}
}

// ConvertFrame converts one raw frame to RGB with the same arithmetic the
// fused preprocessing uses (f.Range: BT.601 limited or JFIF full range;
// replicated chroma). It
// allocates the image; streams use Fused instead.
func ConvertFrame(frame []byte, f FrameFormat) (*RGB, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	if len(frame) < f.FrameSize() {
		return nil, fmt.Errorf("camera: %s frame has %d bytes, want %d", f, len(frame), f.FrameSize())
	}
	m := NewRGB(f.W, f.H)
	convertRows(m.Pix, frame, f, 0, f.H)
	return m, nil
}

// EncodeFrame writes img as a raw frame of format f (f.W, f.H must be the
// image size) into dst, in f.Range (BT.601 limited or JFIF full) averaging chroma
// over each subsampled block. It is the inverse of ConvertFrame up to
// rounding, for tests and fixtures. Padding bytes are set to 0.
func EncodeFrame(dst []byte, img *RGB, f FrameFormat) error {
	if err := f.Validate(); err != nil {
		return err
	}
	if img.W != f.W || img.H != f.H || len(img.Pix) < 3*img.W*img.H {
		return fmt.Errorf("camera: EncodeFrame: image %dx%d for a %s frame", img.W, img.H, f)
	}
	if len(dst) < f.FrameSize() {
		return fmt.Errorf("camera: EncodeFrame: %d bytes for a %d byte frame", len(dst), f.FrameSize())
	}
	clear(dst[:f.FrameSize()])
	w, h, s := f.W, f.H, f.stride()
	px := func(x, y int) (r, g, b int32) {
		p := img.Pix[3*(y*w+x):]
		return int32(p[0]), int32(p[1]), int32(p[2])
	}
	full := f.Range == RangeFull
	luma := func(x, y int) uint8 {
		r, g, b := px(x, y)
		if full {
			l, _, _ := color.RGBToYCbCr(uint8(r), uint8(g), uint8(b))
			return l
		}
		return clamp8(((66*r + 129*g + 25*b + 128) >> 8) + 16)
	}
	// chroma averages the block [x, x+bw) × [y, y+bh) clipped to the image.
	chroma := func(x, y, bw, bh int) (u, v uint8) {
		var su, sv, n int32
		for yy := y; yy < min(y+bh, h); yy++ {
			for xx := x; xx < min(x+bw, w); xx++ {
				r, g, b := px(xx, yy)
				if full {
					_, cb, cr := color.RGBToYCbCr(uint8(r), uint8(g), uint8(b))
					su, sv = su+int32(cb), sv+int32(cr)
				} else {
					su += ((-38*r - 74*g + 112*b + 128) >> 8) + 128
					sv += ((112*r - 94*g - 18*b + 128) >> 8) + 128
				}
				n++
			}
		}
		return clamp8((su + n/2) / n), clamp8((sv + n/2) / n)
	}
	switch f.Pix {
	case RGB24:
		for y := range h {
			copy(dst[y*s:y*s+3*w], img.Pix[3*w*y:3*w*(y+1)])
		}
		return nil
	case YUYV:
		for y := range h {
			for x := 0; x < w; x += 2 {
				q := dst[y*s+2*x:]
				u, v := chroma(x, y, 2, 1)
				q[0], q[1], q[3] = luma(x, y), u, v
				q[2] = q[0]
				if x+1 < w {
					q[2] = luma(x+1, y)
				}
			}
		}
		return nil
	}
	for y := range h {
		for x := range w {
			dst[y*s+x] = luma(x, y)
		}
	}
	cw, ch, cs := f.chroma()
	base := s * h
	switch f.Pix {
	case NV12:
		for y := range ch {
			for x := range cw {
				u, v := chroma(2*x, 2*y, 2, 2)
				dst[base+y*cs+2*x], dst[base+y*cs+2*x+1] = u, v
			}
		}
	case I420, YUV422P, YUV444P:
		bw, bh := 2, 2
		if f.Pix == YUV422P {
			bh = 1
		}
		if f.Pix == YUV444P {
			bw, bh = 1, 1
		}
		for y := range ch {
			for x := range cw {
				u, v := chroma(bw*x, bh*y, bw, bh)
				dst[base+y*cs+x], dst[base+ch*cs+y*cs+x] = u, v
			}
		}
	}
	return nil
}
