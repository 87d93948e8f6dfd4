package quant

import (
	"math"
	"math/rand/v2"
	"testing"
)

// Independent formulas for the checks: tanh form of the logistic.
func sigmoidTanh(x float64) float64 { return 0.5 * (1 + math.Tanh(x/2)) }
func siluTanh(x float64) float64    { return x * sigmoidTanh(x) }

func randParams(rng *rand.Rand, minScale, maxScale float64) Params {
	s := math.Exp(math.Log(minScale) + rng.Float64()*(math.Log(maxScale)-math.Log(minScale)))
	return Params{Scale: float32(s), Zero: int32(rng.IntN(256) - 128)}
}

// checkTable checks every entry against f to within half a step (plus
// float slack), or at the clamp when f leaves the output range.
func checkTable(t *testing.T, name string, tab [256]int8, in, out Params, f func(float64) float64) {
	t.Helper()
	for q := -128; q <= 127; q++ {
		x := float64(int32(q)-in.Zero) * float64(in.Scale)
		exact := f(x)/float64(out.Scale) + float64(out.Zero)
		got := float64(tab[uint8(int8(q))])
		switch {
		case exact <= QMin-0.5:
			if got != QMin {
				t.Fatalf("%s %+v->%+v: q=%d: %g below range, got %g", name, in, out, q, exact, got)
			}
		case exact >= QMax+0.5:
			if got != QMax {
				t.Fatalf("%s %+v->%+v: q=%d: %g above range, got %g", name, in, out, q, exact, got)
			}
		case math.Abs(got-exact) > 0.5+1e-9:
			t.Fatalf("%s %+v->%+v: q=%d: table %g, exact %g", name, in, out, q, got, exact)
		}
	}
}

func TestTables(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for range 300 {
		in := randParams(rng, 1e-3, 0.5)
		gate := SigmoidTable(in, SigmoidParams)
		checkTable(t, "sigmoid", gate, in, SigmoidParams, sigmoidTanh)
		for q := -127; q <= 127; q++ {
			if gate[uint8(int8(q))] < gate[uint8(int8(q-1))] {
				t.Fatalf("sigmoid table %+v not monotone at q=%d", in, q)
			}
		}
		out := randParams(rng, 1e-3, 0.5)
		checkTable(t, "silu", SiLUTable(in, out), in, out, siluTanh)
	}
	// A saturated gate is exactly 1 with SigmoidParams: 127 decodes to 1.
	if g := SigmoidParams.Dequantize(SigmoidTable(Params{Scale: 1, Zero: 0}, SigmoidParams)[127]); g != 1 {
		t.Errorf("sigmoid(127) decodes to %g, want 1", g)
	}
	// The identity table between equal params maps every byte to itself.
	p := Params{Scale: 0.3, Zero: 17}
	id := BuildTable(p, p, func(x float64) float64 { return x })
	for i, v := range id {
		if uint8(v) != uint8(i) {
			t.Fatalf("identity table[%d] = %d", i, v)
		}
	}
	nan := BuildTable(p, Params{Scale: 1, Zero: -5}, func(float64) float64 { return math.NaN() })
	if nan[0] != -5 || nan[255] != -5 {
		t.Errorf("NaN entries = %d, %d; want the zero point -5", nan[0], nan[255])
	}
}

func TestSigmoidExtremes(t *testing.T) {
	for _, x := range []float64{-1000, -50, -1, 0, 1, 50, 1000} {
		if s := Sigmoid(x); math.IsNaN(s) || s < 0 || s > 1 || math.Abs(s-sigmoidTanh(x)) > 1e-15 {
			t.Errorf("Sigmoid(%g) = %g", x, s)
		}
	}
}
