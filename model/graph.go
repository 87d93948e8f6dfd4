package model

import (
	"fmt"
	"math"
	"strconv"

	"github.com/mixedge/mixedge/mixconv"
)

// OpKind is the kind of one op of the network graph.
type OpKind uint8

const (
	OpStem      OpKind = iota // full k×k conv (3 input channels) + folded BN + act
	OpPointwise               // (grouped) 1×1 conv + folded BN (+ act)
	OpDepthwise               // MixConv depthwise + folded BN + act
	OpSE                      // squeeze-excite gate, in place on its tensor
	OpAdd                     // residual add: Out = In + In2
	OpPool                    // global average pool
	OpLinear                  // classifier, with bias
)

var opKindNames = [...]string{"stem", "pointwise", "depthwise", "se", "add", "pool", "linear"}

func (k OpKind) String() string {
	if int(k) < len(opKindNames) {
		return opKindNames[k]
	}
	return "op" + strconv.Itoa(int(k))
}

// Shape is an NHWC activation shape with batch 1.
type Shape struct{ H, W, C int }

func (s Shape) Elems() int { return s.H * s.W * s.C }

func (s Shape) String() string { return fmt.Sprintf("%dx%dx%d", s.C, s.H, s.W) }

// Op is one node of the network. Conv-like ops name their weights by
// Name (the timm module prefix); BN names the BatchNorm folded into them.
type Op struct {
	Name  string // timm module prefix, e.g. "blocks.2.0.conv_dw"
	Block string // "stem", "blocks.2.0", "head"
	Kind  OpKind
	In    int // input tensor
	In2   int // second input (OpAdd), else -1
	Out   int // output tensor (== In for OpSE, which works in place)

	Kernels  []int // per group: depthwise kernel sizes; 1s for pointwise
	InSplit  []int // input channels per group
	OutSplit []int // output channels per group
	Mixed    bool  // weights stored per group (<Name>.<g>.weight)
	Stride   int
	Padding  mixconv.Padding
	Act      Act
	BN       string // state_dict prefix of the BatchNorm folded into this op, "" for none

	SEReduce int // OpSE: squeeze width
	SEAct    Act // OpSE: activation between the two FCs

	MACs   int64
	Params int64 // learnable: weights, biases, BN weight+bias
}

// Groups is the number of channel groups of a conv op.
func (o *Op) Groups() int { return len(o.Kernels) }

// DWSpec is the MixConv spec of a depthwise op.
func (o *Op) DWSpec() mixconv.Spec {
	return mixconv.Spec{Kernels: o.Kernels, Split: o.OutSplit, Stride: o.Stride, Dilation: 1, Padding: o.Padding}
}

// Graph is a MixNet built for one input size and class count.
type Graph struct {
	Arch      Arch
	InputSize int
	Classes   int
	Tensors   []Shape
	Ops       []Op
	Input     int // tensor id of the image (H×W×3)
	Output    int // tensor id of the logits (1×1×Classes)
}

// TotalMACs and TotalParams sum over all ops.
func (g *Graph) TotalMACs() int64 {
	var n int64
	for i := range g.Ops {
		n += g.Ops[i].MACs
	}
	return n
}

func (g *Graph) TotalParams() int64 {
	var n int64
	for i := range g.Ops {
		n += g.Ops[i].Params
	}
	return n
}

// Build expands the architecture's block strings into ops for an
// inputSize×inputSize RGB image and a classes-way classifier.
func Build(a Arch, inputSize, classes int) (*Graph, error) {
	if inputSize < 1 || inputSize > 8192 {
		return nil, fmt.Errorf("input size %d out of range 1..8192", inputSize)
	}
	if classes < 1 || classes > 1<<20 {
		return nil, fmt.Errorf("class count %d out of range 1..%d", classes, 1<<20)
	}
	b := &builder{g: &Graph{Arch: a, InputSize: inputSize, Classes: classes}, pad: a.Padding}
	g := b.g
	g.Input = b.tensor(Shape{inputSize, inputSize, 3})

	stem := MakeDivisible(float64(a.StemSize)*a.ChannelMult, 8)
	x := b.conv(Op{Name: "conv_stem", Block: "stem", Kind: OpStem, Kernels: []int{3}, InSplit: []int{3},
		OutSplit: []int{stem}, Stride: 2, Act: ActReLU, BN: "bn1"}, g.Input)

	for si, stage := range a.Stages {
		args := make([]BlockArgs, len(stage))
		reps := make([]int, len(stage))
		for i, s := range stage {
			ba, err := DecodeBlock(s)
			if err != nil {
				return nil, fmt.Errorf("%s stage %d: %w", a.Name, si, err)
			}
			args[i], reps[i] = ba, ba.Repeat
		}
		reps = scaleStageDepth(reps, a.DepthMult, a.DepthTrunc)
		bi := 0
		for i, ba := range args {
			for r := 0; r < reps[i]; r++ {
				if bi > 0 {
					ba.Stride = 1 // only the first block of a stage strides
				}
				x = b.block(fmt.Sprintf("blocks.%d.%d", si, bi), ba, a, x)
				bi++
			}
		}
	}

	x = b.conv(Op{Name: "conv_head", Block: "head", Kind: OpPointwise, Kernels: []int{1},
		InSplit: []int{g.Tensors[x].C}, OutSplit: []int{a.HeadSize}, Stride: 1, Act: ActReLU, BN: "bn2"}, x)
	pooled := b.tensor(Shape{1, 1, a.HeadSize})
	g.Ops = append(g.Ops, Op{Name: "global_pool", Block: "head", Kind: OpPool, In: x, In2: -1, Out: pooled})
	logits := b.tensor(Shape{1, 1, classes})
	g.Ops = append(g.Ops, Op{Name: "classifier", Block: "head", Kind: OpLinear, In: pooled, In2: -1, Out: logits,
		Kernels: []int{1}, InSplit: []int{a.HeadSize}, OutSplit: []int{classes}, Stride: 1,
		MACs: int64(a.HeadSize) * int64(classes), Params: int64(a.HeadSize+1) * int64(classes)})
	g.Output = logits
	return g, nil
}

