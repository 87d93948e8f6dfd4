package camera

import (
	"errors"
	"fmt"
	"image"
	"math"
)

// DCT-scaled JPEG decoding, as libjpeg does for scale_denom 2, 4, 8: each
// 8x8 block's coefficients go through an N-point inverse DCT of their N×N
// lowest frequencies (N = 4, 2, 1), so a picture comes out at 1/2, 1/4 or
// 1/8 of its size without ever being decoded at full size. Only baseline
// (sequential Huffman, 8-bit) files with one component or three YCbCr ones
// take this path; decodeJPEGScaled reports errJPEGNotScalable for anything
// else and the caller decodes at full size.

var errJPEGNotScalable = errors.New("camera: JPEG kind not decoded scaled")

// jpegUnzigzag maps zig-zag order to natural order.
var jpegUnzigzag = [64]uint8{
	0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5,
	12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28,
	35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51,
	58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
}

type jpegHuff struct {
	lut     [256]uint16 // codes up to 8 bits: len<<8 | value (len 0: longer)
	maxcode [18]int32   // per length, -1 when none
	valptr  [17]int32
	mincode [17]int32
	vals    []uint8
	ok      bool
}

func (h *jpegHuff) build(counts [16]uint8, vals []uint8) error {
	h.vals = vals
	code, k := int32(0), int32(0)
	for l := 1; l <= 16; l++ {
		n := int32(counts[l-1])
		if code+n > 1<<l {
			return errors.New("camera: JPEG Huffman table over-subscribed")
		}
		h.valptr[l], h.mincode[l] = k, code
		if n == 0 {
			h.maxcode[l] = -1
		} else {
			if l <= 8 {
				for i := int32(0); i < n; i++ {
					c := code + i
					for j := c << (8 - l); j < (c+1)<<(8-l); j++ {
						h.lut[j] = uint16(l)<<8 | uint16(vals[k+i])
					}
				}
			}
			h.maxcode[l] = code + n - 1
		}
		code, k = (code+n)<<1, k+n
	}
	h.maxcode[17] = math.MaxInt32
	h.ok = true
	return nil
}

// jpegBits reads the entropy-coded data of a scan.
type jpegBits struct {
	d      []byte
	pos    int
	acc    uint32
	n      uint
	marker bool // a marker stopped the reading; zeros are fed from there
}

func (b *jpegBits) fill() {
	for b.n <= 24 {
		var c byte
		if !b.marker && b.pos < len(b.d) {
			c = b.d[b.pos]
			if c == 0xff {
				if b.pos+1 < len(b.d) && b.d[b.pos+1] == 0 {
					b.pos += 2
				} else {
					b.marker, c = true, 0
				}
			} else {
				b.pos++
			}
		}
		b.acc |= uint32(c) << (24 - b.n)
		b.n += 8
	}
}

func (b *jpegBits) bits(n uint) int32 {
	if n == 0 {
		return 0
	}
	if b.n < n {
		b.fill()
	}
	v := int32(b.acc >> (32 - n))
	b.acc <<= n
	b.n -= n
	return v
}

func (b *jpegBits) decode(h *jpegHuff) (uint8, error) {
	if b.n < 16 {
		b.fill()
	}
	if e := h.lut[b.acc>>24]; e != 0 {
		l := uint(e >> 8)
		b.acc <<= l
		b.n -= l
		return uint8(e), nil
	}
	code := int32(0)
	for l := 1; l <= 16; l++ {
		code = code<<1 | int32(b.acc>>31)
		b.acc <<= 1
		b.n--
		if h.maxcode[l] >= 0 && code <= h.maxcode[l] {
			i := h.valptr[l] + code - h.mincode[l]
			if int(i) >= len(h.vals) {
				break
			}
			return h.vals[i], nil
		}
	}
	return 0, errors.New("camera: JPEG bad Huffman code")
}

// extend is the JPEG EXTEND of an s-bit value v.
func extend(v int32, s uint) int32 {
	if s == 0 {
		return 0
	}
	if v < 1<<(s-1) {
		return v - (1 << s) + 1
	}
	return v
}

// restart consumes an RSTn marker after a restart interval.
func (b *jpegBits) restart() error {
	b.acc, b.n, b.marker = 0, 0, false
	for b.pos < len(b.d) && b.d[b.pos] == 0xff && b.pos+1 < len(b.d) && b.d[b.pos+1] == 0xff {
		b.pos++ // fill bytes
	}
	if b.pos+1 >= len(b.d) || b.d[b.pos] != 0xff || b.d[b.pos+1] < 0xd0 || b.d[b.pos+1] > 0xd7 {
		return errors.New("camera: JPEG restart marker missing")
	}
	b.pos += 2
	return nil
}

