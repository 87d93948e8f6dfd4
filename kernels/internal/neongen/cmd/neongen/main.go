// Command neongen writes the generated arm64 assembly of one package (see
// kernels/internal/neongen). Run by `go generate ./kernels/ ./camera/`.
package main

import (
	"flag"
	"log"
	"os"
	"path/filepath"
	"slices"

	"github.com/mixedge/mixedge/kernels/internal/neongen"
)

func main() {
	pkg := flag.String("pkg", "kernels", "package whose files to write: "+`"kernels" or "camera"`)
	out := flag.String("o", ".", "output directory (the package's directory)")
	flag.Parse()
	if !slices.Contains(neongen.Packages, *pkg) {
		log.Fatalf("neongen: unknown package %q (want one of %q)", *pkg, neongen.Packages)
	}
	files := neongen.Files(*pkg)
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
