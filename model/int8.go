package model

import (
	"fmt"
	"math"

	"github.com/mixedge/mixedge/quant"
)

// Range is the calibrated real range of one quantization point.
type Range struct {
	Lo, Hi float32
	Seen   bool
}

// Ranges holds the calibrated range of every (op, point).
type Ranges [][NumPoints]Range

// QOp is one op of the int8 network: weights packed the way the kernels
// read them, requantization multipliers, zero points and tables.
type QOp struct {
	Out quant.Params // parameters of the op's output tensor after the op
	ZIn int32        // zero point of the (first) input

	// Stem, pointwise and depthwise convs.
	W      []int8             // stem [Cout][K][K][Cin]; pointwise [n][k] per group; depthwise [K][K][Cg] per group; groups in channel order
	Bias   []int32            // [Cout], zero point folded in
	M      []quant.Multiplier // [Cout]
	Pre    quant.Params       // SiLU convs: the conv's output before the table
	Table  [256]int8          // SiLU convs: Pre -> Out
	SiLU   bool
	QMin   int32 // clamp of the requantization (ReLU is a clamp)
	QMax   int32
	WScale []float32 // per output channel (reports, linear)

	SE    *quant.SE       // squeeze-excite
	Add   quant.AddParams // residual add
	PoolM quant.Multiplier
	Scale []float32 // classifier: float32(s_in*s_w[c])
}

// QModel is a Graph quantized to int8: the content of a .fw image.
type QModel struct {
	G      *Graph
	In     quant.Params // the input image tensor
	Ops    []QOp
	Labels []string
	Pre    PreprocessDefaults // preprocessing the model was calibrated with
}

// InputParams are the int8 parameters of an image normalised with mean and
// std: the range of (x - mean)/std for x in [0, 1].
func InputParams(mean, std [3]float32) (quant.Params, error) {
	lo, hi := float32(math.Inf(1)), float32(math.Inf(-1))
	for c := 0; c < 3; c++ {
		lo = min(lo, (0-mean[c])/std[c])
		hi = max(hi, (1-mean[c])/std[c])
	}
	return quant.ChooseParams(lo, hi)
}

// Inputs of a table beyond these bounds give outputs within half an output
// step of the bound's, so their range is cut there and the int8 steps are
// spent where the function still moves: SiLU(x) for x < -8 is within 0.003
// of 0; the sigmoid gate (steps of 1/255) saturates past ±6.3.
const (
	siluInputMin      = -8
	sigmoidInputLimit = 6.3
)

// clipFor narrows a calibrated range to what the consumer of point p can
// tell apart.
func clipFor(r Range, p Point, act Act) Range {
	switch {
	case p == PointPreAct && act == ActSiLU, p == PointSEReducePre && act == ActSiLU:
		r.Lo = max(r.Lo, siluInputMin)
	case p == PointSEExpandPre:
		r.Lo = max(r.Lo, -sigmoidInputLimit)
		r.Hi = min(r.Hi, sigmoidInputLimit)
	}
	return r
}

func paramsOf(r Range, what string) (quant.Params, error) {
	if !r.Seen {
		return quant.Params{}, fmt.Errorf("%s: no calibration data", what)
	}
	p, err := quant.ChooseParams(r.Lo, r.Hi)
	if err != nil {
		return p, fmt.Errorf("%s: %w", what, err)
	}
	return p, nil
}

// Quantize turns a float network and its calibrated ranges into int8.
func Quantize(g *Graph, w *Weights, r Ranges, pre PreprocessDefaults, labels []string) (*QModel, error) {
	if len(r) != len(g.Ops) || len(w.Ops) != len(g.Ops) {
		return nil, fmt.Errorf("quantize: %d ops, %d weights, %d ranges", len(g.Ops), len(w.Ops), len(r))
	}
	in, err := InputParams(pre.Mean, pre.Std)
	if err != nil {
		return nil, fmt.Errorf("quantize: input: %w", err)
	}
	q := &QModel{G: g, In: in, Ops: make([]QOp, len(g.Ops)), Labels: labels, Pre: pre}
	cur := make([]quant.Params, len(g.Tensors)) // params of each tensor as ops proceed
	cur[g.Input] = in
	for i := range g.Ops {
		op := &g.Ops[i]
		qo := &q.Ops[i]
		if err := quantizeOp(g, op, &w.Ops[i], r[i], cur, qo); err != nil {
			return nil, fmt.Errorf("quantize %s: %w", op.Name, err)
		}
		cur[op.Out] = qo.Out
	}
	return q, nil
}

