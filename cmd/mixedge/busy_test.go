package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestMain lets the test binary be bench --busy's competitor process too
// (os.Executable is the test binary here).
// bench --busy runs its competitors while timing, records them, and stops
// them: no competitor process outlives the command.
func TestBenchBusy(t *testing.T) {
	exe, _ := os.Executable()
	if err := exec.Command(exe, "-test.run=^$").Run(); err != nil && strings.Contains(err.Error(), "exec format error") {
		t.Skipf("this test binary runs under emulation (qemu-user) and cannot start itself as a competitor process: %v", err)
	}
	for _, kind := range []string{"process", "goroutine"} {
		doc, _ := benchJSON(t, "--input-size", "32", "--runs", "3", "--warmup", "1", "--threads", "1,2",
			"--busy", "2", "--busy-kind", kind)
		if doc.Settings.Busy != 2 || doc.Settings.BusyKind != kind || len(doc.Results) != 2 {
			t.Errorf("%s: settings %+v, %d results", kind, doc.Settings, len(doc.Results))
		}
	}
	time.Sleep(100 * time.Millisecond)
	if out, err := exec.Command("pgrep", "-f", exe+" "+busyArg).Output(); err == nil && strings.TrimSpace(string(out)) != "" {
		t.Errorf("busy competitors still running: %s", out)
	}
	code, _, errs := runCLI(t, "bench", "--arch", "mixnet_s", "--synthetic", "--busy", "1", "--busy-kind", "thread")
	if code == 0 || !strings.Contains(errs, `--busy-kind "thread"`) {
		t.Errorf("bad --busy-kind: exit %d: %s", code, errs)
	}
	// The competitor itself stops when its standard input closes.
	c := exec.Command(exe, busyArg)
	w, _ := c.StdinPipe()
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	w.Close()
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("competitor exit: %v", err)
		}
	case <-time.After(10 * time.Second):
		c.Process.Kill()
		t.Error("competitor did not stop when its stdin closed")
	}
}
