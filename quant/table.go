package quant

import "math"

// BuildTable returns the lookup table of f from in to out parameters:
// t[uint8(q)] = clamp(RoundToEven(f((q-in.Zero)*in.Scale)/out.Scale) + out.Zero),
// computed in float64. NaN results map to out.Zero.
func BuildTable(in, out Params, f func(float64) float64) [256]int8 {
	var t [256]int8
	for i := range t {
		q := int8(uint8(i))
		x := float64(int32(q)-in.Zero) * float64(in.Scale)
		t[i] = quantize64(f(x), out)
	}
	return t
}

// Sigmoid is the logistic function, written to avoid overflow for large
// negative x.
func Sigmoid(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}

// SiLU is x*sigmoid(x) (swish).
func SiLU(x float64) float64 { return x * Sigmoid(x) }

// SigmoidTable is BuildTable for the logistic function; out is normally
// SigmoidParams.
func SigmoidTable(in, out Params) [256]int8 { return BuildTable(in, out, Sigmoid) }

// SiLUTable is BuildTable for SiLU (swish).
func SiLUTable(in, out Params) [256]int8 { return BuildTable(in, out, SiLU) }
