package camera

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
)

// MJPEG: UVC webcams send each frame as a JPEG, often without its Huffman
// tables (the DHT segment): the USB video class says a frame without one
// uses the standard tables of ITU-T T.81 Annex K.3, which image/jpeg does
// not assume. MJPEGDecoder inserts them, decodes with image/jpeg and
// delivers the YCbCr planes as they are, as a planar full-range YUV frame
// (I420, YUV422P, YUV444P or Gray), so the fused preprocessing takes them
// without an RGB image in between.

// annexK are the standard Huffman tables (T.81 K.3, tables K.3 to K.6):
// per table, the class/destination byte (Tc<<4 | Th), the 16 BITS counts
// (codes of each length 1..16) and the HUFFVAL symbols in code order.
var annexK = [4]struct {
	id   byte
	bits [16]byte
	vals []byte
}{
	{0x00, // luminance DC (table K.3)
		[16]byte{0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0},
		[]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}},
	{0x10, // luminance AC (table K.5)
		[16]byte{0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7d},
		[]byte{
			0x01, 0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12, 0x21, 0x31, 0x41, 0x06, 0x13, 0x51, 0x61, 0x07,
			0x22, 0x71, 0x14, 0x32, 0x81, 0x91, 0xa1, 0x08, 0x23, 0x42, 0xb1, 0xc1, 0x15, 0x52, 0xd1, 0xf0,
			0x24, 0x33, 0x62, 0x72, 0x82, 0x09, 0x0a, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x25, 0x26, 0x27, 0x28,
			0x29, 0x2a, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49,
			0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69,
			0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89,
			0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7,
			0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3, 0xc4, 0xc5,
			0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xe1, 0xe2,
			0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8,
			0xf9, 0xfa}},
	{0x01, // chrominance DC (table K.4)
		[16]byte{0, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0},
		[]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}},
	{0x11, // chrominance AC (table K.6)
		[16]byte{0, 2, 1, 2, 4, 4, 3, 4, 7, 5, 4, 4, 0, 1, 2, 0x77},
		[]byte{
			0x00, 0x01, 0x02, 0x03, 0x11, 0x04, 0x05, 0x21, 0x31, 0x06, 0x12, 0x41, 0x51, 0x07, 0x61, 0x71,
			0x13, 0x22, 0x32, 0x81, 0x08, 0x14, 0x42, 0x91, 0xa1, 0xb1, 0xc1, 0x09, 0x23, 0x33, 0x52, 0xf0,
			0x15, 0x62, 0x72, 0xd1, 0x0a, 0x16, 0x24, 0x34, 0xe1, 0x25, 0xf1, 0x17, 0x18, 0x19, 0x1a, 0x26,
			0x27, 0x28, 0x29, 0x2a, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48,
			0x49, 0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68,
			0x69, 0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87,
			0x88, 0x89, 0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0xa2, 0xa3, 0xa4, 0xa5,
			0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3,
			0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda,
			0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8,
			0xf9, 0xfa}},
}

// dhtSegment is one DHT marker segment carrying the four Annex K tables.
var dhtSegment = func() []byte {
	n := 2
	for _, t := range annexK {
		n += 1 + 16 + len(t.vals)
	}
	b := []byte{0xff, 0xc4, byte(n >> 8), byte(n)}
	for _, t := range annexK {
		b = append(b, t.id)
		b = append(b, t.bits[:]...)
		b = append(b, t.vals...)
	}
	return b
}()

// JPEG markers the scan below needs.
const (
	mSOI = 0xd8
	mEOI = 0xd9
	mSOS = 0xda
	mDHT = 0xc4
	mTEM = 0x01
)

// scanJPEG walks the marker segments of a JPEG up to its first scan and
// reports whether a DHT segment comes before it.
func scanJPEG(b []byte) (hasDHT bool, err error) {
	if len(b) < 4 || b[0] != 0xff || b[1] != mSOI {
		n := min(len(b), 4)
		return false, fmt.Errorf("no JPEG start of image (starts with % x)", b[:n])
	}
	i := 2
	for {
		if i >= len(b) || b[i] != 0xff {
			return false, fmt.Errorf("no marker at byte %d of %d", i, len(b))
		}
		for i < len(b) && b[i] == 0xff { // fill bytes
			i++
		}
		if i >= len(b) {
			return false, fmt.Errorf("frame ends in a marker (%d bytes)", len(b))
		}
		m := b[i]
		i++
		switch {
		case m == mSOS:
			return hasDHT, nil
		case m == mEOI:
			return false, fmt.Errorf("end of image before any scan")
		case m == mTEM || (m >= 0xd0 && m <= 0xd7) || m == mSOI:
			continue // markers without a length
		case m == 0:
			return false, fmt.Errorf("stuffed byte at %d outside a scan", i-1)
		}
		if i+2 > len(b) {
			return false, fmt.Errorf("marker %#02x at byte %d cut short", m, i-1)
		}
		n := int(b[i])<<8 | int(b[i+1])
		if n < 2 || i+n > len(b) {
			return false, fmt.Errorf("marker %#02x at byte %d: length %d overruns the %d byte frame", m, i-1, n, len(b))
		}
		if m == mDHT {
			hasDHT = true
		}
		i += n
	}
}

