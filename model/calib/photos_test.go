package calib

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/mixedge/mixedge/camera"
)

// Every embedded photo decodes, has the size gen.go gives (shorter side
// 256) and the SHA-256 README.md lists; README.md lists nothing else.
func TestPhotosMatchREADME(t *testing.T) {
	f, err := os.Open("README.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	line := regexp.MustCompile(`^\s+([0-9a-f]{64})  (\S+\.jpg)$`)
	listed := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if m := line.FindStringSubmatch(sc.Text()); m != nil {
			listed[m[2]] = m[1]
		}
	}
	names := PhotoNames()
	if len(names) == 0 {
		t.Fatal("no photos embedded")
	}
	for _, n := range names {
		data, err := PhotoFile(n)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		if want, ok := listed[n]; !ok {
			t.Errorf("photos/%s is not listed in README.md", n)
		} else if got := hex.EncodeToString(sum[:]); got != want {
			t.Errorf("photos/%s: SHA-256 %s, README.md lists %s", n, got, want)
		}
		delete(listed, n)
		m, err := camera.Decode(bytes.NewReader(data))
		if err != nil {
			t.Errorf("photos/%s: %v", n, err)
			continue
		}
		if min(m.W, m.H) != 256 {
			t.Errorf("photos/%s is %dx%d, want the shorter side 256", n, m.W, m.H)
		}
	}
	for n := range listed {
		t.Errorf("README.md lists %s, which is not embedded", n)
	}
	if _, err := PhotoFile("nope.jpg"); err == nil || !strings.Contains(err.Error(), names[0]) {
		t.Errorf("missing photo: %v", err)
	}
}

func TestSets(t *testing.T) {
	n := len(PhotoNames())
	def := Default()
	if len(def) != n+DefaultSynthetic {
		t.Fatalf("Default has %d images, want %d photos + %d synthetic", len(def), n, DefaultSynthetic)
	}
	seen := map[string]bool{}
	for _, im := range append(append(append(def, Mirrored()...), Cropped()...), Synthetic(2)...) {
		m, err := im.Load()
		if err != nil {
			t.Fatal(err)
		}
		if m.W < 100 || m.H < 100 || len(m.Pix) != 3*m.W*m.H {
			t.Errorf("%s: %dx%d, %d bytes", im.Name, m.W, m.H, len(m.Pix))
		}
		if synth := strings.HasPrefix(im.Name, "synthetic"); synth != (im.Photo == "") {
			t.Errorf("%s: Photo %q", im.Name, im.Photo)
		}
		seen[im.Name] = true
	}
	if len(seen) != 3*n+DefaultSynthetic {
		t.Errorf("%d distinct names, want %d", len(seen), 3*n+DefaultSynthetic)
	}
}

func TestMirrorCrop(t *testing.T) {
	m := camera.NewRGB(3, 2)
	for i := range m.Pix {
		m.Pix[i] = uint8(i)
	}
	got := Mirror(m)
	want := []uint8{6, 7, 8, 3, 4, 5, 0, 1, 2, 15, 16, 17, 12, 13, 14, 9, 10, 11}
	if !bytes.Equal(got.Pix, want) {
		t.Errorf("Mirror: %v, want %v", got.Pix, want)
	}
	c, err := Crop(m, 1, 1, 2, 1)
	if err != nil || c.W != 2 || c.H != 1 || !bytes.Equal(c.Pix, []uint8{12, 13, 14, 15, 16, 17}) {
		t.Errorf("Crop: %+v %v", c, err)
	}
	if _, err := Crop(m, 2, 0, 2, 1); err == nil || !strings.Contains(err.Error(), "outside the 3x2") {
		t.Errorf("Crop outside: %v", err)
	}
}
