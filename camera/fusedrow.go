package camera

import "math"

// The row pipeline of Fused for the usual camera case, a resize of both
// axes. Per needed source row: convert only the needed columns into three
// planar segments (R, G, B), then run the horizontal pass on each segment
// into one row of tmp (again R, G, B segments). Per output row: the vertical
// pass over tmp rows, then the quantization tables, which also interleave
// the planes into NHWC. Planar segments let the SIMD kernels treat every
// channel alike; the arithmetic is Pillow's, bit for bit.

// rowKernels are the SIMD kernels of one tier; a nil entry means the generic
// Go code. Coefficient layouts are built by newRowPlan (see hCoef, vCoef).
type rowKernels struct {
	name string
	// hRow writes blocks*8 horizontal outputs: output o of block b sums
	// 8*groups taps from src+offs[8b+slot(o)] (see newRowPlan).
	hRow func(dst, src *uint8, offs *int32, coef *int16, blocks, groups int)
	// vRowQ is vRow followed by the quantization q (qAffine) of each
	// clipped byte: int8 out.
	vRowQ func(dst *int8, src *uint8, stride, width int, coef *uint32, pairs int, q *qAffine)
	// interleave writes 16*blocks NHWC pixels from the planes src,
	// src+hs, src+2hs.
	interleave func(dst, src *int8, hs, blocks int)
	// vRow writes width (a multiple of 16) vertical outputs from rows
	// src, src+stride, … (2*pairs rows).
	vRow func(dst, src *uint8, stride, width int, coef *uint32, pairs int)
	// hRowWin is hRow for plans whose every 4 consecutive outputs read
	// within 16 bytes (winOK): per block, one 16-byte window per group of
	// 4 outputs (offsets in wOffs), and per tap pair a byte shuffle and
	// the pair's taps (wCoef).
	hRowWin func(dst, src *uint8, offs *int32, coef *uint8, blocks, steps int)
	// yuvRow converts 32*blocks pixels of one row with horizontally
	// subsampled chroma (I420, YUV422P) into planar R, G, B segments cs
	// bytes apart.
	yuvRow func(dst *uint8, cs int, y, u, v *uint8, blocks int, k *yuvSIMD)
	// nv12Row is yuvRow for NV12 (uv: interleaved U, V samples).
	nv12Row func(dst *uint8, cs int, y, uv *uint8, blocks int, k *yuvSIMD)
	// yuyvRow is yuvRow for packed YUYV (src: 64 bytes per block).
	yuyvRow func(dst *uint8, cs int, src *uint8, blocks int, k *yuvSIMD)
	// yuv444Row is yuvRow with one chroma sample per pixel.
	yuv444Row func(dst *uint8, cs int, y, u, v *uint8, blocks int, k *yuvSIMD)
	// grayRow is yuvRow with U = V = 128.
	grayRow func(dst *uint8, cs int, y *uint8, blocks int, k *yuvSIMD)
	// rgbRow splits packed RGB into the planes.
	rgbRow func(dst *uint8, cs int, src *uint8, blocks int)
}

var genericRows = &rowKernels{name: "generic"}

// simdRows is the best tier's kernels, set by the architecture files at
// init (generic when MIXEDGE_KERNELS selects the generic tier, or under
// -tags purego).
var simdRows = genericRows

// archRows is the best row kernels this CPU runs, whatever the tier chosen.
var archRows = genericRows

// UseKernels makes the Fused transforms made from now on use the row
// kernels of the int8 kernel tier named tier ("generic": the Go twins;
// any other: the best this CPU has), so that --kernels generic is generic
// end to end. Call it before making transforms, not concurrently.
func UseKernels(tier string) {
	if tier == "generic" {
		simdRows = genericRows
	} else {
		simdRows = archRows
	}
}

// yuvSIMD is a yuvMatrix as int16 pairs for multiply-add instructions
// (VPMADDWD, SMLAL): (Y, 1)·kY = yMul(Y-yOff) + 128, (U-128, V-128)·kR = rv(V-128),
// and so on.
type yuvSIMD struct{ kY, kR, kG, kB uint32 }

