package quant

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

// refRequant is the rounding rule computed with big rationals:
// floor(acc*M/2^s + 1/2) + zOut, clamped.
func refRequant(acc int64, m Multiplier, zOut, qmin, qmax int32) int8 {
	s := uint(31 + m.Shift)
	num := new(big.Int).Mul(big.NewInt(acc), big.NewInt(int64(m.M)))
	num.Lsh(num, 1)
	num.Add(num, new(big.Int).Lsh(big.NewInt(1), s))
	den := new(big.Int).Lsh(big.NewInt(1), s+1)
	q := new(big.Int).Div(num, den) // Euclidean: floor for a positive divisor
	q.Add(q, big.NewInt(int64(zOut)))
	if q.Cmp(big.NewInt(int64(qmin))) < 0 {
		return int8(qmin)
	}
	if q.Cmp(big.NewInt(int64(qmax))) > 0 {
		return int8(qmax)
	}
	return int8(q.Int64())
}

// The NEON route from the package comment, instruction by instruction.

func sat32(v int64) int32 { return int32(min(max(v, math.MinInt32), math.MaxInt32)) }

func sqshl(a int32, n uint) int32 { return sat32(int64(a) << n) } // n <= 31
func sqdmulh(a, b int32) int32    { return sat32((2 * int64(a) * int64(b)) >> 32) }
func srshr(a int32, n uint) int32 { return int32((int64(a) + int64(1)<<(n-1)) >> n) } // SRSHL by -n, n >= 1
func sqxtn16(v int32) int16       { return int16(min(max(v, math.MinInt16), math.MaxInt16)) }
func sqxtn8(v int16) int8         { return int8(min(max(v, math.MinInt8), math.MaxInt8)) }

func neonRequant(acc int32, m Multiplier, zOut, qmin, qmax int32) int8 {
	var y int32
	if m.Shift >= 1 {
		y = srshr(sqdmulh(acc, m.M), uint(m.Shift))
	} else {
		y = srshr(sqdmulh(sqshl(acc, uint(1-m.Shift)), m.M), 1)
	}
	q := sqxtn8(sqxtn16(y + zOut)) // SQADD would do as well; |y| < 2^30
	return min(max(q, int8(qmin)), int8(qmax))
}

// The AVX2 route: a 64-bit product, a 64-bit add, the high dword and a
// 32-bit arithmetic shift.
func avx2Requant(acc int32, m Multiplier, zOut, qmin, qmax int32) int8 {
	s := uint(31 + m.Shift)
	if s < 32 {
		l := 32 - s
		lim := int32(1) << (31 - l)
		acc = min(max(acc, -lim), lim-1) << l // VPMAXSD, VPMINSD, VPSLLVD
		s = 32
	}
	x := int64(acc)*int64(m.M) + int64(1)<<(s-1) // VPMULDQ, VPADDQ
	hi := int32(x >> 32)                         // high dword: floor(x / 2^32)
	y := hi >> (s - 32)                          // VPSRAD
	q := sqxtn8(sqxtn16(y + zOut))               // VPACKSSDW, VPACKSSWB
	return min(max(q, int8(qmin)), int8(qmax))
}

func TestNewMultiplierAccuracy(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	reals := []float64{1, 0.5, 0.75, 2, 3, 1 << 28, (1 << 29) * (1 - 0x1p-20), 1 - 1e-12, 0x1p-31, 0x1p-32,
		math.Nextafter(0x1p-32, 0), 0x1p-40, 0x1p-62, 0x1p-63, 0x1p-64, 0x1p-80, 5e-324, 0.1, 1.0 / 3}
	for range 20000 {
		reals = append(reals, math.Exp2(rng.Float64()*98-70))
	}
	for _, r := range reals {
		m, err := NewMultiplier(r)
		if err != nil {
			t.Fatalf("NewMultiplier(%g): %v", r, err)
		}
		if err := m.Validate(); err != nil {
			t.Fatalf("NewMultiplier(%g) = %+v: %v", r, m, err)
		}
		got := m.Real()
		if m.M >= 1<<30 {
			if rel := math.Abs(got-r) / r; rel > 0x1p-31 {
				t.Errorf("NewMultiplier(%g) = %+v: relative error %g > 2^-31", r, m, rel)
			}
		} else if m.Shift != MaxShift {
			t.Errorf("NewMultiplier(%g) = %+v: denormal mantissa below the maximum shift", r, m)
		} else if abs := math.Abs(got - r); abs > 0x1p-63 {
			t.Errorf("NewMultiplier(%g) = %+v: absolute error %g > 2^-63", r, m, abs)
		}
	}
	if m, _ := NewMultiplier(0); m.M != 0 || m.Real() != 0 {
		t.Errorf("NewMultiplier(0) = %+v, want M = 0", m)
	}
	// 1-2^-40 rounds up to a full mantissa and must renormalize to 1.
	if m, _ := NewMultiplier(1 - 0x1p-40); m != (Multiplier{M: 1 << 30, Shift: -1}) {
		t.Errorf("NewMultiplier(1-2^-40) = %+v, want {2^30, -1}", m)
	}
}

