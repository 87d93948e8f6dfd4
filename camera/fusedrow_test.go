package camera

import (
	"fmt"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/mixedge/mixedge/kernels"
	"github.com/mixedge/mixedge/quant"
)

var allPixFormats = []PixelFormat{I420, NV12, YUYV, RGB24, YUV422P, YUV444P, Gray}

// fusedCase is one random configuration of the fused path.
type fusedCase struct {
	f   FrameFormat
	p   Preprocess
	q   quant.Params
	raw bool // frame bytes are random rather than an encoded picture
}

func randomFusedCase(r *rand.Rand) fusedCase {
	c := fusedCase{raw: r.IntN(2) == 0}
	c.f = FrameFormat{Pix: allPixFormats[r.IntN(len(allPixFormats))], W: 1 + r.IntN(160), H: 1 + r.IntN(120)}
	if r.IntN(4) == 0 {
		c.f.W, c.f.H = 200+r.IntN(500), 150+r.IntN(400)
		if testing.Short() { // keeps the qemu leg quick
			c.f.W, c.f.H = c.f.W/3, c.f.H/3
		}
	}
	if r.IntN(3) == 0 {
		c.f.Stride = c.f.rowBytes() + r.IntN(40)
	}
	c.p = DefaultPreprocess()
	c.p.Size = 4 + r.IntN(60)
	c.p.CropPct = 0.3 + r.Float64()
	c.q = quant.Params{Scale: 0.005 + 0.05*r.Float32(), Zero: int32(r.IntN(256)) - 128}
	return c
}

func (c fusedCase) String() string {
	return fmt.Sprintf("%s size %d crop %.4f q %v raw %v", c.f, c.p.Size, c.p.CropPct, c.q, c.raw)
}

