package neongen

import "fmt"

// Packages lists the packages whose arm64 assembly is generated, as
// directories relative to the module root.
var Packages = []string{"kernels", "camera"}

// Files returns the generated assembly files of package pkg (one of
// Packages), by name relative to the package's directory.
func Files(pkg string) map[string]string {
	files := filesArm64(pkg)
	for name, text := range filesA32(pkg) { // GOARCH=arm: a32*.go
		files[name] = text
	}
	return files
}

func filesArm64(pkg string) map[string]string {
	switch pkg {
	case "kernels":
		return map[string]string{
			"gemm_neon_arm64.s":        gemmNeonFile(),
			"gemm_dot_arm64.s":         gemmDotFile(),
			"dwconv_neon_arm64.s":      dwconvFile(),
			"dwconv_dot_arm64.s":       dwconvDotFile(),
			"elementwise_neon_arm64.s": elementwiseFile(),
			"stem_gather_arm64.s":      stemGatherFile(),
		}
	case "camera":
		return map[string]string{
			"fusedrow_neon_arm64.s": fusedRowFile(),
		}
	}
	panic(fmt.Sprintf("neongen: no generated files for package %q", pkg))
}
