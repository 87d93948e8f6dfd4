// Command vnnigen writes the generated AVX-512 VNNI assembly of package
// kernels (see kernels/internal/vnnigen). Run by `go generate ./kernels/`.
package main

import (
	"flag"
	"log"
	"os"
	"path/filepath"
	"slices"

	"github.com/mixedge/mixedge/kernels/internal/vnnigen"
)

func main() {
	out := flag.String("o", ".", "output directory (kernels' directory)")
	flag.Parse()
	files, err := vnnigen.Files()
	if err != nil {
		log.Fatalf("vnnigen: %v", err)
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(*out, n), []byte(files[n]), 0o644); err != nil {
			log.Fatal(err)
		}
	}
}