type jpegComp struct {
	id, h, v, tq int
	td, ta       int
	bw, bh       int     // blocks per line and column (MCU-padded)
	plane        []uint8 // bw*n × bh*n samples
	stride       int
	pred         int32
}

// idctTable[n][x][u] = C(u)/2 · g(u) · cos((2x+1)uπ/2n): the n-point
// inverse DCT of the n lowest frequencies, scaled like the 8-point one, with
// g(u) = sin(suπ/16) / (s·sin(uπ/16)) (s = 8/n), the mean of the 8-point
// basis function over each run of s samples. So output sample x is exactly
// the mean of full-size samples sx..sx+s-1 before rounding (the 8/n
// frequencies left out average to zero over such runs): a box filter, where
// libjpeg's plain truncation would alias the dropped detail.
var idctTable = func() (t [9][8][8]float32) {
	for _, n := range []int{1, 2, 4} {
		s := float64(8 / n)
		for x := range n {
			for u := range n {
				c, g := 1/math.Sqrt2, 1.0
				if u > 0 {
					th := float64(u) * math.Pi / 16
					c, g = 1, math.Sin(s*th)/(s*math.Sin(th))
				}
				t[n][x][u] = float32(c / 2 * g * math.Cos(float64(2*x+1)*float64(u)*math.Pi/float64(2*n)))
			}
		}
	}
	return t
}()

// jpegScaledSize is the size libjpeg gives a w×h picture at 1/scale:
// ceil(w/scale) × ceil(h/scale).
func jpegScaledSize(w, h, scale int) (int, int) {
	return (w + scale - 1) / scale, (h + scale - 1) / scale
}

