package kernels

import (
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/mixedge/mixedge/kernels/internal/neongen"
)

// TestNeonGenerated regenerates the arm64 assembly in memory and compares it
// with the checked-in files (pure Go: no tool needed).
func TestNeonGenerated(t *testing.T) {
	files := neongen.Files()
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		want := files[name]
		got, err := os.ReadFile(name)
		if err != nil {
			t.Errorf("%s: %v (run `go generate ./kernels/`)", name, err)
			continue
		}
		if string(got) == want {
			continue
		}
		gl, wl := strings.Split(string(got), "\n"), strings.Split(want, "\n")
		i := 0
		for i < len(gl) && i < len(wl) && gl[i] == wl[i] {
			i++
		}
		line := func(l []string) string {
			if i < len(l) {
				return l[i]
			}
			return "<end of file>"
		}
		t.Errorf("%s is stale (run `go generate ./kernels/`): line %d is %q, the generator writes %q",
			name, i+1, line(gl), line(wl))
	}
}
