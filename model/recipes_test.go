package model

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/mixedge/mixedge/camera"
	"github.com/mixedge/mixedge/model/calib"
	"github.com/mixedge/mixedge/quant"
)

// refScore is how an int8 reference model does on the ImageNet path:
// SQNR against timm's fp32 logits on input0 and input1, and against our
// fp32 engine on held-out synthetic pictures (mean, worst, top-1 agreement).
type refScore struct {
	input0, input1     float64
	synMean, synWorst  float64
	synAgree, synCount int
	top1Same           bool // input0 and input1 keep timm's top-1
}

type refData struct {
	inputs     [2][]float32
	timm       [2][]float32
	syn        [][]float32
	synRef     [][]float32
	builtin    []labelled
	pre        PreprocessDefaults
	imagenetLb []string
}

func loadRefData(t testing.TB, net *FloatNet) *refData {
	t.Helper()
	d := &refData{pre: net.G.Arch.Preprocess, imagenetLb: ImageNetLabels()}
	d.pre.InputSize = net.G.InputSize
	for i, name := range []string{"input0", "input1"} {
		d.inputs[i] = nchwToNHWC(readF32(t, filepath.Join(refDir, "inputs", name+".f32")), 3, 224, 224)
		d.timm[i] = readF32(t, filepath.Join(refDir, "logits", "mixnet_s_"+name+".f32"))
	}
	pp := camera.Preprocess{Size: d.pre.InputSize, CropPct: d.pre.CropPct, Mean: d.pre.Mean, Std: d.pre.Std}
	for seed := uint64(1000); seed < 1008; seed++ {
		x := make([]float32, 224*224*3)
		if err := pp.Apply(x, camera.SyntheticImage(seed, 256, 256)); err != nil {
			t.Fatal(err)
		}
		d.syn = append(d.syn, x)
		d.synRef = append(d.synRef, append([]float32(nil), net.Run(x)...))
	}
	for _, im := range calib.Default() {
		m, err := im.Load()
		if err != nil {
			t.Fatal(err)
		}
		x := make([]float32, 224*224*3)
		if err := pp.Apply(x, m); err != nil {
			t.Fatal(err)
		}
		d.builtin = append(d.builtin, labelled{x, -1})
	}
	return d
}

func (d *refData) score(t testing.TB, q *QModel) refScore {
	qn, err := NewInt8Net(q, bestTier())
	if err != nil {
		t.Fatal(err)
	}
	s := refScore{synWorst: math.Inf(1), top1Same: true, synCount: len(d.syn)}
	for i := range d.inputs {
		got := qn.Run(d.inputs[i])
		v := quant.SQNR(d.timm[i], got)
		if i == 0 {
			s.input0 = v
		} else {
			s.input1 = v
		}
		s.top1Same = s.top1Same && argmax(got) == argmax(d.timm[i])
	}
	for i, x := range d.syn {
		got := qn.Run(x)
		v := quant.SQNR(d.synRef[i], got)
		s.synMean += v / float64(len(d.syn))
		s.synWorst = math.Min(s.synWorst, v)
		if argmax(got) == argmax(d.synRef[i]) {
			s.synAgree++
		}
	}
	return s
}

// TestReferenceRecipes prints the ImageNet-path figures of each recipe on
// the reference weights (random, with BatchNorm statistics from synthetic
// pictures): the robustness columns of docs/QUANTIZATION.md.
func TestReferenceRecipes(t *testing.T) {
	if os.Getenv("MIXEDGE_MEASURE") == "" {
		t.Skip("a measurement table (minutes), not a check: run with MIXEDGE_MEASURE=1 -v")
	}
	net := loadReference(t)
	d := loadRefData(t, net)
	recipes := append(observerRecipes(t), noCalibRecipes(t)...)
	for _, r := range recipes {
		if !recipeWanted(r) {
			continue
		}
		s := d.score(t, r.quantize(t, net, d.builtin, d.pre, d.imagenetLb))
		t.Logf("%-44s bias-corr %-5v: input0 %.2f dB, input1 %.2f dB, top-1 kept %v; held-out synthetic mean %.2f / worst %.2f dB, top-1 %d/%d",
			r.name, r.biasCorr, s.input0, s.input1, s.top1Same, s.synMean, s.synWorst, s.synAgree, s.synCount)
	}
}
