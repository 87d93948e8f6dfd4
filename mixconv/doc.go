// Package mixconv implements the mixed depthwise convolution (MixConv) of
// Tan & Le, "MixConv: Mixed Depthwise Convolutional Kernels" (BMVC 2019),
// the operator at the heart of MixNet, as a float32 reference.
//
// A MixConv splits the C channels of a tensor into G groups. Group g takes
// the next Split[g] channels (group 0 owns the lowest channel indices) and is
// convolved depthwise with its own Kernels[g]×Kernels[g] kernel; all groups
// share stride and dilation and produce the same output size, so their
// outputs are simply concatenated along the channel axis. Forward writes each
// group straight into its channel slice of the output, so there is no concat
// copy.
//
// # Layout
//
// Tensors are NHWC with batch 1, channels fastest: src is [h][w][C], dst is
// [oh][ow][C]. The weights of group g are [ky][kx][c] with its Split[g]
// channels fastest; ConvertTorchWeight converts PyTorch's [Cg,1,k,k].
//
// # Padding
//
// Every group pads for its own kernel size; taps outside the image read zero.
// With s = stride, d = dilation, k = kernel size:
//
//   - PadSymmetric (PyTorch static padding, timm mixnet_*): every side gets
//     ((s-1) + d(k-1)) / 2 and the output size is
//     floor((H + 2·pad - d(k-1) - 1)/s) + 1, which is ceil(H/s) for odd k.
//   - PadSame (TensorFlow SAME, timm tf_mixnet_*): out = ceil(H/s),
//     total = max((out-1)s + d(k-1) + 1 - H, 0), top/left = total/2 and
//     bottom/right = total - total/2, so an odd total puts the extra pixel at
//     the bottom/right. At stride 1 with odd k this equals PadSymmetric.
//
// Both rules are applied to height and width independently.
package mixconv
