package quant

import (
	"fmt"
	"math"
)

// AddParams are the integer parameters of out = a + b for int8 tensors with
// different scales; see "Residual add" in the package comment.
type AddParams struct {
	ZA, ZB int32 // input zero points
	MA, MB int32 // s_a/s_out and s_b/s_out over 2^Shift, in [0, 32767]
	Shift  int32 // in [1, 31]
	ZOut   int32
}

// Limits of the add multipliers: they must be int16 for VPMADDWD/SMLAL.
const (
	addMulMax   = 1<<15 - 1
	addShiftMax = 31
)

// NewAdd derives AddParams for out = a + b.
func NewAdd(a, b, out Params) (AddParams, error) {
	for _, p := range [...]Params{a, b, out} {
		if err := p.Validate(); err != nil {
			return AddParams{}, fmt.Errorf("quant: NewAdd: %w", err)
		}
	}
	ra := float64(a.Scale) / float64(out.Scale)
	rb := float64(b.Scale) / float64(out.Scale)
	_, e := math.Frexp(math.Max(ra, rb))
	shift := 15 - e // puts the larger ratio in [2^14, 2^15)
	shift = min(shift, addShiftMax)
	ma := math.RoundToEven(math.Ldexp(ra, shift))
	mb := math.RoundToEven(math.Ldexp(rb, shift))
	if ma > addMulMax || mb > addMulMax {
		// Rounded up to 2^15: halve once, which keeps 14 bits.
		shift--
		ma = math.RoundToEven(math.Ldexp(ra, shift))
		mb = math.RoundToEven(math.Ldexp(rb, shift))
	}
	if shift < 1 {
		return AddParams{}, fmt.Errorf("quant: NewAdd: input/output scale ratio %g is too large (limit 2^14)", math.Max(ra, rb))
	}
	return AddParams{ZA: a.Zero, ZB: b.Zero, MA: int32(ma), MB: int32(mb), Shift: int32(shift), ZOut: out.Zero}, nil
}

// Add is the reference of the residual add for one element pair:
// clamp(floor(((x-ZA)*MA + (y-ZB)*MB + 2^(Shift-1)) / 2^Shift) + ZOut, qmin, qmax).
func Add(x, y int8, p AddParams, qmin, qmax int32) int8 {
	acc := (int32(x)-p.ZA)*p.MA + (int32(y)-p.ZB)*p.MB
	v := (acc+int32(1)<<(p.Shift-1))>>p.Shift + p.ZOut
	v = max(v, qmin)
	v = min(v, qmax)
	return int8(v)
}
