//go:build amd64 && !purego

package kernels

import "github.com/klauspost/cpuid/v2"

// The AVX2 tier: hand-written AVX2 assembly where it is finished, the
// generic kernels elsewhere (Ops says which). It is registered only when
// the CPU (and OS) support AVX2; -tags purego removes it and all assembly.
func init() {
	if !cpuid.CPU.Supports(cpuid.AVX2) {
		return
	}
	tiers = append(tiers, AVX2)
}

// AVX2 is the amd64 AVX2 tier. It is not in Tiers() on CPUs without AVX2.
var AVX2 = &Table{
	Name:       "avx2",
	PackGEMM:   PackGEMMAVX2,
	PackGEMV:   PackGEMVAVX2,
	PackDW:     packDWAVX2,
	GEMM:       GEMMQS8AVX2,
	GEMMF32:    GEMMQS8F32AVX2,
	DWConv:     DWConvQS8AVX2,
	Stem:       StemConvQS8AVX2,
	Pool:       GlobalAvgPoolQS8AVX2,
	Add:        AddQS8AVX2,
	ChannelMul: ChannelMulQS8AVX2,
	Lookup:     LookupQS8AVX2,
	Ops: map[string]string{"gemm": "avx2", "gemm_f32": "avx2", "dwconv": "avx2", "stem": "avx2",
		"pool": "avx2", "add": "avx2", "channel_mul": "avx2", "lookup": "avx2"},
}
