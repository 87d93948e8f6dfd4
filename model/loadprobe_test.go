package model

import (
	"bytes"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
)

func TestParseRunnable(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int
		ok   bool
	}{
		{"0.50 0.40 0.30 2/123 4567\n", 2, true},
		{"12.07 9.81 7.55 17/1024 999999\n", 17, true},
		{"0.00 0.00 0.00 1/80 1", 1, true},
		{"0.00 0.00 0.00 0/80 1", 0, true},
		{"0.00 0.00 0.00 1/", 1, true}, // cut after the slash: the count is whole
		{"0.00 0.00 0.00 1", 0, false}, // cut before it: it may not be
		{"0.00 0.00 0.00 /80 1", 0, false},
		{"0.00 0.00 0.00 x/80 1", 0, false},
		{"0.00 0.00 2/80 1", 0, false}, // a field short: "1" has no slash
		{"0.00 0.00 0.00 12345678901/80 1", 0, false},
		{" \t0.1 0.2\t0.3  4/5", 4, true},
		{"", 0, false},
	} {
		got, ok := parseRunnable([]byte(c.in))
		if got != c.want || ok != c.ok {
			t.Errorf("parseRunnable(%q) = %d, %v; want %d, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

// FuzzParseRunnable: any text parses without panicking, and a count it
// accepts is the decimal number before the fourth field's slash.
func FuzzParseRunnable(f *testing.F) {
	f.Add([]byte("0.50 0.40 0.30 2/123 4567\n"))
	f.Add([]byte("0.00 0.00 0.00 1/"))
	f.Add([]byte("   /"))
	f.Fuzz(func(t *testing.T, b []byte) {
		n, ok := parseRunnable(b)
		if !ok {
			return
		}
		fields := bytes.FieldsFunc(b, func(r rune) bool { return r < 128 && isBlank(byte(r)) })
		if len(fields) < 4 {
			t.Fatalf("%q: accepted %d with fewer than 4 fields", b, n)
		}
		num, _, found := bytes.Cut(fields[3], []byte("/"))
		if want, err := strconv.Atoi(string(num)); !found || err != nil || want != n {
			t.Fatalf("%q: parsed %d from field %q", b, n, fields[3])
		}
	})
}

// Beside CPU-bound goroutines on every CPU the probe never sees room for
// a second thread; a 2-thread net on Linux wires it to its threadChoice.
func TestLoadProbeSeesCompetitors(t *testing.T) {
	p := openLoadProbe(2)
	if p == nil {
		t.Skip("no readable /proc/loadavg here (not Linux): threadChoice explores on its schedule alone")
	}
	defer p.close()
	if r, ok := p.runnable(); !ok || r < 1 {
		t.Fatalf("runnable() = %d, %v; want at least this thread", r, ok)
	}
	ncpu := runtime.NumCPU()
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(ncpu + 1))
	var stop atomic.Bool
	var started atomic.Int32
	for range ncpu {
		go func() {
			started.Add(1)
			for !stop.Load() {
			}
		}()
	}
	defer stop.Store(true)
	for started.Load() < int32(ncpu) {
		runtime.Gosched()
	}
	for i := range 50 {
		if p.room() {
			r, _ := p.runnable()
			t.Fatalf("sample %d: room for 2 threads beside %d busy goroutines on %d CPUs (runnable now %d, most %d)", i, ncpu, ncpu, r, p.most)
		}
	}

	q, _ := synthMixnetS(t, 32, 10, 1, 1)
	n, err := NewInt8Net(q, nil)
	if err != nil {
		t.Fatal(err)
	}
	n.SetThreads(2)
	if n.probe == nil || n.adapt.room == nil {
		t.Error("a 2-thread net on Linux has no load probe")
	}
	n.Close()
	if n.probe != nil {
		t.Error("Close left the probe open")
	}
}
