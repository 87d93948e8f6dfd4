package model

import (
	"fmt"
	"math"

	"github.com/mixedge/mixedge/mixconv"
)

// FloatNet runs a Graph in float32, NHWC. It is the reference that the
// int8 engine is calibrated and measured against. Buffers are allocated
// once by NewFloatNet; Run allocates nothing.
type FloatNet struct {
	G    *Graph
	W    *Weights
	bufs [][]float32 // one per tensor
	se   []float32   // SE scratch: pooled, reduced
}

// NewFloatNet checks that w fits g and allocates the activations.
func NewFloatNet(g *Graph, w *Weights) (*FloatNet, error) {
	if len(w.Ops) != len(g.Ops) {
		return nil, fmt.Errorf("weights have %d ops, graph %d", len(w.Ops), len(g.Ops))
	}
	n := &FloatNet{G: g, W: w, bufs: make([][]float32, len(g.Tensors))}
	maxSE := 0
	for i, s := range g.Tensors {
		n.bufs[i] = make([]float32, s.Elems())
	}
	for i := range g.Ops {
		if g.Ops[i].Kind == OpSE {
			maxSE = max(maxSE, g.Tensors[g.Ops[i].In].C+g.Ops[i].SEReduce)
		}
	}
	n.se = make([]float32, maxSE)
	return n, nil
}

// Tensor returns the buffer of tensor id (valid until the next Run).
func (n *FloatNet) Tensor(id int) []float32 { return n.bufs[id] }

// Run classifies one preprocessed image, NHWC [S][S][3], and returns the
// logits (a view valid until the next Run).
func (n *FloatNet) Run(input []float32) []float32 {
	return n.RunObserve(input, nil)
}

// Point names a tensor inside an op that the int8 engine quantizes on its
// own: an op's output, a conv's output before its SiLU, and the inside of
// squeeze-excite.
type Point uint8

const (
	PointOut         Point = iota // the op's output (after its activation)
	PointPreAct                   // conv output before a SiLU (SiLU convs only)
	PointSEMean                   // SE: per-channel mean
	PointSEReducePre              // SE: reduce FC output, before its activation
	PointSEAct                    // SE: after the activation
	PointSEExpandPre              // SE: expand FC output, before the sigmoid
	NumPoints
)

var pointNames = [...]string{"out", "preact", "se.mean", "se.reduce", "se.act", "se.expand"}

func (p Point) String() string { return pointNames[p] }

// Observer sees the float tensors at every quantization point.
type Observer func(op int, p Point, x []float32)

// RunObserve is Run with a callback at every quantization point, in
// execution order; calibration and per-layer comparisons hang off it.
func (n *FloatNet) RunObserve(input []float32, observe Observer) []float32 {
	g := n.G
	in := n.bufs[g.Input]
	if len(input) != len(in) {
		panic(fmt.Sprintf("model: input has %d floats, want %d (%dx%dx3 NHWC)", len(input), len(in), g.InputSize, g.InputSize))
	}
	copy(in, input)
	for i := range g.Ops {
		n.runOp(i, observe)
		if observe != nil {
			observe(i, PointOut, n.bufs[g.Ops[i].Out])
		}
	}
	return n.bufs[g.Output]
}

// activate applies op i's activation, showing the pre-activation values to
// the observer when the activation is a table in int8 (SiLU).
func (n *FloatNet) activate(i int, x []float32, a Act, observe Observer) {
	if observe != nil && a == ActSiLU {
		observe(i, PointPreAct, x)
	}
	activate(x, a)
}

func (n *FloatNet) runOp(i int, observe Observer) {
	op := &n.G.Ops[i]
	w := &n.W.Ops[i]
	is, os := n.G.Tensors[op.In], n.G.Tensors[op.Out]
	src, dst := n.bufs[op.In], n.bufs[op.Out]
	switch op.Kind {
	case OpStem:
		spec := mixconv.Spec{Kernels: op.Kernels, Split: op.InSplit, Stride: op.Stride, Dilation: 1, Padding: op.Padding}
		top, _, left, _ := spec.Pads(0, is.H, is.W)
		stemConv(dst, src, is, os, op.Kernels[0], op.Stride, top, left, w.W[0], w.B)
		n.activate(i, dst, op.Act, observe)
	case OpPointwise:
		inOff, outOff := 0, 0
		for gi := range op.Kernels {
			ci, co := op.InSplit[gi], op.OutSplit[gi]
			pointwise(dst[outOff:], os.C, src[inOff:], is.C, is.H*is.W, ci, co, w.W[gi], w.B[outOff:outOff+co])
			inOff += ci
			outOff += co
		}
		n.activate(i, dst, op.Act, observe)
	case OpDepthwise:
		mixconv.Forward(dst, src, is.H, is.W, op.DWSpec(), w.W, w.B)
		n.activate(i, dst, op.Act, observe)
	case OpSE:
		n.squeezeExcite(i, op, w, src, is, observe)
	case OpAdd:
		b := n.bufs[op.In2]
		for j := range dst {
			dst[j] = src[j] + b[j]
		}
	case OpPool:
		globalPool(dst, src, is)
	case OpLinear:
		ci, co := op.InSplit[0], op.OutSplit[0]
		for o := 0; o < co; o++ {
			row := w.W[0][o*ci : (o+1)*ci]
			acc := w.B[o]
			for c, v := range row {
				acc += v * src[c]
			}
			dst[o] = acc
		}
	}
}

