package kernels

import "github.com/mixedge/mixedge/quant"

// SEScratch is the int8 scratch SqueezeExciteQS8 needs: the channel means,
// the reduced vector and the gates.
func SEScratch(se *quant.SE) int { return 2*se.Channels + se.Reduced }

// SqueezeExciteQS8 runs an int8 squeeze-excite block (quant.SE) on a
// [se.Pixels][se.Channels] tensor and writes the gated tensor to dst. It is
// exactly this sequence of kernels:
//
//	GlobalAvgPoolQS8 -> GEMMQS8 (reduce) -> LookupQS8 (SiLU)
//	-> GEMMQS8 (expand) -> LookupQS8 (sigmoid) -> ChannelMulQS8
//
// Every intermediate clamps to the full int8 range. dst may equal src (in
// place, with equal strides). scratch needs SEScratch(se) elements.
// Allocation-free.
func SqueezeExciteQS8(dst []int8, dstStride int, src []int8, srcStride int, se *quant.SE, scratch []int8) {
	c, r := se.Channels, se.Reduced
	need("SqueezeExciteQS8", "scratch", len(scratch), SEScratch(se))
	mean := scratch[:c]
	hidden := scratch[c : c+r]
	gate := scratch[c+r : 2*c+r]
	GlobalAvgPoolQS8(mean, src, se.Pixels, c, srcStride, se.XZero, se.Pool, se.MeanZero, quant.QMin, quant.QMax)
	GEMMQS8(hidden, r, mean, c, 1, c, r, se.ReduceW, se.ReduceBias, se.ReduceM, se.ReduceZero, quant.QMin, quant.QMax)
	LookupQS8(hidden, hidden, &se.SiLU)
	GEMMQS8(gate, c, hidden, r, 1, r, c, se.ExpandW, se.ExpandBias, se.ExpandM, se.ExpandZero, quant.QMin, quant.QMax)
	LookupQS8(gate, gate, &se.Sigmoid)
	ChannelMulQS8(dst, dstStride, src, srcStride, se.Pixels, c, gate, se.XZero, se.GateZero, se.Gate, se.OutZero, quant.QMin, quant.QMax)
}
