package model

import (
	"fmt"
	"math"

	"github.com/mixedge/mixedge/mixconv"
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
	Calib  string             // how the ranges were chosen, in words (convert writes it; "" in .fw files that predate it)
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

// UnionRanges is, per point, the smallest range that holds both a's and
// b's (a point seen by only one keeps that one's).
func UnionRanges(a, b Ranges) Ranges {
	out := make(Ranges, len(a))
	for i := range a {
		for p := range a[i] {
			x, y := a[i][p], b[i][p]
			switch {
			case !y.Seen:
				out[i][p] = x
			case !x.Seen:
				out[i][p] = y
			default:
				out[i][p] = Range{Lo: min(x.Lo, y.Lo), Hi: max(x.Hi, y.Hi), Seen: true}
			}
		}
	}
	return out
}

// QuantizeOptions are the choices of Quantize beyond the ranges.
type QuantizeOptions struct {
	// Means, per tensor id and channel, are the float activations' means
	// (Calibrator.Means or DataFreeMeans). With them, each conv's bias is
	// corrected by the mean output shift that rounding its weights causes
	// (bias correction, Nagel et al. 2019): Σ (w_q − w)·E[x] over the taps
	// and input channels that feed an output channel, each tap weighted
	// by the share of output pixels for which it falls inside the image.
	Means [][]float32
}

// Quantize turns a float network and its calibrated ranges into int8.
func Quantize(g *Graph, w *Weights, r Ranges, pre PreprocessDefaults, labels []string) (*QModel, error) {
	return QuantizeWith(g, w, r, pre, labels, QuantizeOptions{})
}

// QuantizeWith is Quantize with options.
func QuantizeWith(g *Graph, w *Weights, r Ranges, pre PreprocessDefaults, labels []string, opt QuantizeOptions) (*QModel, error) {
	if opt.Means != nil && len(opt.Means) != len(g.Tensors) {
		return nil, fmt.Errorf("quantize: means for %d tensors, graph has %d", len(opt.Means), len(g.Tensors))
	}
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
		var inMean []float32
		if opt.Means != nil {
			inMean = opt.Means[op.In]
		}
		if err := quantizeOp(g, op, &w.Ops[i], r[i], cur, qo, inMean); err != nil {
			return nil, fmt.Errorf("quantize %s: %w", op.Name, err)
		}
		cur[op.Out] = qo.Out
	}
	return q, nil
}

func quantizeOp(g *Graph, op *Op, w *OpWeights, r [NumPoints]Range, cur []quant.Params, qo *QOp, inMean []float32) error {
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
		return quantizeConv(g, op, w, r, inP, qo, inMean)
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
func quantizeConv(g *Graph, op *Op, w *OpWeights, r [NumPoints]Range, inP quant.Params, qo *QOp, inMean []float32) error {
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
	off, inOff := 0, 0
	for gi, k := range op.Kernels {
		ci, co := op.InSplit[gi], op.OutSplit[gi]
		src := w.W[gi]
		qw := make([]int8, len(src))
		sc := qo.WScale[off : off+co]
		// Every float layout here has the output channel fastest: [outer][co].
		if err := quant.QuantizeWeights(qw, sc, src, co, 1); err != nil {
			return err
		}
		fb := w.B[off : off+co]
		if inMean != nil {
			fb = correctBias(g, op, gi, fb, src, qw, sc, inMean, inOff)
		}
		bias := qo.Bias[off : off+co]
		if err := quant.QuantizeBias(bias, fb, inP.Scale, sc); err != nil {
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
		inOff += ci
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

// correctBias returns group gi's float bias less the expected output shift
// of its rounded weights, given the means of the op's input channels.
func correctBias(g *Graph, op *Op, gi int, b, w []float32, qw []int8, sc, inMean []float32, inOff int) []float32 {
	k := op.Kernels[gi]
	ci, co := op.InSplit[gi], op.OutSplit[gi]
	is := g.Tensors[op.In]
	var tapShare []float64 // per tap (ky,kx): share of output pixels it reads inside the image
	if op.Kind != OpPointwise {
		spec := mixconv.Spec{Kernels: op.Kernels, Split: op.InSplit, Stride: op.Stride, Dilation: 1, Padding: op.Padding}
		top, _, left, _ := spec.Pads(gi, is.H, is.W)
		os := g.Tensors[op.Out]
		tapShare = make([]float64, k*k)
		ry := inside(k, op.Stride, top, is.H, os.H)
		rx := inside(k, op.Stride, left, is.W, os.W)
		for ky := 0; ky < k; ky++ {
			for kx := 0; kx < k; kx++ {
				tapShare[ky*k+kx] = ry[ky] * rx[kx]
			}
		}
	}
	out := make([]float64, co)
	outer := len(w) / co
	for j := 0; j < outer; j++ {
		for o := 0; o < co; o++ {
			d := float64(qw[j*co+o])*float64(sc[o]) - float64(w[j*co+o])
			if d == 0 {
				continue
			}
			switch op.Kind {
			case OpPointwise: // [ci][co]
				out[o] += d * float64(inMean[inOff+j])
			case OpDepthwise: // [tap][c]
				out[o] += d * float64(inMean[inOff+o]) * tapShare[j]
			case OpStem: // [tap][ci][co]
				out[o] += d * float64(inMean[inOff+j%ci]) * tapShare[j/ci]
			}
		}
	}
	nb := make([]float32, co)
	for o := range nb {
		nb[o] = float32(float64(b[o]) - out[o])
	}
	return nb
}

// inside returns, per kernel offset, the share of the n output positions
// (stride s, padding before pad) whose input index falls in [0, size).
func inside(k, s, pad, size, n int) []float64 {
	r := make([]float64, k)
	for t := 0; t < k; t++ {
		c := 0
		for o := 0; o < n; o++ {
			if i := o*s - pad + t; i >= 0 && i < size {
				c++
			}
		}
		r[t] = float64(c) / float64(n)
	}
	return r
}