func pair16(a, b int32) uint32 { return uint32(uint16(int16(a))) | uint32(uint16(int16(b)))<<16 }

func fits16(v int32) bool { return v == int32(int16(v)) }

// simd returns the pairs, ok false if a constant does not fit int16.
func (m *yuvMatrix) simd() (yuvSIMD, bool) {
	c := 128 - m.yMul*m.yOff
	for _, v := range []int32{m.yMul, c, m.rv, m.gu, m.gv, m.bu} {
		if !fits16(v) {
			return yuvSIMD{}, false
		}
	}
	return yuvSIMD{kY: pair16(m.yMul, c), kR: pair16(0, m.rv), kG: pair16(m.gu, m.gv), kB: pair16(m.bu, 0)}, true
}

// splitShift splits a 22-bit fixed point tap k into hi<<splitShift + lo,
// 0 <= lo < 2^15, so that pixel·hi and pixel·lo are exact 16-bit products
// whose int32 sums recombine into Pillow's int32 sum (wrapping identically).
const splitShift = 15

func splitTap(k int32) (hi, lo int16, ok bool) {
	h := k >> splitShift
	return int16(h), int16(k & (1<<splitShift - 1)), fits16(h)
}

// rowPlan is the geometry, scratch and SIMD coefficient layouts of the row
// pipeline.
type rowPlan struct {
	k      *rowKernels
	x0, nx int     // source columns converted: [x0, x0+nx), x0 even
	cs     int     // stride of the converted R, G, B segments
	conv   []uint8 // one converted source row
	n, hs  int     // output columns; stride of tmp's segments (multiple of 16)
	tmp    []uint8 // horizontal output of source rows [y0, y1), plus one spare row
	vrow   []uint8 // one vertical output row
	acc    []int32 // generic vertical accumulators
	h, v   *axis
	ys     yuvSIMD
	yuvOK  bool

	// hRow layout: blocks of 8 outputs o0..o7 in slot order o0 o4 o1 o5 o2
	// o6 o3 o7 (offs, relative to x0); per block and group of 8 taps, per
	// slot pair (a, b): hi taps of a, of b, lo taps of a, of b (8 int16
	// each). Outputs past n read offset 0 with zero taps.
	hBlocks, hGroups int
	hOffs            []int32
	hCoef            []int16
	// vRow layout: per output row, vPairs pairs of taps (t, t+1), each as
	// hi pair then lo pair (pair16); an odd last tap pairs with 0.
	vPairs int
	vCoef  []uint32
	// Quantization of each channel as an exact integer affine map (see
	// fitAffine), used by vRowQ when every channel has one; qrow holds the
	// quantized planes of one output row.
	qa   [3]qAffine
	qok  [3]bool
	qrow []int8
	// hRowWin layout: per block, offsets of outputs 8b and 8b+4; per tap
	// pair (t, t+1), 96 bytes: a VPSHUFB mask that puts window bytes t, t+1
	// of output 8b+j (zero-extended) in dword j of its 16-byte half, then the
	// eight (hi, hi) and eight (lo, lo) tap pairs.
	winOK  bool
	wSteps int
	wOffs  []int32
	wCoef  []uint8
}

// hSlot is the output of a block that goes to slot s.
var hSlot = [8]int{0, 4, 1, 5, 2, 6, 3, 7}

func newRowPlan(h, v *axis, k *rowKernels, m *yuvMatrix) *rowPlan {
	p := &rowPlan{k: k, h: h, v: v, n: h.n}
	from, to := h.span(0, h.n)
	p.x0 = from &^ 1
	p.nx = to - p.x0
	// Groups cover the longest tap run, which can be well below ksize
	// (640 → 341: ksize 9, at most 8 taps).
	maxCount := int32(1)
	for _, c := range h.count {
		maxCount = max(maxCount, c)
	}
	p.hGroups = (int(maxCount) + 7) / 8
	// Slack for the kernels' reads past a tap run (8 taps per group, or a
	// 16-byte window).
	p.cs = (p.nx + max(8*p.hGroups, 16) + 31) &^ 31
	p.conv = make([]uint8, 3*p.cs)
	p.hs = (p.n + 15) &^ 15
	y0, y1 := v.span(0, v.n)
	p.tmp = make([]uint8, (y1-y0+1)*3*p.hs)
	p.vrow = make([]uint8, 3*p.hs)
	p.acc = make([]int32, 3*p.hs)
	p.qrow = make([]int8, 3*p.hs)
	p.ys, p.yuvOK = m.simd()
	if !p.splitTaps() {
		p.k = genericRows
	}
	p.winOK = p.windowTaps(int(maxCount))
	return p
}