// stemConv is a full k×k conv from NHWC src to NHWC dst; w is [ky][kx][ci][co].
func stemConv(dst, src []float32, is, os Shape, k, stride, top, left int, w, bias []float32) {
	ci, co := is.C, os.C
	for oy := 0; oy < os.H; oy++ {
		for ox := 0; ox < os.W; ox++ {
			out := dst[(oy*os.W+ox)*co : (oy*os.W+ox+1)*co]
			copy(out, bias)
			for ky := 0; ky < k; ky++ {
				iy := oy*stride - top + ky
				if iy < 0 || iy >= is.H {
					continue
				}
				for kx := 0; kx < k; kx++ {
					ix := ox*stride - left + kx
					if ix < 0 || ix >= is.W {
						continue
					}
					px := src[(iy*is.W+ix)*ci : (iy*is.W+ix+1)*ci]
					for c, a := range px {
						row := w[((ky*k+kx)*ci+c)*co:][:co]
						for o, v := range row {
							out[o] += a * v
						}
					}
				}
			}
		}
	}
}

// pointwise computes a 1×1 conv of one channel group over npix pixels.
// src and dst start at the group's channel offset; their pixel strides are
// sStride and dStride. w is [ci][co].
func pointwise(dst []float32, dStride int, src []float32, sStride, npix, ci, co int, w, bias []float32) {
	p := 0
	// Four pixels at a time so each weight row is loaded once per four.
	for ; p+4 <= npix; p += 4 {
		o0 := dst[p*dStride:][:co]
		o1 := dst[(p+1)*dStride:][:co]
		o2 := dst[(p+2)*dStride:][:co]
		o3 := dst[(p+3)*dStride:][:co]
		copy(o0, bias)
		copy(o1, bias)
		copy(o2, bias)
		copy(o3, bias)
		s0 := src[p*sStride:][:ci]
		s1 := src[(p+1)*sStride:][:ci]
		s2 := src[(p+2)*sStride:][:ci]
		s3 := src[(p+3)*sStride:][:ci]
		for c := 0; c < ci; c++ {
			a0, a1, a2, a3 := s0[c], s1[c], s2[c], s3[c]
			row := w[c*co:][:co]
			for o, v := range row {
				o0[o] += a0 * v
				o1[o] += a1 * v
				o2[o] += a2 * v
				o3[o] += a3 * v
			}
		}
	}
	for ; p < npix; p++ {
		out := dst[p*dStride:][:co]
		copy(out, bias)
		s := src[p*sStride:][:ci]
		for c, a := range s {
			row := w[c*co:][:co]
			for o, v := range row {
				out[o] += a * v
			}
		}
	}
}

func (n *FloatNet) squeezeExcite(i int, op *Op, w *OpWeights, x []float32, s Shape, observe Observer) {
	mid, rd := s.C, op.SEReduce
	pooled, red := n.se[:mid], n.se[mid:mid+rd]
	globalPool(pooled, x, s)
	if observe != nil {
		observe(i, PointSEMean, pooled)
	}
	copy(red, w.SEBias)
	for c, a := range pooled {
		row := w.W[0][c*rd:][:rd]
		for r, v := range row {
			red[r] += a * v
		}
	}
	if observe != nil {
		observe(i, PointSEReducePre, red)
	}
	activate(red, op.SEAct)
	if observe != nil {
		observe(i, PointSEAct, red)
	}
	gate := pooled // pooled is no longer needed
	copy(gate, w.B)
	for r, a := range red {
		row := w.W[1][r*mid:][:mid]
		for c, v := range row {
			gate[c] += a * v
		}
	}
	if observe != nil {
		observe(i, PointSEExpandPre, gate)
	}
	for c := range gate {
		gate[c] = sigmoid(gate[c])
	}
	for p := 0; p < s.H*s.W; p++ {
		px := x[p*mid:][:mid]
		for c := range px {
			px[c] *= gate[c]
		}
	}
}

func globalPool(dst, src []float32, s Shape) {
	c := s.C
	acc := dst[:c]
	clear(acc)
	for p := 0; p < s.H*s.W; p++ {
		px := src[p*c:][:c]
		for j, v := range px {
			acc[j] += v
		}
	}
	inv := 1 / float32(s.H*s.W)
	for j := range acc {
		acc[j] *= inv
	}
}

func sigmoid(x float32) float32 { return float32(1 / (1 + math.Exp(-float64(x)))) }

func activate(x []float32, a Act) {
	switch a {
	case ActReLU:
		for i, v := range x {
			if v < 0 {
				x[i] = 0
			}
		}
	case ActSiLU:
		for i, v := range x {
			x[i] = v * sigmoid(v)
		}
	}
}
