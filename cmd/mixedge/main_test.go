package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mixedge/mixedge/model"
	"github.com/mixedge/mixedge/model/safetensors"
)

func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = run(args, &o, &e)
	return code, o.String(), e.String()
}

func TestInfoTotals(t *testing.T) {
	cases := map[string][2]string{
		"mixnet_s": {"4,134,606", "239,173,360"},
		"mixnet_m": {"5,014,382", "339,172,672"},
		"mixnet_l": {"7,329,252", "555,251,792"},
	}
	for arch, want := range cases {
		code, out, errs := runCLI(t, "info", "--arch", arch)
		if code != 0 {
			t.Fatalf("info %s: exit %d: %s", arch, code, errs)
		}
		var total string
		for _, line := range strings.Split(out, "\n") {
			if strings.HasPrefix(line, "total") {
				total = line
			}
		}
		if !strings.Contains(total, want[0]) || !strings.Contains(total, want[1]) {
			t.Errorf("info %s: total line %q, want %s params and %s MACs", arch, total, want[0], want[1])
		}
	}
	code, out, _ := runCLI(t, "info", "--arch", "tf_mixnet_s", "--json", "--input-size", "225")
	if code != 0 {
		t.Fatal("info --json failed")
	}
	var doc infoDoc
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Arch != "tf_mixnet_s" || doc.Padding != "same" || doc.Params != 4_134_606 || len(doc.Layers) == 0 {
		t.Errorf("info json: %+v", doc)
	}
	if l := doc.Layers[0]; l.Name != "conv_stem" || l.Out[1] != 113 {
		t.Errorf("first layer %+v, want conv_stem with 113x113 output", l)
	}
	if code, _, errs := runCLI(t, "info", "--arch", "resnet50"); code == 0 || !strings.Contains(errs, "mixnet_s") {
		t.Errorf("unknown arch: exit %d, %q", code, errs)
	}
}

func TestHelpEverywhere(t *testing.T) {
	for _, c := range commands {
		code, _, errs := runCLI(t, c.name, "--help")
		if code != 0 || !strings.Contains(errs, "Usage: mixedge "+c.name) || !strings.Contains(errs, "Examples:") {
			t.Errorf("%s --help: exit %d\n%s", c.name, code, errs)
		}
	}
	if code, out, _ := runCLI(t, "--help"); code != 0 || !strings.Contains(out, "classify") {
		t.Errorf("--help: %d %q", code, out)
	}
	if code, _, errs := runCLI(t, "frobnicate"); code != 2 || !strings.Contains(errs, "unknown command") {
		t.Errorf("unknown command: %d %q", code, errs)
	}
}

// writeSynthetic writes mixnet_s synthetic weights as safetensors.
func writeSynthetic(t *testing.T, dir string) string {
	t.Helper()
	a, _ := model.LookupArch("mixnet_s")
	g, err := model.Build(a, 224, 1000)
	if err != nil {
		t.Fatal(err)
	}
	sd := g.SyntheticStateDict(5)
	var ts []safetensors.Tensor
	for _, e := range g.ExpectedTensors() {
		ts = append(ts, safetensors.F32Tensor(e.Key, e.Shape, sd[e.Key]))
	}
	path := filepath.Join(dir, "synthetic.safetensors")
	if err := safetensors.WriteFile(path, ts, nil); err != nil {
		t.Fatal(err)
	}
	return path
}

