package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// blockmca.py on the loop test program: a made-up report puts 1 M entries
// of a 4-instruction block at main.loop's first instructions in a frame
// ((R3 - R1) / 2); the script must read them from the ELF, time them with
// llvm-mca and print 4 M instructions and a cycle count per frame.
func TestBlockMCA(t *testing.T) {
	for _, tool := range []string{"python3", "llvm-mc", "llvm-mca"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("no %s on PATH: blockmca.py cannot run (Debian: python3, llvm)", tool)
		}
	}
	goBin := filepath.Join(os.Getenv("GOROOT"), "bin", "go")
	if _, err := os.Stat(goBin); err != nil {
		goBin = "go"
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "loop")
	build := exec.Command(goBin, "build", "-o", bin, "./testdata/loop")
	build.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	nm, err := exec.Command(goBin, "tool", "nm", bin).Output()
	if err != nil {
		t.Fatalf("go tool nm: %v", err)
	}
	m := regexp.MustCompile(`(?m)^\s*([0-9a-f]+) T main\.loop$`).FindSubmatch(nm)
	if m == nil {
		t.Fatal("main.loop not in the symbol table")
	}
	addr, _ := strconv.ParseUint(string(m[1]), 16, 64)
	report := func(instr, entries int) string {
		return fmt.Sprintf("total guest instructions: %d\ntop blocks:\n  0x%012x %14d  50.00%% %12d    4  mov x0, x0  [main.loop]\n",
			instr, addr, instr, entries)
	}
	r1, r3 := filepath.Join(dir, "r1.icount"), filepath.Join(dir, "r3.icount")
	if err := os.WriteFile(r1, []byte(report(4_000_000, 1_000_000)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(r3, []byte(report(12_000_000, 3_000_000)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("python3", "blockmca.py", bin, r1, r3, "cortex-a53").CombinedOutput()
	if err != nil {
		t.Fatalf("blockmca.py: %v\n%s", err, out)
	}
	s := string(out)
	if !strings.Contains(s, "cortex-a53: 4.00 M instructions a frame, 4.00 M modelled block by block") ||
		!strings.Contains(s, "main.loop") {
		t.Errorf("blockmca.py printed\n%s\nwant 4.00 M instructions, all modelled, and main.loop", s)
	}
	c := regexp.MustCompile(`: ([0-9.]+) M cycles \(IPC`).FindStringSubmatch(s)
	if c == nil {
		t.Fatalf("no cycle count in\n%s", s)
	}
	// 1 M executions of 4 instructions: at least 1 cycle each, at most a
	// few dozen (an in-order core with a dependent load at worst)
	if v, _ := strconv.ParseFloat(c[1], 64); v < 1 || v > 40 {
		t.Errorf("%v M cycles for 1 M runs of a 4-instruction block", v)
	}
}
