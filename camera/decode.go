package camera

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"os"
)

// RGB is a packed 8-bit RGB image: row-major, stride 3*W, no padding.
type RGB struct {
	W, H int
	Pix  []uint8
}

// NewRGB allocates a w×h image.
func NewRGB(w, h int) *RGB { return &RGB{W: w, H: h, Pix: make([]uint8, 3*w*h)} }

func (m *RGB) check(what string) error {
	if m == nil {
		return fmt.Errorf("camera: %s image is nil", what)
	}
	if err := checkSize(what, m.W, m.H); err != nil {
		return err
	}
	if len(m.Pix) != 3*m.W*m.H {
		return fmt.Errorf("camera: %s image %dx%d has %d bytes, want %d", what, m.W, m.H, len(m.Pix), 3*m.W*m.H)
	}
	return nil
}

var (
	pngMagic  = []byte("\x89PNG\r\n\x1a\n")
	jpegMagic = []byte{0xff, 0xd8}
)

// DecodeFile reads a PNG or JPEG file into RGB as PIL's
// Image.open(path).convert("RGB") does. Errors name the file.
func DecodeFile(path string) (*RGB, error) { return DecodeFileWith(path, DecodeOptions{}) }

// DecodeOptions bound what decoding a picture costs.
type DecodeOptions struct {
	// MaxPixels refuses, before decoding, a picture that would decode to
	// more pixels (an error wrapping ErrTooLarge); 0 means the package's
	// own bound (PIL's, 179 MP).
	MaxPixels int64
	// Target, when set, is the size the picture will be resized to (from
	// its size). A baseline JPEG at least twice that in both directions is
	// then decoded at 1/2, 1/4 or 1/8 of its size (DCT scaling, as libjpeg's
	// scale_denom), the most that keeps it at least twice the target: the
	// bicubic resize still shrinks it, and a 100 MP photo never exists at
	// full size. The pixels differ from a full decode (see JPEGScale).
	Target func(w, h int) (rw, rh int)
}

// ErrTooLarge marks a picture refused for DecodeOptions.MaxPixels.
var ErrTooLarge = errors.New("picture too large")

// JPEGScale is the DCT scaling DecodeOptions.Target picks for a w×h JPEG
// resized to rw×rh: 8, 4, 2, or 1 (none).
func JPEGScale(w, h, rw, rh int) int {
	for _, s := range []int{8, 4, 2} {
		if sw, sh := jpegScaledSize(w, h, s); sw >= 2*rw && sh >= 2*rh {
			return s
		}
	}
	return 1
}

// DecodedSize is the size DecodeFileWith(path, o) gives, read from the
// header (a JPEG that turns out not to be scalable decodes at full size),
// with the same refusals.
func DecodedSize(path string, o DecodeOptions) (w, h int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, fmt.Errorf("camera: %w", err)
	}
	defer f.Close()
	var head [8]byte
	n, _ := io.ReadFull(f, head[:])
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return 0, 0, fmt.Errorf("camera: %w", err)
	}
	config, format := png.DecodeConfig, "PNG"
	switch {
	case bytes.HasPrefix(head[:n], pngMagic):
	case bytes.HasPrefix(head[:n], jpegMagic):
		config, format = jpeg.DecodeConfig, "JPEG"
	default:
		return 0, 0, fmt.Errorf("camera: decode %s: not a PNG or JPEG", path)
	}
	cfg, err := config(f)
	if err != nil {
		return 0, 0, fmt.Errorf("camera: decode %s: %s header: %w", path, format, err)
	}
	w, h, s := cfg.Width, cfg.Height, 1
	if err := checkSize(format, w, h); err != nil {
		return 0, 0, fmt.Errorf("camera: decode %s: %w", path, err)
	}
	if format == "JPEG" && o.Target != nil {
		rw, rh := o.Target(w, h)
		if s = JPEGScale(w, h, rw, rh); s > 1 {
			w, h = jpegScaledSize(w, h, s)
		}
	}
	if err := checkMaxPixels(format, w, h, o.MaxPixels, s); err != nil {
		return 0, 0, fmt.Errorf("camera: decode %s: %w", path, err)
	}
	return w, h, nil
}

