//go:build !purego

package kernels

// gather3x9 copies n 3×3×3 patches of the stem's interior pixels: patch i
// (27 bytes at dst + i*dstStride) is the 9 bytes at src + i*step, + line
// and + 2*line (stem_gather_arm64.s; gather3x9Go is its twin). The caller
// checks the bounds.
//
//go:noescape
func gather3x9(dst *int8, dstStride int, src *int8, step, line, n int)
