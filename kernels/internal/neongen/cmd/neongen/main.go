// Command neongen writes the generated arm64 assembly of package kernels
// (see kernels/internal/neongen). Run by `go generate ./kernels/`.
package main

import (
	"flag"
	"log"
	"os"
	"path/filepath"
	"sort"

	"github.com/mixedge/mixedge/kernels/internal/neongen"
)

func main() {
	out := flag.String("o", ".", "output directory (the kernels package)")
	flag.Parse()
	files := neongen.Files()
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(*out, n), []byte(files[n]), 0o644); err != nil {
			log.Fatal(err)
		}
	}
}
