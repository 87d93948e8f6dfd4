package quant

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// feed shows every pass of an observer the same batches.
func feed(o Observer, batches ...[]float32) (float32, float32, bool) {
	for p := 0; p < o.Passes(); p++ {
		for _, b := range batches {
			o.Observe(b)
		}
		o.EndPass()
	}
	return o.Range()
}

func gaussian(n int, seed uint64, outlier float32) []float32 {
	rng := rand.New(rand.NewPCG(seed, 1))
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	v[n/2] = outlier
	return v
}

func TestObservers(t *testing.T) {
	x := gaussian(100000, 1, 40)
	lo, hi, ok := feed(&MinMax{}, x[:50000], x[50000:])
	if !ok || hi != 40 || lo > -3 {
		t.Errorf("minmax [%g, %g] %v, want hi = 40", lo, hi, ok)
	}
	// One outlier in 10^5 must not stretch the percentile range; the bulk must fit.
	lo, hi, ok = feed(&Histogram{Pick: PickPercentile, Percentile: 99.99}, x[:50000], x[50000:])
	if !ok || hi > 10 || hi < 2.5 || lo > -2.5 || lo < -10 {
		t.Errorf("percentile: [%g, %g] for a unit Gaussian with one outlier at 40", lo, hi)
	}
	// Heavy tails (Laplace): MSE trades the rare large values for a finer step.
	rng := rand.New(rand.NewPCG(9, 9))
	lap := make([]float32, 100000)
	for i := range lap {
		lap[i] = float32(rng.ExpFloat64())
		if rng.IntN(2) == 0 {
			lap[i] = -lap[i]
		}
	}
	mlo, mhi, _ := feed(&MinMax{}, lap)
	slo, shi, _ := feed(&Histogram{Pick: PickMSE}, lap)
	if shi > 0.9*mhi || slo < 0.9*mlo || shi < 3 {
		t.Errorf("mse [%g, %g] on Laplace data with extent [%g, %g]: want a clipped range", slo, shi, mlo, mhi)
	}
	// Per-image MSE: the wide image sets the range.
	narrow, wide := gaussian(20000, 2, 0), gaussian(20000, 3, 0)
	for i := range wide {
		wide[i] *= 5
	}
	lo, hi, _ = feed(&PerImage{}, narrow, wide)
	if hi < 10 || lo > -10 {
		t.Errorf("image-mse [%g, %g]: the 5σ-wide image should set the range", lo, hi)
	}
	// ReLU-like data keeps lo at 0.
	relu := gaussian(10000, 4, 0)
	for i := range relu {
		relu[i] = max(relu[i], 0)
	}
	for _, name := range ObserverNames {
		newObs, _ := NewObserver(name)
		if lo, _, _ := feed(newObs(), relu); lo != 0 {
			t.Errorf("%s: lo %g on non-negative data", name, lo)
		}
	}
	if _, _, ok := feed(&Histogram{Pick: PickMSE}); ok {
		t.Error("an observer that saw nothing claims a range")
	}
	if _, err := NewObserver("best"); err == nil || !strings.Contains(err.Error(), "minmax") {
		t.Errorf("unknown observer: %v", err)
	}
}

// The MSE range beats minmax on the quantity it minimises.
func TestMSEBeatsMinMax(t *testing.T) {
	x := gaussian(50000, 5, 25)
	quantErr := func(lo, hi float32) float64 {
		p, err := ChooseParams(lo, hi)
		if err != nil {
			t.Fatal(err)
		}
		var e float64
		for _, v := range x {
			d := float64(p.Dequantize(p.Quantize(v)) - v)
			e += d * d
		}
		return e
	}
	mlo, mhi, _ := feed(&MinMax{}, x)
	slo, shi, _ := feed(&Histogram{Pick: PickMSE}, x)
	if em, es := quantErr(mlo, mhi), quantErr(slo, shi); es >= em {
		t.Errorf("mse range error %g not below minmax's %g", es, em)
	}
}

func TestSQNR(t *testing.T) {
	ref := []float32{1, -2, 3}
	if !math.IsInf(SQNR(ref, ref), 1) {
		t.Error("identical signals should give +Inf")
	}
	noisy := []float32{1.1, -2, 3}
	if got, want := SQNR(ref, noisy), 10*math.Log10(14/0.01); math.Abs(got-want) > 1e-3 {
		t.Errorf("SQNR %g, want %g", got, want)
	}
}
