package kernels

import (
	"os"
	"strings"
	"testing"

	"github.com/mixedge/mixedge/kernels/internal/vnnigen"
)

// TestVNNIGenerated regenerates the avo-generated amd64 assembly in memory
// and compares it with the checked-in files (pure Go: runs on any host).
func TestVNNIGenerated(t *testing.T) {
	files, err := vnnigen.Files()
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range files {
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
