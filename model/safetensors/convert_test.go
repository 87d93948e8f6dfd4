package safetensors

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"
)

// f16Ref is binary16 decoded from the IEEE 754 definition in float64.
func f16Ref(h uint16) float64 {
	sign := 1.0
	if h&0x8000 != 0 {
		sign = -1
	}
	exp := int(h>>10) & 0x1f
	mant := float64(h & 0x3ff)
	switch exp {
	case 0x1f:
		if mant == 0 {
			return math.Inf(int(sign))
		}
		return math.NaN()
	case 0:
		return sign * math.Ldexp(mant, -24)
	}
	return sign * math.Ldexp(1+mant/1024, exp-15)
}

func TestF16ToF32Exhaustive(t *testing.T) {
	for i := 0; i < 1<<16; i++ {
		h := uint16(i)
		got := F16ToF32(h)
		want := f16Ref(h)
		if math.IsNaN(want) {
			// NaN: sign and payload must carry over bit for bit.
			wantBits := uint32(h&0x8000)<<16 | 0x7f800000 | uint32(h&0x3ff)<<13
			if math.Float32bits(got) != wantBits {
				t.Fatalf("F16ToF32(%#04x) = %#08x, want NaN %#08x", h, math.Float32bits(got), wantBits)
			}
			continue
		}
		if float64(got) != want || math.Signbit(float64(got)) != math.Signbit(want) {
			t.Fatalf("F16ToF32(%#04x) = %g, want %g", h, got, want)
		}
	}
}

func TestBF16ToF32Exhaustive(t *testing.T) {
	for i := 0; i < 1<<16; i++ {
		h := uint16(i)
		if got := math.Float32bits(BF16ToF32(h)); got != uint32(h)<<16 {
			t.Fatalf("BF16ToF32(%#04x) bits = %#08x, want %#08x", h, got, uint32(h)<<16)
		}
	}
}

func TestF16RoundTripExhaustive(t *testing.T) {
	for i := 0; i < 1<<16; i++ {
		h := uint16(i)
		if got := F32ToF16(F16ToF32(h)); got != h {
			t.Fatalf("F32ToF16(F16ToF32(%#04x)) = %#04x", h, got)
		}
		if got := F32ToBF16(BF16ToF32(h)); got != h {
			t.Fatalf("F32ToBF16(BF16ToF32(%#04x)) = %#04x", h, got)
		}
	}
}

func TestF32ToF16Specials(t *testing.T) {
	cases := []struct {
		in   float32
		want uint16
	}{
		{0, 0x0000},
		{float32(math.Copysign(0, -1)), 0x8000},
		{1, 0x3c00},
		{-2, 0xc000},
		{1.0 / 3, 0x3555},
		{65504, 0x7bff},                          // max finite
		{65519.996, 0x7bff},                      // just below the tie with "65536"
		{65520, 0x7c00},                          // tie: 0x7bff is odd, so up to infinity
		{1e10, 0x7c00},                           // overflow
		{float32(math.Inf(-1)), 0xfc00},          // -inf
		{float32(math.Ldexp(1, -14)), 0x0400},    // min normal
		{float32(math.Ldexp(1, -24)), 0x0001},    // min subnormal
		{float32(math.Ldexp(1, -25)), 0x0000},    // tie between 0 and min subnormal: even is 0
		{float32(math.Ldexp(1.5, -25)), 0x0001},  // above the tie
		{float32(math.Ldexp(3, -25)), 0x0002},    // tie between 1 and 2 ulp: even is 2
		{float32(math.Ldexp(1, -26)), 0x0000},    // far below
		{float32(math.Ldexp(1023, -24)), 0x03ff}, // max subnormal
		{float32(math.Ldexp(2047, -25)), 0x0400}, // tie between max subnormal and min normal: even
	}
	for _, c := range cases {
		if got := F32ToF16(c.in); got != c.want {
			t.Errorf("F32ToF16(%g) = %#04x, want %#04x", c.in, got, c.want)
		}
	}
	// NaNs stay NaNs even when only dropped payload bits are set.
	for _, bits := range []uint32{0x7f800001, 0xff800001, 0x7fc00000, 0x7fffffff} {
		h := F32ToF16(math.Float32frombits(bits))
		if h&0x7c00 != 0x7c00 || h&0x3ff == 0 || h>>15 != uint16(bits>>31) {
			t.Errorf("F32ToF16(NaN %#08x) = %#04x, not a NaN of the same sign", bits, h)
		}
		b := F32ToBF16(math.Float32frombits(bits))
		if b&0x7f80 != 0x7f80 || b&0x7f == 0 || b>>15 != uint16(bits>>31) {
			t.Errorf("F32ToBF16(NaN %#08x) = %#04x, not a NaN of the same sign", bits, b)
		}
	}
}