func writePNG(t *testing.T, path string, w, h int) {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.RGBA{uint8(x * 7), uint8(y * 5), uint8((x + y) * 3), 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func writeTensor(t *testing.T, path string, v []float32) {
	t.Helper()
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func parseLines(t *testing.T, out string) []map[string]any {
	t.Helper()
	var res []map[string]any
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("not JSON: %q: %v", sc.Text(), err)
		}
		res = append(res, m)
	}
	return res
}

func TestClassifySynthetic(t *testing.T) {
	dir := t.TempDir()
	w := writeSynthetic(t, dir)
	imgs := filepath.Join(dir, "imgs")
	os.Mkdir(imgs, 0o755)
	writePNG(t, filepath.Join(imgs, "b.png"), 64, 48)
	writePNG(t, filepath.Join(imgs, "a.png"), 40, 50)
	os.WriteFile(filepath.Join(imgs, "notes.txt"), []byte("ignored"), 0o644)

	code, out, errs := runCLI(t, "classify", "--weights", w, "--arch", "mixnet_s", "--input-size", "64", "--top", "3", "--json", imgs)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	res := parseLines(t, out)
	if len(res) != 2 || !strings.HasSuffix(res[0]["input"].(string), "a.png") {
		t.Fatalf("want a.png then b.png, got %v", res)
	}
	top := res[0]["top"].([]any)
	if len(top) != 3 {
		t.Fatalf("top has %d entries", len(top))
	}
	prev := 2.0
	for _, e := range top {
		m := e.(map[string]any)
		s := m["score"].(float64)
		idx := int(m["index"].(float64))
		if s > prev || s <= 0 || m["label"] != model.ImageNetLabels()[idx] {
			t.Errorf("bad entry %v", m)
		}
		prev = s
	}
	if _, ok := res[0]["logits"]; ok {
		t.Error("logits printed without --logits")
	}

	// Flags after the inputs, text output.
	code, out, errs = runCLI(t, "classify", filepath.Join(imgs, "a.png"), "--weights", w, "--input-size", "64", "--top", "2")
	if code != 0 || !strings.Contains(out, "a.png") || !strings.Contains(out, "  2. ") {
		t.Errorf("text output: exit %d\n%s%s", code, out, errs)
	}
}

func TestClassifyErrors(t *testing.T) {
	dir := t.TempDir()
	w := writeSynthetic(t, dir)
	bad := filepath.Join(dir, "bad.f32")
	writeTensor(t, bad, make([]float32, 10))
	good := filepath.Join(dir, "good.f32")
	writeTensor(t, good, make([]float32, 3*32*32))

	code, out, _ := runCLI(t, "classify", "--weights", w, "--tensor", "--input-size", "32", "--json", bad, good)
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	res := parseLines(t, out)
	if len(res) != 2 || res[0]["error"] == nil || !strings.Contains(res[0]["error"].(string), "bad.f32") ||
		!strings.Contains(res[0]["error"].(string), "12288") || res[1]["top"] == nil {
		t.Errorf("want an error object for bad.f32 (naming size 12288) then a result: %v", res)
	}

	corrupt := filepath.Join(dir, "corrupt.png")
	os.WriteFile(corrupt, []byte("\x89PNG\r\n\x1a\nnot really"), 0o644)
	code, _, errs := runCLI(t, "classify", "--weights", w, corrupt)
	if code != 1 || !strings.Contains(errs, "corrupt.png") {
		t.Errorf("corrupt png: exit %d, %q", code, errs)
	}
	t.Setenv("XDG_CACHE_HOME", t.TempDir()) // no model given: mixnet_s from an empty cache, offline
	t.Setenv("HF_ENDPOINT", "http://127.0.0.1:1")
	if code, _, errs := runCLI(t, "classify", "x.png"); code != 1 || !strings.Contains(errs, "--weights") {
		t.Errorf("no weights: exit %d, %q", code, errs)
	}
	if code, _, errs := runCLI(t, "classify", "--weights", w, "--arch", "mixnet_m", good); code != 1 || !strings.Contains(errs, "missing") {
		t.Errorf("wrong arch: exit %d, %q", code, errs)
	}
	if code, _, errs := runCLI(t, "classify", "--weights", w, "--mean", "1,2", good); code != 2 || !strings.Contains(errs, "r,g,b") {
		t.Errorf("bad mean: exit %d, %q", code, errs)
	}
}

const refDir = "../../../shared/reference"

// From the reference PNGs and tensors, the CLI reproduces timm's logits.
func TestClassifyReference(t *testing.T) {
	weights := filepath.Join(refDir, "mixnet_s.safetensors")
	if _, err := os.Stat(weights); err != nil {
		t.Skipf("reference data not found (%v): needs ../shared/reference", err)
	}
	for _, name := range []string{"input0", "input1"} {
		b, err := os.ReadFile(filepath.Join(refDir, "logits", "mixnet_s_"+name+".f32"))
		if err != nil {
			t.Fatal(err)
		}
		want := make([]float64, len(b)/4)
		var maxAbs float64
		for i := range want {
			want[i] = float64(math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:])))
			maxAbs = math.Max(maxAbs, math.Abs(want[i]))
		}
		for _, in := range []struct{ path, flag string }{
			{filepath.Join(refDir, "inputs", name+".f32"), "--tensor"},
			{filepath.Join(refDir, "inputs", name+".png"), "--crop-pct=1"},
		} {
			code, out, errs := runCLI(t, "classify", "--weights", weights, "--arch", "mixnet_s", in.flag, "--json", "--logits", in.path)
			if code != 0 {
				t.Fatalf("%s: exit %d: %s", in.path, code, errs)
			}
			res := parseLines(t, out)
			logits := res[0]["logits"].([]any)
			var maxDiff float64
			for i, v := range logits {
				maxDiff = math.Max(maxDiff, math.Abs(v.(float64)-want[i]))
			}
			t.Logf("%s: max |Δlogit| %.3g (%.3g of max |logit|)", in.path, maxDiff, maxDiff/maxAbs)
			if maxDiff > 1e-4*maxAbs {
				t.Errorf("%s: max |Δlogit| %.3g > 1e-4 × %.3g", in.path, maxDiff, maxAbs)
			}
			wf := make([]float32, len(want))
			for i, v := range want {
				wf[i] = float32(v)
			}
			for i, e := range res[0]["top"].([]any) {
				wantIdx := topK(wf, model.ImageNetLabels(), 5)[i].Index
				if got := int(e.(map[string]any)["index"].(float64)); got != wantIdx {
					t.Errorf("%s: top-%d is class %d, timm's is %d", in.path, i+1, got, wantIdx)
				}
			}
		}
	}
}

