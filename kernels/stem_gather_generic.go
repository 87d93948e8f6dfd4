//go:build !(arm64 || amd64) || purego

package kernels

// gather3x9 copies n 3×3×3 patches of the stem's interior pixels (see
// stem_gather_arm64.go).
func gather3x9(dst *int8, dstStride int, src *int8, step, line, n int) {
	gather3x9Go(dst, dstStride, src, step, line, n)
}
