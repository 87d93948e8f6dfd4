package camera_test

import (
	"slices"
	"testing"
	"time"

	"github.com/mixedge/mixedge/camera"
	"github.com/mixedge/mixedge/model"
	"github.com/mixedge/mixedge/quant"
)

// BenchmarkFusedVsInt8 is issue #6's target: 640x480 I420 → 224x224 int8
// input against one single-threaded int8 mixnet_s frame (synthetic weights,
// best kernel tier), interleaved in one loop so that both see the same
// machine load. It reports the medians and their ratio (goal: ≤ 10 %).
func BenchmarkFusedVsInt8(b *testing.B) {
	a, _ := model.LookupArch("mixnet_s")
	g, err := model.Build(a, 224, 1000)
	if err != nil {
		b.Fatal(err)
	}
	fn, err := model.NewFloatNet(g, g.SyntheticWeights(1))
	if err != nil {
		b.Fatal(err)
	}
	pre := a.Preprocess
	pp := camera.Preprocess{Size: 224, CropPct: pre.CropPct, Mean: pre.Mean, Std: pre.Std}
	c := model.NewCalibrator(fn, func() quant.Observer { o, _ := quant.NewObserver(quant.DefaultObserver); return o() })
	img := make([]float32, 224*224*3)
	for range c.Passes() {
		for i := range 2 {
			if err := pp.Apply(img, camera.SyntheticImage(uint64(i), 256, 256)); err != nil {
				b.Fatal(err)
			}
			c.Observe(img)
		}
		c.EndPass()
	}
	r, err := c.Ranges()
	if err != nil {
		b.Fatal(err)
	}
	pre.InputSize = 224
	q, err := model.Quantize(g, fn.W, r, pre, model.ImageNetLabels())
	if err != nil {
		b.Fatal(err)
	}
	net, err := model.NewInt8Net(q, nil)
	if err != nil {
		b.Fatal(err)
	}
	f := camera.FrameFormat{Pix: camera.I420, W: 640, H: 480}
	fu, err := pp.NewFused(f, camera.Quant{Scale: q.In.Scale, Zero: q.In.Zero})
	if err != nil {
		b.Fatal(err)
	}
	frame := make([]byte, f.FrameSize())
	if err := camera.EncodeFrame(frame, camera.SyntheticImage(3, 640, 480), f); err != nil {
		b.Fatal(err)
	}
	var tp, ti []time.Duration
	for b.Loop() {
		t0 := time.Now()
		if err := fu.Apply(net.Input(), frame); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		net.RunQuantized()
		tp, ti = append(tp, t1.Sub(t0)), append(ti, time.Since(t1))
	}
	mp, mi := median(tp), median(ti)
	b.ReportMetric(float64(mp.Microseconds())/1e3, "pre-ms")
	b.ReportMetric(float64(mi.Microseconds())/1e3, "int8-ms")
	b.ReportMetric(100*float64(mp)/float64(mi), "pre/int8-%")
	b.Logf("kernels %s: preprocessing %v, int8 inference %v (medians of %d)", net.K.Name, mp, mi, len(tp))
}

func median(d []time.Duration) time.Duration {
	slices.Sort(d)
	return d[len(d)/2]
}
