//go:build arm && !purego

package kernels

import "golang.org/x/sys/cpu"

// Neon is the 32-bit ARM tier (GOARCH=arm, ARMv7-A with NEON: a Pi 2, 3,
// Zero 2 W, 4 or 5 running a 32-bit OS). It is appended when the kernel
// reports NEON (AT_HWCAP, what /proc/cpuinfo lists as "neon"); an ARMv6
// Pi 1 / Zero has none and keeps the generic tier. Every entry has a NEON
// path; some shapes fall back to the generic kernel inside the entry (see
// NEON.md, "32-bit ARM").
var Neon = &Table{
	Name:       "neon",
	PackGEMM:   packGEMMNeon32,
	PackDW:     packDWPlain,
	GEMM:       gemmQS8Neon32,
	GEMMF32:    gemmQS8F32Neon32,
	DWConv:     dwConvNeon32,
	Stem:       stemConvNeon32,
	Pool:       globalAvgPoolQS8Neon32,
	Add:        addQS8Neon32,
	ChannelMul: channelMulQS8Neon32,
	Lookup:     lookupQS8Neon32,
	// No NEON pool sums: on a Pi the cores share their L2, so one thread
	// pools the whole map from there (Ops["pool_sums"] == "generic").
	PoolSums:   PoolSumsQS8,
	PoolFinish: PoolFinishQS8,
	Ops: map[string]string{"gemm": "neon", "gemm_f32": "neon", "dwconv": "neon", "stem": "neon",
		"pool": "neon", "add": "neon", "channel_mul": "neon", "lookup": "neon",
		"pool_sums": "generic"},
}

func init() {
	if cpu.ARM.HasNEON {
		tiers = append(tiers, Neon)
	}
}
