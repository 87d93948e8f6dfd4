//go:build !purego

package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/mixedge/mixedge/quant"
)

// needAVX512BW skips the AVX-512 elementwise tests on CPUs without
// AVX-512 F/BW/VL (the vnni tier's requirement).
func needAVX512BW(tb testing.TB) {
	tb.Helper()
	if !hasVNNI() {
		tb.Skip("CPU (or OS) has no AVX-512 F/BW/VL + VNNI: the vnni tier's AVX-512 elementwise kernels are not tested here")
	}
}

func TestAVX512Lookup(t *testing.T) {
	needVBMI(t)
	rng := rand.New(rand.NewPCG(81, 82))
	// Every byte value at every position of a 64-byte step, and in the tail.
	all := make([]int8, 256*65+17)
	for i := range all {
		all[i] = int8(i)
	}
	var table [256]int8
	for i := range table {
		table[i] = int8(rng.Uint32())
	}
	got, want := make([]int8, len(all)), make([]int8, len(all))
	LookupQS8(want, all, &table)
	LookupQS8AVX512(got, all, &table)
	checkBuf(t, "LookupQS8AVX512 all bytes", got, want)
	for i := range trials(500) {
		runLookupTier(t, rng, rng.IntN(300), i%2 == 0, "LookupQS8AVX512", LookupQS8AVX512)
	}
	for n := range 130 { // every tail length, with and without whole steps
		runLookupTier(t, rng, n, n%2 == 0, "LookupQS8AVX512", LookupQS8AVX512)
	}
	for _, n := range []int{12544, 100352 + 7} {
		runLookupTier(t, rng, n, true, "LookupQS8AVX512", LookupQS8AVX512)
		runLookupTier(t, rng, n, false, "LookupQS8AVX512", LookupQS8AVX512)
	}
}

func TestAVX512Add(t *testing.T) {
	needAVX512BW(t)
	rng := rand.New(rand.NewPCG(83, 84))
	for _, k := range []struct {
		name string
		add  AddFunc
	}{{"AddQS8AVX512", AddQS8AVX512}, {"AddQS8EVEX256", AddQS8EVEX256}} {
		for n := range 100 {
			runAddTier(t, rng, n, n%3, k.name, k.add)
		}
		for i := range trials(1000) {
			runAddTier(t, rng, rng.IntN(1000), i%3, k.name, k.add)
		}
		runAddTier(t, rng, 75264, 0, k.name, k.add)
	}
}

func TestAVX512ChannelMul(t *testing.T) {
	needAVX512BW(t)
	rng := rand.New(rand.NewPCG(85, 86))
	for i := range trials(1500) {
		px, ch := 1+rng.IntN(20), 1+rng.IntN(300)
		if i%10 == 0 {
			ch = 32 * (1 + rng.IntN(12)) // whole 32-channel steps only
		}
		runChannelMulTier(t, rng, px, ch, i%2 == 0, i%3 == 0, "ChannelMulQS8AVX512", ChannelMulQS8AVX512)
	}
	for _, ch := range []int{2048, 2049, 2080, 4100} { // around the stack gate limit
		runChannelMulTier(t, rng, 3, ch, false, false, "ChannelMulQS8AVX512", ChannelMulQS8AVX512)
	}
}

// TestAVX512ChannelMulAll is TestAVX2ChannelMulAll (every (x, gate) pair,
// multipliers at the limits of the proof) for the zmm kernel.
func TestAVX512ChannelMulAll(t *testing.T) {
	needAVX512BW(t)
	channelMulAll(t, ChannelMulQS8AVX512)
}

func FuzzAVX512ChannelMul(f *testing.F) {
	f.Add(uint64(1), uint8(5), uint16(100))
	f.Fuzz(func(t *testing.T, seed uint64, px uint8, ch uint16) {
		needAVX512BW(t)
		rng := rand.New(rand.NewPCG(seed, 101))
		runChannelMulTier(t, rng, 1+int(px%40), 1+int(ch%2100), seed%2 == 0, seed%3 == 0, "ChannelMulQS8AVX512", ChannelMulQS8AVX512)
	})
}

