package model

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/mixedge/mixedge/camera"
	"github.com/mixedge/mixedge/quant"
)

// calibrate runs n synthetic images (never the reference inputs) through
// the float net with the named observer and quantizes it.
func calibrate(t testing.TB, net *FloatNet, observer string, n int) *QModel {
	t.Helper()
	newObs, err := quant.NewObserver(observer)
	if err != nil {
		t.Fatal(err)
	}
	c := NewCalibrator(net, newObs)
	pre := net.G.Arch.Preprocess
	pre.InputSize = net.G.InputSize
	pp := camera.Preprocess{Size: pre.InputSize, CropPct: pre.CropPct, Mean: pre.Mean, Std: pre.Std}
	img := make([]float32, pre.InputSize*pre.InputSize*3)
	for pass := 0; pass < c.Passes(); pass++ {
		for i := 0; i < n; i++ {
			if err := pp.Apply(img, camera.SyntheticImage(uint64(i), 256, 256)); err != nil {
				t.Fatal(err)
			}
			c.Observe(img)
		}
		c.EndPass()
	}
	r, err := c.Ranges()
	if err != nil {
		t.Fatal(err)
	}
	q, err := Quantize(net.G, net.W, r, pre, ImageNetLabels())
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func argmax(v []float32) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}

// int8 MixNet-S agrees with timm's fp32 logits on the reference inputs,
// calibrated on synthetic images only.
func TestInt8Reference(t *testing.T) {
	net := loadReference(t)
	for _, obs := range quant.ObserverNames {
		if testing.Short() && obs != quant.DefaultObserver {
			continue
		}
		q := calibrate(t, net, obs, 8)
		qn, err := NewInt8Net(q, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"input0", "input1"} {
			in := nchwToNHWC(readF32(t, filepath.Join(refDir, "inputs", name+".f32")), 3, 224, 224)
			want := readF32(t, filepath.Join(refDir, "logits", "mixnet_s_"+name+".f32"))
			got := qn.Run(in)
			sqnr := quant.SQNR(want, got)
			t.Logf("%s %s: SQNR %.2f dB, top-1 %d (timm %d)", obs, name, sqnr, argmax(got), argmax(want))
			if obs != quant.DefaultObserver {
				continue
			}
			min := map[string]float64{"input0": 20, "input1": 10}[name]
			if sqnr < min || math.IsNaN(sqnr) {
				t.Errorf("%s: SQNR %.2f dB < %.0f dB", name, sqnr, min)
			}
			if argmax(got) != argmax(want) {
				t.Errorf("%s: int8 top-1 %d, fp32 %d", name, argmax(got), argmax(want))
			}
		}
		if obs == quant.DefaultObserver {
			p := qn.Plan
			t.Logf("arena %d bytes, lower bound %d (%.3f×)", p.Size, p.LowerBound, float64(p.Size)/float64(p.LowerBound))
			if float64(p.Size) > 1.05*float64(p.LowerBound) || float64(p.Size) > 1.6*(1<<20) {
				t.Errorf("arena %d bytes: want ≤ 1.05 × %d and ≤ 1.6 MiB", p.Size, p.LowerBound)
			}
			data, err := EncodeFirmware(q, p)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf(".fw %d bytes", len(data))
			if len(data) > 4_600_000 {
				t.Errorf(".fw is %d bytes, want ≤ 4.6 MB", len(data))
			}
		}
	}
}

func TestInt8LayerReport(t *testing.T) {
	net := loadReference(t)
	obs := quant.DefaultObserver
	if o := os.Getenv("MIXEDGE_OBSERVER"); o != "" {
		obs = o
	}
	q := calibrate(t, net, obs, 8)
	qn, err := NewInt8Net(q, nil)
	if err != nil {
		t.Fatal(err)
	}
	in := nchwToNHWC(readF32(t, filepath.Join(refDir, "inputs", "input1.f32")), 3, 224, 224)
	for i, s := range LayerSQNR(net, qn, in) {
		t.Logf("%-28s %-9s %6.2f dB", net.G.Ops[i].Name, net.G.Ops[i].Kind, s)
	}
}
