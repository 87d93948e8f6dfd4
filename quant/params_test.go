package quant

import (
	"math"
	"testing"
)

func TestChooseParams(t *testing.T) {
	cases := []struct{ lo, hi float32 }{
		{-1, 1}, {0, 6}, {-3, 0}, {2, 5}, {-5, -2}, {-0.001, 1000}, {-12.5, 3.25}, {-1e-30, 1e-30},
	}
	for _, c := range cases {
		p, err := ChooseParams(c.lo, c.hi)
		if err != nil {
			t.Fatalf("ChooseParams(%g, %g): %v", c.lo, c.hi, err)
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("ChooseParams(%g, %g) = %+v: %v", c.lo, c.hi, p, err)
		}
		lo, hi := math.Min(float64(c.lo), 0), math.Max(float64(c.hi), 0)
		if q := p.Quantize(0); int32(q) != p.Zero || p.Dequantize(q) != 0 {
			t.Errorf("%+v: real 0 quantizes to %d, not exactly to the zero point", p, q)
		}
		// Both ends of the range are reachable to within one step.
		s := float64(p.Scale)
		if d := math.Abs(float64(p.Dequantize(QMin)) - lo); d > s {
			t.Errorf("%+v: -128 decodes %g, range starts at %g", p, p.Dequantize(QMin), lo)
		}
		if d := math.Abs(float64(p.Dequantize(QMax)) - hi); d > s {
			t.Errorf("%+v: 127 decodes %g, range ends at %g", p, p.Dequantize(QMax), hi)
		}
		if got, want := s, (hi-lo)/255; math.Abs(got-want) > want*1e-6 {
			t.Errorf("%+v: scale %g, want %g", p, got, want)
		}
	}
	if p, err := ChooseParams(0, 0); err != nil || p != (Params{Scale: 1}) {
		t.Errorf("ChooseParams(0, 0) = %+v, %v; want {1 0}", p, err)
	}
	nan := float32(math.NaN())
	for _, c := range [][2]float32{{1, -1}, {nan, 1}, {0, float32(math.Inf(1))}, {-1e-44, 1e-44}} {
		if p, err := ChooseParams(c[0], c[1]); err == nil {
			t.Errorf("ChooseParams(%g, %g) = %+v, want an error", c[0], c[1], p)
		}
	}
}

func TestQuantizeRounding(t *testing.T) {
	p := Params{Scale: 1, Zero: 0}
	cases := []struct {
		x    float32
		want int8
	}{
		{0.5, 0}, {1.5, 2}, {2.5, 2}, {-0.5, 0}, {-1.5, -2}, {-2.5, -2}, {0.49, 0}, {0.51, 1},
		{127.4, 127}, {1e9, 127}, {-1e9, -128}, {float32(math.Inf(-1)), -128}, {float32(math.NaN()), 0},
	}
	for _, c := range cases {
		if got := p.Quantize(c.x); got != c.want {
			t.Errorf("Quantize(%g) = %d, want %d (half to even, clamped)", c.x, got, c.want)
		}
	}
	q := Params{Scale: 0.5, Zero: -10}
	if got := q.Quantize(float32(math.NaN())); got != -10 {
		t.Errorf("Quantize(NaN) = %d, want the zero point -10", got)
	}
	if got := q.Quantize(1.25); got != -8 { // 2.5 -> 2, + -10
		t.Errorf("Quantize(1.25) at scale 0.5 zero -10 = %d, want -8", got)
	}
}

func TestQuantizeSliceRoundTrip(t *testing.T) {
	p := Params{Scale: 0.1, Zero: 3}
	src := []float32{-13, -1, 0, 0.04, 0.06, 1, 12.4, 100}
	q := make([]int8, len(src))
	back := make([]float32, len(src))
	if err := QuantizeSlice(q, src, p); err != nil {
		t.Fatal(err)
	}
	if err := DequantizeSlice(back, q, p); err != nil {
		t.Fatal(err)
	}
	for i, x := range src {
		if lo, hi := p.Dequantize(QMin), p.Dequantize(QMax); x >= lo && x <= hi {
			if d := math.Abs(float64(back[i] - x)); d > 0.05+1e-6 {
				t.Errorf("%g round-trips to %g, more than half a step off", x, back[i])
			}
		} else if q[i] != QMin && q[i] != QMax {
			t.Errorf("%g outside the range did not clamp: %d", x, q[i])
		}
	}
	if err := QuantizeSlice(q[:1], src, p); err == nil {
		t.Error("QuantizeSlice accepted mismatched lengths")
	}
	if err := DequantizeSlice(back[:1], q, p); err == nil {
		t.Error("DequantizeSlice accepted mismatched lengths")
	}
}

func TestBounds(t *testing.T) {
	if lo, hi := Bounds(); lo != -128 || hi != 127 {
		t.Errorf("Bounds() = %d, %d", lo, hi)
	}
	p := Params{Scale: 0.05, Zero: -20}
	if lo, hi := ReLUBounds(p); lo != -20 || hi != 127 {
		t.Errorf("ReLUBounds(%+v) = %d, %d; want -20, 127", p, lo, hi)
	}
	if lo, hi := ReLU6Bounds(p); lo != -20 || hi != 100 {
		t.Errorf("ReLU6Bounds(%+v) = %d, %d; want -20, 100", p, lo, hi)
	}
	if lo, hi := ReLU6Bounds(Params{Scale: 0.01, Zero: -128}); lo != -128 || hi != 127 {
		t.Errorf("ReLU6Bounds clipped to int8 wrongly: %d, %d", lo, hi)
	}
}