// DecodeFileWith is DecodeFile within o's bounds.
func DecodeFileWith(path string, o DecodeOptions) (*RGB, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("camera: %w", err) // *PathError names the file
	}
	m, err := decodeBytesWith(data, o)
	if err != nil {
		return nil, fmt.Errorf("camera: decode %s: %w", path, err)
	}
	return m, nil
}

// Decode reads a PNG or JPEG stream into RGB as PIL's convert("RGB") does.
func Decode(r io.Reader) (*RGB, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("camera: read image: %w", err)
	}
	m, err := decodeBytes(data)
	if err != nil {
		return nil, fmt.Errorf("camera: decode: %w", err)
	}
	return m, nil
}

func decodeBytes(data []byte) (*RGB, error) { return decodeBytesWith(data, DecodeOptions{}) }

func decodeBytesWith(data []byte, o DecodeOptions) (m *RGB, err error) {
	// The stdlib decoders are fuzzed and should not panic, but a camera
	// service must not die on one bad file, so a panic becomes an error.
	defer func() {
		if p := recover(); p != nil {
			m, err = nil, fmt.Errorf("decoder panic: %v", p)
		}
	}()
	var (
		config func(io.Reader) (image.Config, error)
		decode func(io.Reader) (image.Image, error)
		format string
	)
	switch {
	case bytes.HasPrefix(data, pngMagic):
		config, decode, format = png.DecodeConfig, png.Decode, "PNG"
	case bytes.HasPrefix(data, jpegMagic):
		config, decode, format = jpeg.DecodeConfig, jpeg.Decode, "JPEG"
	case len(data) == 0:
		return nil, errors.New("empty file")
	default:
		n := min(len(data), 8)
		return nil, fmt.Errorf("not a PNG or JPEG (starts with % x)", data[:n])
	}
	// The header decides how much the decoder allocates; refuse absurd sizes
	// before a corrupt or hostile header makes us allocate gigabytes.
	cfg, err := config(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%s header: %w", format, err)
	}
	if err := checkSize(format, cfg.Width, cfg.Height); err != nil {
		return nil, err
	}
	if format == "JPEG" && o.Target != nil {
		rw, rh := o.Target(cfg.Width, cfg.Height)
		if s := JPEGScale(cfg.Width, cfg.Height, rw, rh); s > 1 {
			sw, sh := jpegScaledSize(cfg.Width, cfg.Height, s)
			if err := checkMaxPixels(format, sw, sh, o.MaxPixels, s); err != nil {
				return nil, err
			}
			if img, err := decodeJPEGScaled(data, s); err == nil {
				return ToRGB(img), nil
			}
			// Progressive, CMYK, damaged...: the full decoder decides.
		}
	}
	if err := checkMaxPixels(format, cfg.Width, cfg.Height, o.MaxPixels, 1); err != nil {
		return nil, err
	}
	img, err := decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%s %dx%d: %w", format, cfg.Width, cfg.Height, err)
	}
	if format == "PNG" && isGray16PNG(data) {
		return gray16ToRGB(img), nil
	}
	if m := packRGBInPlace(img); m != nil {
		return m, nil
	}
	return ToRGB(img), nil
}

// checkMaxPixels refuses a w×h decode (at 1/scale) above limit pixels.
func checkMaxPixels(format string, w, h int, limit int64, scale int) error {
	if limit <= 0 || int64(w)*int64(h) <= limit {
		return nil
	}
	at := ""
	if scale > 1 {
		at = fmt.Sprintf(" at 1/%d", scale)
	}
	return fmt.Errorf("%s decodes%s to %dx%d = %.1f MP, more than the limit of %.1f MP: %w",
		format, at, w, h, float64(w)*float64(h)/1e6, float64(limit)/1e6, ErrTooLarge)
}

