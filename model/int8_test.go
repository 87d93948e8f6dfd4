package model

import (
	"math"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/mixedge/mixedge/camera"
	"github.com/mixedge/mixedge/kernels"
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
	for _, obs := range []string{quant.DefaultObserver} { // the others: TestDefaultObserverChoice
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

// The default observer is the one whose int8 logits agree best with fp32
// on held-out synthetic images (seeds 1000..1015, never calibrated on):
// first by the worst SQNR over the images (a camera must not fall apart on
// a hard scene), then by top-1 agreement. docs/QUANTIZATION.md records the
// figures.
func TestDefaultObserverChoice(t *testing.T) {
	if testing.Short() {
		t.Skip("calibrates mixnet_s four times (about a minute); skipped with -short")
	}
	net := loadReference(t)
	pp := camera.DefaultPreprocess()
	img := make([]float32, 224*224*3)
	type score struct {
		worst, mean float64
		top1        int
	}
	scores := map[string]score{}
	for _, obs := range quant.ObserverNames {
		qn, err := NewInt8Net(calibrate(t, net, obs, 8), nil)
		if err != nil {
			t.Fatal(err)
		}
		s := score{worst: math.Inf(1)}
		for seed := uint64(1000); seed < 1016; seed++ {
			if err := pp.Apply(img, camera.SyntheticImage(seed, 256, 256)); err != nil {
				t.Fatal(err)
			}
			want := append([]float32(nil), net.Run(img)...)
			got := qn.Run(img)
			db := quant.SQNR(want, got)
			s.mean += db / 16
			s.worst = math.Min(s.worst, db)
			if argmax(want) == argmax(got) {
				s.top1++
			}
		}
		scores[obs] = s
		t.Logf("%-10s held-out SQNR mean %.2f dB, worst %.2f dB, top-1 agreement %d/16", obs, s.mean, s.worst, s.top1)
	}
	def := scores[quant.DefaultObserver]
	for obs, s := range scores {
		if s.worst > def.worst+0.5 || (s.worst > def.worst-0.5 && s.top1 > def.top1) {
			t.Errorf("observer %s (worst %.2f dB, top-1 %d) beats the default %s (worst %.2f dB, top-1 %d)",
				obs, s.worst, s.top1, quant.DefaultObserver, def.worst, def.top1)
		}
	}
}

// synthMixnetS is mixnet_s at size×size with synthetic weights (seed),
// calibrated on calib synthetic images, and a fixed input picture.
func synthMixnetS(tb testing.TB, size, classes int, seed uint64, calib int) (*QModel, []float32) {
	tb.Helper()
	a, _ := LookupArch("mixnet_s")
	g, err := Build(a, size, classes)
	if err != nil {
		tb.Fatal(err)
	}
	net, err := NewFloatNet(g, g.SyntheticWeights(seed))
	if err != nil {
		tb.Fatal(err)
	}
	q := calibrate(tb, net, quant.DefaultObserver, calib)
	in := make([]float32, size*size*3)
	for i := range in {
		in[i] = float32(math.Sin(float64(i) * 0.01))
	}
	return q, in
}

// benchMixnetS224 is mixnet_s at 224 (1000 classes), calibrated on two
// synthetic images.
func benchMixnetS224(b *testing.B) (*QModel, []float32) { return synthMixnetS(b, 224, 1000, 1, 2) }

// BenchmarkInt8MixnetS224 times one int8 mixnet_s frame per kernel tier
// (synthetic weights, calibrated on two synthetic images); compare with
// BenchmarkFloatMixnetS224 from the same run.
func BenchmarkInt8MixnetS224(b *testing.B) {
	q, in := benchMixnetS224(b)
	g := q.G
	for _, k := range kernels.Tiers() {
		b.Run(k.Name, func(b *testing.B) {
			qn, err := NewInt8Net(q, k)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				qn.Run(in)
				n++
			}
			b.ReportMetric(float64(g.TotalMACs())*float64(n)/b.Elapsed().Seconds()/1e9, "GMAC/s")
		})
	}
}

// BenchmarkInt8Threads times mixnet_s 224 on the best tier at 1 and 2
// threads, and at 2 threads while another goroutine burns a CPU (as a
// camera reader does in `mixedge stream`): the worker pool must not
// collapse when it does not have the machine to itself.
func BenchmarkInt8Threads(b *testing.B) {
	q, in := benchMixnetS224(b)
	for _, c := range []struct {
		name    string
		threads int
		busy    bool
	}{{"1", 1, false}, {"2", 2, false}, {"2+busy", 2, true}} {
		b.Run(c.name, func(b *testing.B) {
			qn, err := NewInt8Net(q, nil)
			if err != nil {
				b.Fatal(err)
			}
			defer qn.Close()
			qn.SetThreads(c.threads)
			var stop atomic.Bool
			var spins atomic.Uint64
			if c.busy {
				go func() {
					for n := uint64(0); !stop.Load(); n++ {
						spins.Store(n)
					}
				}()
				defer stop.Store(true)
			}
			qn.Run(in)
			b.ReportAllocs()
			for b.Loop() {
				qn.Run(in)
			}
		})
	}
}

// BenchmarkInt8SE times the two halves of every squeeze-excite op of
// mixnet_s 224 on one thread, per tier: "gate" is seGate (pool, the two
// 1-pixel FCs and their tables), "mul" the channel multiply over the map
// (runOp). The net has run one frame first, so the inputs are real
// activations.
func BenchmarkInt8SE(b *testing.B) {
	q, in := benchMixnetS224(b)
	g := q.G
	for _, k := range kernels.Tiers() {
		qn, err := NewInt8Net(q, k)
		if err != nil {
			b.Fatal(err)
		}
		qn.SetThreads(1)
		qn.Run(in)
		for i := range g.Ops {
			if g.Ops[i].Kind != OpSE {
				continue
			}
			b.Run(k.Name+"/"+g.Ops[i].Name+"/gate", func(b *testing.B) {
				for b.Loop() {
					qn.seGate(i)
				}
			})
			b.Run(k.Name+"/"+g.Ops[i].Name+"/mul", func(b *testing.B) {
				se := q.Ops[i].SE
				b.SetBytes(int64(se.Pixels * se.Channels))
				for b.Loop() {
					qn.runOp(i, 0, -1)
				}
			})
		}
		qn.Close()
	}
}
