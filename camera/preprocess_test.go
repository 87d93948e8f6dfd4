package camera

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// referenceDir is /work/shared/reference seen from the package directory.
var referenceDir = filepath.Join("..", "..", "shared", "reference")

// TestReferenceInputs checks Apply against the tensors the reference
// pipeline (timm, crop_pct 1.0 on 224x224 PNGs) produced.
func TestReferenceInputs(t *testing.T) {
	mf, err := os.ReadFile(filepath.Join(referenceDir, "manifest.json"))
	if os.IsNotExist(err) {
		t.Skipf("reference data not present at %s", referenceDir)
	}
	if err != nil {
		t.Fatal(err)
	}
	var manifest struct {
		Inputs []struct {
			Name   string `json:"name"`
			PNG    string `json:"png"`
			Tensor string `json:"tensor"`
			Shape  []int  `json:"shape"`
			SHA256 string `json:"pixels_sha256_hwc_rgb_u8"`
		} `json:"inputs"`
	}
	if err := json.Unmarshal(mf, &manifest); err != nil {
		t.Fatalf("%s: %v", filepath.Join(referenceDir, "manifest.json"), err)
	}
	if len(manifest.Inputs) == 0 {
		t.Fatal("reference manifest lists no inputs")
	}
	p := DefaultPreprocess()
	p.CropPct = 1.0
	for _, in := range manifest.Inputs {
		img, err := DecodeFile(filepath.Join(referenceDir, in.PNG))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(img.Pix)
		if hex.EncodeToString(sum[:]) != in.SHA256 {
			t.Errorf("%s: decoded pixels sha256 %x, manifest %s", in.PNG, sum, in.SHA256)
		}
		raw, err := os.ReadFile(filepath.Join(referenceDir, in.Tensor))
		if err != nil {
			t.Fatal(err)
		}
		want := bytesToF32(t, in.Tensor, raw)
		got := applyNCHW(t, p, img)
		compareF32(t, in.Name, got, want)
	}
}

func TestScaleMatchesPythonFloor(t *testing.T) {
	for _, c := range []struct {
		size int
		pct  float64
		want int
	}{
		{224, 0.875, 256},
		{224, 1.0, 224},
		{224, 0.9, 248},
		{320, 0.95, 336},
		// 33/0.55 is 59.99999999999999 in binary floating point; Python's
		// math.floor gives 59, and so must we.
		{33, 0.55, 59},
	} {
		p := Preprocess{Size: c.size, CropPct: c.pct}
		if got := p.scale(); got != c.want {
			t.Errorf("floor(%d / %v) = %d, want %d", c.size, c.pct, got, c.want)
		}
	}
}

func TestResizedSize(t *testing.T) {
	p := DefaultPreprocess()
	for _, c := range []struct{ w, h, rw, rh int }{
		{640, 480, 341, 256}, // landscape: int(256*640/480) = int(341.33)
		{480, 640, 256, 341}, // portrait
		{500, 500, 256, 256}, // square
		{300, 200, 384, 256},
		{17, 400, 256, 6023}, // int(6023.5294)
		{1, 1, 256, 256},
		{1, 3, 256, 768},
		{256, 257, 256, 257},
	} {
		rw, rh := p.ResizedSize(c.w, c.h)
		if rw != c.rw || rh != c.rh {
			t.Errorf("ResizedSize(%d, %d) = %dx%d, want %dx%d", c.w, c.h, rw, rh, c.rw, c.rh)
		}
	}
}

func TestCenterCropRounding(t *testing.T) {
	for _, c := range []struct {
		n, crop        int
		pad, off, keep int
	}{
		{256, 224, 0, 16, 224},
		{257, 224, 0, 16, 224}, // round(16.5) = 16 (even)
		{259, 224, 0, 18, 224}, // round(17.5) = 18 (even)
		{225, 224, 0, 0, 224},  // round(0.5) = 0
		{227, 224, 0, 2, 224},  // round(1.5) = 2
		{224, 224, 0, 0, 224},
		{51, 64, 6, 0, 51}, // padded (13)//2 = 6 before, 7 after
		{63, 64, 0, 0, 63}, // the single padding column goes after
	} {
		got := newCropAxis(c.n, c.crop)
		want := cropAxis{pad: c.pad, off: c.off, keep: c.keep}
		if got != want {
			t.Errorf("crop %d from %d: %+v, want %+v", c.crop, c.n, got, want)
		}
	}
}