func TestConvertClassifyInfoInt8(t *testing.T) {
	dir := t.TempDir()
	w := writeSynthetic(t, dir)
	fw := filepath.Join(dir, "s64.fw")
	imgs := filepath.Join(dir, "calib")
	os.Mkdir(imgs, 0o755)
	writePNG(t, filepath.Join(imgs, "c.png"), 80, 70)
	code, out, errs := runCLI(t, "convert", "--weights", w, "--arch", "mixnet_s", "--input-size", "64",
		"--calib", imgs, "--calib-synthetic", "1", "--report", "-o", fw)
	if code != 0 {
		t.Fatalf("convert: exit %d: %s", code, errs)
	}
	for _, s := range []string{"wrote " + fw, "arena", "per-layer SQNR", "blocks.5.2.conv_pwl", "c.png"} {
		if !strings.Contains(out, s) {
			t.Errorf("convert output lacks %q:\n%s", s, out)
		}
	}
	if !strings.Contains(errs, "calibrating: 4/4 done") { // percentile: two passes over 2 images
		t.Errorf("no progress report: %q", errs)
	}
	code, out, errs = runCLI(t, "classify", "--model", fw, "--json", "--top", "2", filepath.Join(imgs, "c.png"))
	if code != 0 {
		t.Fatalf("classify --model: exit %d: %s", code, errs)
	}
	res := parseLines(t, out)
	if len(res) != 1 || len(res[0]["top"].([]any)) != 2 {
		t.Errorf("classify --model: %v", res)
	}
	code, out, errs = runCLI(t, "info", "--model", fw, "--json")
	if code != 0 {
		t.Fatalf("info --model: exit %d: %s", code, errs)
	}
	var doc infoDoc
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.InputSize != 64 || doc.ArenaBytes < doc.ArenaBound || doc.ArenaBound == 0 || doc.WeightBytes < 4_000_000 || doc.Layers[0].Zero == nil {
		t.Errorf("info --model: %+v", doc)
	}
	if code, _, errs := runCLI(t, "convert", "--weights", w, "--observer", "best", "-o", fw); code == 0 || !strings.Contains(errs, "minmax") {
		t.Errorf("bad observer: %d %q", code, errs)
	}
	if code, _, errs := runCLI(t, "classify", "--model", fw, "--weights", w, "x.png"); code != 2 || !strings.Contains(errs, "not both") {
		t.Errorf("--model and --weights: %d %q", code, errs)
	}
	if code, _, errs := runCLI(t, "classify", "--model", fw, "--kernels", "sse9", filepath.Join(imgs, "c.png")); code != 1 || !strings.Contains(errs, "generic") {
		t.Errorf("bad kernel tier: %d %q", code, errs)
	}
	// A damaged .fw is refused with the section named.
	data, _ := os.ReadFile(fw)
	data[len(data)-100] ^= 1
	bad := filepath.Join(dir, "bad.fw")
	os.WriteFile(bad, data, 0o644)
	if code, _, errs := runCLI(t, "classify", "--model", bad, filepath.Join(imgs, "c.png")); code != 1 || !strings.Contains(errs, "section") {
		t.Errorf("damaged .fw: %d %q", code, errs)
	}
}

