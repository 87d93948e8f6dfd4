package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// critpath.awk on a two-frame opthreads report made here: per op, the
// serial part (phase 0) plus, per phase, the sum of its ceil(chunks /
// threads) largest chunks; an op with no phases adds its orphan work.
func TestCritPathAwk(t *testing.T) {
	if _, err := exec.LookPath("awk"); err != nil {
		t.Skip("no awk on PATH: critpath.awk cannot run")
	}
	// Ops 1-2 are frame 1, ops 3-4 frame 2 (the one used); in units of
	// 10^4 instructions: op 3: serial 100, phase 1 of 4 chunks (1000 each,
	// one 1100) on 2 threads -> 2100, phase 2 of 2 chunks (500, 300) ->
	// 500: 2700 of 4400. Op 4: not shared, 800 of work on the caller's
	// task and 50 of orphan work: 850.
	report := `op 1 vcpu 0 work 100000 wait 0 orphan 0
op 2 vcpu 0 work 100000 wait 0 orphan 0
op 3 vcpu 0 work 22000000 wait 9 orphan 0
op 3 vcpu 1 work 22000000 wait 9 orphan 0
op 4 vcpu 0 work 8500000 wait 0 orphan 500000
task 1 op 1 vcpu 0 work 100000 phase 0
task 2 op 2 vcpu 0 work 100000 phase 0
task 3 op 3 vcpu 0 work 1000000 phase 0
task 4 op 3 vcpu 0 work 10000000 phase 1
task 5 op 3 vcpu 1 work 11000000 phase 1
task 6 op 3 vcpu 0 work 10000000 phase 1
task 7 op 3 vcpu 0 work 10000000 phase 1
task 8 op 3 vcpu 1 work 5000000 phase 2
task 9 op 3 vcpu 0 work 3000000 phase 2
task 10 op 4 vcpu 0 work 8000000 phase 0
`
	dir := t.TempDir()
	f := filepath.Join(dir, "ops.txt")
	if err := os.WriteFile(f, []byte(report), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("awk", "-v", "frames=2", "-v", "threads=2", "-f", "opthreads/critpath.awk", f).CombinedOutput()
	if err != nil {
		t.Fatalf("critpath.awk: %v\n%s", err, out)
	}
	want := "2 thread(s): work 52.50 M per frame, critical path 35.50 M (orphan work 0.50 M), speed-up 1.48x over the work"
	if !strings.Contains(string(out), want) {
		t.Errorf("critpath.awk printed\n%s\nwant a line with %q", out, want)
	}
	if !strings.Contains(string(out), "op 0: critical path 27.000 M of 44.000 M") {
		t.Errorf("critpath.awk does not list the op furthest above an even split:\n%s", out)
	}
}
