package kernels

import "fmt"

// need panics unless a slice holds at least n elements. Only the failing
// path formats a message, so the hot path stays allocation-free.
func need(kernel, what string, have, n int) {
	if have < n {
		panic(fmt.Sprintf("kernels: %s: %s has %d elements, need %d", kernel, what, have, n))
	}
}

// span is the number of elements a [rows][cols] block occupies at the given
// row stride; 0 for an empty block.
func span(rows, stride, cols int) int {
	if rows <= 0 || cols <= 0 {
		return 0
	}
	return (rows-1)*stride + cols
}

// checkStride panics if a channel count is wider than its pixel stride.
func checkStride(kernel, what string, stride, channels int) {
	if channels < 0 || stride < channels {
		panic(fmt.Sprintf("kernels: %s: %s stride %d is narrower than %d channels", kernel, what, stride, channels))
	}
}
