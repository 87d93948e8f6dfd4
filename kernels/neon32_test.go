//go:build arm && !purego

package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/mixedge/mixedge/quant"
)

// The 32-bit ARM neon tier against the generic kernels (run under
// qemu-arm -cpu cortex-a15; see the Makefile's test-arm32).

func neon32(t testing.TB) *Table {
	if _, err := Select("neon"); err != nil {
		t.Skip("no NEON on this CPU (AT_HWCAP): the neon tier is not available")
	}
	return Neon
}

type n32GEMMCase struct {
	pixels, k, n     int
	inOff, inExtra   int
	outOff, outExtra int
	extreme, tight   bool
	largeBias        bool
	multKind         int // 0 random, 1 Shift <= 0, 2 Shift = 31
}

func (c n32GEMMCase) String() string {
	return fmt.Sprintf("%dpx k=%d n=%d in[%d+%d] out[%d+%d] ext=%v tight=%v big=%v mult=%d",
		c.pixels, c.k, c.n, c.inOff, c.inExtra, c.outOff, c.outExtra, c.extreme, c.tight, c.largeBias, c.multKind)
}

func n32Mults(tb testing.TB, rng *rand.Rand, n, k, kind int) []quant.Multiplier {
	rq := randMults(tb, rng, n, k)
	for i := range rq {
		switch kind {
		case 1: // Shift <= 0: real multiplier >= 1/2
			m, err := quant.NewMultiplier(0.5 + rng.Float64()*float64(int(1)<<rng.IntN(29)))
			if err != nil {
				tb.Fatal(err)
			}
			rq[i] = m
		case 2:
			rq[i] = quant.Multiplier{M: int32(rng.Int64N(1 << 31)), Shift: 31}
		}
	}
	return rq
}

// runN32GEMM checks GEMM and GEMMF32 of tab against the generic kernels,
// with guard bands around dst and src.
func runN32GEMM(tb testing.TB, rng *rand.Rand, tab *Table, c n32GEMMCase) {
	tb.Helper()
	srcStride := c.inOff + c.k + c.inExtra
	dstStride := c.outOff + c.n + c.outExtra
	src := newBuf(rng, c.pixels*srcStride)
	if c.extreme {
		copy(src.b, randInt8s(rng, len(src.b), true))
	}
	w := randWeights(rng, c.n*c.k, c.extreme)
	q := randQuantOut(rng)
	rq := n32Mults(tb, rng, c.n, c.k, c.multKind)
	bias := fold(tb, randBias(rng, c.n, c.largeBias), w, c.n, c.k, q.zIn)
	srcBefore := src.clone()
	srcLen := span(c.pixels, srcStride, c.k)
	srcView := src.view(c.inOff, srcLen)
	if c.tight {
		srcView = srcView[:srcLen:srcLen]
	}
	packed := tab.PackGEMM(w, c.k, c.n)
	got := newBuf(rng, c.pixels*dstStride)
	want := slices.Clone(got.b)
	GEMMQS8(want[guard+c.outOff:], dstStride, srcView, srcStride, c.pixels, c.k, c.n, w, bias, rq, q.zOut, q.qmin, q.qmax)
	tab.GEMM(got.view(c.outOff, span(c.pixels, dstStride, c.n)), dstStride, srcView, srcStride, c.pixels, c.k, c.n,
		packed, bias, rq, q.zOut, q.qmin, q.qmax)
	checkBuf(tb, tab.Name+" "+c.String()+": dst", got.b, want)
	checkBuf(tb, tab.Name+" "+c.String()+": src", src.b, srcBefore)

	scale := make([]float32, c.n)
	for i := range scale {
		scale[i] = float32(math.Exp2(-30*rng.Float64())) * []float32{1, -1}[rng.IntN(2)]
	}
	fWant := make([]float32, c.pixels*c.n+2*guard)
	fGot := make([]float32, len(fWant))
	for i := range fWant {
		fWant[i] = float32(i) + 0.5
		fGot[i] = fWant[i]
	}
	GEMMQS8F32(fWant[guard:], srcView, srcStride, c.pixels, c.k, c.n, w, bias, scale)
	tab.GEMMF32(fGot[guard:guard+c.pixels*c.n], srcView, srcStride, c.pixels, c.k, c.n, packed, bias, scale)
	for i := range fWant {
		if math.Float32bits(fGot[i]) != math.Float32bits(fWant[i]) {
			tb.Fatalf("%s %s: f32 dst[%d] (payload %d) = %g, want %g", tab.Name, c, i, i-guard, fGot[i], fWant[i])
		}
	}
}

