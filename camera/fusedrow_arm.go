//go:build !purego

package camera

import (
	"github.com/mixedge/mixedge/kernels"
	"golang.org/x/sys/cpu"
)

// The 32-bit ARM (ARMv7-A NEON) row kernels, fusedrow_neon_arm.s.

//go:noescape
func hRowNeon(dst, src *uint8, offs *int32, coef *int16, blocks, groups int)

//go:noescape
func hRowWinNeon(dst, src *uint8, offs *int32, coef *uint8, blocks, steps int)

//go:noescape
func vRowNeon(dst, src *uint8, stride, width int, coef *uint32, pairs int)

//go:noescape
func vRowQNeon(dst *int8, src *uint8, stride, width int, coef *uint32, pairs int, q *qAffine)

//go:noescape
func interleaveNeon(dst, src *int8, hs, blocks int)

//go:noescape
func yuvRowNeon(dst *uint8, cs int, y, u, v *uint8, blocks int, k *yuvSIMD)

//go:noescape
func nv12RowNeon(dst *uint8, cs int, y, uv *uint8, blocks int, k *yuvSIMD)

//go:noescape
func yuyvRowNeon(dst *uint8, cs int, src *uint8, blocks int, k *yuvSIMD)

//go:noescape
func yuv444RowNeon(dst *uint8, cs int, y, u, v *uint8, blocks int, k *yuvSIMD)

//go:noescape
func grayRowNeon(dst *uint8, cs int, y *uint8, blocks int, k *yuvSIMD)

//go:noescape
func rgbRowNeon(dst *uint8, cs int, src *uint8, blocks int)

var neonRows = &rowKernels{name: "neon", hRow: hRowNeon, hRowWin: hRowWinNeon, vRow: vRowNeon, vRowQ: vRowQNeon,
	interleave: interleaveNeon, yuvRow: yuvRowNeon, nv12Row: nv12RowNeon, yuyvRow: yuyvRowNeon,
	yuv444Row: yuv444RowNeon, grayRow: grayRowNeon, rgbRow: rgbRowNeon}

// The row kernels follow the int8 kernel tier: NEON when the kernel
// reports it (AT_HWCAP, as for kernels.Neon) unless MIXEDGE_KERNELS
// selects the generic tier.
func init() {
	if !cpu.ARM.HasNEON {
		return
	}
	archRows = neonRows
	if t, err := kernels.Select(""); err == nil && t.Name == kernels.Generic.Name {
		return
	}
	simdRows = neonRows
}