func TestNewMultiplierRejects(t *testing.T) {
	for _, r := range []float64{-1, math.Copysign(1e-30, -1), math.NaN(), math.Inf(1), 1 << 29, math.Nextafter(1<<29, 0), 1e300} {
		if m, err := NewMultiplier(r); err == nil {
			t.Errorf("NewMultiplier(%g) = %+v, want an error", r, m)
		}
	}
}

func TestRequantizeTies(t *testing.T) {
	half := Multiplier{M: 1 << 30, Shift: 0} // 0.5
	quarter := Multiplier{M: 1 << 30, Shift: 1}
	cases := []struct {
		acc  int32
		m    Multiplier
		want int8
	}{
		{1, half, 1}, {-1, half, 0}, {3, half, 2}, {-3, half, -1}, {2, half, 1}, {-2, half, -1},
		{2, quarter, 1}, {-2, quarter, 0}, {6, quarter, 2}, {-6, quarter, -1}, {1, quarter, 0}, {-1, quarter, 0},
		{3, quarter, 1}, {-3, quarter, -1}, {5, quarter, 1}, {-5, quarter, -1},
	}
	for _, c := range cases {
		if got := Requantize(c.acc, c.m, 0, QMin, QMax); got != c.want {
			t.Errorf("Requantize(%d, %+v) = %d, want %d (ties toward +inf)", c.acc, c.m, got, c.want)
		}
	}
}

func randMultiplier(rng *rand.Rand) Multiplier {
	switch rng.IntN(8) {
	case 0: // extremes of the representable range
		return Multiplier{M: int32(1<<30 + rng.Int32N(1<<30)), Shift: int32(MinShift + rng.IntN(3))}
	case 1:
		return Multiplier{M: rng.Int32N(1 << 30), Shift: MaxShift}
	case 2:
		return Multiplier{M: []int32{1 << 30, 1<<31 - 1}[rng.IntN(2)], Shift: int32(MinShift + rng.IntN(MaxShift-MinShift+1))}
	}
	return Multiplier{M: int32(1<<30 + rng.Int32N(1<<30)), Shift: int32(MinShift + rng.IntN(MaxShift-MinShift+1))}
}

func randAcc(rng *rand.Rand) int32 {
	switch rng.IntN(6) {
	case 0:
		return []int32{math.MinInt32, math.MaxInt32, math.MinInt32 + 1, 0, -1, 1}[rng.IntN(6)]
	case 1:
		return rng.Int32N(2001) - 1000
	case 2:
		return int32(rng.Uint32())
	}
	return int32(rng.Uint32()) >> rng.IntN(32)
}

func checkRequant(t *testing.T, acc int32, m Multiplier, zOut, qmin, qmax int32) {
	t.Helper()
	want := refRequant(int64(acc), m, zOut, qmin, qmax)
	if got := Requantize(acc, m, zOut, qmin, qmax); got != want {
		t.Fatalf("Requantize(%d, %+v, z=%d, [%d,%d]) = %d, want %d", acc, m, zOut, qmin, qmax, got, want)
	}
	if got := neonRequant(acc, m, zOut, qmin, qmax); got != want {
		t.Fatalf("NEON route (%d, %+v, z=%d, [%d,%d]) = %d, want %d", acc, m, zOut, qmin, qmax, got, want)
	}
	if got := avx2Requant(acc, m, zOut, qmin, qmax); got != want {
		t.Fatalf("AVX2 route (%d, %+v, z=%d, [%d,%d]) = %d, want %d", acc, m, zOut, qmin, qmax, got, want)
	}
}

