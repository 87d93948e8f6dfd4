package firmware

import (
	"encoding/binary"
	"math"
	"unsafe"
)

// hostLE is true on every board mixedge targets (arm, arm64, amd64); on a
// big-endian host the views below decode into copies instead.
var hostLE = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

func addr(b []byte) uintptr { return uintptr(unsafe.Pointer(unsafe.SliceData(b))) }

// int8View reinterprets b in place; int8 and byte have the same size and
// alignment, so this is always zero-copy.
func int8View(b []byte) []int8 {
	if len(b) == 0 {
		return []int8{}
	}
	return unsafe.Slice((*int8)(unsafe.Pointer(&b[0])), len(b))
}

// int32View returns b as little-endian int32s: in place when b is 4-byte
// aligned and the host is little-endian, else as a decoded copy (a
// misaligned word pointer is undefined behaviour for Go's compiler and
// faults on some ARM loads). len(b) must be a multiple of 4.
func int32View(b []byte) []int32 {
	n := len(b) / 4
	if n == 0 {
		return []int32{}
	}
	if hostLE && addr(b)%4 == 0 {
		return unsafe.Slice((*int32)(unsafe.Pointer(&b[0])), n)
	}
	out := make([]int32, n)
	for i := range out {
		out[i] = int32(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}

// float32View is int32View for IEEE-754 float32s; bit patterns, NaNs
// included, are preserved.
func float32View(b []byte) []float32 {
	n := len(b) / 4
	if n == 0 {
		return []float32{}
	}
	if hostLE && addr(b)%4 == 0 {
		return unsafe.Slice((*float32)(unsafe.Pointer(&b[0])), n)
	}
	out := make([]float32, n)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}
