//go:build !purego

package kernels

import (
	"fmt"
	"testing"
)

// mixnetPW lists MixNet-S's pointwise layers (spec §4.2, one entry per
// distinct shape) as the model runs them: one GEMM call per group, reading
// and writing channel slices of the full tensors.
var mixnetPW = []struct {
	name             string
	hw, groups, k, n int
}{
	{"b0.0.pw", 112, 1, 16, 16},
	{"b1.0.pw", 112, 2, 8, 48},
	{"b1.0.pwl", 56, 2, 48, 12},
	{"b1.1.pw", 56, 2, 12, 36},
	{"b1.1.pwl", 56, 2, 36, 12},
	{"b2.0.pw", 56, 1, 24, 144},
	{"b2.0.pwl", 28, 1, 144, 40},
	{"b2.x.pw", 28, 2, 20, 120},
	{"b2.x.pwl", 28, 2, 120, 20},
	{"b3.0.pw", 28, 1, 40, 240},
	{"b3.x.pw", 14, 1, 80, 480},
	{"b3.x.pwl", 14, 2, 240, 40},
	{"b4.0.pw", 14, 2, 40, 240},
	{"b4.x.pw", 14, 2, 60, 180},
	{"b4.x.pwl", 14, 2, 180, 60},
	{"b5.0.pw", 14, 1, 120, 720},
	{"b5.x.pw", 7, 1, 200, 1200},
	{"b5.x.pwl", 7, 2, 600, 100},
	{"head", 7, 1, 200, 1536},
}

// BenchmarkAVX2GEMMMixNet times each MixNet-S pointwise shape in AVX2 and
// in the generic twin (GMAC/s side by side).
func BenchmarkAVX2GEMMMixNet(b *testing.B) {
	for _, l := range mixnetPW {
		px, ck, cn := l.hw*l.hw, l.groups*l.k, l.groups*l.n
		src, dst := benchInt8s(px*ck), make([]int8, px*cn)
		w := benchInt8s(cn * l.k)
		bias, rq := make([]int32, cn), benchMults(cn)
		packed := make([][]int8, l.groups)
		for g := range packed {
			packed[g] = PackGEMMAVX2(w[g*l.n*l.k:][:l.n*l.k], l.k, l.n)
		}
		name := fmt.Sprintf("%s_%dx%d_g%d_%dto%d", l.name, l.hw, l.hw, l.groups, l.k, l.n)
		b.Run(name+"/avx2", func(b *testing.B) {
			for b.Loop() {
				for g := range l.groups {
					GEMMQS8AVX2(dst[g*l.n:], cn, src[g*l.k:], ck, px, l.k, l.n, packed[g],
						bias[g*l.n:][:l.n], rq[g*l.n:][:l.n], 3, -128, 127)
				}
			}
			reportGMACs(b, px*ck*l.n)
		})
		b.Run(name+"/generic", func(b *testing.B) {
			for b.Loop() {
				for g := range l.groups {
					GEMMQS8(dst[g*l.n:], cn, src[g*l.k:], ck, px, l.k, l.n, w[g*l.n*l.k:],
						bias[g*l.n:][:l.n], rq[g*l.n:][:l.n], 3, -128, 127)
				}
			}
			reportGMACs(b, px*ck*l.n)
		})
	}
}