func quantizeOp(g *Graph, op *Op, w *OpWeights, r [NumPoints]Range, cur []quant.Params, qo *QOp) error {
	inP := cur[op.In]
	qo.ZIn = inP.Zero
	var err error
	if op.Kind != OpLinear {
		if qo.Out, err = paramsOf(r[PointOut], "output"); err != nil {
			return err
		}
	}
	switch op.Kind {
	case OpStem, OpPointwise, OpDepthwise:
		return quantizeConv(g, op, w, r, inP, qo)
	case OpSE:
		s := g.Tensors[op.In]
		cfg := &quant.SEConfig{Channels: s.C, Reduced: op.SEReduce, Pixels: s.H * s.W,
			ReduceW: transpose(w.W[0], s.C, op.SEReduce), ReduceB: w.SEBias,
			ExpandW: transpose(w.W[1], op.SEReduce, s.C), ExpandB: w.B,
			X: inP, Gate: quant.SigmoidParams, Out: qo.Out}
		points := []struct {
			dst *quant.Params
			p   Point
		}{{&cfg.Mean, PointSEMean}, {&cfg.ReducePre, PointSEReducePre}, {&cfg.Act, PointSEAct}, {&cfg.ExpandPre, PointSEExpandPre}}
		for _, pt := range points {
			if *pt.dst, err = paramsOf(clipFor(r[pt.p], pt.p, op.SEAct), pt.p.String()); err != nil {
				return err
			}
		}
		qo.SE, err = quant.NewSE(cfg)
		return err
	case OpAdd:
		qo.Add, err = quant.NewAdd(inP, cur[op.In2], qo.Out)
		return err
	case OpPool:
		s := g.Tensors[op.In]
		qo.PoolM, err = quant.PoolMultiplier(inP, qo.Out, s.H*s.W)
		return err
	case OpLinear:
		ci, co := op.InSplit[0], op.OutSplit[0]
		qo.W = make([]int8, ci*co)
		qo.WScale = make([]float32, co)
		if err := quant.QuantizeWeights(qo.W, qo.WScale, w.W[0], co, ci); err != nil {
			return err
		}
		qo.Bias = make([]int32, co)
		if err := quant.QuantizeBias(qo.Bias, w.B, inP.Scale, qo.WScale); err != nil {
			return err
		}
		if err := quant.FoldZeroPoint(qo.Bias, qo.Bias, qo.W, co, ci, inP.Zero); err != nil {
			return err
		}
		qo.Scale = make([]float32, co)
		for c := range qo.Scale {
			qo.Scale[c] = float32(float64(inP.Scale) * float64(qo.WScale[c]))
		}
		return nil
	}
	return fmt.Errorf("op kind %v cannot be quantized", op.Kind)
}

// quantizeConv packs a conv's weights per output channel and derives its
// requantization. The float layouts are those of OpWeights.
func quantizeConv(g *Graph, op *Op, w *OpWeights, r [NumPoints]Range, inP quant.Params, qo *QOp) error {
	cout := sum(op.OutSplit)
	target := qo.Out
	qo.QMin, qo.QMax = quant.Bounds()
	switch op.Act {
	case ActReLU:
		qo.QMin, qo.QMax = quant.ReLUBounds(qo.Out)
	case ActSiLU:
		pre, err := paramsOf(clipFor(r[PointPreAct], PointPreAct, op.Act), "pre-activation")
		if err != nil {
			return err
		}
		qo.Pre, qo.SiLU, target = pre, true, pre
		qo.Table = quant.SiLUTable(pre, qo.Out)
	}
	qo.WScale = make([]float32, cout)
	qo.Bias = make([]int32, cout)
	qo.M = make([]quant.Multiplier, cout)
	off := 0
	for gi, k := range op.Kernels {
		ci, co := op.InSplit[gi], op.OutSplit[gi]
		src := w.W[gi]
		qw := make([]int8, len(src))
		sc := qo.WScale[off : off+co]
		// Every float layout here has the output channel fastest: [outer][co].
		if err := quant.QuantizeWeights(qw, sc, src, co, 1); err != nil {
			return err
		}
		bias := qo.Bias[off : off+co]
		if err := quant.QuantizeBias(bias, w.B[off:off+co], inP.Scale, sc); err != nil {
			return err
		}
		if err := quant.FoldZeroPoint(bias, bias, qw, co, 1, inP.Zero); err != nil {
			return err
		}
		switch op.Kind {
		case OpDepthwise: // [K][K][Cg] is what the kernel reads
			qo.W = append(qo.W, qw...)
		case OpPointwise: // [ci][co] -> [co][ci]
			qo.W = append(qo.W, transposeInt8(qw, ci, co)...)
		case OpStem: // [ky][kx][ci][co] -> [co][ky][kx][ci]
			qo.W = append(qo.W, transposeInt8(qw, k*k*ci, co)...)
		}
		off += co
	}
	return quant.ConvMultipliers(qo.M, inP.Scale, qo.WScale, target.Scale)
}

func transposeInt8(m []int8, rows, cols int) []int8 {
	t := make([]int8, len(m))
	for r := 0; r < rows; r++ {
		for c := 0; c < cols; c++ {
			t[c*rows+r] = m[r*cols+c]
		}
	}
	return t
}
