//go:build !race && !purego

package kernels

const raceEnabled = false