// frame returns the case's frame: random bytes (every YUV value, clamping)
// or an encoded synthetic picture (smooth areas and edges).
func (c fusedCase) frame(t testing.TB, seed uint64) []byte {
	if !c.raw {
		return testFrame(t, seed, c.f)
	}
	b := make([]byte, c.f.FrameSize())
	r := rand.New(rand.NewPCG(seed, 5))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// check runs the float path, the fused path with the SIMD row kernels and
// with the generic ones, and reports the first difference. It returns
// whether the case took the row pipeline.
func (c fusedCase) check(t testing.TB, frame []byte) bool {
	t.Helper()
	img, err := ConvertFrame(frame, c.f)
	if err != nil {
		t.Fatal(c, err)
	}
	want := make([]float32, c.p.Size*c.p.Size*3)
	if err := c.p.Apply(want, img); err != nil {
		t.Fatal(c, err)
	}
	wantQ := make([]int8, len(want))
	if err := quant.QuantizeSlice(wantQ, want, c.q); err != nil {
		t.Fatal(err)
	}
	rows := false
	// The SIMD kernels with the affine quantization (when it fits), with
	// the tables, and the generic kernels.
	for v, k := range []*rowKernels{simdRows, simdRows, genericRows} {
		fu, err := c.p.NewFused(c.f, Quant{Scale: c.q.Scale, Zero: c.q.Zero})
		if err != nil {
			t.Fatal(c, err)
		}
		if fu.rows != nil {
			rows = true
			if fu.rows.k != genericRows {
				fu.rows.k = k
			}
			if v == 1 {
				fu.rows.qok[0] = false
			}
		}
		got := make([]int8, len(want))
		for i := range got {
			got[i] = 99
		}
		if err := fu.Apply(got, frame); err != nil {
			t.Fatal(c, err)
		}
		for i := range got {
			if got[i] != wantQ[i] {
				t.Fatalf("%s, %s kernels: value %d = %d, float path %d", c, k.name, i, got[i], wantQ[i])
			}
		}
	}
	return rows
}

// Random formats, sizes, strides, crops and quantizations: the fused path
// (SIMD and generic row kernels) equals the float path bit for bit.
func TestFusedRandomEqualsFloatPath(t *testing.T) {
	r := rand.New(rand.NewPCG(6, 6))
	n := 300
	if testing.Short() {
		n = 40
	}
	seen := map[PixelFormat]int{}
	for i := range n {
		c := randomFusedCase(r)
		if c.check(t, c.frame(t, uint64(i))) {
			seen[c.f.Pix]++
		}
	}
	for _, pix := range allPixFormats {
		if seen[pix] == 0 {
			t.Errorf("no %s case took the row pipeline", pix)
		}
	}
	t.Logf("row kernels %s; row-pipeline cases per format %v", simdRows.name, seen)
}

func FuzzFusedEqualsFloatPath(f *testing.F) {
	f.Add(uint64(1), uint64(2))
	f.Add(uint64(640), uint64(480))
	f.Fuzz(func(t *testing.T, a, b uint64) {
		c := randomFusedCase(rand.New(rand.NewPCG(a, b)))
		c.check(t, c.frame(t, a^b))
	})
}

// guarded returns a buffer of n bytes inside guard bands of 64 bytes, and
// a function that reports whether the bands are intact.
func guarded[T uint8 | int8](r *rand.Rand, n int) ([]T, func() bool) {
	buf := make([]T, n+128)
	for i := range buf {
		buf[i] = T(r.Uint32())
	}
	g := append([]T(nil), buf...)
	return buf[64 : 64+n], func() bool {
		for i := range 64 {
			if buf[i] != g[i] || buf[len(buf)-1-i] != g[len(g)-1-i] {
				return false
			}
		}
		return true
	}
}

// randomQTable is the quantization table of a random channel normalisation
// and input quantization, with its affine fit.
func randomQTable(r *rand.Rand) (tab [256]int8, qa qAffine, ok bool) {
	mean, std := r.Float32(), 0.05+0.5*r.Float32()
	if r.IntN(8) == 0 {
		std = -std
	}
	q := Quant{Scale: 0.002 + 0.1*r.Float32(), Zero: int32(r.IntN(256)) - 128}
	lut := func(v int) float32 { return (float32(v)/255 - mean) / std }
	for v := range 256 {
		tab[v] = q.quantize(lut(v))
	}
	qa, ok = fitAffine(&tab, float64(lut(255)-lut(0))/255/float64(q.Scale))
	return tab, qa, ok
}

// fitAffine finds an exact affine form of nearly every table (checked here
// against the table at all inputs; NewFused uses the table when none
// exists).
func TestFitAffine(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	const n = 2000
	fits := 0
	for range n {
		tab, qa, ok := randomQTable(r)
		if !ok {
			continue
		}
		fits++
		for v := range 256 {
			if qa.apply(uint8(v)) != tab[v] {
				t.Fatalf("fit %+v at %d: %d, table %d", qa, v, qa.apply(uint8(v)), tab[v])
			}
		}
	}
	if fits < n*9/10 {
		t.Errorf("only %d of %d tables have an affine fit", fits, n)
	}
	t.Logf("%d of %d tables fit", fits, n)
}

func needSIMDRows(t *testing.T) {
	if simdRows == genericRows {
		t.Skip("no SIMD row kernels in this build/CPU (purego, MIXEDGE_KERNELS=generic or no AVX2/NEON)")
	}
}

// The SIMD horizontal and vertical kernels equal the generic ones on random
// rows for random scale factors (up and down, up to 40 taps), and write
// nothing outside their outputs.
func TestRowKernelsParity(t *testing.T) {
	needSIMDRows(t)
	r := rand.New(rand.NewPCG(7, 7))
	win, vq := 0, 0
	defer func() {
		if simdRows.hRowWin != nil && win == 0 || simdRows.vRowQ != nil && vq == 0 {
			t.Error("no case for hRowWin or vRowQ")
		}
		t.Logf("%s: %d cases took hRowWin, %d rows vRowQ", simdRows.name, win, vq)
	}()
	for it := range 300 {
		in := 1 + r.IntN(700)
		out := 1 + r.IntN(400)
		if it%3 == 0 {
			out = 1 + in/(1+r.IntN(10)) // downscales: many taps
		}
		lo := r.IntN(out)
		n := 1 + r.IntN(out-lo)
		h, err := newAxis(in, out, lo, n)
		if err != nil {
			t.Fatal(err)
		}
		p := newRowPlan(&h, &h, simdRows, &bt601Limited)
		if p.k != simdRows {
			t.Fatalf("in %d out %d: taps do not split", in, out)
		}
		name := fmt.Sprintf("in %d out %d lo %d n %d", in, out, lo, n)
		for i := range p.conv {
			p.conv[i] = uint8(r.Uint32())
		}
		want := make([]uint8, n)
		hRowGeneric(want, p.conv, &h, p.x0)
		got, ok := guarded[uint8](r, 8*p.hBlocks)
		simdRows.hRow(&got[0], &p.conv[0], &p.hOffs[0], &p.hCoef[0], p.hBlocks, p.hGroups)
		if !ok() {
			t.Fatalf("%s: hRow wrote outside its output", name)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("%s: hRow output %d = %d, generic %d", name, i, got[i], want[i])
			}
		}

		if f := simdRows.hRowWin; f != nil && p.winOK {
			win++
			got, ok := guarded[uint8](r, 8*p.hBlocks)
			f(&got[0], &p.conv[0], &p.wOffs[0], &p.wCoef[0], p.hBlocks, p.wSteps)
			if !ok() {
				t.Fatalf("%s: hRowWin wrote outside its output", name)
			}
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("%s: hRowWin output %d = %d, generic %d", name, i, got[i], want[i])
				}
			}
		}

		// Vertical: the same axis over rows of random width.
		w := 16 * (1 + r.IntN(8))
		y0, y1 := h.span(0, n)
		src := make([]uint8, (y1-y0+1)*w)
		for i := range src {
			src[i] = uint8(r.Uint32())
		}
		acc := make([]int32, w)
		tab, qa, fit := randomQTable(r)
		for i := range n {
			k := h.k[i*h.ksize : i*h.ksize+int(h.count[i])]
			row := src[(int(h.first[i])-y0)*w:]
			pairs := (len(k) + 1) / 2
			want := make([]uint8, w)
			vRowGeneric(want, row, w, k, acc)
			got, ok := guarded[uint8](r, w)
			simdRows.vRow(&got[0], &row[0], w, w, &p.vCoef[i*p.vPairs*2], pairs)
			if !ok() {
				t.Fatalf("%s: vRow wrote outside its output", name)
			}
			for j := range want {
				if got[j] != want[j] {
					t.Fatalf("%s: vRow row %d column %d = %d, generic %d", name, i, j, got[j], want[j])
				}
			}
			if f := simdRows.vRowQ; f != nil && fit {
				vq++
				gotq, ok := guarded[int8](r, w)
				f(&gotq[0], &row[0], w, w, &p.vCoef[i*p.vPairs*2], pairs, &qa)
				if !ok() {
					t.Fatalf("%s: vRowQ wrote outside its output", name)
				}
				for j := range want {
					if gotq[j] != tab[want[j]] {
						t.Fatalf("%s: vRowQ row %d column %d = %d, table %d", name, i, j, gotq[j], tab[want[j]])
					}
				}
			}
		}
	}
}