// decodeJPEGScaled decodes a baseline JPEG at 1/scale of its size (scale 2,
// 4 or 8) into an *image.Gray or *image.YCbCr (converted by ToRGB as a
// full-size decode would be).
func decodeJPEGScaled(d []byte, scale int) (image.Image, error) {
	n := 8 / scale
	if n*scale != 8 || n >= 8 {
		return nil, fmt.Errorf("camera: JPEG scale 1/%d: want 1/2, 1/4 or 1/8", scale)
	}
	if len(d) < 4 || d[0] != 0xff || d[1] != 0xd8 {
		return nil, errors.New("camera: not a JPEG")
	}
	var (
		q          [4][64]int32
		dc, ac     [4]jpegHuff
		comps      []jpegComp
		w, h       int
		hmax, vmax int
		restart    int
		adobe      = -1
		jfif       bool
	)
	pos := 2
	for {
		for pos < len(d) && d[pos] != 0xff {
			pos++ // tolerate garbage between segments, as libjpeg warns and goes on
		}
		for pos < len(d) && d[pos] == 0xff {
			pos++
		}
		if pos+2 >= len(d) {
			return nil, errors.New("camera: JPEG ends before its scan")
		}
		m := d[pos]
		pos++
		if m == 0xd8 || (m >= 0xd0 && m <= 0xd7) || m == 0x01 {
			continue
		}
		if m == 0xd9 {
			return nil, errors.New("camera: JPEG ends before its scan")
		}
		ln := int(d[pos])<<8 | int(d[pos+1])
		if ln < 2 || pos+ln > len(d) {
			return nil, errors.New("camera: JPEG segment runs past the end")
		}
		seg := d[pos+2 : pos+ln]
		pos += ln
		switch {
		case m == 0xc0 || m == 0xc1: // baseline, extended sequential Huffman
			if comps != nil || len(seg) < 6 || seg[0] != 8 {
				return nil, errJPEGNotScalable // 12-bit, or a second frame
			}
			h, w = int(seg[1])<<8|int(seg[2]), int(seg[3])<<8|int(seg[4])
			nc := int(seg[5])
			if h == 0 || w == 0 || (nc != 1 && nc != 3) || len(seg) < 6+3*nc {
				return nil, errJPEGNotScalable // DNL height, CMYK, ...
			}
			for i := range nc {
				c := seg[6+3*i:]
				cp := jpegComp{id: int(c[0]), h: int(c[1] >> 4), v: int(c[1] & 15), tq: int(c[2])}
				if cp.h < 1 || cp.h > 4 || cp.v < 1 || cp.v > 4 || cp.tq > 3 {
					return nil, errJPEGNotScalable
				}
				if nc == 1 {
					cp.h, cp.v = 1, 1 // a lone component's factors do not matter
				}
				hmax, vmax = max(hmax, cp.h), max(vmax, cp.v)
				comps = append(comps, cp)
			}
		case m >= 0xc2 && m <= 0xcf && m != 0xc4 && m != 0xc8 && m != 0xcc:
			return nil, errJPEGNotScalable // progressive, lossless, arithmetic
		case m == 0xc4:
			for len(seg) > 0 {
				if len(seg) < 17 || seg[0]&15 > 3 || seg[0]>>4 > 1 {
					return nil, errors.New("camera: JPEG bad DHT")
				}
				var counts [16]uint8
				copy(counts[:], seg[1:17])
				total := 0
				for _, c := range counts {
					total += int(c)
				}
				if total > 256 || len(seg) < 17+total {
					return nil, errors.New("camera: JPEG bad DHT")
				}
				t := &dc[seg[0]&15]
				if seg[0]>>4 == 1 {
					t = &ac[seg[0]&15]
				}
				*t = jpegHuff{}
				if err := t.build(counts, seg[17:17+total]); err != nil {
					return nil, err
				}
				seg = seg[17+total:]
			}
		case m == 0xdb:
			for len(seg) > 0 {
				pq, tq := seg[0]>>4, seg[0]&15
				size := 65
				if pq == 1 {
					size = 129
				}
				if tq > 3 || pq > 1 || len(seg) < size {
					return nil, errors.New("camera: JPEG bad DQT")
				}
				for k := range 64 {
					if pq == 0 {
						q[tq][k] = int32(seg[1+k])
					} else {
						q[tq][k] = int32(seg[1+2*k])<<8 | int32(seg[2+2*k])
					}
				}
				seg = seg[size:]
			}
		case m == 0xdd:
			if len(seg) < 2 {
				return nil, errors.New("camera: JPEG bad DRI")
			}
			restart = int(seg[0])<<8 | int(seg[1])
		case m == 0xe0:
			jfif = len(seg) >= 5 && string(seg[:5]) == "JFIF\x00"
		case m == 0xee:
			if len(seg) >= 12 && string(seg[:5]) == "Adobe" {
				adobe = int(seg[11])
			}
		case m == 0xda:
			if comps == nil {
				return nil, errors.New("camera: JPEG scan before its frame header")
			}
			// One interleaved scan with every component (the baseline norm).
			if len(seg) < 1 || int(seg[0]) != len(comps) || len(seg) < 1+2*len(comps)+3 {
				return nil, errJPEGNotScalable
			}
			for i := range comps {
				sel := seg[1+2*i:]
				if int(sel[0]) != comps[i].id || sel[1]>>4 > 3 || sel[1]&15 > 3 {
					return nil, errJPEGNotScalable
				}
				comps[i].td, comps[i].ta = int(sel[1]>>4), int(sel[1]&15)
				if !dc[comps[i].td].ok || !ac[comps[i].ta].ok {
					return nil, errors.New("camera: JPEG scan uses a missing Huffman table")
				}
			}
			if len(comps) == 3 && (adobe == 0 || (!jfif && adobe < 0 && comps[0].id == 'R' && comps[1].id == 'G')) {
				return nil, errJPEGNotScalable // RGB, not YCbCr
			}
			return decodeScaledScan(d[pos:], comps, q, &dc, &ac, w, h, hmax, vmax, restart, n)
		}
	}
}

