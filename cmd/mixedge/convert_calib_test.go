package main

import (
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mixedge/mixedge/tools/fashion/fmnist"
)

// fmnistFixture is the trained Fashion-MNIST mixnet_s in model/testdata.
func fmnistFixture(t *testing.T) (weights, labels string) {
	t.Helper()
	weights = filepath.Join("..", "..", "model", "testdata", "fmnist_mixnet_s.safetensors")
	labels = filepath.Join("..", "..", "model", "testdata", "fmnist_mixnet_s.labels.txt")
	if _, err := os.Stat(weights); err != nil {
		t.Skipf("trained fixture missing: %v", err)
	}
	return weights, labels
}

// writeFmnistPNGs writes n training-part pictures as 28x28 grey PNGs.
func writeFmnistPNGs(t *testing.T, dir string, n int) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(fmnist.Dir, "train-images-idx3-ubyte.gz")); err != nil {
		t.Skipf("Fashion-MNIST not installed (apt-get install dataset-fashion-mnist): %v", err)
	}
	set, err := fmnist.Load(fmnist.Dir, "train")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, k := 0, 0; k < n; i++ {
		if fmnist.IsValidation(i) {
			continue
		}
		m := image.NewGray(image.Rect(0, 0, set.W, set.H))
		copy(m.Pix, set.Pix[i*set.W*set.H:(i+1)*set.W*set.H])
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("%05d.png", i)))
		if err != nil {
			t.Fatal(err)
		}
		if err := png.Encode(f, m); err != nil {
			t.Fatal(err)
		}
		f.Close()
		k++
	}
}

// convert warns when the calibration pictures are unlike the model's
// training data (the built-in ImageNet-style set for a grey-clothing
// model) and stays quiet with the model's own training pictures; with no
// pictures at all it uses data-free ranges. info --model shows which.
func TestConvertCalibrationSourceAndWarning(t *testing.T) {
	if testing.Short() {
		t.Skip("three conversions of the trained fixture (half a minute here, many under qemu); skipped with -short")
	}
	weights, labels := fmnistFixture(t)
	dir := t.TempDir()
	own := filepath.Join(dir, "own")
	writeFmnistPNGs(t, own, 60)
	common := []string{"convert", "--weights", weights, "--arch", "mixnet_s", "--classes", "10", "--labels", labels,
		"--input-size", "32", "--crop-pct", "1"}

	fw := filepath.Join(dir, "builtin.fw")
	code, _, errs := runCLI(t, append(common, "--ranges", "pictures", "-o", fw)...)
	if code != 0 {
		t.Fatalf("convert (built-in pictures): exit %d: %s", code, errs)
	}
	for _, want := range []string{"calibration: built-in set", "warning:", "10-class model", "standard deviations", "--calib DIR"} {
		if !strings.Contains(errs, want) {
			t.Errorf("off-domain convert: stderr lacks %q:\n%s", want, errs)
		}
	}

	fw = filepath.Join(dir, "own.fw")
	code, out, errs := runCLI(t, append(common, "--calib", own, "-o", fw)...)
	if code != 0 {
		t.Fatalf("convert --calib own: exit %d: %s", code, errs)
	}
	if strings.Contains(errs, "warning") {
		t.Errorf("in-domain convert warned:\n%s", errs)
	}
	if !strings.Contains(errs, "calibration: 60 pictures from "+own) || !strings.Contains(out, "60 pictures from") {
		t.Errorf("in-domain convert does not say what calibrated:\n%s\n%s", out, errs)
	}
	code, out, errs = runCLI(t, "info", "--model", fw, "--json")
	if code != 0 {
		t.Fatalf("info: %d %s", code, errs)
	}
	var doc infoDoc
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.Calibration, "60 pictures from "+own) {
		t.Errorf("info --model calibration %q", doc.Calibration)
	}

	fw = filepath.Join(dir, "df.fw")
	code, _, errs = runCLI(t, append(common, "--calib", "none", "-o", fw)...)
	if code != 0 {
		t.Fatalf("convert --calib none: exit %d: %s", code, errs)
	}
	if !strings.Contains(errs, "calibration: data-free") || strings.Contains(errs, "warning") || strings.Contains(errs, "calibrating") {
		t.Errorf("data-free convert:\n%s", errs)
	}

	for args, want := range map[string]string{
		"--calib none --ranges union":            "--calib none leaves no pictures",
		"--calib-synthetic 2 --ranges data-free": "reads no pictures",
		"--ranges best":                          `--ranges "best"`,
		"--observer mse,se=best":                 `unknown observer "best"`,
	} {
		code, _, errs := runCLI(t, append(append(common, strings.Fields(args)...), "-o", filepath.Join(dir, "x.fw"))...)
		if code == 0 || !strings.Contains(errs, want) {
			t.Errorf("%s: exit %d, stderr %q, want it to say %q", args, code, errs, want)
		}
	}
}
