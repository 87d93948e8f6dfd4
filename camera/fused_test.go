package camera

import (
	"fmt"
	"testing"

	"github.com/mixedge/mixedge/quant"
)

// testFrame draws a synthetic picture and encodes it as format f.
func testFrame(t testing.TB, seed uint64, f FrameFormat) []byte {
	t.Helper()
	buf := make([]byte, f.FrameSize())
	for i := range buf { // padding bytes must not matter
		buf[i] = byte(i*31 + 7)
	}
	if err := EncodeFrame(buf, SyntheticImage(seed, f.W, f.H), f); err != nil {
		t.Fatal(err)
	}
	return buf
}

// The fused path equals the float path (convert → Preprocess.Apply →
// quant.QuantizeSlice) bit for bit, for every format and every resize case:
// both axes, one axis, none, upscaling, padding, odd sizes, row padding.
func TestFusedEqualsFloatPath(t *testing.T) {
	pre := Preprocess{Size: 32, CropPct: 0.875, Mean: [3]float32{0.485, 0.456, 0.406}, Std: [3]float32{0.229, 0.224, 0.225}}
	qp := quant.Params{Scale: 0.0187, Zero: -14}
	sizes := [][3]int{{64, 48, 0}, {37, 29, 0}, {36, 36, 0}, {64, 36, 80}, {36, 50, 0}, {20, 13, 0}, {40, 36, 0}, {36, 40, 41}}
	fmts := []PixelFormat{I420, NV12, YUYV, RGB24, YUV422P, YUV444P, Gray}
	cases := map[string]int{}
	defer func() {
		for _, c := range []string{"none", "both", "pad", "limited", "full"} { // one-axis resizes do not arise from ResizedSize
			if cases[c] == 0 {
				t.Errorf("no case with resize %q", c)
			}
		}
	}()
	for _, sz := range sizes {
		for _, pix := range fmts {
			for ci, crop := range []float64{0.875, 1, 32.0 / 36, 1.25} {
				// Both colour ranges, alternating over the crops (each
				// range meets every size and format).
				f := FrameFormat{Pix: pix, W: sz[0], H: sz[1], Range: ColorRange(ci % 2)}
				if sz[2] != 0 {
					f.Stride = sz[2]
					if pix == RGB24 || pix == YUYV {
						f.Stride = f.rowBytes() + 5
					}
				}
				p := pre
				p.CropPct = crop
				name := fmt.Sprintf("%s/%s/crop%.3f", f, f.Range, crop)
				cases[f.Range.String()]++
				frame := testFrame(t, uint64(sz[0]*7+sz[1]), f)
				img, err := ConvertFrame(frame, f)
				if err != nil {
					t.Fatal(err)
				}
				want := make([]float32, 32*32*3)
				if err := p.Apply(want, img); err != nil {
					t.Fatal(err)
				}
				wantQ := make([]int8, len(want))
				if err := quant.QuantizeSlice(wantQ, want, qp); err != nil {
					t.Fatal(err)
				}
				fu, err := p.NewFused(f, Quant{Scale: qp.Scale, Zero: qp.Zero})
				if err != nil {
					t.Fatal(name, err)
				}
				switch rs := fu.pl.rs; {
				case rs == nil:
					cases["none"]++
				case rs.needH && rs.needV:
					cases["both"]++
				case rs.needV:
					cases["vertical"]++
				default:
					cases["horizontal"]++
				}
				if fu.pl.cx.pad > 0 || fu.pl.cy.pad > 0 {
					cases["pad"]++
				}
				got := make([]int8, len(want))
				for i := range got {
					got[i] = 99
				}
				if err := fu.Apply(got, frame); err != nil {
					t.Fatal(name, err)
				}
				for i := range got {
					if got[i] != wantQ[i] {
						t.Fatalf("%s: value %d = %d, float path %d", name, i, got[i], wantQ[i])
					}
				}
			}
		}
	}
}

// Colour conversion round trip: EncodeFrame then ConvertFrame stays close
// to the picture (a check on the BT.601 constants, not on exactness).
func TestYUVRoundTrip(t *testing.T) {
	img := SyntheticImage(2, 32, 24)
	for _, pix := range []PixelFormat{YUV444P, RGB24} {
		f := FrameFormat{Pix: pix, W: 32, H: 24}
		buf := make([]byte, f.FrameSize())
		if err := EncodeFrame(buf, img, f); err != nil {
			t.Fatal(err)
		}
		back, _ := ConvertFrame(buf, f)
		worst := 0
		for i := range back.Pix {
			worst = max(worst, abs(int(back.Pix[i])-int(img.Pix[i])))
		}
		if worst > 4 {
			t.Errorf("%s: round trip differs by up to %d levels", pix, worst)
		}
	}
	// Pure colours in limited range.
	var d [3]uint8
	for _, c := range []struct{ y, u, v, r, g, b uint8 }{{16, 128, 128, 0, 0, 0}, {235, 128, 128, 255, 255, 255}, {81, 90, 240, 255, 0, 0}} {
		yuvToRGB(&yuvTables[RangeLimited], c.y, c.u, c.v, d[:])
		if abs(int(d[0])-int(c.r)) > 1 || abs(int(d[1])-int(c.g)) > 1 || abs(int(d[2])-int(c.b)) > 1 {
			t.Errorf("Y%d U%d V%d → %v, want %d %d %d", c.y, c.u, c.v, d, c.r, c.g, c.b)
		}
	}
}

