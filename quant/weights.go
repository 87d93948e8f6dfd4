package quant

import (
	"fmt"
	"math"
)

// WeightMax is the largest weight magnitude; -128 is never produced (see the
// package comment).
const WeightMax = 127

// QuantizeWeights quantizes w symmetrically per channel. w is viewed as
// [outer][channels][inner]: for conv weights [out][in][kh][kw] use inner =
// in*kh*kw, and for depthwise weights stored [kh][kw][c] use inner = 1. It
// writes scales[c] = max|w[c]|/127 and dst = RoundToEven(w/scale) clamped to
// [-127, 127], in w's layout. An all-zero channel gets scale 1.
func QuantizeWeights(dst []int8, scales []float32, w []float32, channels, inner int) error {
	if channels <= 0 || inner <= 0 || len(w)%(channels*inner) != 0 {
		return fmt.Errorf("quant: QuantizeWeights: %d weights do not form [outer][%d][%d]", len(w), channels, inner)
	}
	if len(dst) != len(w) || len(scales) != channels {
		return fmt.Errorf("quant: QuantizeWeights: dst %d and scales %d, want %d and %d", len(dst), len(scales), len(w), channels)
	}
	maxAbs := make([]float64, channels)
	for i, x := range w {
		v := float64(x)
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("quant: QuantizeWeights: weight %d is %g", i, v)
		}
		c := (i / inner) % channels
		maxAbs[c] = math.Max(maxAbs[c], math.Abs(v))
	}
	for c, m := range maxAbs {
		s := float32(m / WeightMax)
		if !(s > 0) {
			s = 1 // all zero, or so small that the channel is zero anyway
		}
		scales[c] = s
	}
	for i, x := range w {
		c := (i / inner) % channels
		q := math.RoundToEven(float64(x) / float64(scales[c]))
		dst[i] = int8(math.Max(-WeightMax, math.Min(WeightMax, q)))
	}
	return nil
}

// QuantizeBias quantizes a float bias to int32 at scale sIn*sW[c] (the
// product taken in float64), rounding half to even.
func QuantizeBias(dst []int32, b []float32, sIn float32, sW []float32) error {
	if len(dst) != len(b) || len(sW) != len(b) {
		return fmt.Errorf("quant: QuantizeBias: dst %d, bias %d, scales %d differ", len(dst), len(b), len(sW))
	}
	for c, x := range b {
		s := float64(sIn) * float64(sW[c])
		if !(s > 0) || math.IsInf(s, 0) {
			return fmt.Errorf("quant: QuantizeBias: channel %d has scale %g", c, s)
		}
		q := math.RoundToEven(float64(x) / s)
		if !(q >= math.MinInt32 && q <= math.MaxInt32) {
			return fmt.Errorf("quant: QuantizeBias: channel %d bias %g at scale %g does not fit int32", c, x, s)
		}
		dst[c] = int32(q)
	}
	return nil
}

// FoldZeroPoint returns in dst the bias a kernel wants when its input has
// zero point zIn: dst[c] = bias[c] - zIn*sum(w[c]). w is viewed as
// [outer][channels][inner] exactly as in QuantizeWeights. dst may alias
// bias. It fails if a folded bias leaves int32.
func FoldZeroPoint(dst, bias []int32, w []int8, channels, inner int, zIn int32) error {
	if channels <= 0 || inner <= 0 || len(w)%(channels*inner) != 0 {
		return fmt.Errorf("quant: FoldZeroPoint: %d weights do not form [outer][%d][%d]", len(w), channels, inner)
	}
	if len(dst) != channels || len(bias) != channels {
		return fmt.Errorf("quant: FoldZeroPoint: dst %d and bias %d, want %d", len(dst), len(bias), channels)
	}
	block := channels * inner
	for c := range channels {
		var sum int64
		for o := 0; o < len(w); o += block {
			for _, v := range w[o+c*inner : o+(c+1)*inner] {
				sum += int64(v)
			}
		}
		v := int64(bias[c]) - int64(zIn)*sum
		if v < math.MinInt32 || v > math.MaxInt32 {
			return fmt.Errorf("quant: FoldZeroPoint: channel %d: bias %d - %d*%d leaves int32", c, bias[c], zIn, sum)
		}
		dst[c] = int32(v)
	}
	return nil
}
