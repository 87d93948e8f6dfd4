package model

import (
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mixedge/mixedge/mixconv"
	"github.com/mixedge/mixedge/model/safetensors"
)

// naiveForward runs g the way PyTorch does, written independently of the
// executor: NCHW, torch weight layouts, unfolded BatchNorm, and padding
// worked out here from timm's formulas. Float64 throughout.
func naiveForward(g *Graph, sd map[string][]float32, input []float64) []float64 {
	acts := make([][]float64, len(g.Tensors))
	acts[g.Input] = input
	for _, op := range g.Ops {
		is, os := g.Tensors[op.In], g.Tensors[op.Out]
		x := acts[op.In]
		switch op.Kind {
		case OpStem, OpPointwise, OpDepthwise:
			y := make([]float64, os.Elems())
			inOff, outOff := 0, 0
			for gi, k := range op.Kernels {
				key, _ := op.weightKey(gi)
				w := sd[key]
				ci, co := op.InSplit[gi], op.OutSplit[gi]
				top, left := naivePad(g.Arch.Padding, is.H, k, op.Stride), naivePad(g.Arch.Padding, is.W, k, op.Stride)
				for o := 0; o < co; o++ {
					for oy := 0; oy < os.H; oy++ {
						for ox := 0; ox < os.W; ox++ {
							var acc float64
							for ky := 0; ky < k; ky++ {
								for kx := 0; kx < k; kx++ {
									iy, ix := oy*op.Stride-top+ky, ox*op.Stride-left+kx
									if iy < 0 || iy >= is.H || ix < 0 || ix >= is.W {
										continue
									}
									if op.Kind == OpDepthwise {
										acc += float64(w[(o*k+ky)*k+kx]) * x[((inOff+o)*is.H+iy)*is.W+ix]
										continue
									}
									for c := 0; c < ci; c++ {
										acc += float64(w[((o*ci+c)*k+ky)*k+kx]) * x[((inOff+c)*is.H+iy)*is.W+ix]
									}
								}
							}
							y[((outOff+o)*os.H+oy)*os.W+ox] = acc
						}
					}
				}
				inOff += ci
				outOff += co
			}
			gamma, beta := sd[op.BN+".weight"], sd[op.BN+".bias"]
			mean, variance := sd[op.BN+".running_mean"], sd[op.BN+".running_var"]
			hw := os.H * os.W
			for c := 0; c < os.C; c++ {
				for p := 0; p < hw; p++ {
					v := (y[c*hw+p]-float64(mean[c]))/math.Sqrt(float64(variance[c])+g.Arch.BNEps)*float64(gamma[c]) + float64(beta[c])
					y[c*hw+p] = naiveAct(v, op.Act)
				}
			}
			acts[op.Out] = y
		case OpSE:
			hw, mid, rd := is.H*is.W, is.C, op.SEReduce
			w1, b1 := sd[op.Name+".conv_reduce.weight"], sd[op.Name+".conv_reduce.bias"]
			w2, b2 := sd[op.Name+".conv_expand.weight"], sd[op.Name+".conv_expand.bias"]
			z := make([]float64, mid)
			for c := range z {
				for p := 0; p < hw; p++ {
					z[c] += x[c*hw+p]
				}
				z[c] /= float64(hw)
			}
			r := make([]float64, rd)
			for j := range r {
				r[j] = float64(b1[j])
				for c := 0; c < mid; c++ {
					r[j] += float64(w1[j*mid+c]) * z[c]
				}
				r[j] = naiveAct(r[j], op.SEAct)
			}
			y := make([]float64, len(x))
			for c := 0; c < mid; c++ {
				e := float64(b2[c])
				for j := 0; j < rd; j++ {
					e += float64(w2[c*rd+j]) * r[j]
				}
				gate := 1 / (1 + math.Exp(-e))
				for p := 0; p < hw; p++ {
					y[c*hw+p] = x[c*hw+p] * gate
				}
			}
			acts[op.Out] = y
		case OpAdd:
			a, b := acts[op.In], acts[op.In2]
			y := make([]float64, len(a))
			for i := range y {
				y[i] = a[i] + b[i]
			}
			acts[op.Out] = y
		case OpPool:
			hw := is.H * is.W
			y := make([]float64, is.C)
			for c := range y {
				for p := 0; p < hw; p++ {
					y[c] += x[c*hw+p]
				}
				y[c] /= float64(hw)
			}
			acts[op.Out] = y
		case OpLinear:
			w, b := sd["classifier.weight"], sd["classifier.bias"]
			ci, co := is.C, os.C
			y := make([]float64, co)
			for o := range y {
				y[o] = float64(b[o])
				for c := 0; c < ci; c++ {
					y[o] += float64(w[o*ci+c]) * x[c]
				}
			}
			acts[op.Out] = y
		}
	}
	return acts[g.Output]
}

