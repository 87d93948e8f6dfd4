//go:build amd64 && !purego

package kernels

import (
	"reflect"
	"testing"

	"github.com/klauspost/cpuid/v2"
)

// TestAVX2Tier checks that the AVX2 tier is registered exactly when the CPU
// has AVX2, that it is then the default, and that Ops names, for every
// entry, the implementation the entry really is.
func TestAVX2Tier(t *testing.T) {
	tab, err := Select("avx2")
	if !cpuid.CPU.Supports(cpuid.AVX2) {
		if err == nil {
			t.Fatal("avx2 tier selectable on a CPU without AVX2")
		}
		t.Skip("CPU has no AVX2")
	}
	if err != nil || tab != AVX2 {
		t.Fatalf("Select(avx2) = %v, %v", tab, err)
	}
	if best, _ := Select("auto"); best != AVX2 {
		t.Fatalf("auto selects %q", best.Name)
	}
	ptr := func(f any) uintptr { return reflect.ValueOf(f).Pointer() }
	for _, e := range []struct {
		op            string
		avx2, generic any
	}{
		{"gemm", AVX2.GEMM, Generic.GEMM}, {"gemm_f32", AVX2.GEMMF32, Generic.GEMMF32},
		{"dwconv", AVX2.DWConv, Generic.DWConv}, {"stem", AVX2.Stem, Generic.Stem},
		{"pool", AVX2.Pool, Generic.Pool}, {"add", AVX2.Add, Generic.Add},
		{"channel_mul", AVX2.ChannelMul, Generic.ChannelMul}, {"lookup", AVX2.Lookup, Generic.Lookup},
	} {
		isGeneric := ptr(e.avx2) == ptr(e.generic)
		switch want := AVX2.Ops[e.op]; {
		case want == "generic" && !isGeneric, want == "avx2" && isGeneric, want != "generic" && want != "avx2":
			t.Errorf("Ops[%q] = %q, but the entry is generic=%v", e.op, want, isGeneric)
		}
	}
	if len(AVX2.Ops) != len(Generic.Ops) {
		t.Errorf("Ops has %d entries, generic %d", len(AVX2.Ops), len(Generic.Ops))
	}
}
