package camera

// fusedrow_neon_arm64.s and fusedrow_neon_arm.s (GOARCH=arm) are generated
// by kernels/internal/neongen (templates in its camera.go and a32camera.go);
// kernels' TestNeonGenerated fails when a checked-in file differs from the
// generator.
//go:generate go run ../kernels/internal/neongen/cmd/neongen -pkg camera -o .