// f16Sorted lists the non-negative finite binary16 values plus infinity,
// which rounding treats as the value after 65504 (65536).
func f16Sorted() (vals []float64, codes []uint16) {
	for h := uint16(0); h <= 0x7bff; h++ {
		vals = append(vals, f16Ref(h))
		codes = append(codes, h)
	}
	return append(vals, 65536), append(codes, 0x7c00)
}

// f16Nearest rounds a finite x by searching the sorted table: nearest,
// ties to the even code.
func f16Nearest(x float32, vals []float64, codes []uint16) uint16 {
	a := math.Abs(float64(x))
	sign := uint16(0)
	if math.Signbit(float64(x)) {
		sign = 0x8000
	}
	i := sort.SearchFloat64s(vals, a) // vals[i] >= a
	if i == len(vals) {
		return sign | 0x7c00
	}
	if vals[i] == a || i == 0 {
		return sign | codes[i]
	}
	lo, hi := a-vals[i-1], vals[i]-a // exact in float64
	switch {
	case lo < hi:
		return sign | codes[i-1]
	case hi < lo:
		return sign | codes[i]
	case codes[i-1]&1 == 0:
		return sign | codes[i-1]
	}
	return sign | codes[i]
}

func TestF32ToF16AgainstTable(t *testing.T) {
	vals, codes := f16Sorted()
	check := func(x float32) {
		t.Helper()
		if got, want := F32ToF16(x), f16Nearest(x, vals, codes); got != want {
			t.Fatalf("F32ToF16(%g = %#08x) = %#04x, want %#04x", x, math.Float32bits(x), got, want)
		}
	}
	// Every midpoint between neighbours, and the float32s either side of
	// it: the cases where rounding can go wrong.
	for i := 1; i < len(vals); i++ {
		mid := float32((vals[i-1] + vals[i]) / 2) // exact: 12 significant bits
		for _, x := range []float32{mid, math.Nextafter32(mid, 0), math.Nextafter32(mid, float32(math.Inf(1))), float32(vals[i-1])} {
			check(x)
			check(-x)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 1_000_000 {
		x := math.Float32frombits(rng.Uint32())
		if x != x {
			continue
		}
		check(x)
	}
}

func TestF32ToBF16AgainstReference(t *testing.T) {
	check := func(x float32) {
		t.Helper()
		b := math.Float32bits(x)
		if math.IsInf(float64(x), 0) {
			if got := F32ToBF16(x); got != uint16(b>>16) {
				t.Fatalf("F32ToBF16(%g) = %#04x", x, got)
			}
			return
		}
		lo := uint16(b >> 16) // truncation: towards zero
		hi := lo + 1          // next code away from zero (may be infinity)
		dlo := math.Abs(float64(x) - float64(BF16ToF32(lo)))
		hiVal := float64(BF16ToF32(hi))
		if math.IsInf(hiVal, 0) {
			hiVal = math.Copysign(math.Ldexp(1, 128), hiVal) // IEEE rounding treats overflow as the next binade
		}
		dhi := math.Abs(hiVal - float64(x))
		want := lo
		if dhi < dlo || dhi == dlo && lo&1 == 1 {
			want = hi
		}
		if got := F32ToBF16(x); got != want {
			t.Fatalf("F32ToBF16(%g = %#08x) = %#04x, want %#04x", x, b, got, want)
		}
	}
	for _, x := range []float32{0, 1, -1, math.MaxFloat32, -math.MaxFloat32, 1.0 / 3, math.SmallestNonzeroFloat32} {
		check(x)
	}
	for h := 0; h < 0x7f80; h++ { // ties and neighbours around every finite code
		mid := math.Float32frombits(uint32(h)<<16 | 0x8000)
		for _, x := range []float32{mid, math.Nextafter32(mid, 0), math.Nextafter32(mid, float32(math.Inf(1)))} {
			check(x)
			check(-x)
		}
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 1_000_000 {
		x := math.Float32frombits(rng.Uint32())
		if x != x {
			continue
		}
		check(x)
	}
}