// The SIMD interleave equals the generic loop and writes only its pixels.
func TestInterleaveParity(t *testing.T) {
	needSIMDRows(t)
	r := rand.New(rand.NewPCG(10, 10))
	for range 50 {
		hs := 16 * (1 + r.IntN(20))
		b := 1 + r.IntN(hs/16)
		src := make([]int8, 3*hs)
		for i := range src {
			src[i] = int8(r.Uint32())
		}
		got, ok := guarded[int8](r, 48*b)
		simdRows.interleave(&got[0], &src[0], hs, b)
		if !ok() {
			t.Fatalf("hs %d blocks %d: wrote outside its pixels", hs, b)
		}
		for j := range 16 * b {
			for c := range 3 {
				if got[3*j+c] != src[c*hs+j] {
					t.Fatalf("hs %d blocks %d: pixel %d channel %d = %d, want %d", hs, b, j, c, got[3*j+c], src[c*hs+j])
				}
			}
		}
	}
}

// The SIMD packed-RGB split equals the generic one and writes only its
// pixels.
func TestRGBRowParity(t *testing.T) {
	needSIMDRows(t)
	if simdRows.rgbRow == nil {
		t.Skip("no SIMD RGB24 kernel")
	}
	r := rand.New(rand.NewPCG(11, 11))
	for range 50 {
		b := 1 + r.IntN(10)
		cs := 32*b + r.IntN(40)
		src := make([]uint8, 96*b)
		for i := range src {
			src[i] = uint8(r.Uint32())
		}
		got, ok := guarded[uint8](r, 3*cs)
		pad := append([]uint8(nil), got...)
		simdRows.rgbRow(&got[0], cs, &src[0], b)
		if !ok() {
			t.Fatalf("blocks %d: wrote outside its segments", b)
		}
		for c := range 3 {
			for i := range cs {
				want := pad[c*cs+i]
				if i < 32*b {
					want = src[3*i+c]
				}
				if got[c*cs+i] != want {
					t.Fatalf("blocks %d cs %d: plane %d byte %d = %d, want %d", b, cs, c, i, got[c*cs+i], want)
				}
			}
		}
	}
}

