package kernels

// The arm64 NEON assembly (gemm_neon_arm64.s, gemm_dot_arm64.s,
// dwconv_neon_arm64.s, dwconv_dot_arm64.s, elementwise_neon_arm64.s,
// stem_gather_arm64.s) is generated; TestNeonGenerated fails when a
// checked-in file differs from the generator.
// camera/fusedrow_neon_arm64.s comes from the same generator (see
// camera/neon_generate.go), and so does the 32-bit ARM assembly
// (gemm_neon_arm.s, dwconv_neon_arm.s, elementwise_neon_arm.s; the A32
// backend in internal/neongen/a32*.go).
//go:generate go run ./internal/neongen/cmd/neongen -pkg kernels -o .