// The table form of the colour conversion is exactly the 8-bit BT.601
// formula (limited) and libjpeg's ycc_rgb_convert (full), for every triple
// (every 7th U in -short).
func TestYUVTablesExact(t *testing.T) {
	step := 1
	if testing.Short() {
		step = 7
	}
	var d [3]uint8
	for y := range 256 {
		for u := 0; u < 256; u += step {
			for v := range 256 {
				yuvToRGB(&yuvTables[RangeLimited], uint8(y), uint8(u), uint8(v), d[:])
				c, e, dd := 298*(int32(y)-16)+128, int32(v)-128, int32(u)-128
				want := [3]uint8{clamp8((c + 409*e) >> 8), clamp8((c - 100*dd - 208*e) >> 8), clamp8((c + 516*dd) >> 8)}
				if d != want {
					t.Fatalf("limited Y%d U%d V%d: %v, want %v", y, u, v, d, want)
				}
				yuvToRGB(&yuvTables[RangeFull], uint8(y), uint8(u), uint8(v), d[:])
				r, g, b := ycbcrToRGB(uint8(y), uint8(u), uint8(v))
				if d != [3]uint8{r, g, b} {
					t.Fatalf("full Y%d U%d V%d: %v, want libjpeg's %d %d %d", y, u, v, d, r, g, b)
				}
			}
		}
	}
	// Full range round trip through EncodeFrame stays close.
	img := SyntheticImage(3, 32, 24)
	f := FrameFormat{Pix: YUV444P, W: 32, H: 24, Range: RangeFull}
	buf := make([]byte, f.FrameSize())
	if err := EncodeFrame(buf, img, f); err != nil {
		t.Fatal(err)
	}
	back, _ := ConvertFrame(buf, f)
	worst := 0
	for i := range back.Pix {
		worst = max(worst, abs(int(back.Pix[i])-int(img.Pix[i])))
	}
	if worst > 3 {
		t.Errorf("full range round trip differs by up to %d levels", worst)
	}
	if buf[0] == 0 && img.Pix[0] > 0 {
		t.Error("full range luma 0 for a non-black pixel")
	}
	for _, c := range []struct {
		s    string
		want ColorRange
	}{{"full", RangeFull}, {"PC", RangeFull}, {"limited", RangeLimited}, {"tv", RangeLimited}} {
		if r, err := ParseColorRange(c.s); err != nil || r != c.want {
			t.Errorf("ParseColorRange(%q) = %v, %v", c.s, r, err)
		}
	}
	if _, err := ParseColorRange("wide"); err == nil {
		t.Error(`ParseColorRange("wide") accepted`)
	}
	if err := (FrameFormat{Pix: I420, W: 4, H: 4, Range: 7}).Validate(); err == nil {
		t.Error("range 7 accepted")
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func TestFusedAllocs(t *testing.T) {
	f := FrameFormat{Pix: I420, W: 64, H: 48}
	fu, err := DefaultPreprocess().NewFused(f, Quant{Scale: 0.02, Zero: 0})
	if err != nil {
		t.Fatal(err)
	}
	frame := testFrame(t, 1, f)
	dst := make([]int8, 224*224*3)
	if n := testing.AllocsPerRun(20, func() { fu.Apply(dst, frame) }); n != 0 {
		t.Errorf("Fused.Apply allocates %v times per frame", n)
	}
	for _, pix := range allPixFormats { // the row pipeline of every format
		f := FrameFormat{Pix: pix, W: 640, H: 480}
		fu, err := DefaultPreprocess().NewFused(f, Quant{Scale: 0.02, Zero: 0})
		if err != nil {
			t.Fatal(err)
		}
		frame := testFrame(t, 1, f)
		if n := testing.AllocsPerRun(5, func() { fu.Apply(dst, frame) }); n != 0 {
			t.Errorf("%s: Fused.Apply allocates %v times per frame", pix, n)
		}
	}
	if err := fu.Apply(dst, frame[:10]); err == nil {
		t.Error("short frame accepted")
	}
	if err := fu.Apply(dst[:5], frame); err == nil {
		t.Error("short output accepted")
	}
	if _, err := DefaultPreprocess().NewFused(FrameFormat{Pix: YUYV, W: 64, H: 48, Stride: 100}, Quant{Scale: 1}); err == nil {
		t.Error("stride shorter than a row accepted")
	}
	if _, err := DefaultPreprocess().NewFused(f, Quant{Scale: 0}); err == nil {
		t.Error("scale 0 accepted")
	}
}

// A Pi camera frame (640x480 I420) into the 224x224 int8 input.
func BenchmarkFusedI420VGA(b *testing.B) {
	f := FrameFormat{Pix: I420, W: 640, H: 480}
	fu, err := DefaultPreprocess().NewFused(f, Quant{Scale: 0.0187, Zero: -14})
	if err != nil {
		b.Fatal(err)
	}
	frame := testFrame(b, 1, f)
	dst := make([]int8, 224*224*3)
	b.SetBytes(int64(f.FrameSize()))
	b.ReportAllocs()
	for b.Loop() {
		fu.Apply(dst, frame)
	}
}
