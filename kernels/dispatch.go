package kernels

import (
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/mixedge/mixedge/quant"
)

// Kernel function types: the signatures of the generic specifications.
type (
	// DWConvFunc takes weights as returned by the table's PackDW.
	DWConvFunc func(dst, src []int8, weights []int8, bias []int32, rq []quant.Multiplier,
		s *DWConvShape, zIn, zOut, qmin, qmax int32, oy0, oy1 int)
	// GEMMFunc takes weights as returned by the table's PackGEMM.
	GEMMFunc func(dst []int8, dstStride int, src []int8, srcStride int, pixels, k, n int,
		w []int8, bias []int32, rq []quant.Multiplier, zOut, qmin, qmax int32)
	GEMMF32Func func(dst []float32, src []int8, srcStride int, pixels, k, n int,
		w []int8, bias []int32, scale []float32)
	StemFunc func(dst, src []int8, weights []int8, bias []int32, rq []quant.Multiplier,
		s *ConvShape, zIn, zOut, qmin, qmax int32, oy0, oy1 int)
	PoolFunc func(dst []int8, src []int8, pixels, channels, srcStride int,
		zIn int32, m quant.Multiplier, zOut, qmin, qmax int32)
	AddFunc        func(dst, a, b []int8, p quant.AddParams, qmin, qmax int32)
	ChannelMulFunc func(dst []int8, dstStride int, src []int8, srcStride int, pixels, channels int,
		gate []int8, zX, zG int32, m quant.Multiplier, zOut, qmin, qmax int32)
	LookupFunc func(dst, src []int8, table *[256]int8)
	// PoolSumsFunc and PoolFinishFunc are PoolFunc in two halves
	// (PoolSumsQS8, PoolFinishQS8), for a pool split over threads.
	PoolSumsFunc   func(acc []int32, src []int8, pixels, channels, srcStride int)
	PoolFinishFunc func(dst []int8, acc []int32, pixels int, zIn int32, m quant.Multiplier, zOut, qmin, qmax int32)
)

// Table is one tier of kernels. A model picks a table once, when it is
// loaded; inner loops never test CPU features. Every entry of every tier
// gives the bits of the generic kernel of the same name.
type Table struct {
	Name string
	// PackGEMM returns the weights of a [n][k] GEMM in the layout this
	// tier's GEMM reads (the [n][k] slice itself for the generic tier).
	// It runs once per layer at load.
	PackGEMM func(w []int8, k, n int) []int8
	// PackGEMV, when not nil, packs the weights of a GEMM that is only ever
	// called with one pixel (the squeeze-excite FCs, the classifier); the
	// table's GEMM and GEMMF32 accept them for pixels == 1 only. Nil means
	// PackGEMM.
	PackGEMV func(w []int8, k, n int) []int8
	// PackDW returns the [K][K][C] weights of a depthwise convolution in the
	// form this tier's DWConv reads: a slice that starts with the plain
	// weights (so every DWConv accepts it) and may carry a packed copy
	// after them (avx2, dotprod). Once per layer at load.
	PackDW     func(w []int8, k, c int) []int8
	GEMM       GEMMFunc
	GEMMF32    GEMMF32Func
	DWConv     DWConvFunc
	Stem       StemFunc
	Pool       PoolFunc
	Add        AddFunc
	ChannelMul ChannelMulFunc
	Lookup     LookupFunc
	// PoolSums and PoolFinish split Pool over threads. Where PoolSums is
	// the generic Go loop (Ops["pool_sums"] == "generic") a model pools on
	// one thread instead: the tier's Pool is much faster than that loop.
	PoolSums   PoolSumsFunc
	PoolFinish PoolFinishFunc
	// Ops names the implementation of each entry ("avx2", "generic", …),
	// for `mixedge cpu` and profiles.
	Ops map[string]string
}

// Generic is the portable tier: the specification.
var Generic = &Table{
	Name:       "generic",
	PackGEMM:   func(w []int8, k, n int) []int8 { return w[:n*k] },
	PackDW:     packDWPlain,
	GEMM:       GEMMQS8,
	GEMMF32:    GEMMQS8F32,
	DWConv:     DWConvQS8,
	Stem:       StemConvQS8,
	Pool:       GlobalAvgPoolQS8,
	Add:        AddQS8,
	ChannelMul: ChannelMulQS8,
	Lookup:     LookupQS8,
	PoolSums:   PoolSumsQS8,
	PoolFinish: PoolFinishQS8,
	Ops: map[string]string{"gemm": "generic", "gemm_f32": "generic", "dwconv": "generic", "stem": "generic",
		"pool": "generic", "add": "generic", "channel_mul": "generic", "lookup": "generic", "pool_sums": "generic"},
}

// packDWPlain is PackDW for tiers that read the plain [K][K][C] weights.
func packDWPlain(w []int8, k, c int) []int8 {
	n := k * k * c
	need("PackDW", "weights", len(w), n)
	return w[:n:n]
}

// tiers holds every tier this binary has and this CPU can run, best last.
// Architecture files append to it in init (after checking cpuid).
var tiers = []*Table{Generic}

// Tiers lists the usable tiers, slowest first.
func Tiers() []*Table { return append([]*Table(nil), tiers...) }

// Names of all tiers any build of mixedge knows, for messages.
var KnownTiers = []string{"generic", "avx2", "avxvnni", "vnni", "neon", "dotprod"}

// Select returns the named tier, or the best one for "" or "auto". The
// MIXEDGE_KERNELS environment variable is the default for name.
func Select(name string) (*Table, error) {
	if name == "" {
		name = os.Getenv("MIXEDGE_KERNELS")
	}
	if name == "" || name == "auto" {
		return tiers[len(tiers)-1], nil
	}
	for _, t := range tiers {
		if t.Name == name {
			return t, nil
		}
	}
	have := make([]string, len(tiers))
	for i, t := range tiers {
		have[i] = t.Name
	}
	sort.Strings(have)
	return nil, fmt.Errorf("kernel tier %q is not available on this CPU/build (available: %s; known: %s)",
		name, strings.Join(have, ", "), strings.Join(KnownTiers, ", "))
}
