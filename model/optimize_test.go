package model

import (
	"testing"

	"github.com/mixedge/mixedge/kernels"
	"github.com/mixedge/mixedge/quant"
)

// OptimizeRanges never makes the logits worse on its pictures, and keeps
// the ranges it was given where narrowing does not help.
func TestOptimizeRanges(t *testing.T) {
	if testing.Short() {
		t.Skip("about 150 quantizations of mixnet_s (20 s here, minutes under qemu); skipped with -short")
	}
	old := RangeFactors
	RangeFactors = []float32{1, 0.5}
	defer func() { RangeFactors = old }()
	net := synthNet(t, 16)
	imgs := synthImages(t, 16, 3)
	cal, err := NewCalibratorSpec(net, RobustObserverSpec)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range imgs {
		cal.Observe(x)
	}
	cal.EndPass()
	r, err := cal.Ranges()
	if err != nil {
		t.Fatal(err)
	}
	var ref [][]float32
	for _, x := range imgs {
		ref = append(ref, append([]float32(nil), net.Run(x)...))
	}
	pre := net.G.Arch.Preprocess
	pre.InputSize, pre.CropPct = 16, 1
	opt := QuantizeOptions{Means: cal.Means()}
	calls := 0
	got, best, err := OptimizeRanges(net.G, net.W, r, pre, opt, imgs, ref, kernels.Generic, func(done, total int) { calls = total })
	if err != nil {
		t.Fatal(err)
	}
	sqnr := func(rg Ranges) float64 {
		q, err := QuantizeWith(net.G, net.W, rg, pre, nil, opt)
		if err != nil {
			t.Fatal(err)
		}
		n, err := NewInt8Net(q, kernels.Generic)
		if err != nil {
			t.Fatal(err)
		}
		var s float64
		for i, x := range imgs {
			s += min(quant.SQNR(ref[i], n.Run(x)), 99)
		}
		return s / float64(len(imgs))
	}
	before, after := sqnr(r), sqnr(got)
	narrowed := 0
	for i := range r {
		for p := range r[i] {
			switch g := got[i][p]; {
			case g == r[i][p]:
			case g.Lo == r[i][p].Lo*0.5 && g.Hi == r[i][p].Hi*0.5:
				narrowed++
			default:
				t.Errorf("op %d %s: range %+v from %+v: neither kept nor halved", i, Point(p), g, r[i][p])
			}
		}
	}
	t.Logf("logit SQNR %.2f -> %.2f dB (reported %.2f), %d of %d points narrowed", before, after, best, narrowed, calls)
	if after < before || after != best || calls == 0 {
		t.Errorf("SQNR %.2f -> %.2f dB, reported %.2f, %d points", before, after, best, calls)
	}
}