// TestRequantizeExact checks the reference and both SIMD routes against
// big-integer arithmetic, including exact ties and saturation.
func TestRequantizeExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	n := 60000
	if testing.Short() {
		n = 10000
	}
	for range n {
		m := randMultiplier(rng)
		acc := randAcc(rng)
		if rng.IntN(4) == 0 && m.Shift >= 0 && m.Shift <= 20 {
			// An exact tie: acc*2^30 / 2^(31+Shift) = (2j+1)/2.
			m.M = 1 << 30
			acc = int32(2*rng.IntN(1<<10)+1) << m.Shift
			if rng.IntN(2) == 0 {
				acc = -acc
			}
		}
		zOut := int32(rng.IntN(256) - 128)
		qmin, qmax := int32(QMin), int32(QMax)
		if rng.IntN(3) == 0 {
			qmin = zOut // fused ReLU
		}
		checkRequant(t, acc, m, zOut, qmin, qmax)
	}
}

func FuzzRequantize(f *testing.F) {
	f.Add(int32(1), int32(1<<30), int8(0), int8(0), int8(-128), int8(127))
	f.Add(int32(math.MinInt32), int32(math.MaxInt32), int8(MinShift), int8(127), int8(-128), int8(127))
	f.Add(int32(math.MaxInt32), int32(12345), int8(MaxShift), int8(-128), int8(0), int8(127))
	f.Add(int32(-3), int32(1<<30), int8(1), int8(5), int8(-100), int8(100))
	f.Fuzz(func(t *testing.T, acc, mRaw int32, shift, zOut, lo, hi int8) {
		m := Multiplier{Shift: int32(min(max(shift, MinShift), MaxShift))}
		m.M = mRaw & (1<<31 - 1)
		if m.Shift != MaxShift {
			m.M |= 1 << 30
		}
		qmin, qmax := int32(min(lo, hi)), int32(max(lo, hi))
		checkRequant(t, acc, m, int32(zOut), qmin, qmax)
	})
}

// sqrdmulh is NEON's SQRDMULH on one 32-bit lane (M >= 0: no saturation).
func sqrdmulh(a, b int32) int32 { return int32((2*int64(a)*int64(b) + 1<<31) >> 32) }

func TestGridMultiplier(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	check := func(real float64) {
		t.Helper()
		m, err := GridMultiplier(real)
		if err != nil {
			t.Fatalf("GridMultiplier(%g): %v", real, err)
		}
		if err := m.Validate(); err != nil {
			t.Fatalf("GridMultiplier(%g) = %+v: %v", real, m, err)
		}
		inRange := real >= math.Ldexp(1, GridMinBits-1-31) && real < 0.5
		if inRange {
			if !m.OnGrid() {
				t.Fatalf("GridMultiplier(%g) = %+v: not on the 2^-31 grid", real, m)
			}
			// rounded once to the nearest multiple of 2^-31
			if d := math.Abs(m.Real() - real); d > math.Ldexp(1, -32) {
				t.Fatalf("GridMultiplier(%g) = %+v is %g away, more than half a grid step", real, m, d)
			}
		} else if n, _ := NewMultiplier(real); n != m {
			t.Fatalf("GridMultiplier(%g) = %+v off the grid range, want NewMultiplier's %+v", real, m, n)
		}
		if !m.OnGrid() {
			return
		}
		mf := m.M >> m.Shift
		for range 200 {
			acc := int32(rng.Uint32())
			if rng.IntN(2) == 0 {
				acc >>= rng.IntN(31)
			}
			s := uint(31 + m.Shift)
			y := (int64(acc)*int64(m.M) + int64(1)<<(s-1)) >> s
			if got := sqrdmulh(acc, mf); int64(got) != y {
				t.Fatalf("real %g, %+v, acc %d: SQRDMULH by M>>Shift = %d, the rounding rule %d", real, m, acc, got, y)
			}
		}
	}
	for range 20000 {
		check(math.Ldexp(1+rng.Float64(), -1-rng.IntN(20)))
	}
	for _, r := range []float64{0, 0.5, 0.49999999999, math.Ldexp(1, -16), math.Ldexp(1, -16) * 0.9999, math.Ldexp(1, -31), 1.5, 1e-12} {
		check(r)
	}
}

func TestConvMultipliersOnGrid(t *testing.T) {
	dst := make([]Multiplier, 3)
	if err := ConvMultipliers(dst, 0.05, []float32{0.01, 0.002, 1e-9}, 0.07); err != nil {
		t.Fatal(err)
	}
	for c, m := range dst[:2] {
		if !m.OnGrid() {
			t.Errorf("channel %d: %+v not on the 2^-31 grid", c, m)
		}
	}
	if dst[2].OnGrid() {
		t.Errorf("channel 2 (multiplier ~7e-10): %+v put on the grid with < %d bits", dst[2], GridMinBits)
	}
}
