//go:build !purego

package camera

import (
	"github.com/klauspost/cpuid/v2"
	"github.com/mixedge/mixedge/kernels"
)

//go:noescape
func hRowNeon(dst, src *uint8, offs *int32, coef *int16, blocks, groups int)

//go:noescape
func hRowWinNeon(dst, src *uint8, offs *int32, coef *uint8, blocks, steps int)

//go:noescape
func vRowNeon(dst, src *uint8, stride, width int, coef *uint32, pairs int)

//go:noescape
func yuvRowNeon(dst *uint8, cs int, y, u, v *uint8, blocks int, k *yuvSIMD)

//go:noescape
func nv12RowNeon(dst *uint8, cs int, y, uv *uint8, blocks int, k *yuvSIMD)

//go:noescape
func yuyvRowNeon(dst *uint8, cs int, src *uint8, blocks int, k *yuvSIMD)

//go:noescape
func vRowQNeon(dst *int8, src *uint8, stride, width int, coef *uint32, pairs int, q *qAffine)

//go:noescape
func interleaveNeon(dst, src *int8, hs, blocks int)

//go:noescape
func yuv444RowNeon(dst *uint8, cs int, y, u, v *uint8, blocks int, k *yuvSIMD)

//go:noescape
func grayRowNeon(dst *uint8, cs int, y *uint8, blocks int, k *yuvSIMD)

//go:noescape
func rgbRowNeon(dst *uint8, cs int, src *uint8, blocks int)

var neonRows = &rowKernels{name: "neon", hRow: hRowNeon, hRowWin: hRowWinNeon, vRow: vRowNeon, vRowQ: vRowQNeon, interleave: interleaveNeon, yuvRow: yuvRowNeon,
	nv12Row: nv12RowNeon, yuyvRow: yuyvRowNeon,
	yuv444Row: yuv444RowNeon, grayRow: grayRowNeon, rgbRow: rgbRowNeon}

// The row kernels follow the int8 kernel tier: NEON (both the neon and the
// dotprod tiers) unless MIXEDGE_KERNELS selects the generic tier.
func init() {
	if !cpuid.CPU.Supports(cpuid.ASIMD) {
		return
	}
	archRows = neonRows
	if t, err := kernels.Select(""); err == nil && t.Name == kernels.Generic.Name {
		return
	}
	simdRows = neonRows
}