// packRGBInPlace turns a decoded 8-bit RGBA or NRGBA picture into RGB in its
// own buffer, as ToRGB would convert it, so a big PNG needs 4 bytes per
// pixel rather than 7. Writing pixel i's 3 bytes never overtakes the 4
// bytes of pixel i still to be read. Other kinds return nil.
func packRGBInPlace(img image.Image) *RGB {
	var pix []uint8
	var stride int
	var r image.Rectangle
	premul := false
	switch m := img.(type) {
	case *image.NRGBA:
		pix, stride, r = m.Pix, m.Stride, m.Rect
	case *image.RGBA:
		pix, stride, r, premul = m.Pix, m.Stride, m.Rect, true
	default:
		return nil
	}
	w, h := r.Dx(), r.Dy()
	if r.Min != (image.Point{}) || stride != 4*w || len(pix) < 4*w*h {
		return nil
	}
	for i := range w * h {
		p := pix[4*i : 4*i+4]
		c0, c1, c2, a := p[0], p[1], p[2], p[3]
		if premul && a != 0xff {
			c := color.NRGBAModel.Convert(color.RGBA{c0, c1, c2, a}).(color.NRGBA)
			c0, c1, c2 = c.R, c.G, c.B
		}
		pix[3*i], pix[3*i+1], pix[3*i+2] = c0, c1, c2
	}
	return &RGB{W: w, H: h, Pix: pix[: 3*w*h : 3*w*h]}
}

// isGray16PNG reports a 16-bit greyscale PNG (colour type 0). PIL opens it as
// mode "I" and convert("RGB") clips each value to 255 instead of keeping the
// high byte. Go decodes it as Gray16, or as NRGBA64 when it has a tRNS chunk,
// so the header is the only reliable witness.
func isGray16PNG(data []byte) bool {
	// signature(8) length(4) "IHDR" width(4) height(4) depth(1) colour type(1)
	return len(data) >= 26 && string(data[12:16]) == "IHDR" && data[24] == 16 && data[25] == 0
}

// gray16ToRGB applies PIL's clip for 16-bit greyscale (mode I → RGB).
func gray16ToRGB(img image.Image) *RGB {
	m, ok := img.(*image.NRGBA64)
	if !ok {
		return ToRGB(img) // Gray16 gets the clip there
	}
	// Grey with tRNS: Go puts the unpremultiplied grey in R, G and B.
	b := m.Bounds()
	w, h := b.Dx(), b.Dy()
	out := NewRGB(w, h)
	for y := range h {
		row := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):]
		for x := range w {
			g := uint8(255)
			if row[8*x] == 0 {
				g = row[8*x+1]
			}
			d := out.Pix[3*(y*w+x) : 3*(y*w+x)+3]
			d[0], d[1], d[2] = g, g, g
		}
	}
	return out
}