// TestApplyPadding uses sizes that need no resampling, so the expected
// output can be written down: a 4x4 image in a 7x7 crop sits at (1, 1) with
// black (normalised) around it, like torchvision's CenterCrop padding.
func TestApplyPadding(t *testing.T) {
	p := DefaultPreprocess()
	p.Size, p.CropPct = 7, 1.75 // resize to 7/1.75 = 4: the image's own size
	img := NewRGB(4, 4)
	for i := range img.Pix {
		img.Pix[i] = uint8(10 + i)
	}
	dst := make([]float32, 7*7*3)
	if err := p.Apply(dst, img); err != nil {
		t.Fatal(err)
	}
	norm := func(v uint8, c int) float32 { return (float32(v)/255 - p.Mean[c]) / p.Std[c] }
	for y := range 7 {
		for x := range 7 {
			for c := range 3 {
				var want float32
				if x >= 1 && x < 5 && y >= 1 && y < 5 {
					want = norm(img.Pix[((y-1)*4+(x-1))*3+c], c)
				} else {
					want = norm(0, c)
				}
				if got := dst[(y*7+x)*3+c]; got != want {
					t.Fatalf("(%d,%d,%d) = %v, want %v", x, y, c, got, want)
				}
			}
		}
	}
}

// TestApplyOnePixel: every bicubic weight lands on the single source pixel,
// so the 224x224 output is that colour everywhere.
func TestApplyOnePixel(t *testing.T) {
	p := DefaultPreprocess()
	img := &RGB{W: 1, H: 1, Pix: []uint8{7, 128, 250}}
	dst := make([]float32, 224*224*3)
	if err := p.Apply(dst, img); err != nil {
		t.Fatal(err)
	}
	for i, v := range dst {
		c := i % 3
		if want := (float32(img.Pix[c])/255 - p.Mean[c]) / p.Std[c]; v != want {
			t.Fatalf("dst[%d] = %v, want %v", i, v, want)
		}
	}
}

// TestApplyExtremeStrip: a 1x4000 strip resizes to 256x1024000, which is
// never materialised; only the crop is resampled. With one source column
// every output row is uniform.
func TestApplyExtremeStrip(t *testing.T) {
	img := ToRGB(randomImage(rand.New(rand.NewPCG(11, 12)), 1, 4000))
	p := DefaultPreprocess()
	dst := make([]float32, 224*224*3)
	if err := p.Apply(dst, img); err != nil {
		t.Fatal(err)
	}
	distinct := map[float32]bool{}
	for y := range 224 {
		row := dst[y*224*3 : (y+1)*224*3]
		for i, v := range row {
			if v != row[i%3] {
				t.Fatalf("row %d not uniform: [%d] = %v, [%d] = %v", y, i, v, i%3, row[i%3])
			}
		}
		distinct[row[0]] = true
	}
	if len(distinct) < 2 {
		t.Errorf("all rows equal; the vertical resample did nothing")
	}
}

func TestValidate(t *testing.T) {
	if err := DefaultPreprocess().Validate(); err != nil {
		t.Fatalf("default: %v", err)
	}
	for name, mut := range map[string]func(*Preprocess){
		"zero size":     func(p *Preprocess) { p.Size = 0 },
		"huge size":     func(p *Preprocess) { p.Size = 1 << 20 },
		"zero crop":     func(p *Preprocess) { p.CropPct = 0 },
		"negative crop": func(p *Preprocess) { p.CropPct = -0.5 },
		"NaN crop":      func(p *Preprocess) { p.CropPct = math.NaN() },
		"inf crop":      func(p *Preprocess) { p.CropPct = math.Inf(1) },
		"scale zero":    func(p *Preprocess) { p.CropPct = 1000 }, // floor(224/1000) = 0
		"zero std":      func(p *Preprocess) { p.Std[1] = 0 },
		"NaN mean":      func(p *Preprocess) { p.Mean[2] = float32(math.NaN()) },
	} {
		p := DefaultPreprocess()
		mut(&p)
		err := p.Validate()
		if err == nil {
			t.Errorf("%s: Validate accepted %+v", name, p)
			continue
		}
		if !strings.HasPrefix(err.Error(), "camera: preprocess") {
			t.Errorf("%s: error %q lacks context", name, err)
		}
		if err := p.Apply(make([]float32, 3), NewRGB(2, 2)); err == nil {
			t.Errorf("%s: Apply accepted an invalid config", name)
		}
	}
}

