package quant

import (
	"fmt"
	"math"
)

// Limits of Multiplier.Shift: the total right shift 31+Shift stays in
// [2, 62] (see the package comment for why).
const (
	MinShift = -29
	MaxShift = 31
)

// Multiplier is a fixed-point real multiplier M * 2^-(31+Shift); see the
// package comment for the invariants and the rounding rule.
type Multiplier struct {
	M     int32
	Shift int32
}

// NewMultiplier returns the Multiplier closest to real: M = RoundToEven of
// the 31-bit mantissa, normalized to [2^30, 2^31). Multipliers below 2^-31
// keep Shift = MaxShift and a smaller M (0 for anything below 2^-63). It fails
// for negative, non-finite or too large (>= 2^29 after rounding) values.
func NewMultiplier(real float64) (Multiplier, error) {
	if math.IsNaN(real) || math.IsInf(real, 0) || real < 0 {
		return Multiplier{}, fmt.Errorf("quant: multiplier %g is not a finite non-negative number", real)
	}
	if real == 0 {
		return Multiplier{M: 0, Shift: MaxShift}, nil
	}
	f, e := math.Frexp(real) // real = f * 2^e, f in [0.5, 1)
	q := math.RoundToEven(math.Ldexp(f, 31))
	if q == 1<<31 {
		q, e = 1<<30, e+1
	}
	shift := -e
	if shift < MinShift {
		return Multiplier{}, fmt.Errorf("quant: multiplier %g is too large (limit 2^29)", real)
	}
	if shift > MaxShift {
		shift = MaxShift
		// real < 2^-32 here, so q < 2^30 and still fits.
		q = math.RoundToEven(math.Ldexp(real, 31+MaxShift))
	}
	return Multiplier{M: int32(q), Shift: int32(shift)}, nil
}

// Real returns the value m represents.
func (m Multiplier) Real() float64 {
	return math.Ldexp(float64(m.M), -int(31+m.Shift))
}

// Validate reports whether m keeps the invariants the SIMD kernels rely on.
func (m Multiplier) Validate() error {
	if m.Shift < MinShift || m.Shift > MaxShift {
		return fmt.Errorf("quant: multiplier shift %d outside [%d, %d]", m.Shift, MinShift, MaxShift)
	}
	if m.M < 0 || (m.M < 1<<30 && m.M != 0 && m.Shift != MaxShift) {
		return fmt.Errorf("quant: multiplier mantissa %#x not normalized for shift %d", m.M, m.Shift)
	}
	return nil
}

// Requantize is the reference of the one rounding rule:
// clamp(floor((acc*M + 2^(s-1)) / 2^s) + zOut, qmin, qmax) with s = 31+Shift.
// m must satisfy Validate. qmin <= qmax must lie in [-128, 127].
func Requantize(acc int32, m Multiplier, zOut, qmin, qmax int32) int8 {
	s := uint(31 + m.Shift)
	v := (int64(acc)*int64(m.M)+int64(1)<<(s-1))>>s + int64(zOut)
	v = max(v, int64(qmin))
	v = min(v, int64(qmax))
	return int8(v)
}

// GridMinBits is the least number of significant bits GridMultiplier keeps:
// multipliers below 2^(GridMinBits-31) are not moved onto the grid.
const GridMinBits = 16

// GridMultiplier returns real rounded to a multiple of 2^-31, normalized
// like NewMultiplier (M in [2^30, 2^31), so M is a multiple of 2^Shift), when
// that keeps at least GridMinBits significant bits (2^-15 <= real < 1/2);
// otherwise NewMultiplier(real). On that grid NEON's SQRDMULH by M>>Shift
// is the whole rounding rule, one instruction per 4 lanes instead of
// SQDMULH + SRSHL (see the package comment). The rounding moves the
// multiplier by at most 2^-16 of itself: below 0.004 output steps for any
// result inside int8.
func GridMultiplier(real float64) (Multiplier, error) {
	if math.IsNaN(real) || math.IsInf(real, 0) || real < 0 || real >= 0.5 {
		return NewMultiplier(real)
	}
	q := math.RoundToEven(math.Ldexp(real, 31))
	if q < 1<<(GridMinBits-1) {
		return NewMultiplier(real)
	}
	if q == 1<<30 {
		return Multiplier{M: 1 << 30, Shift: 0}, nil
	}
	_, e := math.Frexp(q) // q in [2^(e-1), 2^e), e <= 30
	shift := 31 - e
	return Multiplier{M: int32(q) << shift, Shift: int32(shift)}, nil
}

// OnGrid reports whether m is a multiple of 2^-31 with Shift >= 0: then
// SQRDMULH(acc, m.M>>m.Shift) = floor((acc*M + 2^(30+Shift)) / 2^(31+Shift)),
// Requantize's y, exactly.
func (m Multiplier) OnGrid() bool {
	return m.Shift >= 0 && m.Shift <= MaxShift && int64(m.M)&(int64(1)<<m.Shift-1) == 0
}

// ConvMultipliers fills dst[c] with the requantization multiplier
// sIn*sW[c]/sOut of a per-channel convolution, computed in float64 and put
// on the 2^-31 grid (GridMultiplier).
func ConvMultipliers(dst []Multiplier, sIn float32, sW []float32, sOut float32) error {
	if len(dst) != len(sW) {
		return fmt.Errorf("quant: ConvMultipliers: dst %d, weight scales %d", len(dst), len(sW))
	}
	for c, sw := range sW {
		m, err := GridMultiplier(float64(sIn) * float64(sw) / float64(sOut))
		if err != nil {
			return fmt.Errorf("quant: ConvMultipliers: channel %d: %w", c, err)
		}
		dst[c] = m
	}
	return nil
}

// PoolMultiplier returns the multiplier of a global average pool over n
// pixels: s_in / (s_out * n).
func PoolMultiplier(in, out Params, n int) (Multiplier, error) {
	if n <= 0 || int64(n)*255 > math.MaxInt32 {
		return Multiplier{}, fmt.Errorf("quant: PoolMultiplier: %d pixels would overflow the int32 sum", n)
	}
	m, err := NewMultiplier(float64(in.Scale) / (float64(out.Scale) * float64(n)))
	if err != nil {
		return Multiplier{}, fmt.Errorf("quant: PoolMultiplier: %w", err)
	}
	return m, nil
}

// MulMultiplier returns the multiplier of an elementwise product a*b -> out:
// s_a * s_b / s_out.
func MulMultiplier(a, b, out Params) (Multiplier, error) {
	m, err := NewMultiplier(float64(a.Scale) * float64(b.Scale) / float64(out.Scale))
	if err != nil {
		return Multiplier{}, fmt.Errorf("quant: MulMultiplier: %w", err)
	}
	return m, nil
}
