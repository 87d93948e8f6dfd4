//go:build !purego

package kernels

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/mixedge/mixedge/quant"
)

func TestArmElementwise(t *testing.T) {
	forTiers(t, func(t *testing.T, tab *Table) {
		rng := rand.New(rand.NewPCG(4, uint64(len(tab.Name))))
		for channels := 1; channels <= 70; channels++ {
			runArmElementwise(t, rng, tab, 1+channels%5, channels, channels%2 == 0)
		}
		iters := 150
		if testing.Short() {
			iters = 50
		}
		for i := range iters {
			runArmElementwise(t, rng, tab, 1+rng.IntN(30), 1+rng.IntN(300), i%2 == 0)
		}
		// Pool sums over more than one int16 chunk of 256 pixels, at the
		// extremes.
		for _, v := range []int8{-128, 127} {
			const px, c = 700, 33
			src := make([]int8, px*c)
			for i := range src {
				src[i] = v
			}
			m := quant.Multiplier{M: 1 << 30, Shift: 10}
			got, want := make([]int8, c), make([]int8, c)
			GlobalAvgPoolQS8(want, src, px, c, c, -128, m, 0, -128, 127)
			tab.Pool(got, src, px, c, c, -128, m, 0, -128, 127)
			if !slices.Equal(got, want) {
				t.Fatalf("pool of %d x %d: got %v, want %v", px, v, got, want)
			}
		}
		runArmElementwise(t, rng, tab, 600, 40, false)
		runArmElementwise(t, rng, tab, 3, 2048+40+5, true) // chanMulNeon in chunks of 2048 channels
		runArmElementwise(t, rng, tab, 2, 4096+8, false)
	})
}

func FuzzArmElementwise(f *testing.F) {
	f.Add(uint64(1), uint16(3), uint16(17), true)
	f.Add(uint64(2), uint16(300), uint16(1), false)
	f.Fuzz(func(t *testing.T, seed uint64, pixels, channels uint16, inPlace bool) {
		ts := asmTiers()
		if len(ts) == 0 {
			t.Skip("no arm64 tier")
		}
		rng := rand.New(rand.NewPCG(seed, 11))
		for _, tab := range ts {
			runArmElementwise(t, rng, tab, 1+int(pixels)%600, 1+int(channels)%300, inPlace)
		}
	})
}

func TestArmElementwiseAllocs(t *testing.T) {
	forTiers(t, func(t *testing.T, tab *Table) {
		const px, c = 49, 40
		src := make([]int8, px*c)
		dst := make([]int8, px*c)
		rq := benchMults(c)
		add := quant.AddParams{MA: 1 << 14, MB: 1 << 14, Shift: 15}
		var table [256]int8
		for name, f := range map[string]func(){
			"add":         func() { tab.Add(dst, src, src, add, -128, 127) },
			"lookup":      func() { tab.Lookup(dst, dst, &table) },
			"channel_mul": func() { tab.ChannelMul(dst, c, src, c, px, c-3, src, 0, -128, rq[0], 0, -128, 127) },
			"pool":        func() { tab.Pool(dst, src, px, c, c, 4, rq[0], 0, -128, 127) },
		} {
			if a := testing.AllocsPerRun(20, f); a != 0 {
				t.Errorf("%s: %v allocs per run", name, a)
			}
		}
	})
}

func BenchmarkArmElementwise(b *testing.B) {
	const px, c = 196, 240
	src := benchInt8s(px * c)
	dst := make([]int8, px*c)
	gate := benchInt8s(c)
	m := benchMults(1)[0]
	add := quant.AddParams{MA: 1 << 14, MB: 1 << 13, Shift: 15}
	var table [256]int8
	for _, tab := range asmTiers() {
		b.Run(tab.Name+"/add", func(b *testing.B) {
			for b.Loop() {
				tab.Add(dst, src, src, add, -128, 127)
			}
			reportGMACs(b, px*c)
		})
		b.Run(tab.Name+"/lookup", func(b *testing.B) {
			for b.Loop() {
				tab.Lookup(dst, src, &table)
			}
			reportGMACs(b, px*c)
		})
		b.Run(tab.Name+"/channel_mul", func(b *testing.B) {
			for b.Loop() {
				tab.ChannelMul(dst, c, src, c, px, c, gate, 0, -128, m, 0, -128, 127)
			}
			reportGMACs(b, px*c)
		})
		b.Run(tab.Name+"/pool", func(b *testing.B) {
			for b.Loop() {
				tab.Pool(dst, src, px, c, c, 0, m, 0, -128, 127)
			}
			reportGMACs(b, px*c)
		})
	}
}

