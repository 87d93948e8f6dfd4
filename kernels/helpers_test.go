package kernels

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/mixedge/mixedge/quant"
)

// guard is the number of sentinel bytes on each side of every buffer a
// kernel writes or reads.
const guard = 67

// refRequant computes the rounding rule from its definition, independently
// of quant.Requantize's shifts: round acc*M/2^s to nearest with ties up, by
// floor division, then add zOut and clamp. (quant's tests check the rule
// itself against big integers.)
func refRequant(tb testing.TB, acc int64, m quant.Multiplier, zOut, qmin, qmax int32) int8 {
	if acc < math.MinInt32 || acc > math.MaxInt32 {
		tb.Fatalf("test bug: accumulator %d leaves int32, outside every kernel's contract", acc)
	}
	d := int64(1) << (31 + m.Shift)
	n := acc*int64(m.M) + d/2
	q := n / d
	if n%d != 0 && n < 0 {
		q-- // Go divides toward zero; the rule floors
	}
	q += int64(zOut)
	return int8(min(max(q, int64(qmin)), int64(qmax)))
}

// buf is a byte buffer with sentinel guards around its payload.
type buf struct {
	b []int8
	n int
}

func newBuf(rng *rand.Rand, n int) *buf {
	b := &buf{b: make([]int8, n+2*guard), n: n}
	for i := range b.b {
		b.b[i] = int8(rng.Uint32())
	}
	return b
}

// view returns payload[off : off+n]. Its capacity runs into the trailing
// guard, so a kernel that reslices past its length is caught.
func (b *buf) view(off, n int) []int8 { return b.b[guard+off : guard+off+n] }

func (b *buf) clone() []int8 { return slices.Clone(b.b) }

// checkBuf compares every byte, guards included, with want.
func checkBuf(tb testing.TB, what string, got, want []int8) {
	tb.Helper()
	if slices.Equal(got, want) {
		return
	}
	for i := range got {
		if got[i] != want[i] {
			where := "payload"
			if i < guard || i >= len(got)-guard {
				where = "GUARD"
			}
			tb.Fatalf("%s: byte %d (%s, payload offset %d) = %d, want %d", what, i, where, i-guard, got[i], want[i])
		}
	}
}

func randInt8s(rng *rand.Rand, n int, extreme bool) []int8 {
	v := make([]int8, n)
	for i := range v {
		if extreme {
			v[i] = []int8{-128, 127, -128, 127, 0, -1}[rng.IntN(6)]
		} else {
			v[i] = int8(rng.Uint32())
		}
	}
	return v
}

func randWeights(rng *rand.Rand, n int, extreme bool) []int8 {
	v := make([]int8, n)
	for i := range v {
		if extreme {
			v[i] = []int8{-127, 127}[rng.IntN(2)]
		} else {
			v[i] = int8(rng.IntN(255) - 127)
		}
	}
	return v
}

// randBias returns raw (unfolded) biases; large ones leave room for taps
// sums up to 2^27 so the exact accumulator stays in int32.
func randBias(rng *rand.Rand, n int, large bool) []int32 {
	v := make([]int32, n)
	for i := range v {
		if large {
			v[i] = int32(rng.Int64N(1<<31-1<<28)) * []int32{-1, 1}[rng.IntN(2)]
		} else {
			v[i] = rng.Int32N(1<<16) - 1<<15
		}
	}
	return v
}

// randMults mixes multipliers that keep outputs mostly in range with
// extreme ones (tiny, above 1) and powers of two, which make ties. A third
// of the calls round them onto the 2^-31 grid as ConvMultipliers does
// (quant.GridMultiplier: extreme ones stay off it, so blocks of channels
// mix both), a third use only typical values on the grid (whole blocks on
// it, the NEON kernels' SQRDMULH path).
func randMults(tb testing.TB, rng *rand.Rand, n int, taps int) []quant.Multiplier {
	tb.Helper()
	v := make([]quant.Multiplier, n)
	mode := rng.IntN(3)
	mk := quant.NewMultiplier
	if mode > 0 {
		mk = quant.GridMultiplier
	}
	for i := range v {
		var r float64
		kind := rng.IntN(10)
		if mode == 2 {
			kind = 2 + rng.IntN(8)
		}
		switch kind {
		case 0:
			r = math.Exp2(-40 + rng.Float64()*42) // 2^-40 .. 4
		case 1:
			r = 1 + rng.Float64()*100
		case 2: // a power of two: exact ties are frequent
			r = math.Exp2(-1 - float64(rng.IntN(8)))
		default: // about 1/(typical |acc|)
			r = math.Exp2(-rng.Float64()*4) / (64 * math.Sqrt(float64(taps)))
		}
		m, err := mk(r)
		if err != nil {
			tb.Fatal(err)
		}
		v[i] = m
	}
	return v
}

type quantOut struct{ zIn, zOut, qmin, qmax int32 }

func randQuantOut(rng *rand.Rand) quantOut {
	q := quantOut{zIn: int32(rng.IntN(256) - 128), zOut: int32(rng.IntN(256) - 128), qmin: quant.QMin, qmax: quant.QMax}
	switch rng.IntN(4) {
	case 0:
		q.qmin = q.zOut // fused ReLU
	case 1:
		a, b := int32(rng.IntN(256)-128), int32(rng.IntN(256)-128)
		q.qmin, q.qmax = min(a, b), max(a, b)
	}
	return q
}

func fold(tb testing.TB, raw []int32, w []int8, channels, inner int, zIn int32) []int32 {
	tb.Helper()
	f := make([]int32, len(raw))
	if err := quant.FoldZeroPoint(f, raw, w, channels, inner, zIn); err != nil {
		tb.Fatal(err)
	}
	return f
}

// splitRows cuts [0, n) into 1..3 random consecutive ranges, some empty.
func splitRows(rng *rand.Rand, n int) [][2]int {
	a, b := rng.IntN(n+1), rng.IntN(n+1)
	a, b = min(a, b), max(a, b)
	return [][2]int{{0, a}, {a, b}, {b, n}}
}
