//go:build !purego

package kernels

import (
	"math/rand/v2"
	"testing"

	"github.com/mixedge/mixedge/quant"
)

// runRequantAVX2 checks requantizeAVX2 against quant.Requantize, guard
// bands included, and that its inputs stay unchanged.
func runRequantAVX2(tb testing.TB, rng *rand.Rand, n, step int, edge bool) {
	tb.Helper()
	acc := make([]int32, n)
	for i := range acc {
		switch rng.IntN(6) {
		case 0:
			acc[i] = int32(rng.Uint32()) // any int32
		case 1:
			acc[i] = []int32{-1 << 31, 1<<31 - 1, 0, -1, 1}[rng.IntN(5)]
		default:
			acc[i] = rng.Int32N(1<<17) - 1<<16
		}
	}
	nm := max(n, 8)
	if step == 0 {
		nm = 8
	}
	rq := randMults(tb, rng, nm, 1+rng.IntN(1000))
	if edge {
		edgeMults(rng, rq)
	}
	bias := make([]int32, nm)
	for i := range bias {
		bias[i] = rng.Int32N(1<<20) - 1<<19
	}
	if step == 0 {
		for i := range rq {
			rq[i], bias[i] = rq[0], bias[0]
		}
	}
	q := randQuantOut(rng)
	accB, rqB, biasB := append([]int32(nil), acc...), append([]quant.Multiplier(nil), rq...), append([]int32(nil), bias...)
	dst := newBuf(rng, n)
	want := dst.clone()
	for i := range n {
		want[guard+i] = quant.Requantize(acc[i]+bias[i*step], rq[i*step], q.zOut, q.qmin, q.qmax)
	}
	requantizeAVX2(dst.view(0, n), acc, bias, rq, step, q.zOut, q.qmin, q.qmax)
	checkBuf(tb, "requantizeAVX2 dst", dst.b, want)
	for i := range acc {
		if acc[i] != accB[i] {
			tb.Fatal("requantizeAVX2 changed acc")
		}
	}
	for i := range rq {
		if rq[i] != rqB[i] || bias[i] != biasB[i] {
			tb.Fatal("requantizeAVX2 changed rq or bias")
		}
	}
}

func TestAVX2Requantize(t *testing.T) {
	rng := rand.New(rand.NewPCG(69, 70))
	for i := range trials(3000) {
		runRequantAVX2(t, rng, rng.IntN(300), i%2, i%3 == 0)
	}
	// Every Shift with the extreme zero points and accumulators.
	for sh := int32(quant.MinShift); sh <= quant.MaxShift; sh++ {
		for _, z := range []int32{-128, 127} {
			for _, mm := range []int32{1 << 30, 1<<31 - 1} {
				acc := []int32{-1 << 31, 1<<31 - 1, 0, -1, 1, 1 << 20, -1 << 20, 12345, -(1 << 30), 1 << 30, 7, -7, 99, -99, 1 << 25, -1 << 25}
				rq := []quant.Multiplier{{M: mm, Shift: sh}}
				if sh == quant.MaxShift {
					rq[0].M = mm >> 1
				}
				rq = append(rq, rq[0], rq[0], rq[0], rq[0], rq[0], rq[0], rq[0])
				bias := make([]int32, 8)
				got := make([]int8, len(acc))
				requantizeAVX2(got, acc, bias, rq, 0, z, quant.QMin, quant.QMax)
				for i, a := range acc {
					if w := quant.Requantize(a, rq[0], z, quant.QMin, quant.QMax); got[i] != w {
						t.Fatalf("Shift %d M %d zOut %d acc %d: got %d, want %d", sh, rq[0].M, z, a, got[i], w)
					}
				}
			}
		}
	}
}

func FuzzAVX2Requantize(f *testing.F) {
	f.Add(uint64(1), uint16(37), uint8(0))
	f.Fuzz(func(t *testing.T, seed uint64, n uint16, mode uint8) {
		rng := rand.New(rand.NewPCG(seed, 71))
		runRequantAVX2(t, rng, int(n%600), int(mode&1), mode&2 != 0)
	})
}
