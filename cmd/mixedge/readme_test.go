package main

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// The README lists the commands `make test` runs, as the Makefile has them
// (a -short or a package list the README leaves out misleads a newcomer).
func TestREADMEListsMakeTest(t *testing.T) {
	mk, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	env := regexp.MustCompile(`^(MIXEDGE_[A-Z_]+=\S+ )+`)
	n := 0
	for _, line := range strings.Split(string(mk), "\n") {
		if !strings.HasPrefix(line, "\t") || !strings.Contains(line, "$(GO) ") {
			continue
		}
		cmd := strings.TrimSpace(line)
		if strings.HasPrefix(cmd, "CGO_ENABLED") || strings.Contains(cmd, " -o ") || strings.HasPrefix(cmd, "@") || strings.HasPrefix(cmd, "$(XDIR)") {
			continue // dist and xarch builds
		}
		cmd = env.ReplaceAllString(cmd, "")
		cmd = strings.ReplaceAll(cmd, "$(GO)", "go")
		cmd = strings.ReplaceAll(cmd, "$(QEMU_ARM64)", "qemu-aarch64")
		cmd = strings.ReplaceAll(cmd, "$(QEMU_ARM)", "qemu-arm")
		cmd = strings.ReplaceAll(cmd, "$(QEMU_X86)", "qemu-x86_64")
		n++
		if !strings.Contains(string(readme), cmd) {
			t.Errorf("README.md does not list %q (from the Makefile)", cmd)
		}
	}
	if n < 8 {
		t.Errorf("found %d go commands in the Makefile; the parser is stale", n)
	}
}