// naivePad is the top/left pad: symmetric (k-1)/2, or TF SAME's floor half
// of max((ceil(n/s)-1)*s+k-n, 0).
func naivePad(p mixconv.Padding, n, k, s int) int {
	if p == mixconv.PadSymmetric {
		return ((s - 1) + (k - 1)) / 2
	}
	out := (n + s - 1) / s
	total := (out-1)*s + k - n
	if total < 0 {
		total = 0
	}
	return total / 2
}

func naiveAct(v float64, a Act) float64 {
	switch a {
	case ActReLU:
		return math.Max(v, 0)
	case ActSiLU:
		return v / (1 + math.Exp(-v))
	}
	return v
}

// tinyArch is a small MixNet with every feature of the real ones: DS and IR
// blocks, grouped 1×1s, MixConv up to 11×11 at stride 2, SE, ReLU and SiLU,
// residuals and a width change without stride.
func tinyArch(padding mixconv.Padding) Arch {
	a := Arch{
		Name: "tiny", StemSize: 8, HeadSize: 24, ChannelMult: 1, DepthMult: 1, DepthTrunc: "ceil",
		BNEps: 1e-5, Padding: padding, Preprocess: imagenetDefaults,
		Stages: [][]string{
			{"ds_r1_k3_s1_e1_c8"},
			{"ir_r1_k3.5_a1.1_p1.1_s2_e3_c16", "ir_r1_k3_a1.1_p1.1_s1_e2_c16"},
			{"ir_r1_k3.5.7_s2_e3_c24_se0.5_nsw", "ir_r1_k3.5.7.9_p1.1_s1_e2_c32_se0.25_nsw"},
			{"ir_r1_k3.5.7.9.11_s2_e2_c32_se0.5_nsw"},
		},
	}
	if padding == mixconv.PadSame {
		a.Name, a.BNEps = "tf_tiny", 1e-3
	}
	return a
}

// randomStateDict writes g.SyntheticStateDict(seed) as safetensors with the
// given dtype (plus num_batches_tracked counters) and returns the values as
// the engine will read them back.
func randomStateDict(t *testing.T, g *Graph, seed uint64, dtype safetensors.DType, path string) map[string][]float32 {
	t.Helper()
	sd := map[string][]float32{}
	src := g.SyntheticStateDict(seed)
	var tensors []safetensors.Tensor
	for _, ts := range g.ExpectedTensors() {
		v := src[ts.Key]
		var tensor safetensors.Tensor
		switch dtype {
		case safetensors.F16:
			tensor = safetensors.F16Tensor(ts.Key, ts.Shape, v)
		case safetensors.BF16:
			tensor = safetensors.BF16Tensor(ts.Key, ts.Shape, v)
		default:
			tensor = safetensors.F32Tensor(ts.Key, ts.Shape, v)
		}
		tensors = append(tensors, tensor)
		if strings.HasSuffix(ts.Key, ".running_var") {
			tensors = append(tensors, safetensors.I64Tensor(strings.TrimSuffix(ts.Key, "running_var")+"num_batches_tracked", []int{}, []int64{20}))
		}
	}
	if err := safetensors.WriteFile(path, tensors, map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
	f, err := safetensors.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, ts := range g.ExpectedTensors() {
		v, _, err := f.Float32(ts.Key)
		if err != nil {
			t.Fatal(err)
		}
		sd[ts.Key] = v
	}
	return sd
}

// The tiny MixNet, written to safetensors by the test, loaded and run by the
// executor, agrees with the naive PyTorch-semantics forward pass: for both
// padding rules, odd and even input sizes, and F32/F16/BF16 files.
func TestTinyMixNetMatchesNaive(t *testing.T) {
	dir := t.TempDir()
	for _, pad := range []mixconv.Padding{mixconv.PadSymmetric, mixconv.PadSame} {
		for i, size := range []int{32, 33, 18} {
			dtype := []safetensors.DType{safetensors.F32, safetensors.F16, safetensors.BF16}[i]
			a := tinyArch(pad)
			g, err := Build(a, size, 10)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, a.Name+".safetensors")
			sd := randomStateDict(t, g, uint64(size), dtype, path)
			f, err := safetensors.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			w, err := LoadWeights(g, f)
			f.Close()
			if err != nil {
				t.Fatal(err)
			}
			net, err := NewFloatNet(g, w)
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(uint64(size), 1))
			nchw := make([]float64, 3*size*size)
			nhwc := make([]float32, 3*size*size)
			for c := 0; c < 3; c++ {
				for p := 0; p < size*size; p++ {
					v := float32(rng.NormFloat64())
					nchw[c*size*size+p] = float64(v)
					nhwc[p*3+c] = v
				}
			}
			want := naiveForward(g, sd, nchw)
			got := net.Run(nhwc)
			var maxAbs, maxDiff float64
			for j := range want {
				maxAbs = math.Max(maxAbs, math.Abs(want[j]))
				maxDiff = math.Max(maxDiff, math.Abs(want[j]-float64(got[j])))
			}
			if maxDiff > 1e-5*math.Max(maxAbs, 1) {
				t.Errorf("%s %dx%d %s: max |Δ| %.3g (max |logit| %.3g)", a.Name, size, size, dtype, maxDiff, maxAbs)
			}
		}
	}
}

