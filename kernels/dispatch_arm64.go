//go:build arm64 && !purego

package kernels

import "github.com/klauspost/cpuid/v2"

// Neon is the arm64 baseline tier (Cortex-A53/A72: Pi 3/4): SMULL/SMLAL/
// SADALP-class NEON, no SDOT. Every entry has a NEON path; a few rare
// shapes fall back to the generic kernel inside the entry (see NEON.md).
var Neon = &Table{
	Name:       "neon",
	PackGEMM:   packGEMMNeon,
	PackDW:     packDWNeon,
	GEMM:       gemmQS8Neon,
	GEMMF32:    gemmQS8F32Neon,
	DWConv:     dwConvNeon,
	Stem:       stemConvNeon,
	Pool:       globalAvgPoolQS8Neon,
	Add:        addQS8Neon,
	ChannelMul: channelMulQS8Neon,
	Lookup:     lookupQS8Neon,
	// No NEON pool sums: on a Pi the cores share their L2, so one thread
	// pools the whole map from there (Ops["pool_sums"] == "generic").
	PoolSums:   PoolSumsQS8,
	PoolFinish: PoolFinishQS8,
	Ops: map[string]string{"gemm": "neon", "gemm_f32": "neon", "dwconv": "neon", "stem": "neon",
		"pool": "neon", "add": "neon", "channel_mul": "neon", "lookup": "neon",
		"pool_sums": "generic"},
}

// DotProd is the ARMv8.2 dot-product tier (Cortex-A76: Pi 5). It uses SDOT
// for the GEMMs (and the stem, an im2col GEMM) and the depthwise
// convolutions (SDOT over the taps, dwconv_dot_arm64.go), and shares the
// other entries with Neon.
var DotProd = &Table{
	Name:       "dotprod",
	PackGEMM:   packGEMMDot,
	PackDW:     packDWDot,
	GEMM:       gemmQS8Dot,
	GEMMF32:    gemmQS8F32Dot,
	DWConv:     dwConvDot,
	Stem:       stemConvDot,
	Pool:       Neon.Pool,
	Add:        Neon.Add,
	ChannelMul: Neon.ChannelMul,
	Lookup:     Neon.Lookup,
	PoolSums:   Neon.PoolSums,
	PoolFinish: Neon.PoolFinish,
	Ops: map[string]string{"gemm": "dotprod", "gemm_f32": "dotprod", "dwconv": "dotprod",
		"stem": "dotprod", "pool": Neon.Ops["pool"], "add": Neon.Ops["add"],
		"channel_mul": Neon.Ops["channel_mul"], "lookup": Neon.Ops["lookup"],
		"pool_sums": Neon.Ops["pool_sums"]},
}

func init() {
	if !cpuid.CPU.Supports(cpuid.ASIMD) {
		return
	}
	tiers = append(tiers, Neon)
	// The dotprod GEMM also uses SQRDMLAH (RDM, ARMv8.1): every CPU with
	// the v8.2 dot product has it, and the check keeps that an assumption
	// nothing can break.
	if cpuid.CPU.Supports(cpuid.ASIMDDP, cpuid.ASIMDRDM) {
		tiers = append(tiers, DotProd)
	}
}
