package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestEndToEnd builds testdata/loop for linux/arm64, counts it under qemu for
// two loop lengths and checks that main.loop grows by exactly 5 instructions
// per iteration and the whole-program count by about as much (the Go
// runtime's background threads add a little, depending on wall time).
func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	qemu, err := exec.LookPath("qemu-aarch64")
	if err != nil {
		t.Skip("qemu-aarch64 not installed: end-to-end test skipped")
	}
	goBin := filepath.Join(os.Getenv("GOROOT"), "bin", "go")
	if _, err := os.Stat(goBin); err != nil {
		goBin = "go"
	}
	bin := filepath.Join(t.TempDir(), "loop")
	build := exec.Command(goBin, "build", "-o", bin, "./testdata/loop")
	build.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	t.Setenv("GOMAXPROCS", "1") // fewer runtime threads in the guest
	count := func(n string) *Counter {
		c := NewCounter()
		var out, errb strings.Builder
		code, err := runQemu(c, qemu, "cortex-a72", []string{bin, n}, false, &out, &errb)
		if err != nil || code > 1 { // the guest exits with loop(n)&1
			t.Fatalf("n=%s: exit %d, %v\n%s", n, code, err, errb.String())
		}
		return c
	}
	const n1, n2 = 50000, 250000
	c1, c2 := count("50000"), count("250000")
	want := uint64(5 * (n2 - n1))
	if d := symbolDyn(c2, "main.loop") - symbolDyn(c1, "main.loop"); d != want {
		t.Errorf("main.loop grew by %d instructions, want %d", d, want)
	}
	d := int64(c2.Total) - int64(c1.Total)
	if d < int64(want)*9/10 || d > int64(want)*3/2 {
		t.Errorf("total grew by %d instructions (%d → %d), want about %d", d, c1.Total, c2.Total, want)
	}
	t.Logf("total %d → %d: +%d for %d more iterations (%.3f per iteration)", c1.Total, c2.Total, d, n2-n1, float64(d)/float64(n2-n1))
	if b := c2.Blocks()[0]; b.Symbol != "main.loop" || b.Insns != 5 || b.Execs != n2 {
		t.Errorf("hottest block %+v, want main.loop, 5 instructions × %d", b, n2)
	}
}