// TestArmChannelMulAll runs every (x, gate) pair of int8 (256 pixels x 256
// gate channels, plus 24 channels for the 16- and 8-channel steps and 3
// for the Go tail) through each tier's ChannelMul for every Shift, M at
// both ends of its range and random, extreme and random zero points, with
// and without a narrower clamp, against the generic kernel.
func TestArmChannelMulAll(t *testing.T) {
	forTiers(t, func(t *testing.T, tab *Table) {
		rng := rand.New(rand.NewPCG(7, uint64(len(tab.Name))))
		const px, c = 256, 256 + 24 + 3
		src := make([]int8, px*c)
		for p := range px {
			for ch := range c {
				src[p*c+ch] = int8(p - 128 + ch/256)
			}
		}
		gate := make([]int8, c)
		for ch := range gate {
			gate[ch] = int8(ch*7 + 3) // 256 distinct values in the first 256
		}
		got, want := make([]int8, px*c), make([]int8, px*c)
		zs := []int32{-128, 127, 0}
		shifts := []int32{}
		for s := int32(quant.MinShift); s <= quant.MaxShift; s++ {
			if !testing.Short() || s <= 18 && s >= -2 || s%7 == 0 {
				shifts = append(shifts, s)
			}
		}
		for _, s := range shifts {
			for i, mv := range []int32{1 << 30, 1<<31 - 1, 1<<30 + rng.Int32N(1<<30)} {
				m := quant.Multiplier{M: mv, Shift: s}
				zX, zG, zOut := zs[i], zs[(i+1)%3], zs[(i+2)%3]
				if rng.IntN(2) == 0 {
					zX, zG, zOut = int32(rng.IntN(256)-128), int32(rng.IntN(256)-128), int32(rng.IntN(256)-128)
				}
				qmin, qmax := int32(quant.QMin), int32(quant.QMax)
				if i == 2 {
					qmin, qmax = zOut, quant.QMax
				} else if rng.IntN(3) == 0 {
					a, b := int32(rng.IntN(256)-128), int32(rng.IntN(256)-128)
					qmin, qmax = min(a, b), max(a, b)
				}
				ChannelMulQS8(want, c, src, c, px, c, gate, zX, zG, m, zOut, qmin, qmax)
				tab.ChannelMul(got, c, src, c, px, c, gate, zX, zG, m, zOut, qmin, qmax)
				if !slices.Equal(got, want) {
					for j := range got {
						if got[j] != want[j] {
							t.Fatalf("m %+v zX %d zG %d zOut %d [%d, %d]: x %d gate %d (channel %d): got %d, want %d",
								m, zX, zG, zOut, qmin, qmax, src[j], gate[j%c], j%c, got[j], want[j])
						}
					}
				}
			}
		}
	})
}

// TestArmPoolWide sums 64-channel blocks over several int16 chunks at the
// extremes (and the overlapping 16-channel tail).
func TestArmPoolWide(t *testing.T) {
	forTiers(t, func(t *testing.T, tab *Table) {
		for _, v := range []int8{-128, 127} {
			for _, c := range []int{64, 200, 1536} {
				px := 700
				if c > 200 {
					px = 49
				}
				src := make([]int8, px*c)
				for i := range src {
					src[i] = v
				}
				m := quant.Multiplier{M: 1 << 30, Shift: 10}
				got, want := make([]int8, c), make([]int8, c)
				GlobalAvgPoolQS8(want, src, px, c, c, -128, m, 0, -128, 127)
				tab.Pool(got, src, px, c, c, -128, m, 0, -128, 127)
				if !slices.Equal(got, want) {
					t.Fatalf("pool of %d x %d x %d: got %v, want %v", px, c, v, got, want)
				}
			}
		}
	})
}

// TestArmAddAll runs every (a, b) pair of int8 (65536 elements, then 40
// more for the 16-element step and the Go tail) through each tier's Add for
// every Shift, multipliers at the ends of [0, 32767] and random, extreme
// and random zero points, with and without a narrower clamp.
func TestArmAddAll(t *testing.T) {
	forTiers(t, func(t *testing.T, tab *Table) {
		rng := rand.New(rand.NewPCG(8, uint64(len(tab.Name))))
		const n = 65536 + 40
		a, b := make([]int8, n), make([]int8, n)
		for i := range n {
			a[i], b[i] = int8(i), int8(i>>8)
		}
		got, want := make([]int8, n), make([]int8, n)
		zs := []int32{-128, 127, 0}
		for s := int32(1); s <= 31; s++ {
			if testing.Short() && (s < 8 || s > 17) && s%5 != 0 {
				continue
			}
			for i, mm := range [][2]int32{{1<<15 - 1, 1<<15 - 1}, {1 << 14, 0}, {rng.Int32N(1 << 15), rng.Int32N(1 << 15)}} {
				p := quant.AddParams{ZA: zs[i], ZB: zs[(i+1)%3], MA: mm[0], MB: mm[1], Shift: s, ZOut: zs[(i+2)%3]}
				if rng.IntN(2) == 0 {
					p.ZA, p.ZB, p.ZOut = int32(rng.IntN(256)-128), int32(rng.IntN(256)-128), int32(rng.IntN(256)-128)
				}
				qmin, qmax := int32(quant.QMin), int32(quant.QMax)
				if i == 2 {
					qmin = p.ZOut
				} else if rng.IntN(3) == 0 {
					x, y := int32(rng.IntN(256)-128), int32(rng.IntN(256)-128)
					qmin, qmax = min(x, y), max(x, y)
				}
				AddQS8(want, a, b, p, qmin, qmax)
				tab.Add(got, a, b, p, qmin, qmax)
				if !slices.Equal(got, want) {
					for j := range got {
						if got[j] != want[j] {
							t.Fatalf("%+v [%d, %d]: a %d b %d: got %d, want %d", p, qmin, qmax, a[j], b[j], got[j], want[j])
						}
					}
				}
			}
		}
	})
}