func decodeScaledScan(data []byte, comps []jpegComp, q [4][64]int32, dc, ac *[4]jpegHuff, w, h, hmax, vmax, restart, n int) (image.Image, error) {
	mx, my := (w+8*hmax-1)/(8*hmax), (h+8*vmax-1)/(8*vmax)
	if len(comps) == 1 { // non-interleaved: one block per MCU
		mx, my = (w+7)/8, (h+7)/8
	}
	// Planes in the layout image.YCbCr uses for the padded MCU grid.
	var ycc *image.YCbCr
	var gray *image.Gray
	sw, sh := jpegScaledSize(w, h, 8/n)
	if len(comps) == 1 {
		gray = image.NewGray(image.Rect(0, 0, mx*n, my*n))
		comps[0].plane, comps[0].stride, comps[0].bw, comps[0].bh = gray.Pix, gray.Stride, mx, my
	} else {
		ratio, ok := subsampleRatio(comps, hmax, vmax)
		if !ok {
			return nil, errJPEGNotScalable
		}
		ycc = image.NewYCbCr(image.Rect(0, 0, mx*hmax*n, my*vmax*n), ratio)
		for i, p := range [][]uint8{ycc.Y, ycc.Cb, ycc.Cr} {
			c := &comps[i]
			c.plane, c.bw, c.bh = p, mx*c.h, my*c.v
			c.stride = ycc.CStride
			if i == 0 {
				c.stride = ycc.YStride
			}
			if c.stride < c.bw*n || len(p) < c.stride*c.bh*n {
				return nil, errJPEGNotScalable
			}
		}
	}
	bits := jpegBits{d: data}
	var blk [64]int32
	var tmp [8][8]float32
	mcus := 0
	for by := range my {
		for bx := range mx {
			if restart > 0 && mcus > 0 && mcus%restart == 0 {
				if err := bits.restart(); err != nil {
					return nil, err
				}
				for i := range comps {
					comps[i].pred = 0
				}
			}
			mcus++
			for ci := range comps {
				c := &comps[ci]
				for v := range c.v {
					for u := range c.h {
						if err := decodeBlock(&bits, &blk, c, &q[c.tq], &dc[c.td], &ac[c.ta]); err != nil {
							return nil, err
						}
						x0, y0 := (bx*c.h+u)*n, (by*c.v+v)*n
						idctScaled(c.plane[y0*c.stride+x0:], c.stride, &blk, n, &tmp)
					}
				}
			}
		}
	}
	if gray != nil {
		return gray.SubImage(image.Rect(0, 0, sw, sh)), nil
	}
	return ycc.SubImage(image.Rect(0, 0, sw, sh)), nil
}

// subsampleRatio maps the sampling factors to image.YCbCr's ratios (those
// Go's own decoder supports).
func subsampleRatio(c []jpegComp, hmax, vmax int) (image.YCbCrSubsampleRatio, bool) {
	if c[1].h != 1 || c[1].v != 1 || c[2].h != 1 || c[2].v != 1 || c[0].h != hmax || c[0].v != vmax {
		return 0, false
	}
	switch [2]int{hmax, vmax} {
	case [2]int{1, 1}:
		return image.YCbCrSubsampleRatio444, true
	case [2]int{2, 1}:
		return image.YCbCrSubsampleRatio422, true
	case [2]int{2, 2}:
		return image.YCbCrSubsampleRatio420, true
	case [2]int{1, 2}:
		return image.YCbCrSubsampleRatio440, true
	case [2]int{4, 1}:
		return image.YCbCrSubsampleRatio411, true
	case [2]int{4, 2}:
		return image.YCbCrSubsampleRatio410, true
	}
	return 0, false
}

// decodeBlock reads one block's dequantized coefficients in natural order.
func decodeBlock(b *jpegBits, blk *[64]int32, c *jpegComp, q *[64]int32, dc, ac *jpegHuff) error {
	*blk = [64]int32{}
	s, err := b.decode(dc)
	if err != nil {
		return err
	}
	if s > 11 {
		return errors.New("camera: JPEG bad DC size")
	}
	c.pred += extend(b.bits(uint(s)), uint(s))
	blk[0] = c.pred * q[0]
	for k := 1; k < 64; {
		rs, err := b.decode(ac)
		if err != nil {
			return err
		}
		r, s := int(rs>>4), uint(rs&15)
		if s == 0 {
			if r != 15 {
				break
			}
			k += 16
			continue
		}
		k += r
		if k > 63 {
			return errors.New("camera: JPEG coefficient index past 63")
		}
		blk[jpegUnzigzag[k]] = extend(b.bits(s), s) * q[k]
		k++
	}
	return nil
}

// idctScaled writes the n×n samples of one block at dst (row stride stride).
func idctScaled(dst []uint8, stride int, blk *[64]int32, n int, tmp *[8][8]float32) {
	t := &idctTable[n]
	// Rows of frequencies v: tmp[v][x] = Σ_u t[x][u] F(v, u).
	for v := range n {
		for x := range n {
			var s float32
			for u := range n {
				s += t[x][u] * float32(blk[8*v+u])
			}
			tmp[v][x] = s
		}
	}
	for y := range n {
		row := dst[y*stride : y*stride+n]
		for x := range n {
			var s float32
			for v := range n {
				s += t[y][v] * tmp[v][x]
			}
			row[x] = clampByte(int32(math.Floor(float64(s) + 128.5)))
		}
	}
}
