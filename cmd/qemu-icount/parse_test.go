package main

import (
	"os"
	"strings"
	"testing"
)

func feedFile(t *testing.T, path string) *Counter {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c := NewCounter()
	if err := c.Feed(f); err != nil {
		t.Fatal(err)
	}
	return c
}

func symbolDyn(c *Counter, sym string) uint64 {
	for _, s := range c.Symbols() {
		if s.Symbol == sym {
			return s.Dyn
		}
	}
	return 0
}

// testdata/loop20_main.log: the main.* part of a real qemu 7.2 log of
// testdata/loop run with n = 20 (`qemu-aarch64 -cpu cortex-a72 -d
// nochain,in_asm,exec`). main.loop: entry block 3, first test 2, body
// (eor, add, add, cmp, b.gt) 5 × 20, exit 2 = 107 instructions.
func TestLoopLog(t *testing.T) {
	c := feedFile(t, "testdata/loop20_main.log")
	if got := symbolDyn(c, "main.loop"); got != 107 {
		t.Errorf("main.loop: %d instructions, want 107", got)
	}
	if c.Unknown != 0 || c.BadTraces != 0 || c.Stopped != 0 {
		t.Errorf("unknown %d, bad %d, stopped %d; want 0", c.Unknown, c.BadTraces, c.Stopped)
	}
	b := c.Blocks()
	if len(b) == 0 || b[0].PC != 0x94e9c || b[0].Insns != 5 || b[0].Execs != 20 || b[0].Dyn != 100 {
		t.Fatalf("hottest block %+v, want pc 0x94e9c, 5 instructions × 20", b[0])
	}
	if !strings.HasPrefix(b[0].First, "ca820c23  eor") || b[0].Symbol != "main.loop" {
		t.Errorf("hottest block text %q symbol %q", b[0].First, b[0].Symbol)
	}
	var sum uint64
	for _, s := range c.Symbols() {
		sum += s.Dyn
	}
	if sum != c.Total {
		t.Errorf("symbols sum to %d, total %d", sum, c.Total)
	}
	var sb strings.Builder
	c.Report(&sb, 3)
	if !strings.Contains(sb.String(), "total dynamic instructions: ") || !strings.Contains(sb.String(), "main.loop") {
		t.Errorf("report:\n%s", sb.String())
	}
}

// testdata/stopped.log: real lines; one pc translated twice (cflags 0x200
// and 0x80200, the second after a second thread started), traces of blocks
// whose listing is not in the sample, a "Stopped execution" line, and a trace
// into qemu's signal trampoline (no symbol, no listing).
func TestStoppedAndRetranslated(t *testing.T) {
	c := feedFile(t, "testdata/stopped.log")
	if c.Total != 12 || c.Execs != 3 || c.Stopped != 1 || c.Unknown != 3 || c.BadTraces != 0 || c.Listings != 2 {
		t.Errorf("total %d execs %d stopped %d unknown %d bad %d listings %d; want 12 3 1 3 0 2",
			c.Total, c.Execs, c.Stopped, c.Unknown, c.BadTraces, c.Listings)
	}
	if got := c.PerCPU()[0]; got != 16 { // per-cpu tallies are not corrected for stops
		t.Errorf("cpu 0: %d, want 16", got)
	}
}

// A listing that changes length at the same host address (code buffer
// flushed and reused) rebinds the block.
func TestRebind(t *testing.T) {
	c := NewCounter()
	for _, l := range []string{
		"IN: f",
		"0x00001000:  d503201f  nop",
		"0x00001004:  d503201f  nop",
		"",
		"Trace 0: 0x7f0000000100 [0000000000000000/0000000000001000/00000001/00000200] f",
		"Trace 0: 0x7f0000000100 [0000000000000000/0000000000001000/00000001/00000200] f",
		"----------------",
		"IN: g",
		"0x00002000:  d503201f  nop",
		"",
		"Trace 1: 0x7f0000000100 [0000000000000000/0000000000002000/00000001/00000200] g",
		"guest output that is not a log line",
		"Trace 1: 0x7f0000000100 [0000000000000000/0000000000002000/00000001/00000200] g",
		"Trace 1: 0x7f000000",
	} {
		c.Line([]byte(l + "\n"))
	}
	if c.Total != 6 || c.Execs != 4 || c.BadTraces != 1 {
		t.Errorf("total %d execs %d bad %d; want 6 4 1", c.Total, c.Execs, c.BadTraces)
	}
	if f, g := symbolDyn(c, "f"), symbolDyn(c, "g"); f != 4 || g != 2 {
		t.Errorf("f %d g %d; want 4 2", f, g)
	}
	if p := c.PerCPU(); p[0] != 4 || p[1] != 2 {
		t.Errorf("per cpu %v", p)
	}
}

func TestLogFlag(t *testing.T) {
	var out, errb strings.Builder
	if code := run([]string{"-log", "testdata/loop20_main.log", "-top", "2"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "top 2 blocks") {
		t.Errorf("output:\n%s", out.String())
	}
}

func TestProgress(t *testing.T) {
	f, err := os.Open("testdata/loop20_main.log")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var sb strings.Builder
	c := NewCounter()
	c.Progress, c.ProgressEvery = &sb, 50
	if err := c.Feed(f); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(sb.String(), "qemu-icount: "); n != int(c.Lines/50) || n == 0 {
		t.Errorf("%d progress lines for %d log lines:\n%s", n, c.Lines, sb.String())
	}
}
