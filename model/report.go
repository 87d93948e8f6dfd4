package model

import (
	"github.com/mixedge/mixedge/quant"
)

// LayerSQNR runs one image through the float and the int8 network and
// returns, per op, the SQNR in dB of the dequantized int8 output against
// the float output (the classifier: its logits).
func LayerSQNR(fn *FloatNet, qn *Int8Net, image []float32) []float64 {
	g := fn.G
	ref := make([][]float32, len(g.Ops))
	logits := fn.RunObserve(image, func(op int, p Point, x []float32) {
		if p == PointOut {
			ref[op] = append([]float32(nil), x...)
		}
	})
	ref[len(g.Ops)-1] = append([]float32(nil), logits...)
	out := make([]float64, len(g.Ops))
	deq := make([]float32, 0)
	if err := quant.QuantizeSlice(qn.Input(), image, qn.Q.In); err != nil {
		panic(err)
	}
	got := qn.RunObserve(func(op int, x []int8) {
		deq = deq[:0]
		p := qn.Q.Ops[op].Out
		for _, v := range x {
			deq = append(deq, p.Dequantize(v))
		}
		out[op] = quant.SQNR(ref[op], deq)
	})
	out[len(g.Ops)-1] = quant.SQNR(ref[len(g.Ops)-1], got)
	return out
}
