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
	if best, _ := Select("auto"); best != AVX2 && !(hasVNNI() && best == VNNI) && !(hasAVXVNNI() && best == AVXVNNI) {
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
		{"pool_sums", AVX2.PoolSums, Generic.PoolSums},
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

// TestVNNITier checks that the vnni tier is registered exactly when the CPU
// has AVX-512 F/BW/VL + VNNI, that it is then the default, and that Ops
// names, for every entry, the implementation the entry really is.
func TestVNNITier(t *testing.T) {
	tab, err := Select("vnni")
	if !hasVNNI() {
		if err == nil {
			t.Fatal("vnni tier selectable on a CPU without AVX-512 VNNI")
		}
		t.Skip("CPU (or OS) has no AVX-512 F/BW/VL + VNNI")
	}
	if err != nil || tab != VNNI {
		t.Fatalf("Select(vnni) = %v, %v", tab, err)
	}
	if best, _ := Select("auto"); best != VNNI {
		t.Fatalf("auto selects %q", best.Name)
	}
	checkTierOps(t, VNNI, map[string]any{"add": AddQS8AVX512, "channel_mul": ChannelMulQS8AVX512,
		"lookup": LookupQS8AVX512})
}

// checkTierOps checks that tab.Ops names, for every entry, the
// implementation the entry really is: the tier's own (named tab.Name, or
// "avx512" for the functions in x512), avx2's or generic's.
func checkTierOps(t *testing.T, tab *Table, x512 map[string]any) {
	t.Helper()
	ptr := func(f any) uintptr { return reflect.ValueOf(f).Pointer() }
	for _, e := range []struct {
		op             string
		tab, avx2, gen any
	}{
		{"gemm", tab.GEMM, AVX2.GEMM, Generic.GEMM}, {"gemm_f32", tab.GEMMF32, AVX2.GEMMF32, Generic.GEMMF32},
		{"dwconv", tab.DWConv, AVX2.DWConv, Generic.DWConv}, {"stem", tab.Stem, AVX2.Stem, Generic.Stem},
		{"pool", tab.Pool, AVX2.Pool, Generic.Pool}, {"add", tab.Add, AVX2.Add, Generic.Add},
		{"channel_mul", tab.ChannelMul, AVX2.ChannelMul, Generic.ChannelMul},
		{"lookup", tab.Lookup, AVX2.Lookup, Generic.Lookup},
		{"pool_sums", tab.PoolSums, AVX2.PoolSums, Generic.PoolSums},
	} {
		impl := tab.Name
		switch ptr(e.tab) {
		case ptr(e.avx2):
			impl = "avx2"
		case ptr(e.gen):
			impl = "generic"
		}
		if f, ok := x512[e.op]; ok && ptr(f) == ptr(e.tab) {
			impl = "avx512"
		}
		if tab.Ops[e.op] != impl {
			t.Errorf("%s: Ops[%q] = %q, but the entry is %s", tab.Name, e.op, tab.Ops[e.op], impl)
		}
	}
	if len(tab.Ops) != len(Generic.Ops) {
		t.Errorf("%s: Ops has %d entries, generic %d", tab.Name, len(tab.Ops), len(Generic.Ops))
	}
}

// TestAVXVNNITier checks that the avxvnni tier is registered exactly when
// the CPU has AVX2 + AVX-VNNI, that auto prefers vnni where both exist,
// and that Ops names, for every entry, the implementation it really is.
func TestAVXVNNITier(t *testing.T) {
	tab, err := Select("avxvnni")
	if !hasAVXVNNI() {
		if err == nil {
			t.Fatal("avxvnni tier selectable on a CPU without AVX-VNNI")
		}
		t.Skip("CPU has no AVX2 + AVX-VNNI (VEX)")
	}
	if err != nil || tab != AVXVNNI {
		t.Fatalf("Select(avxvnni) = %v, %v", tab, err)
	}
	best, _ := Select("auto")
	if want := map[bool]*Table{true: VNNI, false: AVXVNNI}[hasVNNI()]; best != want {
		t.Fatalf("auto selects %q, want %q", best.Name, want.Name)
	}
	checkTierOps(t, AVXVNNI, nil)
}
