package kernels

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/mixedge/mixedge/kernels/internal/neongen"
)

// TestNeonGenerated regenerates the arm64 assembly in memory and compares it
// with the checked-in files, here and in ../camera (pure Go: no tool needed).
func TestNeonGenerated(t *testing.T) {
	for _, pkg := range neongen.Packages {
		files := neongen.Files(pkg)
		names := make([]string, 0, len(files))
		for n := range files {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, name := range names {
			path := filepath.Join("..", pkg, name)
			want := files[name]
			got, err := os.ReadFile(path)
			if err != nil {
				t.Errorf("%s: %v (run `go generate ./%s/`)", path, err, pkg)
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
			t.Errorf("%s is stale (run `go generate ./%s/`): line %d is %q, the generator writes %q",
				path, pkg, i+1, line(gl), line(wl))
		}
	}
}
