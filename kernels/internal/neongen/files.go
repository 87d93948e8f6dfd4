package neongen

// Files returns the generated assembly files, by name (relative to the
// kernels directory).
func Files() map[string]string {
	return map[string]string{
		"gemm_neon_arm64.s":        gemmNeonFile(),
		"gemm_dot_arm64.s":         gemmDotFile(),
		"dwconv_neon_arm64.s":      dwconvFile(),
		"elementwise_neon_arm64.s": elementwiseFile(),
	}
}
