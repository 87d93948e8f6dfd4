package quant

import (
	"slices"
	"testing"
)

func TestNewSE(t *testing.T) {
	const c, r = 6, 2
	p := Params{Scale: 0.1, Zero: 5}
	cfg := &SEConfig{
		Channels: c, Reduced: r, Pixels: 4,
		ReduceW: []float32{1, -1, 0.5, 0, 0, 2, 0.25, 0.25, -0.5, 1, 1, 1}, ReduceB: []float32{0.1, -0.2},
		ExpandW: []float32{1, 2, -1, 0, 0.5, 0.5, 3, -3, 0, 0, 1, 1}, ExpandB: []float32{0, 0, 0, 0, 0, 1},
		X: p, Mean: Params{Scale: 0.05, Zero: -2}, ReducePre: p, Act: Params{Scale: 0.02, Zero: -100},
		ExpandPre: p, Gate: SigmoidParams, Out: p,
	}
	se, err := NewSE(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if se.SiLU != SiLUTable(cfg.ReducePre, cfg.Act) || se.Sigmoid != SigmoidTable(cfg.ExpandPre, cfg.Gate) {
		t.Error("SE tables differ from SiLUTable/SigmoidTable of its params")
	}
	// The reduce FC's bias is folded with the mean's zero point: with w and
	// b quantized separately, bias' = b - zMean*Σw.
	w := make([]int8, r*c)
	sw := make([]float32, r)
	if err := QuantizeWeights(w, sw, cfg.ReduceW, r, c); err != nil {
		t.Fatal(err)
	}
	for o := range r {
		raw := make([]int32, 1)
		if err := QuantizeBias(raw, cfg.ReduceB[o:o+1], cfg.Mean.Scale, sw[o:o+1]); err != nil {
			t.Fatal(err)
		}
		want := int64(raw[0])
		for i := range c {
			want -= int64(cfg.Mean.Zero) * int64(w[o*c+i])
		}
		if int64(se.ReduceBias[o]) != want || !slices.Equal(se.ReduceW[o*c:(o+1)*c], w[o*c:(o+1)*c]) {
			t.Errorf("reduce row %d: bias %d, want %d", o, se.ReduceBias[o], want)
		}
	}
	if pm, _ := PoolMultiplier(cfg.X, cfg.Mean, 4); se.Pool != pm {
		t.Errorf("pool multiplier %+v, want %+v", se.Pool, pm)
	}

	bad := *cfg
	bad.ExpandB = bad.ExpandB[:5]
	if _, err := NewSE(&bad); err == nil {
		t.Error("NewSE accepted a short expand bias")
	}
	bad = *cfg
	bad.Gate = Params{Scale: 0}
	if _, err := NewSE(&bad); err == nil {
		t.Error("NewSE accepted a zero gate scale")
	}
	bad = *cfg
	bad.Pixels = 0
	if _, err := NewSE(&bad); err == nil {
		t.Error("NewSE accepted zero pixels")
	}
}