type builder struct {
	g   *Graph
	pad mixconv.Padding
}

func (b *builder) tensor(s Shape) int {
	b.g.Tensors = append(b.g.Tensors, s)
	return len(b.g.Tensors) - 1
}

// conv appends a conv-like op reading tensor in and returns its output.
func (b *builder) conv(op Op, in int) int {
	is := b.g.Tensors[in]
	op.In, op.In2, op.Padding = in, -1, b.pad
	cout := sum(op.OutSplit)
	oh, ow := is.H, is.W
	if op.Stride > 1 {
		oh, ow = ceilDiv(is.H, op.Stride), ceilDiv(is.W, op.Stride)
	}
	op.Out = b.tensor(Shape{oh, ow, cout})
	pix := int64(oh) * int64(ow)
	for gi, k := range op.Kernels {
		kk := int64(k) * int64(k)
		switch op.Kind {
		case OpDepthwise:
			op.MACs += kk * int64(op.OutSplit[gi]) * pix
			op.Params += kk * int64(op.OutSplit[gi])
		default:
			op.MACs += kk * int64(op.InSplit[gi]) * int64(op.OutSplit[gi]) * pix
			op.Params += kk * int64(op.InSplit[gi]) * int64(op.OutSplit[gi])
		}
	}
	if op.BN != "" {
		op.Params += 2 * int64(cout)
	}
	b.g.Ops = append(b.g.Ops, op)
	return op.Out
}

// block appends the ops of one DS or IR block (spec §3.1).
func (b *builder) block(name string, ba BlockArgs, a Arch, in int) int {
	cin := b.g.Tensors[in].C
	out := MakeDivisible(float64(ba.Out)*a.ChannelMult, 8)
	act := ba.Act
	if act == ActNone {
		act = ActReLU
	}
	skip := ba.Stride == 1 && cin == out && !ba.NoSkip
	x := in
	mid := cin
	if ba.Type == "ir" {
		mid = MakeDivisible(float64(cin)*ba.Exp, 8)
		x = b.conv(Op{Name: name + ".conv_pw", Block: name, Kind: OpPointwise, Kernels: ba.ExpKern,
			InSplit: mixconv.EqualSplit(cin, len(ba.ExpKern)), OutSplit: mixconv.EqualSplit(mid, len(ba.ExpKern)),
			Mixed: ba.ExpMixed, Stride: 1, Act: act, BN: name + ".bn1"}, x)
	}
	dwBN := name + ".bn1"
	if ba.Type == "ir" {
		dwBN = name + ".bn2"
	}
	split := mixconv.EqualSplit(mid, len(ba.DWKernel))
	x = b.conv(Op{Name: name + ".conv_dw", Block: name, Kind: OpDepthwise, Kernels: ba.DWKernel,
		InSplit: split, OutSplit: split, Mixed: ba.DWMixed, Stride: ba.Stride, Act: act, BN: dwBN}, x)
	if ba.SE > 0 {
		// se_from_exp=False: the ratio is divided by the expansion and applied
		// to the expanded width, i.e. rd = round(mid * se / e) (spec §2.5).
		ratio := ba.SE
		if ba.Type == "ir" {
			ratio /= ba.Exp
		}
		rd := int(math.RoundToEven(float64(mid) * ratio))
		rd = max(rd, 1)
		b.g.Ops = append(b.g.Ops, Op{Name: name + ".se", Block: name, Kind: OpSE, In: x, In2: -1, Out: x,
			SEReduce: rd, SEAct: act,
			MACs: 2 * int64(mid) * int64(rd), Params: 2*int64(mid)*int64(rd) + int64(mid) + int64(rd)})
	}
	pwName, pwBN := name+".conv_pwl", name+".bn3"
	if ba.Type == "ds" {
		pwName, pwBN = name+".conv_pw", name+".bn2"
	}
	x = b.conv(Op{Name: pwName, Block: name, Kind: OpPointwise, Kernels: ba.PwlKern,
		InSplit: mixconv.EqualSplit(mid, len(ba.PwlKern)), OutSplit: mixconv.EqualSplit(out, len(ba.PwlKern)),
		Mixed: ba.PwlMixed, Stride: 1, Act: ActNone, BN: pwBN}, x)
	if skip {
		o := b.tensor(b.g.Tensors[x])
		b.g.Ops = append(b.g.Ops, Op{Name: name + ".add", Block: name, Kind: OpAdd, In: x, In2: in, Out: o})
		x = o
	}
	return x
}

func sum(v []int) int {
	s := 0
	for _, x := range v {
		s += x
	}
	return s
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }
