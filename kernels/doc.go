// Package kernels holds mixedge's int8 compute kernels. The *_generic.go
// files are portable Go and, together with their doc comments, the
// specification that the AVX2 and NEON twins must match bit for bit. The
// arithmetic rules themselves (accumulation, requantization, add, tables) are
// defined in package quant.
//
// Conventions shared by every kernel:
//   - Tensors are NHWC int8 with batch 1. A pixel stride (elements between
//     neighbouring pixels) is given separately from the channel count, so a
//     MixConv group can read and write its channel slice of a wider tensor:
//     the caller slices the tensor at the group's first channel and passes
//     the full tensor width as the stride.
//   - Biases are int32 with the input zero point already folded in
//     (quant.FoldZeroPoint), so inner loops are pure int8*int8 sums.
//   - Requantization takes one quant.Multiplier per output channel, the
//     output zero point and a clamp [qmin, qmax] (which carries any fused
//     ReLU).
//   - Kernels never allocate. They panic on a violated contract (short
//     slices, a channel count wider than its stride). They never write
//     outside the elements they are documented to produce.
package kernels
