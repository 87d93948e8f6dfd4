//go:build race && !purego

package kernels

// raceEnabled shortens the AVX2 parity loops under the race detector, which
// slows the generic reference kernels by an order of magnitude.
const raceEnabled = true
