package mixconv

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/mixedge/mixedge/kernels"
	"github.com/mixedge/mixedge/quant"
)

// naiveQS8 is the int8 MixConv written out: per channel, the sum over real
// taps of (x - zIn)·w plus the raw bias, requantized.
func naiveQS8(src []int8, h, w int, s Spec, wts [][]int8, rawBias []int32, m []quant.Multiplier, zIn, zOut, qmin, qmax int32) []int8 {
	c := s.Channels()
	oh, ow := s.OutSize(h, w)
	dst := make([]int8, oh*ow*c)
	off := 0
	for g, k := range s.Kernels {
		top, _, left, _ := s.Pads(g, h, w)
		for ch := 0; ch < s.Split[g]; ch++ {
			cc := off + ch
			for oy := 0; oy < oh; oy++ {
				for ox := 0; ox < ow; ox++ {
					acc := int64(rawBias[cc])
					for ky := 0; ky < k; ky++ {
						for kx := 0; kx < k; kx++ {
							iy, ix := oy*s.Stride-top+ky, ox*s.Stride-left+kx
							if iy < 0 || iy >= h || ix < 0 || ix >= w {
								continue
							}
							acc += int64(int32(src[(iy*w+ix)*c+cc])-zIn) * int64(wts[g][(ky*k+kx)*s.Split[g]+ch])
						}
					}
					dst[(oy*ow+ox)*c+cc] = quant.Requantize(int32(acc), m[cc], zOut, qmin, qmax)
				}
			}
		}
		off += s.Split[g]
	}
	return dst
}

func TestQS8MatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for n := 0; n < 150; n++ {
		groups := 1 + rng.IntN(5)
		s := Spec{Stride: 1 + rng.IntN(2), Padding: Padding(rng.IntN(2))}
		for g := 0; g < groups; g++ {
			s.Kernels = append(s.Kernels, 3+2*g)
			s.Split = append(s.Split, 1+rng.IntN(20))
		}
		h, w := 1+rng.IntN(16), 1+rng.IntN(16)
		c := s.Channels()
		src := make([]int8, h*w*c)
		for i := range src {
			src[i] = int8(rng.IntN(256) - 128)
		}
		var flat []int8
		wts := make([][]int8, groups)
		for g, k := range s.Kernels {
			wts[g] = make([]int8, k*k*s.Split[g])
			for i := range wts[g] {
				wts[g][i] = int8(rng.IntN(255) - 127)
			}
			flat = append(flat, wts[g]...)
		}
		raw := make([]int32, c)
		m := make([]quant.Multiplier, c)
		for i := range raw {
			raw[i] = int32(rng.IntN(20001) - 10000)
			m[i], _ = quant.NewMultiplier(0.0005 + rng.Float64()*0.01)
		}
		zIn, zOut := int32(rng.IntN(256)-128), int32(rng.IntN(256)-128)
		// Fold the zero point per group, as the quantizer does.
		bias := make([]int32, c)
		off := 0
		for g := range s.Kernels {
			if err := quant.FoldZeroPoint(bias[off:off+s.Split[g]], raw[off:off+s.Split[g]], wts[g], s.Split[g], 1, zIn); err != nil {
				t.Fatal(err)
			}
			off += s.Split[g]
		}
		q, err := NewQS8(s, h, w, flat, bias, m)
		if err != nil {
			t.Fatal(err)
		}
		oh, ow := s.OutSize(h, w)
		want := naiveQS8(src, h, w, s, wts, raw, m, zIn, zOut, -128, 127)
		for _, k := range kernels.Tiers() {
			// plain weights (every DWConv takes them), then the tier's PackDW form
			packed := *q
			packed.W = slices.Clone(q.W)
			packed.Pack(k.PackDW)
			for _, qk := range []*QS8{q, &packed} {
				got := make([]int8, oh*ow*c)
				qk.Forward(k.DWConv, got, src, zIn, zOut, -128, 127, 0, oh)
				for i := range want {
					if got[i] != want[i] {
						t.Fatalf("%s case %d (%v, %dx%d): element %d is %d, want %d", k.Name, n, s, h, w, i, got[i], want[i])
					}
				}
			}
		}
	}
	if _, err := NewQS8(Spec{Kernels: []int{3}, Split: []int{4}, Stride: 1}, 4, 4, make([]int8, 35), make([]int32, 4), make([]quant.Multiplier, 4)); err == nil {
		t.Error("35 weights for a 3x3x4 group accepted")
	}
}

// TestQS8Halves runs the two channel halves of MixConvs whose groups have
// 32..80 channels (both halves on every tier, packed by its PackDW) and
// expects the whole op's output, every channel written once.
func TestQS8Halves(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for n := 0; n < 40; n++ {
		groups := 1 + rng.IntN(4)
		s := Spec{Stride: 1 + rng.IntN(2), Padding: Padding(rng.IntN(2))}
		for g := 0; g < groups; g++ {
			s.Kernels = append(s.Kernels, 3+2*g)
			s.Split = append(s.Split, HalfMinC+rng.IntN(49))
		}
		h, w := 1+rng.IntN(15), 1+rng.IntN(15)
		c := s.Channels()
		src := make([]int8, h*w*c)
		for i := range src {
			src[i] = int8(rng.IntN(256) - 128)
		}
		var flat []int8
		for g, k := range s.Kernels {
			for range k * k * s.Split[g] {
				flat = append(flat, int8(rng.IntN(255)-127))
			}
		}
		bias := make([]int32, c)
		m := make([]quant.Multiplier, c)
		for i := range bias {
			bias[i] = int32(rng.IntN(20001) - 10000)
			m[i], _ = quant.NewMultiplier(0.0005 + rng.Float64()*0.01)
		}
		zIn, zOut := int32(rng.IntN(256)-128), int32(rng.IntN(256)-128)
		q, err := NewQS8(s, h, w, flat, bias, m)
		if err != nil {
			t.Fatal(err)
		}
		halves, ok := q.Halves()
		if !ok {
			t.Fatalf("case %d: groups %v refused", n, s.Split)
		}
		oh, ow := s.OutSize(h, w)
		want := make([]int8, oh*ow*c)
		q.Forward(kernels.Generic.DWConv, want, src, zIn, zOut, -100, 120, 0, oh)
		for _, k := range kernels.Tiers() {
			got := make([]int8, oh*ow*c)
			for i := range got {
				got[i] = 0x55
			}
			for _, hq := range halves {
				p := *hq
				p.W = slices.Clone(hq.W)
				p.Pack(k.PackDW)
				p.Forward(k.DWConv, got, src, zIn, zOut, -100, 120, 0, oh)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("%s case %d (%v, %dx%d): halves differ from the whole op", k.Name, n, s, h, w)
			}
		}
	}
	q, err := NewQS8(Spec{Kernels: []int{3, 5}, Split: []int{40, 16}, Stride: 1}, 4, 4, make([]int8, 9*40+25*16), make([]int32, 56), make([]quant.Multiplier, 56))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := q.Halves(); ok {
		t.Error("a 16-channel group was split")
	}
}