// MJPEGDecoder decodes MJPEG frames. Decoding allocates (image/jpeg makes
// its planes); the rest reuses the decoder's buffer and the frame's. Not
// safe for concurrent use.
type MJPEGDecoder struct {
	// MaxW and MaxH bound the frame size (a V4L2 source sets the size it
	// negotiated); a larger frame is corrupt. 0: 8K UHD (7680x4320).
	MaxW, MaxH int

	buf []byte // the frame with the standard tables inserted
	r   bytes.Reader
}

// HasHuffmanTables reports whether a JPEG carries its own DHT segment
// before the first scan (false also for data that is not a JPEG).
func HasHuffmanTables(jpg []byte) bool {
	ok, err := scanJPEG(jpg)
	return err == nil && ok
}

// Decode decodes one MJPEG frame into f as planar full-range YUV: I420 for
// 4:2:0, YUV422P for 4:2:2, YUV444P for 4:4:4 (and, chroma replicated, for
// the rare 4:4:0, 4:1:1, 4:1:0), Gray for a one-component JPEG. A frame
// that does not decode returns an error wrapping ErrCorrupt.
func (d *MJPEGDecoder) Decode(f *Frame, data []byte) error {
	hasDHT, err := scanJPEG(data)
	if err != nil {
		return fmt.Errorf("MJPEG: %v: %w", err, ErrCorrupt)
	}
	src := data
	if !hasDHT {
		d.buf = append(append(append(d.buf[:0], data[:2]...), dhtSegment...), data[2:]...)
		src = d.buf
	}
	img, err := d.decode(src)
	if err != nil {
		return fmt.Errorf("MJPEG: %v: %w", err, ErrCorrupt)
	}
	switch m := img.(type) {
	case *image.YCbCr:
		ycbcrToFrame(f, m)
	case *image.Gray:
		b := m.Bounds()
		f.Format = FrameFormat{Pix: Gray, W: b.Dx(), H: b.Dy(), Range: RangeFull}
		f.ensure(f.Format.FrameSize())
		copyPlane(f.Data, b.Dx(), m.Pix[m.PixOffset(b.Min.X, b.Min.Y):], m.Stride, b.Dx(), b.Dy())
	default:
		return fmt.Errorf("MJPEG: colour model %T (want YCbCr or grey): %w", img, ErrCorrupt)
	}
	return nil
}

// decode runs image/jpeg on one frame, header first so that a corrupt size
// cannot make it allocate gigabytes; a decoder panic becomes an error.
func (d *MJPEGDecoder) decode(b []byte) (img image.Image, err error) {
	defer func() {
		if p := recover(); p != nil {
			img, err = nil, fmt.Errorf("decoder panic: %v", p)
		}
	}()
	d.r.Reset(b)
	cfg, err := jpeg.DecodeConfig(&d.r)
	if err != nil {
		return nil, err
	}
	mw, mh := d.MaxW, d.MaxH
	if mw <= 0 || mh <= 0 {
		mw, mh = 7680, 4320
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width > mw || cfg.Height > mh {
		return nil, fmt.Errorf("size %dx%d: want at most %dx%d", cfg.Width, cfg.Height, mw, mh)
	}
	d.r.Reset(b)
	img, err = jpeg.Decode(&d.r)
	if err == nil && img.Bounds().Empty() {
		err = errors.New("empty image")
	}
	return img, err
}

// copyPlane copies a w×h plane (source rows ss apart) into dst, rows w
// apart.
func copyPlane(dst []byte, dw int, src []byte, ss, w, h int) {
	for y := range h {
		copy(dst[y*dw:y*dw+w], src[y*ss:y*ss+w])
	}
}

// ycbcrToFrame lays a decoded YCbCr image out as a planar frame without
// row padding.
func ycbcrToFrame(f *Frame, m *image.YCbCr) {
	b := m.Bounds()
	w, h := b.Dx(), b.Dy()
	pix := YUV444P
	switch m.SubsampleRatio {
	case image.YCbCrSubsampleRatio420:
		pix = I420
	case image.YCbCrSubsampleRatio422:
		pix = YUV422P
	}
	f.Format = FrameFormat{Pix: pix, W: w, H: h, Range: RangeFull}
	f.ensure(f.Format.FrameSize())
	copyPlane(f.Data, w, m.Y[m.YOffset(b.Min.X, b.Min.Y):], m.YStride, w, h)
	cw, ch, _ := f.Format.chroma()
	u := f.Data[w*h : w*h+cw*ch]
	v := f.Data[w*h+cw*ch : w*h+2*cw*ch]
	switch m.SubsampleRatio {
	case image.YCbCrSubsampleRatio420, image.YCbCrSubsampleRatio422, image.YCbCrSubsampleRatio444:
		o := m.COffset(b.Min.X, b.Min.Y)
		copyPlane(u, cw, m.Cb[o:], m.CStride, cw, ch)
		copyPlane(v, cw, m.Cr[o:], m.CStride, cw, ch)
	default: // 4:4:0, 4:1:1, 4:1:0: replicate into 4:4:4
		for y := range h {
			for x := range w {
				o := m.COffset(b.Min.X+x, b.Min.Y+y)
				u[y*w+x], v[y*w+x] = m.Cb[o], m.Cr[o]
			}
		}
	}
}
