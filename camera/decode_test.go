package camera

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/jpeg"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func encodedSamples(t testing.TB) (pngData, jpegData []byte) {
	t.Helper()
	img := randomImage(rand.New(rand.NewPCG(5, 6)), 40, 30)
	var pb, jb bytes.Buffer
	if err := png.Encode(&pb, img); err != nil {
		t.Fatal(err)
	}
	if err := jpeg.Encode(&jb, img, &jpeg.Options{Quality: 85}); err != nil {
		t.Fatal(err)
	}
	return pb.Bytes(), jb.Bytes()
}

// decodeFileNoPanic writes data to a file and decodes it; a panic fails the
// test, an error must name the file.
func decodeFileNoPanic(t *testing.T, dir, name string, data []byte) (*RGB, error) {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if p := recover(); p != nil {
			t.Fatalf("%s: panic: %v", name, p)
		}
	}()
	m, err := DecodeFile(path)
	if err != nil && !strings.Contains(err.Error(), path) {
		t.Errorf("%s: error %q does not name the file", name, err)
	}
	return m, err
}

// decodeNoPanic decodes from memory; a panic fails the test.
func decodeNoPanic(t *testing.T, data []byte) (m *RGB, err error) {
	t.Helper()
	defer func() {
		if p := recover(); p != nil {
			t.Fatalf("panic on %d bytes: %v", len(data), p)
		}
	}()
	return Decode(bytes.NewReader(data))
}

func TestDecodeTruncated(t *testing.T) {
	pngData, jpegData := encodedSamples(t)
	dir := t.TempDir()
	for _, f := range []struct {
		name string
		data []byte
	}{{"png", pngData}, {"jpeg", jpegData}} {
		if _, err := decodeFileNoPanic(t, dir, "whole."+f.name, f.data); err != nil {
			t.Fatalf("intact %s: %v", f.name, err)
		}
		if _, err := decodeFileNoPanic(t, dir, "cut."+f.name, f.data[:len(f.data)/2]); err == nil {
			t.Errorf("%s cut in half decoded without error", f.name)
		}
		// Cuts through the headers, then a sample of the body, then the
		// tail. Every cut must fail: both formats end with a marker (IEND,
		// EOI) that a truncated file lacks, except that Go's JPEG decoder
		// accepts a missing EOI, so JPEG cuts in the last 2 bytes may pass.
		for n := 0; n < len(f.data); {
			_, err := decodeNoPanic(t, f.data[:n])
			if err == nil && !(f.name == "jpeg" && n >= len(f.data)-2) {
				t.Errorf("%s cut to %d of %d bytes decoded without error", f.name, n, len(f.data))
			}
			switch {
			case n < 200, n >= len(f.data)-32:
				n++
			default:
				n = min(n+len(f.data)/64+1, len(f.data)-32)
			}
		}
	}
}

// TestDecodeCorrupt flips bytes all over valid files: errors are fine,
// panics are not, and whatever decodes must be a consistent image.
func TestDecodeCorrupt(t *testing.T) {
	pngData, jpegData := encodedSamples(t)
	r := rand.New(rand.NewPCG(7, 8))
	const n = 200
	failures := 0
	for i := range n {
		src := pngData
		if i%2 == 1 {
			src = jpegData
		}
		data := bytes.Clone(src)
		for range 1 + r.IntN(4) {
			data[r.IntN(len(data))] ^= byte(1 + r.IntN(255))
		}
		m, err := decodeNoPanic(t, data)
		if err != nil {
			failures++
			continue
		}
		if len(m.Pix) != 3*m.W*m.H || m.W <= 0 || m.H <= 0 {
			t.Fatalf("corrupt input decoded to inconsistent %dx%d with %d bytes", m.W, m.H, len(m.Pix))
		}
	}
	if failures == 0 {
		t.Error("no corruption was detected at all; the test is not exercising the decoders")
	}
	t.Logf("%d of %d corrupted files rejected, the rest decoded consistently", failures, n)
}

func TestDecodeErrors(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.png")
	if _, err := DecodeFile(missing); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing file: %v", err)
	}
	for name, c := range map[string]struct {
		data []byte
		want string
	}{
		"empty.png": {nil, "empty file"},
		"text.png":  {[]byte("hello, world"), "not a PNG or JPEG"},
		"gif.png":   {[]byte("GIF89a\x01\x00\x01\x00"), "not a PNG or JPEG"},
		// 20000x10000 is over maxPixels but, unlike 100000x100000, a
		// pixel count image/png accepts on 32-bit ARM too (there it
		// refuses larger ones itself: "dimension overflow").
		"bomb.png":   {pngHeaderOnly(20000, 10000), "more than"},
		"header.png": {pngHeaderOnly(10, 10), "PNG 10x10"},
	} {
		_, err := decodeFileNoPanic(t, dir, name, c.data)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", name, err, c.want)
		}
	}
}

// pngHeaderOnly is a PNG signature and a valid IHDR chunk, nothing else.
func pngHeaderOnly(w, h uint32) []byte {
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 2 // 8-bit RGB
	var b bytes.Buffer
	b.Write(pngMagic)
	binary.Write(&b, binary.BigEndian, uint32(len(ihdr)))
	b.WriteString("IHDR")
	b.Write(ihdr)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(append([]byte("IHDR"), ihdr...)))
	return b.Bytes()
}

// FuzzDecode: Decode must never panic, and a decoded image must be
// consistent and survive the whole transform.
func FuzzDecode(f *testing.F) {
	pngData, jpegData := encodedSamples(f)
	f.Add(pngData)
	f.Add(jpegData)
	seeds, _ := filepath.Glob(filepath.Join("testdata", "pil", "*.*"))
	for _, s := range seeds {
		if !strings.HasSuffix(s, ".png") && !strings.HasSuffix(s, ".jpg") {
			continue
		}
		if fi, err := os.Stat(s); err != nil || fi.Size() > 4096 {
			continue // small seeds keep the fuzzer fast
		}
		data, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	p := Preprocess{Size: 16, CropPct: 0.875, Mean: DefaultPreprocess().Mean, Std: DefaultPreprocess().Std}
	dst := make([]float32, 16*16*3)
	f.Fuzz(func(t *testing.T, data []byte) {
		// Headers claiming huge images are legal and would only make the
		// fuzzer slow; the pixel limit itself is tested elsewhere.
		if cfg, _, err := image.DecodeConfig(bytes.NewReader(data)); err == nil && cfg.Width*cfg.Height > 1<<20 {
			t.Skip()
		}
		m, err := Decode(bytes.NewReader(data))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "camera: decode: ") {
				t.Fatalf("error without context: %v", err)
			}
			return
		}
		if m.W <= 0 || m.H <= 0 || len(m.Pix) != 3*m.W*m.H {
			t.Fatalf("decoded inconsistent %dx%d with %d bytes", m.W, m.H, len(m.Pix))
		}
		if err := p.Apply(dst, m); err != nil {
			t.Fatalf("Apply on decoded %dx%d: %v", m.W, m.H, err)
		}
	})
}