// The YUV matrix is the BT.601 formula ConvertFrame always used, for every
// Y, U, V.
func TestYUVMatrixExhaustive(t *testing.T) {
	var d [3]uint8
	for y := range 256 {
		for u := range 256 {
			for v := range 256 {
				c := 298*(int32(y)-16) + 128
				e, dd := int32(v)-128, int32(u)-128
				want := [3]uint8{clamp8((c + 409*e) >> 8), clamp8((c - 100*dd - 208*e) >> 8), clamp8((c + 516*dd) >> 8)}
				yuvToRGB(&yuvTables[RangeLimited], uint8(y), uint8(u), uint8(v), d[:])
				if d != want {
					t.Fatalf("Y %d U %d V %d: table %v, want %v", y, u, v, d, want)
				}
				if r, g, b := bt601Limited.rgb(uint8(y), uint8(u), uint8(v)); [3]uint8{r, g, b} != want {
					t.Fatalf("Y %d U %d V %d: matrix %v, want %v", y, u, v, [3]uint8{r, g, b}, want)
				}
			}
		}
	}
}

// The SIMD YUV row kernels (4:2:x planar, NV12, YUYV, 4:4:4, gray) equal the matrix for every
// Y, U, V (every 7th V with -short), with guard bands around each output
// segment.
func TestYUVRowExhaustive(t *testing.T) {
	needSIMDRows(t)
	m := &bt601Limited
	k, ok := m.simd()
	if !ok {
		t.Fatal("BT.601 constants do not fit int16")
	}
	// A row: chroma sample s is (U s, V v) and covers luma 2j, 2j+1.
	const px, cs = 512, 512 + 64
	yr, ur, vr := make([]uint8, px), make([]uint8, px/2), make([]uint8, px/2)
	uv, yuyv := make([]uint8, px), make([]uint8, 2*px)
	u444, v444 := make([]uint8, px), make([]uint8, px)
	type kernel struct {
		name string
		run  func(dst []uint8)
		gray bool // expects U = V = 128
	}
	var ks []kernel
	if f := simdRows.yuvRow; f != nil {
		ks = append(ks, kernel{"planar", func(d []uint8) { f(&d[0], cs, &yr[0], &ur[0], &vr[0], px/32, &k) }, false})
	}
	if f := simdRows.nv12Row; f != nil {
		ks = append(ks, kernel{"nv12", func(d []uint8) { f(&d[0], cs, &yr[0], &uv[0], px/32, &k) }, false})
	}
	if f := simdRows.yuyvRow; f != nil {
		ks = append(ks, kernel{"yuyv", func(d []uint8) { f(&d[0], cs, &yuyv[0], px/32, &k) }, false})
	}
	if f := simdRows.yuv444Row; f != nil {
		ks = append(ks, kernel{"yuv444p", func(d []uint8) { f(&d[0], cs, &yr[0], &u444[0], &v444[0], px/32, &k) }, false})
	}
	if f := simdRows.grayRow; f != nil {
		ks = append(ks, kernel{"gray", func(d []uint8) { f(&d[0], cs, &yr[0], px/32, &k) }, true})
	}
	step := 1
	if testing.Short() {
		step = 7
	}
	r := rand.New(rand.NewPCG(8, 8))
	for _, kn := range ks {
		out, intact := guarded[uint8](r, 3*cs)
		pad := append([]uint8(nil), out...)
		for v := 0; v < 256; v += step {
			for j := 0; j < 256; j += 2 {
				for s := range ur {
					ur[s], vr[s] = uint8(s), uint8(v)
					yr[2*s], yr[2*s+1] = uint8(j), uint8(j+1)
					uv[2*s], uv[2*s+1] = ur[s], vr[s]
					copy(yuyv[4*s:], []uint8{yr[2*s], ur[s], yr[2*s+1], vr[s]})
					u444[2*s], u444[2*s+1], v444[2*s], v444[2*s+1] = ur[s], ur[s], vr[s], vr[s]
				}
				kn.run(out)
				for x := range px {
					r, g, b := m.rgb(yr[x], ur[x/2], vr[x/2])
					if kn.gray {
						r, g, b = m.rgb(yr[x], 128, 128)
					}
					if out[x] != r || out[cs+x] != g || out[2*cs+x] != b {
						t.Fatalf("%s: Y %d U %d V %d: %d %d %d, want %d %d %d", kn.name, yr[x], ur[x/2], v,
							out[x], out[cs+x], out[2*cs+x], r, g, b)
					}
				}
			}
		}
		for c := range 3 {
			for i := px; i < cs; i++ {
				if out[c*cs+i] != pad[c*cs+i] {
					t.Fatalf("%s: wrote segment %d byte %d past its %d pixels", kn.name, c, i, px)
				}
			}
		}
		if !intact() {
			t.Fatalf("%s: wrote outside its segments", kn.name)
		}
	}
	t.Logf("%s: kernels checked: %d", simdRows.name, len(ks))
}