// The int8 image made by convert (default calibration set: the shipped
// photos and 8 synthetic pictures) agrees with timm's fp32 logits on the
// reference inputs: input0 25.1 dB, input1 10.0 dB with the built-in set
// widened to the data-free ranges and bias correction (docs/QUANTIZATION.md).
func TestConvertReference(t *testing.T) {
	weights := filepath.Join(refDir, "mixnet_s.safetensors")
	if _, err := os.Stat(weights); err != nil {
		t.Skipf("reference data not found (%v): needs ../shared/reference", err)
	}
	fw := filepath.Join(t.TempDir(), "mixnet_s.fw")
	if code, _, errs := runCLI(t, "convert", "--weights", weights, "--arch", "mixnet_s", "-o", fw); code != 0 {
		t.Fatalf("convert: %s", errs)
	}
	for name, minDB := range map[string]float64{"input0": 24, "input1": 9.5} {
		code, out, errs := runCLI(t, "classify", "--model", fw, "--tensor", "--json", "--logits", filepath.Join(refDir, "inputs", name+".f32"))
		if code != 0 {
			t.Fatalf("%s: %s", name, errs)
		}
		res := parseLines(t, out)
		b, _ := os.ReadFile(filepath.Join(refDir, "logits", "mixnet_s_"+name+".f32"))
		var s, n float64
		best, bestV := 0, math.Inf(-1)
		for i, v := range res[0]["logits"].([]any) {
			want := float64(math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:])))
			if want > bestV {
				best, bestV = i, want
			}
			s += want * want
			n += (want - v.(float64)) * (want - v.(float64))
		}
		sqnr := 10 * math.Log10(s/n)
		top := int(res[0]["top"].([]any)[0].(map[string]any)["index"].(float64))
		t.Logf("%s: int8 SQNR %.2f dB against timm, top-1 %d (timm %d)", name, sqnr, top, best)
		if sqnr < minDB || top != best {
			t.Errorf("%s: SQNR %.2f dB (want ≥ %.0f), top-1 %d (timm %d)", name, sqnr, minDB, top, best)
		}
	}
}

func TestBenchAndCPU(t *testing.T) {
	// Threads 2 then 1: the document's promoted fields are the first
	// result's; allocations are asserted on the one-thread result, since
	// with two goroutines on a loaded machine the Go runtime itself
	// allocates now and then (sudogs and Ms when goroutines park). The
	// model's AllocsPerRun tests cover every thread count.
	code, out, errs := runCLI(t, "bench", "--arch", "mixnet_s", "--synthetic", "--input-size", "64", "--runs", "20", "--warmup", "1", "--threads", "2,1", "--profile", "--json")
	if code != 0 {
		t.Fatalf("bench: exit %d: %s", code, errs)
	}
	var doc benchDoc
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Arch != "mixnet_s" || doc.Threads != 2 || doc.Runs != 20 || len(doc.Ops) < 70 || doc.MedianMS <= 0 ||
		doc.P10MS > doc.MedianMS || doc.MedianMS > doc.P90MS || len(doc.Results) != 2 || doc.Results[1].Allocs >= 1 {
		t.Errorf("bench json: %+v", doc)
	}
	var share float64
	for _, o := range doc.Ops {
		share += o.Share
	}
	if math.Abs(share-1) > 1e-6 {
		t.Errorf("op shares sum to %g", share)
	}
	code, out, _ = runCLI(t, "bench", "--arch", "mixnet_s", "--synthetic", "--input-size", "32", "--runs", "2", "--kernels", "generic", "--profile")
	if code != 0 || !strings.Contains(out, "kernels generic") || !strings.Contains(out, "by kind:") {
		t.Errorf("bench text: %d\n%s", code, out)
	}
	if code, _, errs := runCLI(t, "bench", "--runs", "2"); code != 2 || !strings.Contains(errs, "--synthetic") {
		t.Errorf("bench without a model: %d %q", code, errs)
	}
	code, out, _ = runCLI(t, "cpu", "--json")
	var c cpuDoc
	if err := json.Unmarshal([]byte(out), &c); code != 0 || err != nil {
		t.Fatalf("cpu: %d %v", code, err)
	}
	found := false
	for _, a := range c.Available {
		found = found || a == c.Chosen
	}
	if !found || c.Ops["gemm"] == "" || c.Logical < 1 {
		t.Errorf("cpu json: %+v", c)
	}
	if code, out, _ := runCLI(t, "cpu", "--kernels", "generic"); code != 0 || !strings.Contains(out, "chosen: generic") {
		t.Errorf("cpu --kernels generic: %d %q", code, out)
	}
}
