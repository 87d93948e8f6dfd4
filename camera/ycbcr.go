package camera

import "image"

// PIL decodes JPEG with libjpeg(-turbo), which upsamples chroma with a
// triangle filter ("fancy upsampling", jdsample.c) and converts YCbCr with
// its own fixed-point tables (jdcolor.c). Go's image/jpeg leaves chroma
// subsampled and color.YCbCrToRGB rounds differently, which costs up to ~90
// levels at colour edges of a 4:2:0 file. Redoing these two steps the libjpeg
// way leaves only the IDCT rounding difference (a level or two).

// libjpeg's SCALEBITS fixed point.
const (
	yccScaleBits = 16
	yccHalf      = 1 << (yccScaleBits - 1)
)

// yccFix is libjpeg's FIX(x) = (x * 2^16 + 0.5) truncated. The conversion
// keeps the compiler from fusing the multiply-add (exact here anyway).
func yccFix(x float64) int32 { return int32(float64(x*(1<<yccScaleBits)) + 0.5) }

// yccTables are libjpeg's build_ycc_rgb_table entries, indexed by Cb or Cr.
var yccTables = func() (t struct{ crR, cbB, crG, cbG [256]int32 }) {
	for i := range 256 {
		x := int32(i - 128)
		t.crR[i] = (yccFix(1.40200)*x + yccHalf) >> yccScaleBits
		t.cbB[i] = (yccFix(1.77200)*x + yccHalf) >> yccScaleBits
		t.crG[i] = -yccFix(0.71414) * x
		t.cbG[i] = -yccFix(0.34414)*x + yccHalf
	}
	return t
}()

func clampByte(v int32) uint8 {
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return uint8(v)
}

// ycbcrToRGB converts like libjpeg's ycc_rgb_convert.
func ycbcrToRGB(y, cb, cr uint8) (r, g, b uint8) {
	t := &yccTables
	yy := int32(y)
	return clampByte(yy + t.crR[cr]),
		clampByte(yy + (t.cbG[cb]+t.crG[cr])>>yccScaleBits),
		clampByte(yy + t.cbB[cb])
}

// ycbcrImageToRGB converts a decoded JPEG image as libjpeg would: chroma is
// upsampled with jdsample.c's fancy filters for 4:2:2, 4:2:0 and 4:4:0 and
// replicated otherwise (int_upsample, or when a chroma row has 2 samples or
// fewer), then jdcolor.c's conversion. Chroma planes end at the last column
// and row that cover the image (libjpeg's downsampled_width/height): edges
// replicate, the decoder's MCU padding is never read.
func ycbcrImageToRGB(m *image.YCbCr) *RGB {
	b := m.Bounds()
	w, h := b.Dx(), b.Dy()
	out := NewRGB(w, h)
	hs, vs := 1, 1 // chroma subsampling factors
	switch m.SubsampleRatio {
	case image.YCbCrSubsampleRatio422:
		hs = 2
	case image.YCbCrSubsampleRatio420:
		hs, vs = 2, 2
	case image.YCbCrSubsampleRatio440:
		vs = 2
	case image.YCbCrSubsampleRatio444:
	default: // 4:1:1, 4:1:0: libjpeg replicates, as COffset does
		for y := range h {
			for x := range w {
				yi := m.YOffset(b.Min.X+x, b.Min.Y+y)
				ci := m.COffset(b.Min.X+x, b.Min.Y+y)
				d := out.Pix[3*(y*w+x) : 3*(y*w+x)+3]
				d[0], d[1], d[2] = ycbcrToRGB(m.Y[yi], m.Cb[ci], m.Cr[ci])
			}
		}
		return out
	}
	// Chroma sample range that covers the image.
	cx0, cy0 := b.Min.X/hs, b.Min.Y/vs
	cw := (b.Max.X-1)/hs - cx0 + 1
	ch := (b.Max.Y-1)/vs - cy0 + 1
	fancyH := hs == 2 && cw > 2
	// libjpeg's h2v2 needs the wide row as well; h1v2 does not check width.
	fancyV := vs == 2 && (hs == 1 || cw > 2)
	cbRow := make([]uint8, w)
	crRow := make([]uint8, w)
	for y := range h {
		ay := b.Min.Y + y
		cy := ay/vs - cy0
		// Vertical neighbour: the row above for the upper output row of a
		// pair, below for the lower; clamped at the image edges.
		far, vbias := cy, int32(1)
		if vs == 2 {
			if ay%2 == 0 {
				far = max(cy-1, 0)
			} else {
				far, vbias = min(cy+1, ch-1), 2
			}
		}
		for p, plane := range [2][]uint8{m.Cb, m.Cr} {
			dst := cbRow
			if p == 1 {
				dst = crRow
			}
			rowN := plane[cy*m.CStride : cy*m.CStride+cw]
			rowF := plane[far*m.CStride : far*m.CStride+cw]
			upsampleRow(dst, rowN, rowF, b.Min.X, hs, cx0, fancyH, fancyV, vbias)
		}
		yrow := m.Y[m.YOffset(b.Min.X, ay):]
		o := out.Pix[3*y*w : 3*(y+1)*w]
		for x := range w {
			o[3*x], o[3*x+1], o[3*x+2] = ycbcrToRGB(yrow[x], cbRow[x], crRow[x])
		}
	}
	return out
}

// upsampleRow fills dst (one image row from absolute column x0) from the
// nearest chroma row n and its vertical neighbour f.
func upsampleRow(dst, n, f []uint8, x0, hs, cx0 int, fancyH, fancyV bool, vbias int32) {
	cw := len(n)
	switch {
	case hs == 1 && fancyV: // h1v2
		for x := range dst {
			j := x0 + x - cx0
			dst[x] = uint8((3*int32(n[j]) + int32(f[j]) + vbias) >> 2)
		}
	case hs == 1: // 4:4:4
		for x := range dst {
			dst[x] = n[x0+x-cx0]
		}
	case !fancyH: // box filter (chroma rows of 1 or 2 samples)
		for x := range dst {
			dst[x] = n[(x0+x)/2-cx0]
		}
	case fancyV: // h2v2: triangle filter in both directions, in sixteenths
		sum := func(j int) int32 { return 3*int32(n[j]) + int32(f[j]) }
		for x := range dst {
			ax := x0 + x
			j := ax/2 - cx0
			s := sum(j)
			if ax%2 == 0 {
				if j == 0 {
					dst[x] = uint8((4*s + 8) >> 4)
				} else {
					dst[x] = uint8((3*s + sum(j-1) + 8) >> 4)
				}
			} else {
				if j == cw-1 {
					dst[x] = uint8((4*s + 7) >> 4)
				} else {
					dst[x] = uint8((3*s + sum(j+1) + 7) >> 4)
				}
			}
		}
	default: // h2v1
		for x := range dst {
			ax := x0 + x
			j := ax/2 - cx0
			v := 3 * int32(n[j])
			if ax%2 == 0 {
				if j == 0 {
					dst[x] = n[0]
				} else {
					dst[x] = uint8((v + int32(n[j-1]) + 1) >> 2)
				}
			} else {
				if j == cw-1 {
					dst[x] = n[j]
				} else {
					dst[x] = uint8((v + int32(n[j+1]) + 2) >> 2)
				}
			}
		}
	}
}
