package camera

import (
	"bytes"
	"errors"
	"image"
	"image/jpeg"
	"os"
	"path/filepath"
	"testing"
)

// stripDHT removes every DHT segment before the first scan, as many UVC
// webcams send their frames.
func stripDHT(t testing.TB, jpg []byte) []byte {
	t.Helper()
	out := append([]byte(nil), jpg[:2]...)
	i := 2
	for i+4 <= len(jpg) && jpg[i] == 0xff {
		m := jpg[i+1]
		if m == mSOS {
			break
		}
		n := int(jpg[i+2])<<8 | int(jpg[i+3])
		if m != mDHT {
			out = append(out, jpg[i:i+2+n]...)
		}
		i += 2 + n
	}
	out = append(out, jpg[i:]...)
	if HasHuffmanTables(out) {
		t.Fatal("stripDHT left a DHT")
	}
	return out
}

// encodeJPEG encodes a synthetic picture with image/jpeg (4:2:0, the
// standard Annex K tables).
func encodeJPEG(t testing.TB, seed uint64, w, h int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, rgbImage(SyntheticImage(seed, w, h)), &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func rgbImage(m *RGB) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, m.W, m.H))
	for i := range m.W * m.H {
		copy(img.Pix[4*i:4*i+3], m.Pix[3*i:3*i+3])
		img.Pix[4*i+3] = 255
	}
	return img
}

func TestAnnexKTables(t *testing.T) {
	for _, tb := range annexK {
		n := 0
		for _, c := range tb.bits {
			n += int(c)
		}
		if n != len(tb.vals) {
			t.Errorf("table %#02x: BITS count %d codes, HUFFVAL has %d", tb.id, n, len(tb.vals))
		}
	}
	if len(dhtSegment) != 2+418 || !HasHuffmanTables(append(append([]byte{0xff, 0xd8}, dhtSegment...), 0xff, 0xda)) {
		t.Errorf("DHT segment of %d bytes", len(dhtSegment))
	}
}

// A frame without Huffman tables decodes exactly like the same frame with
// the standard tables (image/jpeg's encoder and PIL's use them), for every
// chroma subsampling webcams use; the planes come out as a full-range
// planar frame that converts exactly as classify converts the JPEG where
// no upsampling is involved (4:4:4, grey).
func TestMJPEGDecode(t *testing.T) {
	files := map[string][]byte{"go-420-odd": encodeJPEG(t, 1, 37, 29), "go-420": encodeJPEG(t, 2, 64, 48)}
	want := map[string]PixelFormat{"go-420-odd": I420, "go-420": I420}
	for _, n := range []string{"jpeg_420", "jpeg_420_odd", "jpeg_420_narrow", "jpeg_422", "jpeg_422_odd", "jpeg_444", "jpeg_gray"} {
		b, err := os.ReadFile(filepath.Join("testdata", "pil", n+".jpg"))
		if err != nil {
			t.Fatal(err)
		}
		files[n] = b
		want[n] = map[string]PixelFormat{"jpeg_422": YUV422P, "jpeg_422_odd": YUV422P, "jpeg_444": YUV444P, "jpeg_gray": Gray}[n]
		if want[n] == 0 {
			want[n] = I420
		}
	}
	var d MJPEGDecoder
	for name, jpg := range files {
		var with, without Frame
		if err := d.Decode(&with, jpg); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		bare := stripDHT(t, jpg)
		if len(bare) >= len(jpg) {
			t.Fatalf("%s: no DHT to strip", name)
		}
		if err := d.Decode(&without, bare); err != nil {
			t.Fatalf("%s without DHT: %v", name, err)
		}
		f := with.Format
		if f.Pix != want[name] || f.Range != RangeFull || without.Format != f || len(with.Data) != f.FrameSize() {
			t.Errorf("%s: %v (%d bytes), without DHT %v; want %s full range", name, f, len(with.Data), without.Format, want[name])
		}
		if !bytes.Equal(with.Data, without.Data) {
			t.Errorf("%s: the standard tables decode differently from the file's own", name)
		}
		img, err := ConvertFrame(with.Data, f)
		if err != nil {
			t.Fatal(err)
		}
		ref, err := decodeBytes(jpg)
		if err != nil {
			t.Fatal(err)
		}
		if img.W != ref.W || img.H != ref.H {
			t.Fatalf("%s: %dx%d, classify decodes %dx%d", name, img.W, img.H, ref.W, ref.H)
		}
		if f.Pix == YUV444P || f.Pix == Gray {
			if !bytes.Equal(img.Pix, ref.Pix) {
				t.Errorf("%s: full-range conversion differs from classify's JPEG decoding", name)
			}
		}
	}
}

func TestMJPEGCorrupt(t *testing.T) {
	good := stripDHT(t, encodeJPEG(t, 3, 32, 32))
	cmyk, err := os.ReadFile(filepath.Join("testdata", "pil", "jpeg_cmyk.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	huge := append([]byte(nil), good...)
	for i := 2; i+9 < len(huge); i++ { // SOF0: a 60000x60000 frame
		if huge[i] == 0xff && huge[i+1] == 0xc0 {
			huge[i+5], huge[i+6], huge[i+7], huge[i+8] = 0xea, 0x60, 0xea, 0x60
			break
		}
	}
	cases := map[string][]byte{
		"empty":     nil,
		"not jpeg":  []byte("hello, world"),
		"cut":       good[:len(good)/2],
		"header":    good[:20],
		"no scan":   {0xff, 0xd8, 0xff, 0xd9},
		"bad len":   {0xff, 0xd8, 0xff, 0xe0, 0xff, 0xff, 0},
		"zero len":  {0xff, 0xd8, 0xff, 0xe0, 0, 0, 0xff, 0xda},
		"cmyk":      cmyk,
		"huge":      huge,
		"garbage":   append(append([]byte(nil), good[:len(good)-40]...), bytes.Repeat([]byte{0x55}, 40)...),
		"no tables": append([]byte{0xff, 0xd8}, good[len(good)-30:]...),
	}
	var d MJPEGDecoder
	for name, b := range cases {
		var f Frame
		err := d.Decode(&f, b)
		if name == "garbage" && err == nil {
			continue // damaged entropy data may still decode (to a wrong picture); it must not panic
		}
		if !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: %v, want ErrCorrupt", name, err)
		}
	}
}

func FuzzMJPEG(f *testing.F) {
	good := encodeJPEG(f, 4, 24, 16)
	f.Add(good)
	f.Add(stripDHT(f, good))
	f.Add([]byte{0xff, 0xd8, 0xff, 0xda})
	d := MJPEGDecoder{MaxW: 256, MaxH: 256} // what the V4L2 source does: the negotiated size bounds a frame
	f.Fuzz(func(t *testing.T, b []byte) {
		var fr Frame
		if err := d.Decode(&fr, b); err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error without ErrCorrupt: %v", err)
			}
			return
		}
		if err := fr.Format.Validate(); err != nil || len(fr.Data) != fr.Format.FrameSize() || fr.Format.Range != RangeFull {
			t.Fatalf("decoded %v with %d bytes: %v", fr.Format, len(fr.Data), err)
		}
	})
}