// windowTaps builds the hRowWin layout; false if some 4 outputs span more
// than 16 bytes.
func (p *rowPlan) windowTaps(maxCount int) bool {
	h := p.h
	p.wSteps = (maxCount + 1) / 2
	p.wOffs = make([]int32, 2*p.hBlocks)
	p.wCoef = make([]uint8, p.hBlocks*p.wSteps*96)
	for b := range p.hBlocks {
		for half := range 2 {
			base := 8*b + 4*half
			if base >= h.n {
				continue
			}
			p.wOffs[2*b+half] = h.first[base] - int32(p.x0)
			for j := range 4 {
				i := base + j
				if i >= h.n {
					break
				}
				d := int(h.first[i] - h.first[base])
				cnt := int(h.count[i])
				if d+cnt > 16 {
					return false
				}
				for s := range p.wSteps {
					c := p.wCoef[(b*p.wSteps+s)*96:]
					m := c[16*half+4*j:]
					m[0], m[1], m[2], m[3] = 0x80, 0x80, 0x80, 0x80
					var hi, lo [2]int32
					for e := range 2 {
						t := 2*s + e
						if t >= cnt {
							continue
						}
						m[2*e] = uint8(d + t)
						h16, l16, _ := splitTap(h.k[i*h.ksize+t])
						hi[e], lo[e] = int32(h16), int32(l16)
					}
					putU32(c[32+16*half+4*j:], pair16(hi[0], hi[1]))
					putU32(c[64+16*half+4*j:], pair16(lo[0], lo[1]))
				}
			}
		}
	}
	// Outputs past n: all-0x80 masks read nothing.
	for b := range p.hBlocks {
		for j := range 8 {
			if 8*b+j < h.n {
				continue
			}
			for s := range p.wSteps {
				m := p.wCoef[(b*p.wSteps+s)*96+4*j:]
				m[0], m[1], m[2], m[3] = 0x80, 0x80, 0x80, 0x80
			}
		}
	}
	return true
}

func putU32(b []uint8, v uint32) {
	b[0], b[1], b[2], b[3] = uint8(v), uint8(v>>8), uint8(v>>16), uint8(v>>24)
}

// splitTaps builds hCoef and vCoef; false if a tap does not split.
func (p *rowPlan) splitTaps() bool {
	h, v := p.h, p.v
	p.hBlocks = (h.n + 7) / 8
	p.hOffs = make([]int32, 8*p.hBlocks)
	p.hCoef = make([]int16, p.hBlocks*p.hGroups*4*32)
	for b := range p.hBlocks {
		for s, o := range hSlot {
			i := 8*b + o
			if i >= h.n {
				continue
			}
			p.hOffs[8*b+s] = h.first[i] - int32(p.x0)
			for t, kv := range h.k[i*h.ksize : i*h.ksize+int(h.count[i])] {
				hi, lo, ok := splitTap(kv)
				if !ok {
					return false
				}
				g := t / 8
				base := ((b*p.hGroups+g)*4 + s/2) * 32
				p.hCoef[base+8*(s%2)+t%8] = hi
				p.hCoef[base+16+8*(s%2)+t%8] = lo
			}
		}
	}
	p.vPairs = (v.ksize + 1) / 2
	p.vCoef = make([]uint32, v.n*p.vPairs*2)
	for i := range v.n {
		var hi, lo [2]int32
		taps := v.k[i*v.ksize : i*v.ksize+int(v.count[i])]
		for t, kv := range taps {
			h, l, ok := splitTap(kv)
			if !ok {
				return false
			}
			hi[t%2], lo[t%2] = int32(h), int32(l)
			if t%2 == 1 || t == len(taps)-1 {
				c := p.vCoef[(i*p.vPairs+t/2)*2:]
				c[0], c[1] = pair16(hi[0], hi[1]), pair16(lo[0], lo[1])
				hi, lo = [2]int32{}, [2]int32{}
			}
		}
	}
	return true
}