// UseKernels (what stream's --kernels calls) switches new transforms
// between the Go twins and the best row kernels of this CPU.
func TestUseKernels(t *testing.T) {
	saved := simdRows
	defer func() { simdRows = saved }()
	pre := Preprocess{Size: 32, CropPct: 0.875, Mean: [3]float32{0.485, 0.456, 0.406}, Std: [3]float32{0.229, 0.224, 0.225}}
	f := FrameFormat{Pix: I420, W: 64, H: 48}
	for _, c := range []struct {
		tier string
		want *rowKernels
	}{{"generic", genericRows}, {"auto", archRows}, {"generic", genericRows}} {
		UseKernels(c.tier)
		fu, err := pre.NewFused(f, Quant{Scale: 0.02, Zero: -3})
		if err != nil {
			t.Fatal(err)
		}
		if fu.rows == nil || fu.rows.k != c.want {
			t.Fatalf("UseKernels(%q): transform uses %v, want %s", c.tier, fu.rows, c.want.name)
		}
	}
}

// TestRequireRowKernels fails unless the row kernels follow the tier named
// by MIXEDGE_REQUIRE_KERNELS (SIMD ones unless it is "generic"), so that a
// qemu or CI leg cannot pass while testing only the Go twins.
func TestRequireRowKernels(t *testing.T) {
	want := os.Getenv("MIXEDGE_REQUIRE_KERNELS")
	if want == "" {
		t.Skip("MIXEDGE_REQUIRE_KERNELS is not set")
	}
	if (want == kernels.Generic.Name) != (simdRows == genericRows) {
		t.Fatalf("row kernels %q with MIXEDGE_REQUIRE_KERNELS=%s", simdRows.name, want)
	}
	t.Logf("MIXEDGE_REQUIRE_KERNELS=%s: row kernels %s", want, simdRows.name)
}
