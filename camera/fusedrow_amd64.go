//go:build !purego

package camera

import (
	"github.com/klauspost/cpuid/v2"
	"github.com/mixedge/mixedge/kernels"
)

//go:noescape
func hRowAVX2(dst, src *uint8, offs *int32, coef *int16, blocks, groups int)

//go:noescape
func hRowWinAVX2(dst, src *uint8, offs *int32, coef *uint8, blocks, steps int)

//go:noescape
func vRowAVX2(dst, src *uint8, stride, width int, coef *uint32, pairs int)

//go:noescape
func yuvRowAVX2(dst *uint8, cs int, y, u, v *uint8, blocks int, k *yuvSIMD)

//go:noescape
func nv12RowAVX2(dst *uint8, cs int, y, uv *uint8, blocks int, k *yuvSIMD)

//go:noescape
func yuyvRowAVX2(dst *uint8, cs int, src *uint8, blocks int, k *yuvSIMD)

//go:noescape
func vRowQAVX2(dst *int8, src *uint8, stride, width int, coef *uint32, pairs int, q *qAffine)

//go:noescape
func interleaveAVX2(dst, src *int8, hs, blocks int)

//go:noescape
func yuv444RowAVX2(dst *uint8, cs int, y, u, v *uint8, blocks int, k *yuvSIMD)

//go:noescape
func grayRowAVX2(dst *uint8, cs int, y *uint8, blocks int, k *yuvSIMD)

//go:noescape
func rgbRowAVX2(dst *uint8, cs int, src *uint8, blocks int)

var avx2Rows = &rowKernels{name: "avx2", hRow: hRowAVX2, hRowWin: hRowWinAVX2, vRow: vRowAVX2, vRowQ: vRowQAVX2, interleave: interleaveAVX2, yuvRow: yuvRowAVX2,
	nv12Row: nv12RowAVX2, yuyvRow: yuyvRowAVX2,
	yuv444Row: yuv444RowAVX2, grayRow: grayRowAVX2, rgbRow: rgbRowAVX2}

// The row kernels follow the int8 kernel tier: AVX2 when the CPU has it,
// unless MIXEDGE_KERNELS selects the generic tier.
func init() {
	if !cpuid.CPU.Supports(cpuid.AVX2) {
		return
	}
	archRows = avx2Rows
	if t, err := kernels.Select(""); err == nil && t.Name == kernels.Generic.Name {
		return
	}
	simdRows = avx2Rows
}