// hRowGeneric is the horizontal pass over one planar segment (src[0] is
// source column x0).
func hRowGeneric(dst, src []uint8, a *axis, x0 int) {
	ks := a.ksize
	for i := range a.n {
		first, cnt := int(a.first[i])-x0, int(a.count[i])
		p := src[first : first+cnt]
		s := roundHalf
		for j, kv := range a.k[i*ks : i*ks+cnt] {
			s += int32(p[j]) * kv
		}
		dst[i] = clip8(s)
	}
}

// vRowGeneric is the vertical pass for one output row: src holds the rows
// of the taps stride apart.
func vRowGeneric(dst, src []uint8, stride int, k []int32, acc []int32) {
	width := len(dst)
	acc = acc[:width]
	for j := range acc {
		acc[j] = roundHalf
	}
	for t, kv := range k {
		row := src[t*stride : t*stride+width]
		for j, p := range row {
			acc[j] += int32(p) * kv
		}
	}
	for j, s := range acc {
		dst[j] = clip8(s)
	}
}

// hRow runs the horizontal pass on the three segments of conv into tmp row r.
func (p *rowPlan) hRow(r int) {
	row := p.tmp[r*3*p.hs : (r+1)*3*p.hs]
	for c := range 3 {
		out, in := row[c*p.hs:(c+1)*p.hs], p.conv[c*p.cs:(c+1)*p.cs]
		if f := p.k.hRowWin; f != nil && p.winOK {
			f(&out[0], &in[0], &p.wOffs[0], &p.wCoef[0], p.hBlocks, p.wSteps)
		} else if f := p.k.hRow; f != nil {
			f(&out[0], &in[0], &p.hOffs[0], &p.hCoef[0], p.hBlocks, p.hGroups)
		} else {
			hRowGeneric(out, in, p.h, p.x0)
		}
	}
}

// outRow writes output row i (3n values of o); r0 is the tmp row of source
// row v.first[i].
func (p *rowPlan) outRow(o []int8, i, r0 int, q *[3][256]int8) {
	k := p.k
	if k.vRowQ == nil || k.interleave == nil || !p.qok[0] || !p.qok[1] || !p.qok[2] {
		p.vRow(i, r0)
		p.emit(o, q)
		return
	}
	a := p.v
	w, hs := 3*p.hs, p.hs
	src := p.tmp[r0*w:]
	pairs := (int(a.count[i]) + 1) / 2
	_ = src[(2*pairs-1)*w+w-1]
	for c := range 3 {
		k.vRowQ(&p.qrow[c*hs], &src[c*hs], w, hs, &p.vCoef[i*p.vPairs*2], pairs, &p.qa[c])
	}
	n := p.n
	o = o[:3*n]
	b := n / 16
	if b > 0 {
		k.interleave(&o[0], &p.qrow[0], hs, b)
	}
	for j := 16 * b; j < n; j++ {
		o[3*j], o[3*j+1], o[3*j+2] = p.qrow[j], p.qrow[hs+j], p.qrow[2*hs+j]
	}
}

// vRow computes output row i into vrow; r0 is the tmp row of source row
// v.first[i].
func (p *rowPlan) vRow(i, r0 int) {
	a := p.v
	w := 3 * p.hs
	src := p.tmp[r0*w:]
	if f := p.k.vRow; f != nil {
		pairs := (int(a.count[i]) + 1) / 2
		_ = src[(2*pairs-1)*w+w-1] // the spare tmp row covers an odd count's partner
		f(&p.vrow[0], &src[0], w, w, &p.vCoef[i*p.vPairs*2], pairs)
		return
	}
	vRowGeneric(p.vrow, src, w, a.k[i*a.ksize:i*a.ksize+int(a.count[i])], p.acc)
}

