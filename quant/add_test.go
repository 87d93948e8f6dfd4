package quant

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestAddAccuracy(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	trials := 16
	if testing.Short() {
		trials = 4
	}
	for range trials {
		a := randParams(rng, 1e-3, 1)
		b := randParams(rng, 1e-3, 1)
		out := randParams(rng, 1e-3, 1)
		// Keep max(s_a, s_b)/s_out < 32, where the 1-step bound holds.
		for max(a.Scale, b.Scale)/out.Scale >= 31 {
			out.Scale *= 2
		}
		p, err := NewAdd(a, b, out)
		if err != nil {
			t.Fatalf("NewAdd(%+v, %+v, %+v): %v", a, b, out, err)
		}
		if p.MA < 0 || p.MA > 32767 || p.MB < 0 || p.MB > 32767 || p.Shift < 1 || p.Shift > 31 {
			t.Fatalf("NewAdd(%+v, %+v, %+v) = %+v outside its limits", a, b, out, p)
		}
		qmin, qmax := int32(QMin), int32(QMax)
		for x := -128; x <= 127; x++ {
			for y := -128; y <= 127; y++ {
				got := Add(int8(x), int8(y), p, qmin, qmax)
				sum := float64(a.Dequantize(int8(x))) + float64(b.Dequantize(int8(y)))
				exact := math.Max(QMin, math.Min(QMax, sum/float64(out.Scale)+float64(out.Zero)))
				if d := math.Abs(float64(got) - exact); d >= 1 {
					t.Fatalf("Add(%d, %d) %+v+%+v->%+v = %d, exact %g", x, y, a, b, out, got, exact)
				}
			}
		}
	}
}

func TestAddTiesAndClamp(t *testing.T) {
	p := AddParams{MA: 1, MB: 1, Shift: 1}
	for _, c := range []struct{ x, y, want int8 }{{1, 0, 1}, {-1, 0, 0}, {3, 0, 2}, {-3, 0, -1}, {127, 127, 127}} {
		if got := Add(c.x, c.y, p, QMin, QMax); got != c.want {
			t.Errorf("Add(%d, %d) halving = %d, want %d", c.x, c.y, got, c.want)
		}
	}
	p = AddParams{ZA: -128, ZB: -128, MA: 32767, MB: 32767, Shift: 1, ZOut: 127}
	if got := Add(127, 127, p, -10, 20); got != 20 {
		t.Errorf("saturating Add = %d, want the clamp 20", got)
	}
	if got := Add(-128, -128, p, -10, 20); got != 20 {
		t.Errorf("Add at the zero points = %d, want the clamped zero 20", got)
	}
}

func TestNewAddLimits(t *testing.T) {
	tiny := Params{Scale: 1e-9, Zero: 0}
	one := Params{Scale: 1, Zero: 0}
	p, err := NewAdd(tiny, tiny, one)
	if err != nil || p.Shift != 31 {
		t.Errorf("NewAdd with ratio 1e-9 = %+v, %v; want the shift capped at 31", p, err)
	}
	if _, err := NewAdd(one, one, Params{Scale: 1e-5}); err == nil {
		t.Error("NewAdd accepted a ratio of 1e5")
	}
	if _, err := NewAdd(one, Params{Scale: -1}, one); err == nil {
		t.Error("NewAdd accepted a negative scale")
	}
	// A ratio whose mantissa rounds up to 2^15 must renormalize.
	p, err = NewAdd(Params{Scale: float32(1 - 0x1p-17)}, Params{Scale: 0.5}, one)
	if err != nil || p.MA != 1<<14 || p.MB != 1<<13 || p.Shift != 14 {
		t.Errorf("NewAdd near a power of two = %+v, %v; want MA=2^14, MB=2^13, Shift=14", p, err)
	}
}

// TestMulAndPoolAccuracy checks the gate multiply and the average pool,
// both plain Requantize calls, against float arithmetic.
func TestMulAndPoolAccuracy(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	for range 12 {
		x := randParams(rng, 1e-3, 1)
		out := Params{Scale: x.Scale * float32(0.5+rng.Float64()), Zero: int32(rng.IntN(256) - 128)}
		m, err := MulMultiplier(x, SigmoidParams, out)
		if err != nil {
			t.Fatal(err)
		}
		for q := -128; q <= 127; q++ {
			for g := -128; g <= 127; g++ {
				prod := (int32(q) - x.Zero) * (int32(g) - SigmoidParams.Zero)
				got := Requantize(prod, m, out.Zero, QMin, QMax)
				real := float64(x.Dequantize(int8(q))) * float64(SigmoidParams.Dequantize(int8(g)))
				exact := math.Max(QMin, math.Min(QMax, real/float64(out.Scale)+float64(out.Zero)))
				if d := math.Abs(float64(got) - exact); d >= 1 {
					t.Fatalf("mul %d*%d (%+v -> %+v) = %d, exact %g", q, g, x, out, got, exact)
				}
			}
		}
		n := 1 + rng.IntN(3000)
		mean := randParams(rng, 1e-3, 1)
		pm, err := PoolMultiplier(x, mean, n)
		if err != nil {
			t.Fatal(err)
		}
		for range 200 {
			sum := int32(0)
			for range n {
				sum += int32(rng.IntN(256) - 128)
			}
			acc := sum - int32(n)*x.Zero
			got := Requantize(acc, pm, mean.Zero, QMin, QMax)
			real := float64(acc) * float64(x.Scale) / float64(n)
			exact := math.Max(QMin, math.Min(QMax, real/float64(mean.Scale)+float64(mean.Zero)))
			if d := math.Abs(float64(got) - exact); d > 0.5+1e-6 {
				t.Fatalf("pool of %d (%+v -> %+v) = %d, exact %g", n, x, mean, got, exact)
			}
		}
	}
	if _, err := PoolMultiplier(Params{Scale: 1}, Params{Scale: 1}, 1<<24); err == nil {
		t.Error("PoolMultiplier accepted 2^24 pixels (int32 sum overflow)")
	}
}
