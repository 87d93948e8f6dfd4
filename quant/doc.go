// Package quant defines mixedge's int8 number scheme and the integer-only
// arithmetic rules that every kernel must follow: the generic Go kernels in
// package kernels and their AVX2 and NEON twins. Each twin must produce the
// same bits as the rules below for every input allowed by the contracts.
// This comment is the specification. The functions in this package are its
// scalar reference.
//
// # Tensors
//
// Activations are int8 with per-tensor asymmetric parameters (Params):
//
//	real = (q - Zero) * Scale,   q, Zero in [-128, 127],   Scale > 0 (float32)
//
// Weights are int8, symmetric (zero point 0), with one float32 scale per
// output channel, and lie in [-127, 127]. -128 never occurs. Kernels multiply
// raw int8 inputs x (the input zero point is folded into the bias, see
// Accumulation), so |x*w| <= 128*127 = 16256 and a SIMD kernel may add two
// products in int16 (32512 < 2^15) before widening: NEON SMULL+SMLAL, then
// SADALP.
//
// Biases are int32 at scale s_in*s_w[c] with zero point 0.
//
// # Build-time conversions
//
// Float-to-integer conversions done once while a model is prepared (Quantize,
// QuantizeWeights, QuantizeBias, NewMultiplier, NewAdd, BuildTable) are
// computed in float64 and rounded half to even (math.RoundToEven, the rounding
// PyTorch's quantize_per_tensor uses), then clamped. NaN maps to the zero
// point. SIMD code never has to reproduce these. It only consumes their
// integer results.
//
// # Accumulation
//
// A convolution or matrix product accumulates in int32:
//
//	acc[c] = bias'[c] + sum over taps of x*w,   bias'[c] = bias[c] - zIn*sum(w[c])
//
// FoldZeroPoint computes bias'. Taps that fall in the padding read the input
// zero point zIn, so they contribute zIn*w. The result equals
// bias[c] + sum (x-zIn)*w over real taps only. Additions wrap modulo 2^32, so
// kernels may reorder them freely. Callers keep the exact sum inside int32:
// |bias'| + taps*16256 < 2^31.
//
// # Requantization: the one rounding rule
//
// A Multiplier{M, Shift} stands for the real number M * 2^-(31+Shift).
// Requantize maps an int32 accumulator to int8:
//
//	s = 31 + Shift
//	y = floor((acc*M + 2^(s-1)) / 2^s)      exact integer arithmetic
//	q = clamp(y + zOut, qmin, qmax)
//
// In words: the exact product is rounded once to nearest, ties toward +inf
// ("round half up"), then the zero point is added and the result clamped.
// acc*M + 2^(s-1) fits in int64, so the scalar reference is three int64
// operations. Invariants, kept by NewMultiplier:
//
//	2 <= s <= 62, i.e. MinShift <= Shift <= MaxShift
//	0 <= M < 2^31, and M >= 2^30 unless Shift == MaxShift
//
// Multipliers below 2^-31 keep Shift = MaxShift and lose leading bits of M;
// they are not shifted further, because s <= 62 is what keeps the NEON
// sequence below exact. s >= 2 (multipliers below 2^29) keeps the AVX2
// pre-shift clamp below from being empty. Whenever M >= 2^30, M*2^-s is
// within a relative 2^-31 of the real multiplier.
//
// This is the arithmetic of TFLite's TFLITE_SINGLE_ROUNDING variant (one
// 64-bit product, add half, arithmetic shift) within its shift range. It
// differs from TFLite's default, gemmlowp-style double rounding (SQRDMULH,
// then a rounding shift with ties away from zero) in rare ties. It was chosen
// because both SIMD targets reproduce it exactly in a few instructions:
//
//   - NEON, Shift >= 1: SQDMULH(acc, M) = floor(2*acc*M / 2^32)
//     = floor(acc*M / 2^31). It is exact: it saturates only for
//     acc = M = -2^31, and M >= 0. SRSHL by -Shift then computes
//     floor((v + 2^(Shift-1)) / 2^Shift). Since floor(floor(a)/2^k) =
//     floor(a/2^k) and adding an integer commutes with floor, the two
//     instructions give y exactly: one multiply and one shift per 4 lanes.
//   - NEON, multipliers on the 2^-31 grid (M a multiple of 2^Shift,
//     Shift >= 0; ConvMultipliers puts every convolution multiplier from
//     2^-15 to 1/2 there, see GridMultiplier): SQRDMULH(acc, M>>Shift) =
//     floor((2*acc*(M>>Shift) + 2^31) / 2^32) is y itself, one instruction
//     per 4 lanes. Kernels check the property per block of channels and
//     take the SQDMULH + SRSHL sequence for blocks off the grid.
//   - NEON, Shift <= 0 (real multiplier >= 1/2): SQSHL acc left by 1-Shift,
//     then SQDMULH, then SRSHL by -1. If SQSHL saturates, the true |y| is at
//     least 2^29, and so is the computed one, with the same sign. The final
//     clamp then gives the same qmin or qmax.
//   - AVX2: VPMULDQ gives the exact 64-bit acc*M for the even lanes (the odd
//     lanes after VPSRLQ by 32). VPADDQ adds 2^(s-1). For s >= 32, the high
//     dword of each 64-bit lane is floor(x / 2^32), and VPSRAD by s-32
//     finishes floor(x / 2^s). There is no 64-bit arithmetic shift in AVX2,
//     and none is needed. For s < 32, pre-shift acc left by L = 32-s after
//     clamping it to [-2^(31-L), 2^(31-L)-1] (VPMAXSD/VPMINSD, VPSLLVD), then
//     proceed with s = 32. A clamped acc still gives |y| >= 2^28, which the
//     final clamp maps like the exact value.
//   - Afterwards: add zOut, narrow with saturation (SQXTN / VPACKSSDW+
//     VPACKSSWB), clamp with SMAX/SMIN (VPMAXSB/VPMINSB). Saturating while
//     narrowing cannot change a result that is clamped to int8 anyway.
//
// The rule needs no float conversion, so it cannot depend on rounding modes,
// FMA contraction or float-to-int conversion quirks.
//
// Fused activations are only a clamp: no activation uses [-128, 127], ReLU
// uses [max(zOut, -128), 127], ReLU6 also caps at Quantize(6). See Bounds,
// ReLUBounds and ReLU6Bounds. SiLU and sigmoid are tables (below).
//
// # Residual add
//
// Two int8 tensors a and b with different parameters are added into out by
// AddParams{ZA, ZB, MA, MB, Shift, ZOut}:
//
//	acc = (a - ZA)*MA + (b - ZB)*MB                  int32, exact
//	q   = clamp(floor((acc + 2^(Shift-1)) / 2^Shift) + ZOut, qmin, qmax)
//
// MA and MB are in [0, 32767] and represent s_a/s_out and s_b/s_out as
// integers over 2^Shift, with 1 <= Shift <= 31. The larger one is normalized
// to about [2^14, 2^15) unless Shift is capped at 31. Ties round toward +inf
// as above. The differences fit in int16 and the multipliers are int16, so one
// AVX2 VPMADDWD on interleaved (a-ZA, b-ZB) pairs, or NEON SMULL+SMLAL, gives
// acc exactly. |acc| <= 2*255*32767 < 2^24, so nothing saturates. Before the
// clamp, the result is within 0.5 + 255*max(s_a,s_b)/s_out * 2^-14 output
// steps of the exact sum. That is below 1 step while max(s_a,s_b)/s_out < 32.
//
// # Channel multiply (squeeze-excite gate)
//
//	q = Requantize((x - zX)*(g - zG), M, zOut, qmin, qmax),   M = s_x*s_g/s_out
//
// The product is at most 255*255 in magnitude. Gates come out of the
// sigmoid table. SigmoidParams (scale 1/255, zero -128) can hold both 0 and 1
// exactly.
//
// # Global average pool
//
//	q[c] = Requantize(sum over n pixels of x[c] - n*zIn, M, zOut, qmin, qmax),
//	M = s_in / (s_out * n),  with n*255 < 2^31
//
// # Tables (SiLU, sigmoid, any unary function)
//
// A [256]int8 table is indexed by the raw byte of the input, t[uint8(q)]. This
// is what PSHUFB/TBL-style lookups use without an XOR. Entry q holds
// clamp(RoundToEven(f((q - zIn)*sIn) / sOut) + zOut, -128, 127), computed in
// float64.
//
// # Squeeze-excite
//
// SE runs entirely in int8. The per-channel mean is a global average pool into
// Mean params. The reduce FC is a 1-pixel GEMM with requantization to the
// ReducePre params, then the SiLU table into Act params. The expand FC is a
// GEMM to ExpandPre, then the sigmoid table into Gate params. The channel
// multiply requantizes into Out params. See SE and NewSE.
//
// # Classifier
//
// Logits leave the integer domain once, at the very end:
// logit[c] = float32(acc[c]) * scale[c], with scale[c] = float32(s_in*s_w[c]).
// The int32-to-float32 conversion rounds to nearest even on every target
// (CVTDQ2PS, SCVTF). Then there is one float32 multiply, not fused.
package quant