// convertRow converts columns [x0, x0+nx) of source row y into conv.
func (p *rowPlan) convertRow(frame []byte, f FrameFormat, m *yuvMatrix, y int) {
	x0, x1 := p.x0, p.x0+p.nx
	if b := p.nx / 32; p.yuvOK && b > 0 && p.convBlocks(frame, f, y, x0, b) {
		if x0+32*b == x1 {
			return
		}
		// One more block ending at x1 (at x1-1 for odd x1: blocks start on
		// even columns to keep chroma pairs), rewriting some pixels with
		// the same values.
		xs := (x1 - 32) &^ 1
		p.convBlocks(frame, f, y, xs, 1)
		if x0 = xs + 32; x0 == x1 {
			return
		}
	}
	convertSeg(p.conv[x0-p.x0:], p.cs, frame, f, m, y, x0, x1)
}

// convBlocks converts 32*b pixels of row y from column xs (even) with a
// SIMD kernel; false if there is none for the format.
func (p *rowPlan) convBlocks(frame []byte, f FrameFormat, y, xs, b int) bool {
	s, n := f.stride(), 32*b
	dst := &p.conv[xs-p.x0]
	switch f.Pix {
	case I420, YUV422P:
		k := p.k.yuvRow
		if k == nil {
			return false
		}
		_, ch, cs := f.chroma()
		cy := y
		if f.Pix == I420 {
			cy = y / 2
		}
		c := s*f.H + cy*cs + xs/2
		yr, ur, vr := frame[y*s+xs:y*s+xs+n], frame[c:c+n/2], frame[c+ch*cs:c+ch*cs+n/2]
		k(dst, p.cs, &yr[0], &ur[0], &vr[0], b, &p.ys)
	case NV12:
		k := p.k.nv12Row
		if k == nil {
			return false
		}
		_, _, cs := f.chroma()
		c := s*f.H + (y/2)*cs + xs
		yr, uv := frame[y*s+xs:y*s+xs+n], frame[c:c+n]
		k(dst, p.cs, &yr[0], &uv[0], b, &p.ys)
	case YUYV:
		k := p.k.yuyvRow
		if k == nil {
			return false
		}
		row := frame[y*s+2*xs : y*s+2*xs+2*n]
		k(dst, p.cs, &row[0], b, &p.ys)
	case YUV444P:
		k := p.k.yuv444Row
		if k == nil {
			return false
		}
		_, ch, cs := f.chroma()
		c := s*f.H + y*cs + xs
		yr, ur, vr := frame[y*s+xs:y*s+xs+n], frame[c:c+n], frame[c+ch*cs:c+ch*cs+n]
		k(dst, p.cs, &yr[0], &ur[0], &vr[0], b, &p.ys)
	case Gray:
		k := p.k.grayRow
		if k == nil {
			return false
		}
		yr := frame[y*s+xs : y*s+xs+n]
		k(dst, p.cs, &yr[0], b, &p.ys)
	case RGB24:
		k := p.k.rgbRow
		if k == nil {
			return false
		}
		row := frame[y*s+3*xs : y*s+3*xs+3*n]
		k(dst, p.cs, &row[0], b)
	default:
		return false
	}
	return true
}

