package kernels

import (
	"os"
	"testing"
)

// TestRequireKernels fails unless the best tier is the one named by
// MIXEDGE_REQUIRE_KERNELS (e.g. "dotprod", "neon", "avx2"), so a qemu or CI
// leg cannot pass while silently testing a slower tier.
func TestRequireKernels(t *testing.T) {
	want := os.Getenv("MIXEDGE_REQUIRE_KERNELS")
	if want == "" {
		t.Skip("MIXEDGE_REQUIRE_KERNELS is not set")
	}
	tab, err := Select("")
	if err != nil {
		t.Fatal(err)
	}
	if tab.Name != want {
		names := []string{}
		for _, x := range Tiers() {
			names = append(names, x.Name)
		}
		t.Fatalf("Select(\"\") = %q, MIXEDGE_REQUIRE_KERNELS wants %q (tiers: %v)", tab.Name, want, names)
	}
}