func TestApplyRejectsBadArguments(t *testing.T) {
	p := DefaultPreprocess()
	good := NewRGB(10, 10)
	for name, c := range map[string]struct {
		dst  []float32
		img  *RGB
		want string
	}{
		"short dst":  {make([]float32, 10), good, "want 150528"},
		"nil image":  {make([]float32, 224*224*3), nil, "nil"},
		"short pix":  {make([]float32, 224*224*3), &RGB{W: 10, H: 10, Pix: make([]uint8, 299)}, "299 bytes"},
		"zero width": {make([]float32, 224*224*3), &RGB{W: 0, H: 10}, "must be positive"},
	} {
		err := p.Apply(c.dst, c.img)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", name, err, c.want)
		}
	}
	pl, err := p.NewPipeline(10, 10)
	if err != nil {
		t.Fatal(err)
	}
	if err := pl.Apply(make([]float32, 224*224*3), NewRGB(11, 10)); err == nil || !strings.Contains(err.Error(), "11x10") {
		t.Errorf("pipeline size mismatch: %v", err)
	}
}

// TestPipelineMatchesApplyNoAlloc: the reusable pipeline gives Apply's
// output and allocates nothing per frame.
func TestPipelineMatchesApplyNoAlloc(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	p := DefaultPreprocess()
	for _, sz := range [][2]int{{640, 480}, {256, 300}} { // resampled; already 256 wide
		img := ToRGB(randomImage(r, sz[0], sz[1]))
		want := make([]float32, 224*224*3)
		if err := p.Apply(want, img); err != nil {
			t.Fatal(err)
		}
		pl, err := p.NewPipeline(img.W, img.H)
		if err != nil {
			t.Fatal(err)
		}
		got := make([]float32, len(want))
		allocs := testing.AllocsPerRun(1, func() {
			if err := pl.Apply(got, img); err != nil {
				t.Fatal(err)
			}
		})
		compareF32(t, "pipeline", got, want)
		if allocs != 0 {
			t.Errorf("%dx%d: Pipeline.Apply allocates %v times per frame", img.W, img.H, allocs)
		}
	}
}

func TestLayoutTranspose(t *testing.T) {
	const h, w, c = 2, 3, 3
	nhwc := make([]float32, h*w*c)
	for y := range h {
		for x := range w {
			for ch := range c {
				nhwc[(y*w+x)*c+ch] = float32(100*ch + 10*y + x)
			}
		}
	}
	nchw := make([]float32, len(nhwc))
	NHWCToNCHW(nchw, nhwc, h, w, c)
	for ch := range c {
		for y := range h {
			for x := range w {
				if got, want := nchw[(ch*h+y)*w+x], float32(100*ch+10*y+x); got != want {
					t.Fatalf("nchw[%d][%d][%d] = %v, want %v", ch, y, x, got, want)
				}
			}
		}
	}
	back := make([]float32, len(nhwc))
	NCHWToNHWC(back, nchw, h, w, c)
	for i := range back {
		if back[i] != nhwc[i] {
			t.Fatalf("round trip differs at %d: %v vs %v", i, back[i], nhwc[i])
		}
	}
}

func TestResizeSameSizeCopies(t *testing.T) {
	src := ToRGB(randomImage(rand.New(rand.NewPCG(3, 4)), 31, 17))
	dst := NewRGB(31, 17)
	ResizeBicubic(dst, src)
	if d := diffRGB(dst, src); d != "" {
		t.Fatal(d)
	}
}

func TestNewResamplerErrors(t *testing.T) {
	for name, c := range map[string]struct {
		sw, sh, dw, dh int
		win            Rect
	}{
		"empty source":     {0, 5, 4, 4, Rect{0, 0, 4, 4}},
		"negative target":  {5, 5, -1, 4, Rect{0, 0, 1, 1}},
		"window outside":   {5, 5, 4, 4, Rect{2, 0, 3, 4}},
		"empty window":     {5, 5, 4, 4, Rect{0, 0, 0, 4}},
		"too many pixels":  {1 << 16, 1 << 16, 4, 4, Rect{0, 0, 4, 4}},
		"negative window0": {5, 5, 4, 4, Rect{-1, 0, 2, 2}},
	} {
		if _, err := NewWindowResampler(c.sw, c.sh, c.dw, c.dh, c.win); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