// convertSeg converts columns [x0, x1) of row y into dst[0:], dst[cs:] and
// dst[2cs:] (R, G, B), with the arithmetic of convertRows.
func convertSeg(dst []uint8, cs int, frame []byte, f FrameFormat, m *yuvMatrix, y, x0, x1 int) {
	n := x1 - x0
	r, g, b := dst[:n], dst[cs:cs+n], dst[2*cs:2*cs+n]
	s := f.stride()
	switch f.Pix {
	case RGB24:
		row := frame[y*s+3*x0 : y*s+3*x1]
		for i := range r {
			r[i], g[i], b[i] = row[3*i], row[3*i+1], row[3*i+2]
		}
	case Gray:
		row := frame[y*s+x0 : y*s+x1]
		for i, l := range row {
			r[i], g[i], b[i] = m.rgb(l, 128, 128)
		}
	case YUYV:
		row := frame[y*s : y*s+f.rowBytes()]
		for i := range r {
			x := x0 + i
			q := row[4*(x/2) : 4*(x/2)+4]
			r[i], g[i], b[i] = m.rgb(q[2*(x&1)], q[1], q[3])
		}
	case NV12:
		_, _, cs := f.chroma()
		row := frame[y*s+x0 : y*s+x1]
		c := frame[s*f.H+(y/2)*cs:]
		for i, l := range row {
			x := x0 + i
			r[i], g[i], b[i] = m.rgb(l, c[2*(x/2)], c[2*(x/2)+1])
		}
	case I420, YUV422P, YUV444P:
		_, ch, cs := f.chroma()
		hs, cy := 1, y
		switch f.Pix {
		case I420:
			hs, cy = 2, y/2
		case YUV422P:
			hs = 2
		}
		row := frame[y*s+x0 : y*s+x1]
		u := frame[s*f.H+cy*cs:]
		v := frame[s*f.H+ch*cs+cy*cs:]
		for i, l := range row {
			x := (x0 + i) / hs
			r[i], g[i], b[i] = m.rgb(l, u[x], v[x])
		}
	}
}

// emit quantizes vrow's n pixels into o (3n values, NHWC).
func (p *rowPlan) emit(o []int8, q *[3][256]int8) {
	n := p.n
	o = o[:3*n]
	r, g, b := p.vrow[:n], p.vrow[p.hs:p.hs+n], p.vrow[2*p.hs:2*p.hs+n]
	g, b = g[:len(r)], b[:len(r)] // lets the compiler drop bounds checks
	l0, l1, l2 := &q[0], &q[1], &q[2]
	for i, v := range r {
		d := o[3*i : 3*i+3 : 3*i+3]
		d[0], d[1], d[2] = l0[v], l1[g[i]], l2[b[i]]
	}
}

// qAffine is q(u) = clamp((u*a + b) >> qShift, -128, 127), for u = clip8 of
// a sum: vRowQ's int32 form of one 256-entry quantization table.
type qAffine struct{ a, b int32 }

const qShift = 16

func (q qAffine) apply(u uint8) int8 {
	return int8(min(max((int32(u)*q.a+q.b)>>qShift, -128), 127))
}

// fitAffine finds a qAffine equal to the table t at all 256 inputs, trying
// slopes near slope·2^16 (slope: table steps per input level). The table is
// normalisation then float rounding, nearly affine, so a fit usually exists;
// when none does, the table is used as it is.
func fitAffine(t *[256]int8, slope float64) (qAffine, bool) {
	a0 := slope * (1 << qShift)
	if !(a0 > -(1<<22) && a0 < 1<<22) { // keeps u*a + b far from overflow
		return qAffine{}, false
	}
	for d := range 257 {
		a := int64(math.Round(a0)) + int64((d+1)/2)*int64(1-2*(d%2)) // 0, +1, -1, +2, …
		lo, hi := int64(math.MinInt64), int64(math.MaxInt64)
		for v := range int64(256) {
			q, x := int64(t[v]), v*a
			if q < 127 {
				hi = min(hi, (q+1)<<qShift-1-x)
			}
			if q > -128 {
				lo = max(lo, q<<qShift-x)
			}
		}
		if lo > hi {
			continue
		}
		b := lo
		if lo == math.MinInt64 {
			b = hi
		}
		if e0, e1 := b, 255*a+b; max(e0, e1) >= 1<<31 || min(e0, e1) < -1<<31 {
			continue
		}
		qa := qAffine{a: int32(a), b: int32(b)}
		ok := true
		for v := range 256 {
			ok = ok && qa.apply(uint8(v)) == t[v]
		}
		if ok {
			return qa, true
		}
	}
	return qAffine{}, false
}
