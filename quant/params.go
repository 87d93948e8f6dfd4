package quant

import (
	"fmt"
	"math"
)

// The int8 range every activation lives in.
const (
	QMin = -128
	QMax = 127
)

// Params are the per-tensor parameters of an int8 activation:
// real = (q - Zero) * Scale.
type Params struct {
	Scale float32
	Zero  int32
}

// SigmoidParams is the recommended output quantization of a sigmoid (SE
// gate). Unlike TFLite's 1/256, it represents both 0 and 1 exactly, so a
// saturated gate passes its input through unchanged.
var SigmoidParams = Params{Scale: 1.0 / 255, Zero: -128}

// Validate reports whether p can describe an int8 tensor.
func (p Params) Validate() error {
	s := float64(p.Scale)
	if !(s > 0) || math.IsInf(s, 0) {
		return fmt.Errorf("quant: scale %g is not a positive finite number", s)
	}
	if p.Zero < QMin || p.Zero > QMax {
		return fmt.Errorf("quant: zero point %d outside [%d, %d]", p.Zero, QMin, QMax)
	}
	return nil
}

// ChooseParams returns the parameters that spread [lo, hi] over all 256
// int8 values. The range is first widened to include 0, so that real 0 (the
// padding value) is exactly representable. A degenerate range {0} gets
// Scale 1 and Zero 0.
func ChooseParams(lo, hi float32) (Params, error) {
	l, h := float64(lo), float64(hi)
	if math.IsNaN(l) || math.IsNaN(h) || math.IsInf(l, 0) || math.IsInf(h, 0) {
		return Params{}, fmt.Errorf("quant: range [%g, %g] is not finite", l, h)
	}
	if l > h {
		return Params{}, fmt.Errorf("quant: range [%g, %g] is empty", l, h)
	}
	l, h = math.Min(l, 0), math.Max(h, 0)
	if l == h {
		return Params{Scale: 1, Zero: 0}, nil
	}
	scale := float32((h - l) / 255)
	if !(scale > 0) || math.IsInf(float64(scale), 0) {
		return Params{}, fmt.Errorf("quant: range [%g, %g] gives scale %g, outside float32", l, h, scale)
	}
	// The zero point comes from the stored float32 scale, so that lo maps to
	// -128 as closely as the rounded scale allows.
	z := math.RoundToEven(QMin - l/float64(scale))
	z = math.Max(QMin, math.Min(QMax, z))
	return Params{Scale: scale, Zero: int32(z)}, nil
}

// Quantize returns clamp(RoundToEven(x/Scale) + Zero, -128, 127), computed
// in float64. NaN maps to Zero.
func (p Params) Quantize(x float32) int8 {
	return quantize64(float64(x), p)
}

// Dequantize returns (q - Zero) * Scale.
func (p Params) Dequantize(q int8) float32 {
	return float32(float64(int32(q)-p.Zero) * float64(p.Scale))
}

// QuantizeSlice quantizes src into dst, which must have the same length.
func QuantizeSlice(dst []int8, src []float32, p Params) error {
	if len(dst) != len(src) {
		return fmt.Errorf("quant: QuantizeSlice: dst has %d elements, src %d", len(dst), len(src))
	}
	for i, x := range src {
		dst[i] = quantize64(float64(x), p)
	}
	return nil
}

// DequantizeSlice dequantizes src into dst, which must have the same length.
func DequantizeSlice(dst []float32, src []int8, p Params) error {
	if len(dst) != len(src) {
		return fmt.Errorf("quant: DequantizeSlice: dst has %d elements, src %d", len(dst), len(src))
	}
	for i, q := range src {
		dst[i] = p.Dequantize(q)
	}
	return nil
}

// quantize64 is the one build-time rounding: half to even, then clamp.
func quantize64(x float64, p Params) int8 {
	v := math.RoundToEven(x/float64(p.Scale)) + float64(p.Zero)
	switch {
	case v >= QMax:
		return QMax
	case v <= QMin:
		return QMin
	case v == v:
		return int8(v)
	}
	return int8(p.Zero) // NaN
}

// Bounds returns the clamp of an op with no activation: all of int8.
func Bounds() (qmin, qmax int32) { return QMin, QMax }

// ReLUBounds returns the clamp that fuses ReLU into requantization:
// nothing below the quantized 0.
func ReLUBounds(out Params) (qmin, qmax int32) {
	return max(out.Zero, QMin), QMax
}

// ReLU6Bounds returns the clamp that fuses ReLU6 into requantization.
func ReLU6Bounds(out Params) (qmin, qmax int32) {
	return max(out.Zero, QMin), int32(out.Quantize(6))
}