// ToRGB converts any image to 8-bit RGB the way PIL's convert("RGB") treats
// the corresponding PIL mode: alpha is dropped without compositing (colours
// are taken unpremultiplied), 16-bit colour keeps the high byte, 16-bit grey
// is clipped to 255 (PIL's I → RGB), CMYK uses PIL's cmyk2rgb rounding.
// YCbCr (a decoded JPEG) gets libjpeg's chroma upsampling and colour
// conversion; see the package notes on JPEG parity.
func ToRGB(img image.Image) *RGB {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	out := NewRGB(w, h)
	o := out.Pix
	switch m := img.(type) {
	case *image.NRGBA:
		for y := range h {
			row := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):]
			for x := range w {
				copy(o[3*(y*w+x):3*(y*w+x)+3], row[4*x:4*x+3])
			}
		}
	case *image.RGBA:
		for y := range h {
			row := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):]
			for x := range w {
				p := row[4*x : 4*x+4]
				d := o[3*(y*w+x) : 3*(y*w+x)+3]
				if p[3] == 0xff {
					d[0], d[1], d[2] = p[0], p[1], p[2]
				} else {
					// Straight colour, as PIL's RGBA would hold it.
					c := color.NRGBAModel.Convert(color.RGBA{p[0], p[1], p[2], p[3]}).(color.NRGBA)
					d[0], d[1], d[2] = c.R, c.G, c.B
				}
			}
		}
	case *image.NRGBA64:
		for y := range h {
			row := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):]
			for x := range w {
				p := row[8*x : 8*x+8] // big-endian: high bytes at 0, 2, 4
				d := o[3*(y*w+x) : 3*(y*w+x)+3]
				d[0], d[1], d[2] = p[0], p[2], p[4]
			}
		}
	case *image.RGBA64:
		for y := range h {
			row := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):]
			for x := range w {
				p := row[8*x : 8*x+8]
				d := o[3*(y*w+x) : 3*(y*w+x)+3]
				if p[6] == 0xff && p[7] == 0xff {
					d[0], d[1], d[2] = p[0], p[2], p[4]
				} else {
					c := color.NRGBA64Model.Convert(m.RGBA64At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA64)
					d[0], d[1], d[2] = uint8(c.R>>8), uint8(c.G>>8), uint8(c.B>>8)
				}
			}
		}
	case *image.Gray:
		for y := range h {
			row := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):]
			for x := range w {
				g := row[x]
				d := o[3*(y*w+x) : 3*(y*w+x)+3]
				d[0], d[1], d[2] = g, g, g
			}
		}
	case *image.Gray16:
		for y := range h {
			row := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):]
			for x := range w {
				g := uint8(255)
				if row[2*x] == 0 { // value < 256
					g = row[2*x+1]
				}
				d := o[3*(y*w+x) : 3*(y*w+x)+3]
				d[0], d[1], d[2] = g, g, g
			}
		}
	case *image.Paletted:
		// Out-of-range indices read as opaque black, like Go's png decoder.
		var lut [256][3]uint8
		for i, c := range m.Palette {
			if i == len(lut) {
				break
			}
			lut[i] = straightRGB(c)
		}
		for y := range h {
			row := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):]
			for x := range w {
				copy(o[3*(y*w+x):3*(y*w+x)+3], lut[row[x]][:])
			}
		}
	case *image.CMYK:
		for y := range h {
			row := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):]
			for x := range w {
				p := row[4*x : 4*x+4]
				d := o[3*(y*w+x) : 3*(y*w+x)+3]
				nk := 255 - int(p[3])
				d[0], d[1], d[2] = cmykChan(p[0], nk), cmykChan(p[1], nk), cmykChan(p[2], nk)
			}
		}
	case *image.YCbCr:
		return ycbcrImageToRGB(m)
	default:
		for y := range h {
			for x := range w {
				rgb := straightRGB(img.At(b.Min.X+x, b.Min.Y+y))
				copy(o[3*(y*w+x):3*(y*w+x)+3], rgb[:])
			}
		}
	}
	return out
}

// straightRGB drops alpha from the unpremultiplied colour, like PIL's
// RGBA → RGB. Full-alpha colours pass unchanged.
func straightRGB(c color.Color) [3]uint8 {
	switch c := c.(type) {
	case color.NRGBA:
		return [3]uint8{c.R, c.G, c.B}
	case color.RGBA:
		if c.A == 0xff {
			return [3]uint8{c.R, c.G, c.B}
		}
	case nil:
		return [3]uint8{}
	}
	n := color.NRGBA64Model.Convert(c).(color.NRGBA64)
	return [3]uint8{uint8(n.R >> 8), uint8(n.G >> 8), uint8(n.B >> 8)}
}

// cmykChan is PIL's cmyk2rgb for one channel: nk - round(c*nk/255) with
// PIL's MULDIV255 rounding.
func cmykChan(c uint8, nk int) uint8 {
	t := int(c)*nk + 128
	return uint8(nk - ((t>>8)+t)>>8)
}
