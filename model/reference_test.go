package model

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/mixedge/mixedge/model/safetensors"
)

// refDir is ../shared/reference beside the repository: timm's own logits
// for weights in timm's mixnet_s layout.
const refDir = "../../shared/reference"

func readF32(t testing.TB, path string) []float32 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b)%4 != 0 {
		t.Fatalf("%s: %d bytes is not a whole number of float32", path, len(b))
	}
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v
}

func nchwToNHWC(src []float32, c, h, w int) []float32 {
	dst := make([]float32, len(src))
	for ch := 0; ch < c; ch++ {
		for p := 0; p < h*w; p++ {
			dst[p*c+ch] = src[ch*h*w+p]
		}
	}
	return dst
}

// LoadReference builds mixnet_s and loads the reference weights, skipping
// the test when ../shared/reference is absent.
func loadReference(t testing.TB) *FloatNet {
	t.Helper()
	path := filepath.Join(refDir, "mixnet_s.safetensors")
	if _, err := os.Stat(path); err != nil {
		t.Skipf("reference data not found (%v): the timm-logits check needs ../shared/reference", err)
	}
	return loadFloatNet(t, path, "mixnet_s", 224, 1000)
}

// loadFloatNet builds arch at size for classes and loads the weights at path.
func loadFloatNet(t testing.TB, path, arch string, size, classes int) *FloatNet {
	t.Helper()
	a, err := LookupArch(arch)
	if err != nil {
		t.Fatal(err)
	}
	g, err := Build(a, size, classes)
	if err != nil {
		t.Fatal(err)
	}
	f, err := safetensors.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, err := LoadWeights(g, f)
	if err != nil {
		t.Fatal(err)
	}
	net, err := NewFloatNet(g, w)
	if err != nil {
		t.Fatal(err)
	}
	return net
}

func top5(v []float32) []int {
	idx := make([]int, len(v))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return v[idx[a]] > v[idx[b]] })
	return idx[:5]
}

// Our mixnet_s reproduces timm's fp32 logits from the preprocessed tensors.
func TestReferenceLogits(t *testing.T) {
	net := loadReference(t)
	for _, name := range []string{"input0", "input1"} {
		in := nchwToNHWC(readF32(t, filepath.Join(refDir, "inputs", name+".f32")), 3, 224, 224)
		want := readF32(t, filepath.Join(refDir, "logits", "mixnet_s_"+name+".f32"))
		got := net.Run(in)
		var maxAbs, maxDiff float64
		for i := range want {
			maxAbs = math.Max(maxAbs, math.Abs(float64(want[i])))
			maxDiff = math.Max(maxDiff, math.Abs(float64(want[i]-got[i])))
		}
		t.Logf("%s: max |Δlogit| = %.3g, max |logit| = %.3g, ratio %.3g", name, maxDiff, maxAbs, maxDiff/maxAbs)
		if maxDiff > 1e-4*maxAbs {
			t.Errorf("%s: max |Δlogit| %.3g > 1e-4 × %.3g", name, maxDiff, maxAbs)
		}
		wt, gt := top5(want), top5(got)
		for i := range wt {
			if wt[i] != gt[i] {
				t.Errorf("%s: top-5 %v, timm %v", name, gt, wt)
				break
			}
		}
	}
}

// Per-stage activations of input0 match timm's, so a regression points at
// the stage that broke.
func TestReferenceActivations(t *testing.T) {
	net := loadReference(t)
	dir := filepath.Join(refDir, "activations", "mixnet_s")
	in := nchwToNHWC(readF32(t, filepath.Join(refDir, "inputs", "input0.f32")), 3, 224, 224)
	g := net.G
	// The last op of each block prefix gives that stage's output.
	lastOf := map[string]int{}
	for _, op := range g.Ops {
		key := op.Block
		if len(key) > 8 && key[:7] == "blocks." {
			key = key[:8] // "blocks.N"
		}
		if op.Kind == OpPool {
			key = "pooled"
		}
		lastOf[key] = op.Out
	}
	lastOf["stem"] = g.Ops[0].Out
	lastOf["head"] = g.Ops[len(g.Ops)-3].Out // conv_head, before pool and classifier
	net.Run(in)
	for _, stage := range []string{"stem", "blocks.0", "blocks.1", "blocks.2", "blocks.3", "blocks.4", "blocks.5", "head", "pooled"} {
		id, ok := lastOf[stage]
		if !ok {
			t.Fatalf("no op for %s", stage)
		}
		s := g.Tensors[id]
		want := readF32(t, filepath.Join(dir, "input0_"+stage+".f32"))
		got := net.Tensor(id)
		if len(want) != len(got) {
			t.Fatalf("%s: %d values, timm has %d", stage, len(got), len(want))
		}
		var maxAbs, maxDiff float64
		for c := 0; c < s.C; c++ {
			for p := 0; p < s.H*s.W; p++ {
				w := float64(want[c*s.H*s.W+p])
				maxAbs = math.Max(maxAbs, math.Abs(w))
				maxDiff = math.Max(maxDiff, math.Abs(w-float64(got[p*s.C+c])))
			}
		}
		if maxDiff > 1e-4*maxAbs {
			t.Errorf("%s: max |Δ| %.3g (max |x| %.3g)", stage, maxDiff, maxAbs)
		}
	}
}

func BenchmarkFloatMixnetS224(b *testing.B) {
	a, _ := LookupArch("mixnet_s")
	g, err := Build(a, 224, 1000)
	if err != nil {
		b.Fatal(err)
	}
	w := g.SyntheticWeights(1)
	net, err := NewFloatNet(g, w)
	if err != nil {
		b.Fatal(err)
	}
	in := make([]float32, 224*224*3)
	for i := range in {
		in[i] = float32(math.Sin(float64(i) * 0.01))
	}
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for b.Loop() {
		net.Run(in)
		n++
	}
	b.ReportMetric(float64(g.TotalMACs())*float64(n)/b.Elapsed().Seconds()/1e9, "GMAC/s")
}
