package mixconv

import (
	"math/rand/v2"
	"testing"
)

func BenchmarkForward(b *testing.B) {
	for _, bc := range []struct {
		name string
		h, w int
		s    Spec
	}{
		// mixnet_s blocks.5.0.conv_dw: the widest kernels of the family.
		{"mixnet_s/blocks.5.0.conv_dw/14x14x720/k3-11/s2/same", 14, 14,
			Spec{Kernels: []int{3, 5, 7, 9, 11}, Split: EqualSplit(720, 5), Stride: 2, Padding: PadSame}},
		{"mixnet_s/blocks.5.0.conv_dw/14x14x720/k3-11/s2/symmetric", 14, 14,
			Spec{Kernels: []int{3, 5, 7, 9, 11}, Split: EqualSplit(720, 5), Stride: 2, Padding: PadSymmetric}},
		// mixnet_s blocks.0.0.conv_dw: the largest plain 3x3.
		{"dw3x3/112x112x16/s1", 112, 112,
			Spec{Kernels: []int{3}, Split: []int{16}, Stride: 1, Padding: PadSymmetric}},
		// mixnet_s blocks.4.1.conv_dw: stride 1 with a 9x9 group.
		{"mixnet_s/blocks.4.1.conv_dw/14x14x360/k3-9/s1", 14, 14,
			Spec{Kernels: []int{3, 5, 7, 9}, Split: EqualSplit(360, 4), Stride: 1, Padding: PadSymmetric}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			r := rand.New(rand.NewPCG(5, 6))
			s := bc.s
			oh, ow := s.OutSize(bc.h, bc.w)
			src := randSlice(r, bc.h*bc.w*s.Channels())
			dst := make([]float32, oh*ow*s.Channels())
			bias := randSlice(r, s.Channels())
			_, weights := torchWeights(r, s)
			for b.Loop() {
				Forward(dst, src, bc.h, bc.w, s, weights, bias)
			}
			b.ReportMetric(float64(s.MACs(bc.h, bc.w))*float64(b.N)/b.Elapsed().Seconds()/1e9, "GMAC/s")
		})
	}
}
