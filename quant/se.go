package quant

import "fmt"

// SEConfig is a float squeeze-excite block plus the activation parameters
// of every tensor it touches. The parameters come from calibration.
type SEConfig struct {
	Channels, Reduced int // mid and rd widths
	Pixels            int // H*W of the gated tensor

	ReduceW, ReduceB []float32 // [Reduced][Channels], [Reduced]
	ExpandW, ExpandB []float32 // [Channels][Reduced], [Channels]

	X         Params // gated tensor (input)
	Mean      Params // per-channel mean
	ReducePre Params // reduce FC output, before SiLU
	Act       Params // after SiLU
	ExpandPre Params // expand FC output, before sigmoid
	Gate      Params // after sigmoid; SigmoidParams is a good choice
	Out       Params // gated output
}

// SE is an int8 squeeze-excite block ready to run (kernels.SqueezeExciteQS8):
//
//	mean = pool(x)                                 Pool, MeanZero
//	h    = SiLU[requant(ReduceBias + ReduceW·mean)] ReduceM, ReduceZero
//	g    = Sigm[requant(ExpandBias + ExpandW·h)]    ExpandM, ExpandZero
//	out  = requant((x - XZero)*(g - GateZero))      Gate, OutZero
//
// The biases already hold the zero-point folding of their FC's input.
type SE struct {
	Channels, Reduced, Pixels int

	XZero    int32
	Pool     Multiplier
	MeanZero int32

	ReduceW    []int8  // [Reduced][Channels]
	ReduceBias []int32 // folded with MeanZero
	ReduceM    []Multiplier
	ReduceZero int32
	SiLU       [256]int8

	ExpandW    []int8  // [Channels][Reduced]
	ExpandBias []int32 // folded with the SiLU output zero point
	ExpandM    []Multiplier
	ExpandZero int32
	Sigmoid    [256]int8

	GateZero int32
	Gate     Multiplier
	OutZero  int32
}

// NewSE quantizes a float SE block.
func NewSE(cfg *SEConfig) (*SE, error) {
	c, r := cfg.Channels, cfg.Reduced
	if c <= 0 || r <= 0 || cfg.Pixels <= 0 {
		return nil, fmt.Errorf("quant: NewSE: bad sizes channels=%d reduced=%d pixels=%d", c, r, cfg.Pixels)
	}
	if len(cfg.ReduceW) != r*c || len(cfg.ReduceB) != r || len(cfg.ExpandW) != c*r || len(cfg.ExpandB) != c {
		return nil, fmt.Errorf("quant: NewSE: weight sizes %d,%d,%d,%d do not match %dx%d",
			len(cfg.ReduceW), len(cfg.ReduceB), len(cfg.ExpandW), len(cfg.ExpandB), c, r)
	}
	for i, p := range [...]Params{cfg.X, cfg.Mean, cfg.ReducePre, cfg.Act, cfg.ExpandPre, cfg.Gate, cfg.Out} {
		if err := p.Validate(); err != nil {
			return nil, fmt.Errorf("quant: NewSE: params %d: %w", i, err)
		}
	}
	se := &SE{
		Channels: c, Reduced: r, Pixels: cfg.Pixels,
		XZero: cfg.X.Zero, MeanZero: cfg.Mean.Zero,
		ReduceZero: cfg.ReducePre.Zero, ExpandZero: cfg.ExpandPre.Zero,
		GateZero: cfg.Gate.Zero, OutZero: cfg.Out.Zero,
		SiLU:    SiLUTable(cfg.ReducePre, cfg.Act),
		Sigmoid: SigmoidTable(cfg.ExpandPre, cfg.Gate),
	}
	var err error
	if se.Pool, err = PoolMultiplier(cfg.X, cfg.Mean, cfg.Pixels); err != nil {
		return nil, fmt.Errorf("quant: NewSE: %w", err)
	}
	if se.Gate, err = MulMultiplier(cfg.X, cfg.Gate, cfg.Out); err != nil {
		return nil, fmt.Errorf("quant: NewSE: gate: %w", err)
	}
	se.ReduceW, se.ReduceBias, se.ReduceM, err = quantizeFC(cfg.ReduceW, cfg.ReduceB, r, c, cfg.Mean, cfg.ReducePre)
	if err != nil {
		return nil, fmt.Errorf("quant: NewSE: reduce: %w", err)
	}
	se.ExpandW, se.ExpandBias, se.ExpandM, err = quantizeFC(cfg.ExpandW, cfg.ExpandB, c, r, cfg.Act, cfg.ExpandPre)
	if err != nil {
		return nil, fmt.Errorf("quant: NewSE: expand: %w", err)
	}
	return se, nil
}

// quantizeFC quantizes an [n][k] fully connected layer between int8 tensors.
func quantizeFC(w, b []float32, n, k int, in, out Params) ([]int8, []int32, []Multiplier, error) {
	qw := make([]int8, n*k)
	sw := make([]float32, n)
	if err := QuantizeWeights(qw, sw, w, n, k); err != nil {
		return nil, nil, nil, err
	}
	bias := make([]int32, n)
	if err := QuantizeBias(bias, b, in.Scale, sw); err != nil {
		return nil, nil, nil, err
	}
	if err := FoldZeroPoint(bias, bias, qw, n, k, in.Zero); err != nil {
		return nil, nil, nil, err
	}
	m := make([]Multiplier, n)
	if err := ConvMultipliers(m, in.Scale, sw, out.Scale); err != nil {
		return nil, nil, nil, err
	}
	return qw, bias, m, nil
}
