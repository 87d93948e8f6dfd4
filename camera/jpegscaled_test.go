package camera

import (
	"bytes"
	"errors"
	"image"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// encodeTestJPEG encodes img (RGB, or grey when gray) at quality q.
func encodeTestJPEG(t testing.TB, img *RGB, q int, gray bool) []byte {
	t.Helper()
	var m image.Image
	if gray {
		g := image.NewGray(image.Rect(0, 0, img.W, img.H))
		for i := range img.W * img.H {
			g.Pix[i] = img.Pix[3*i+1]
		}
		m = g
	} else {
		n := image.NewNRGBA(image.Rect(0, 0, img.W, img.H))
		for i := range img.W * img.H {
			copy(n.Pix[4*i:4*i+3], img.Pix[3*i:3*i+3])
			n.Pix[4*i+3] = 255
		}
		m = n
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, m, &jpeg.Options{Quality: q}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// boxDown averages s×s cells of m (edge cells over what they cover), the
// picture a 1/s DCT-scaled decode approximates.
func boxDown(m *RGB, s int) *RGB {
	w, h := jpegScaledSize(m.W, m.H, s)
	out := NewRGB(w, h)
	for y := range h {
		for x := range w {
			var sum [3]int
			n := 0
			for yy := y * s; yy < min(y*s+s, m.H); yy++ {
				for xx := x * s; xx < min(x*s+s, m.W); xx++ {
					for c := range 3 {
						sum[c] += int(m.Pix[3*(yy*m.W+xx)+c])
					}
					n++
				}
			}
			for c := range 3 {
				out.Pix[3*(y*w+x)+c] = uint8((sum[c] + n/2) / n)
			}
		}
	}
	return out
}

func meanMaxDiff(a, b *RGB) (mean float64, mx int) {
	var sum int
	for i := range a.Pix {
		d := int(a.Pix[i]) - int(b.Pix[i])
		if d < 0 {
			d = -d
		}
		sum += d
		mx = max(mx, d)
	}
	return float64(sum) / float64(len(a.Pix)), mx
}

// A DCT-scaled decode is the full decode's picture at 1/s: within a level
// or two of its s×s means on photos (the shipped ones, enlarged 4x; colour
// 4:2:0 and grey, odd sizes). Busy synthetic pictures with saturated colours
// differ more (chroma is averaged before the clamping colour conversion,
// not after) and are only logged.
func TestJPEGScaledNearFull(t *testing.T) {
	type pic struct {
		name  string
		img   *RGB
		gray  bool
		bound float64 // mean |Δ| allowed; 0: log only
	}
	var pics []pic
	for i, name := range []string{"chelsea", "astronaut", "coffee"} {
		src, err := DecodeFile("../model/calib/photos/" + name + ".jpg")
		if err != nil {
			t.Fatal(err)
		}
		big := NewRGB(src.W*4+3, src.H*4+5)
		ResizeBicubic(big, src)
		pics = append(pics, pic{name, big, i == 2, 2})
	}
	pics = append(pics, pic{"synthetic", SyntheticImage(2, 803, 611), false, 0})
	for _, c := range pics {
		data := encodeTestJPEG(t, c.img, 90, c.gray)
		full, err := decodeBytes(data)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []int{2, 4, 8} {
			img, err := decodeJPEGScaled(data, s)
			if err != nil {
				t.Fatalf("%s 1/%d: %v", c.name, s, err)
			}
			got := ToRGB(img)
			want := boxDown(full, s)
			if got.W != want.W || got.H != want.H {
				t.Fatalf("%s 1/%d: %dx%d, want %dx%d", c.name, s, got.W, got.H, want.W, want.H)
			}
			mean, mx := meanMaxDiff(got, want)
			t.Logf("%s %dx%d gray=%v 1/%d: mean |Δ| %.2f, max %d levels against the full decode's %dx%d means", c.name, c.img.W, c.img.H, c.gray, s, mean, mx, s, s)
			if c.bound > 0 && mean > c.bound {
				t.Errorf("%s 1/%d: mean |Δ| %.2f, want ≤ %v", c.name, s, mean, c.bound)
			}
		}
	}
}

// Only big pictures are scaled, and only as far as stays twice the target.
func TestJPEGScale(t *testing.T) {
	for _, c := range []struct{ w, h, rw, rh, want int }{ // want: the largest scale that keeps 2x
		{500, 375, 341, 256, 1},     // a normal photo: PIL-exact path
		{1021, 1021, 256, 256, 1},   // just short of 2x at 1/2
		{1023, 1023, 256, 256, 2},   // ceil(1023/2) = 512: 2x
		{1024, 1024, 256, 256, 2},   // exactly 2x at 1/2
		{4000, 3000, 341, 256, 4},   // a phone photo
		{10000, 10000, 256, 256, 8}, // the picture
		{10000, 300, 8533, 256, 1},  // a strip: short side too small
		{2048, 4096, 256, 512, 4},   // portrait
		{4096, 2048, 512, 256, 4},   // landscape
		{16384, 16384, 256, 256, 8}, // never more than 1/8
		{2049, 1100, 476, 256, 2},   // one side limits
		{8191, 8191, 256, 256, 8},   // ceil(8191/8)=1024 ≥ 512
		{4095, 4095, 256, 256, 8},   // ceil(4095/8) = 512: exactly 2x
	} {
		got := JPEGScale(c.w, c.h, c.rw, c.rh)
		if got != c.want {
			t.Errorf("%dx%d to %dx%d: scale %d, want %d", c.w, c.h, c.rw, c.rh, got, c.want)
		}
		sw, sh := jpegScaledSize(c.w, c.h, got)
		if got > 1 && (sw < 2*c.rw || sh < 2*c.rh) {
			t.Errorf("%dx%d: scale %d leaves %dx%d, under 2x %dx%d", c.w, c.h, got, sw, sh, c.rw, c.rh)
		}
		if next := got * 2; next <= 8 {
			if nw, nh := jpegScaledSize(c.w, c.h, next); nw >= 2*c.rw && nh >= 2*c.rh {
				t.Errorf("%dx%d: scale %d, but %d also stays at 2x", c.w, c.h, got, next)
			}
		}
	}
}

// Through DecodeFileWith: normal pictures decode exactly as before; a big
// one is scaled; --max-pixels refuses with ErrTooLarge; a progressive
// or otherwise unscalable one falls back to the full decoder.
func TestDecodeOptions(t *testing.T) {
	dir := t.TempDir()
	p := DefaultPreprocess()
	o := DecodeOptions{Target: p.ResizedSize}
	small := filepath.Join(dir, "small.jpg")
	os.WriteFile(small, encodeTestJPEG(t, SyntheticImage(4, 640, 480), 90, false), 0o644)
	a, err := DecodeFile(small)
	if err != nil {
		t.Fatal(err)
	}
	b, err := DecodeFileWith(small, o)
	if err != nil || !bytes.Equal(a.Pix, b.Pix) {
		t.Errorf("a 640x480 JPEG changed under Target (%v)", err)
	}
	big := filepath.Join(dir, "big.jpg")
	os.WriteFile(big, encodeTestJPEG(t, SyntheticImage(5, 1100, 1050), 85, false), 0o644)
	m, err := DecodeFileWith(big, o)
	if err != nil {
		t.Fatal(err)
	}
	if rw, rh := p.ResizedSize(1100, 1050); JPEGScale(1100, 1050, rw, rh) != 2 || m.W != 550 || m.H != 525 {
		t.Fatalf("1100x1050 to %dx%d: decoded %dx%d, want 1/2: 550x525", rw, rh, m.W, m.H)
	}
	if _, err := DecodeFileWith(big, DecodeOptions{Target: p.ResizedSize, MaxPixels: 500 * 500}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("1/2 of 1100x1050 over a 0.25 MP limit: %v", err)
	}
	if _, err := DecodeFileWith(big, DecodeOptions{MaxPixels: 1_000_000}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("full 1100x1050 over a 1 MP limit: %v", err)
	}
	png := filepath.Join(dir, "big.png")
	writeRGBPNGFile(t, png, SyntheticImage(6, 1100, 1000))
	if _, err := DecodeFileWith(png, DecodeOptions{Target: p.ResizedSize, MaxPixels: 1_000_000}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("a 1.1 MP PNG over a 1 MP limit: %v", err)
	}
	// A frame header the scaled decoder does not take (progressive, SOF2):
	// the full decoder runs and reports.
	data := encodeTestJPEG(t, SyntheticImage(7, 1100, 1100), 90, false)
	if i := bytes.Index(data, []byte{0xff, 0xc0}); i > 0 {
		data[i+1] = 0xc2
	}
	if _, err := decodeJPEGScaled(data, 2); !errors.Is(err, errJPEGNotScalable) {
		t.Errorf("SOF2: %v", err)
	}
}

func writeRGBPNGFile(t testing.TB, path string, img *RGB) {
	t.Helper()
	n := image.NewNRGBA(image.Rect(0, 0, img.W, img.H))
	for i := range img.W * img.H {
		copy(n.Pix[4*i:4*i+3], img.Pix[3*i:3*i+3])
		n.Pix[4*i+3] = 255
	}
	var b bytes.Buffer
	if err := png.Encode(&b, n); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(path, b.Bytes(), 0o644)
}

// A big JPEG decodes within a bound: the file, the 1/8 planes and the RGB
// picture, nothing at full size.
func TestJPEGScaledMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: encodes a 4096x4096 JPEG")
	}
	const w, h = 4096, 4096
	src := NewRGB(w, h)
	for y := range h {
		for x := range w {
			i := 3 * (y*w + x)
			src.Pix[i], src.Pix[i+1], src.Pix[i+2] = uint8(x>>4), uint8(y>>4), uint8((x+y)>>5)
		}
	}
	data := encodeTestJPEG(t, src, 90, false)
	src = nil
	p := DefaultPreprocess()
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	m, err := decodeBytesWith(data, DecodeOptions{Target: p.ResizedSize})
	runtime.ReadMemStats(&after)
	if err != nil || m.W != 512 || m.H != 512 {
		t.Fatalf("4096x4096 at 1/8: %v", err)
	}
	alloc := after.TotalAlloc - before.TotalAlloc
	full := uint64(3 * w * h)
	t.Logf("4096x4096 JPEG (%d KiB): %.1f MiB allocated decoding at 1/8; a full decode's RGB alone is %.0f MiB", len(data)>>10, float64(alloc)/(1<<20), float64(full)/(1<<20))
	if bound := uint64(4 << 20); alloc > bound {
		t.Errorf("allocated %d bytes, want at most %d", alloc, bound)
	}
}

func FuzzDecodeJPEGScaled(f *testing.F) {
	for i, c := range []struct {
		w, h int
		gray bool
	}{{16, 16, false}, {33, 17, true}, {40, 24, false}} {
		f.Add(encodeTestJPEG(f, SyntheticImage(uint64(i), c.w, c.h), 75, c.gray), 2)
	}
	f.Fuzz(func(t *testing.T, data []byte, scale int) {
		s := []int{2, 4, 8}[uint(scale)%3]
		cfg, err := jpeg.DecodeConfig(bytes.NewReader(data))
		if err != nil || cfg.Width*cfg.Height > 1<<20 {
			return // the size check before decoding refuses bigger ones
		}
		img, err := decodeJPEGScaled(data, s)
		if err != nil {
			return
		}
		b := img.Bounds()
		if int64(b.Dx())*int64(b.Dy()) > 1<<22 {
			return
		}
		_ = ToRGB(img)
	})
}

// Decoding a PNG into RGB in its own buffer gives ToRGB's pixels.
func TestPackRGBInPlace(t *testing.T) {
	src := SyntheticImage(9, 37, 23)
	n := image.NewNRGBA(image.Rect(0, 0, 37, 23))
	r := image.NewRGBA(image.Rect(0, 0, 37, 23))
	for i := range 37 * 23 {
		copy(n.Pix[4*i:4*i+3], src.Pix[3*i:3*i+3])
		n.Pix[4*i+3] = uint8(i * 7)
		a := uint8(i * 11)
		for c := range 3 {
			r.Pix[4*i+c] = uint8(int(src.Pix[3*i+c]) * int(a) / 255)
		}
		r.Pix[4*i+3] = a
	}
	for _, m := range []image.Image{n, r} {
		want := ToRGB(m)
		got := packRGBInPlace(m)
		if got == nil || !bytes.Equal(got.Pix, want.Pix) || got.W != want.W || got.H != want.H {
			t.Errorf("%T: in-place RGB differs from ToRGB", m)
		}
	}
	if packRGBInPlace(n.SubImage(image.Rect(1, 1, 5, 5))) != nil {
		t.Error("a sub-image was packed in place")
	}
}