// A padding mix-up must be visible: the same weights run with the other
// rule give different logits (so the test above can tell them apart).
func TestPaddingRuleMatters(t *testing.T) {
	dir := t.TempDir()
	gs, _ := Build(tinyArch(mixconv.PadSymmetric), 32, 10)
	gt, _ := Build(tinyArch(mixconv.PadSame), 32, 10)
	path := filepath.Join(dir, "w.safetensors")
	sd := randomStateDict(t, gs, 3, safetensors.F32, path)
	in := make([]float64, 3*32*32)
	for i := range in {
		in[i] = math.Sin(float64(i))
	}
	a, b := naiveForward(gs, sd, in), naiveForward(gt, sd, in)
	var d float64
	for i := range a {
		d = math.Max(d, math.Abs(a[i]-b[i]))
	}
	if d < 1e-3 {
		t.Errorf("symmetric and SAME padding agree to %.3g: the check is blind", d)
	}
}

func TestWeightsErrorsNameKeys(t *testing.T) {
	dir := t.TempDir()
	g, _ := Build(tinyArch(mixconv.PadSymmetric), 32, 10)
	var tensors []safetensors.Tensor
	for i, ts := range g.ExpectedTensors() {
		shape := ts.Shape
		switch {
		case i == 0:
			continue // missing
		case ts.Key == "classifier.bias":
			shape = []int{11}
		}
		n := 1
		for _, d := range shape {
			n *= d
		}
		tensors = append(tensors, safetensors.F32Tensor(ts.Key, shape, make([]float32, n)))
	}
	tensors = append(tensors, safetensors.F32Tensor("head.extra.weight", []int{2}, []float32{1, 2}))
	path := filepath.Join(dir, "bad.safetensors")
	if err := safetensors.WriteFile(path, tensors, nil); err != nil {
		t.Fatal(err)
	}
	f, err := safetensors.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, err = LoadWeights(g, f)
	we, ok := err.(*WeightsError)
	if !ok {
		t.Fatalf("want *WeightsError, got %v", err)
	}
	if len(we.Missing) != 1 || we.Missing[0].Key != "conv_stem.weight" {
		t.Errorf("missing: %+v", we.Missing)
	}
	if len(we.Unexpected) != 1 || we.Unexpected[0] != "head.extra.weight" {
		t.Errorf("unexpected: %v", we.Unexpected)
	}
	if len(we.Mismatched) != 1 || we.Mismatched[0].Key != "classifier.bias" {
		t.Errorf("mismatched: %+v", we.Mismatched)
	}
	msg := err.Error()
	for _, s := range []string{path, "conv_stem.weight", "[8 3 3 3]", "head.extra.weight", "classifier.bias", "expected shape [10], got [11]"} {
		if !strings.Contains(msg, s) {
			t.Errorf("error message lacks %q:\n%s", s, msg)
		}
	}
}