func TestNeon32GEMM(t *testing.T) {
	tab := neon32(t)
	rng := rand.New(rand.NewPCG(1, 32))
	for k := 1; k <= 40; k++ { // every small shape (kpad 8, 16, 24 …, both kernels, narrow blocks)
		for n := 1; n <= 17; n += 1 + k%3 {
			runN32GEMM(t, rng, tab, n32GEMMCase{pixels: 1 + (k+n)%6, k: k, n: n, tight: k%2 == 0,
				multKind: n % 3, extreme: k%5 == 0})
		}
	}
	iters := 300
	if testing.Short() {
		iters = 100
	}
	for range iters {
		c := n32GEMMCase{pixels: 1 + rng.IntN(13), k: 1 + rng.IntN(300), n: 1 + rng.IntN(70),
			extreme: rng.IntN(4) == 0, largeBias: rng.IntN(5) == 0, tight: rng.IntN(3) == 0, multKind: rng.IntN(4) % 3}
		if rng.IntN(2) == 0 {
			c.inOff, c.inExtra, c.outOff, c.outExtra = rng.IntN(4), rng.IntN(40), rng.IntN(4), rng.IntN(9)
		}
		runN32GEMM(t, rng, tab, c)
	}
	// a narrow last block over more rows than one stack chunk; long rows
	// whose padded read would leave src (the scalar path, the stack row)
	runN32GEMM(t, rng, tab, n32GEMMCase{pixels: 2*n32TailRows + 3, k: 21, n: 7})
	runN32GEMM(t, rng, tab, n32GEMMCase{pixels: 2, k: n32RowMax + 3, n: 9, tight: true})
	runN32GEMM(t, rng, tab, n32GEMMCase{pixels: 5, k: 1536, n: 13, tight: true, extreme: true})
}

func TestNeon32PackGEMM(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	for range 50 {
		k, n := 1+rng.IntN(70), 1+rng.IntN(30)
		w := randWeights(rng, n*k, false)
		p := packGEMMNeon32(w, k, n)
		nz := 0
		for _, v := range p {
			if v != 0 {
				nz++
			}
		}
		for co := range n {
			for ci := range k {
				if got := p[n32Index(co, ci, n32Kpad(k))]; got != w[co*k+ci] {
					t.Fatalf("k=%d n=%d: w[%d][%d] = %d packed as %d", k, n, co, ci, w[co*k+ci], got)
				}
				if w[co*k+ci] != 0 {
					nz--
				}
			}
		}
		if nz != 0 {
			t.Fatalf("k=%d n=%d: %d non-zero padding bytes", k, n, nz)
		}
	}
}

func FuzzNeon32GEMM(f *testing.F) {
	f.Add(uint64(1), uint8(3), uint16(17), uint8(5))
	f.Add(uint64(7), uint8(1), uint16(1), uint8(1))
	f.Fuzz(func(t *testing.T, seed uint64, pixels uint8, k uint16, n uint8) {
		tab := neon32(t)
		rng := rand.New(rand.NewPCG(seed, 9))
		c := n32GEMMCase{pixels: 1 + int(pixels)%20, k: 1 + int(k)%700, n: 1 + int(n)%80,
			tight: rng.IntN(2) == 0, extreme: rng.IntN(3) == 0, multKind: rng.IntN(3)}
		runN32GEMM(t, rng, tab, c)
	})
}

func TestNeon32Allocs(t *testing.T) {
	tab := neon32(t)
	const px, k, n = 30, 67, 45
	src := make([]int8, px*k)
	dst := make([]int8, px*n)
	w := tab.PackGEMM(make([]int8, n*k), k, n)
	bias := make([]int32, n)
	rq := make([]quant.Multiplier, n)
	scale := make([]float32, n)
	logits := make([]float32, px*n)
	tight := src[: px*k : px*k]
	for name, f := range map[string]func(){
		"gemm":     func() { tab.GEMM(dst, n, tight, k, px, k, n, w, bias, rq, 0, -128, 127) },
		"gemm_f32": func() { tab.GEMMF32(logits, tight, k, px, k, n, w, bias, scale) },
	} {
		if a := testing.AllocsPerRun(20, f); a != 0 {
			t.Errorf("%s: %v allocs per run", name, a)
		}
	}
}