func FuzzAVX512Lookup(f *testing.F) {
	f.Add(uint64(1), uint16(100))
	f.Fuzz(func(t *testing.T, seed uint64, n uint16) {
		needVBMI(t)
		rng := rand.New(rand.NewPCG(seed, 99))
		runLookupTier(t, rng, int(n%4096), seed%2 == 0, "LookupQS8AVX512", LookupQS8AVX512)
	})
}

func FuzzAVX512Add(f *testing.F) {
	f.Add(uint64(1), uint16(100))
	f.Fuzz(func(t *testing.T, seed uint64, n uint16) {
		needAVX512BW(t)
		rng := rand.New(rand.NewPCG(seed, 100))
		runAddTier(t, rng, int(n%4096), int(seed%3), "AddQS8AVX512", AddQS8AVX512)
		runAddTier(t, rng, int(n%4096), int(seed%3), "AddQS8EVEX256", AddQS8EVEX256)
	})
}

// BenchmarkAVX512Elementwise compares the AVX-512 elementwise kernels with
// AVX2's on MixNet-S sizes: the SiLU lookup in place (a 112x112x16 map,
// 56x56x72, 28x28x240, 14x14x480) and the residual adds (56x56x24,
// 28x28x40, 14x14x80, 7x7x200) and the squeeze-excite channel
// multiplies (28x28x240, 14x14x480, 14x14x720, 7x7x1200).
func BenchmarkAVX512Elementwise(b *testing.B) {
	needVBMI(b)
	var table [256]int8
	for i := range table {
		table[i] = int8(i*37 + 11)
	}
	for _, n := range []int{200704, 225792, 188160, 94080} {
		x := benchInt8s(n)
		for _, impl := range []struct {
			name string
			lk   LookupFunc
		}{{"avx512", LookupQS8AVX512}, {"avx2", LookupQS8AVX2}} {
			b.Run(fmt.Sprintf("lookup/%d/%s", n, impl.name), func(b *testing.B) {
				b.SetBytes(int64(n))
				for b.Loop() {
					impl.lk(x, x, &table)
				}
			})
		}
	}
	for _, sh := range [][2]int{{784, 240}, {196, 480}, {196, 720}, {49, 1200}} {
		px, ch := sh[0], sh[1]
		x, d := benchInt8s(px*ch), make([]int8, px*ch)
		gate := benchInt8s(ch)
		m := benchMults(1)[0]
		for _, impl := range []struct {
			name string
			cm   ChannelMulFunc
		}{{"avx512", ChannelMulQS8AVX512}, {"avx2", ChannelMulQS8AVX2}} {
			b.Run(fmt.Sprintf("channel_mul/%dx%d/%s", px, ch, impl.name), func(b *testing.B) {
				b.SetBytes(int64(px * ch))
				for b.Loop() {
					impl.cm(d, ch, x, ch, px, ch, gate, 3, -5, m, 2, -128, 127)
				}
			})
		}
	}
	p, err := quant.NewAdd(quant.Params{Scale: 0.05, Zero: 3}, quant.Params{Scale: 0.07, Zero: -9}, quant.Params{Scale: 0.08})
	if err != nil {
		b.Fatal(err)
	}
	for _, n := range []int{75264, 31360, 15680, 9800} {
		x, y, d := benchInt8s(n), benchInt8s(n), make([]int8, n)
		for _, impl := range []struct {
			name string
			add  AddFunc
		}{{"avx512", AddQS8AVX512}, {"evex256", AddQS8EVEX256}, {"avx2", AddQS8AVX2}} {
			b.Run(fmt.Sprintf("add/%d/%s", n, impl.name), func(b *testing.B) {
				b.SetBytes(int64(n))
				for b.Loop() {
					impl.add(d, x, y, p, -128, 127)
				}
			})
		}
	}
}
