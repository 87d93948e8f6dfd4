package model

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/mixedge/mixedge/mixconv"
	"github.com/mixedge/mixedge/model/safetensors"
)

// OpWeights holds one op's float32 weights with BatchNorm folded in, laid
// out the way the NHWC executor reads them:
//
//	stem       W[0] = [ky][kx][ci][co]
//	pointwise  W[g] = [ci][co] of group g
//	depthwise  W[g] = [ky][kx][c] of group g (mixconv layout)
//	linear     W[0] = [co][ci]
//	se         W[0] = reduce [ci][rd], W[1] = expand [rd][co]; B = expand bias, SEBias = reduce bias
type OpWeights struct {
	W      [][]float32
	B      []float32 // per output channel: folded BN shift, SE expand bias, or classifier bias
	SEBias []float32

	// BNGamma and BNBeta are the folded BatchNorm's affine parameters: over
	// the training data, output channel c had mean BNBeta[c] and standard
	// deviation |BNGamma[c]| before the activation (data-free ranges).
	BNGamma, BNBeta []float32
}

// Weights are the float32 weights of a Graph, one entry per op.
type Weights struct {
	Ops []OpWeights
}

// TensorSpec is one state_dict entry the graph expects.
type TensorSpec struct {
	Key   string
	Shape []int
}

// ExpectedTensors lists every state_dict entry (but num_batches_tracked,
// which is optional) that timm's model for g has, with its shape.
func (g *Graph) ExpectedTensors() []TensorSpec {
	var ts []TensorSpec
	add := func(key string, shape ...int) { ts = append(ts, TensorSpec{key, shape}) }
	bnDone := map[string]bool{}
	for i := range g.Ops {
		op := &g.Ops[i]
		switch op.Kind {
		case OpStem, OpPointwise, OpDepthwise:
			for gi := range op.Kernels {
				key, shape := op.weightKey(gi)
				add(key, shape...)
			}
			if op.BN != "" && !bnDone[op.BN] {
				bnDone[op.BN] = true
				c := sum(op.OutSplit)
				for _, s := range []string{"weight", "bias", "running_mean", "running_var"} {
					add(op.BN+"."+s, c)
				}
			}
		case OpSE:
			mid := g.Tensors[op.In].C
			add(op.Name+".conv_reduce.weight", op.SEReduce, mid, 1, 1)
			add(op.Name+".conv_reduce.bias", op.SEReduce)
			add(op.Name+".conv_expand.weight", mid, op.SEReduce, 1, 1)
			add(op.Name+".conv_expand.bias", mid)
		case OpLinear:
			add(op.Name+".weight", op.OutSplit[0], op.InSplit[0])
			add(op.Name+".bias", op.OutSplit[0])
		}
	}
	return ts
}

// weightKey is the state_dict key and torch shape of group gi's weight.
func (op *Op) weightKey(gi int) (string, []int) {
	key := op.Name + ".weight"
	if op.Mixed {
		key = fmt.Sprintf("%s.%d.weight", op.Name, gi)
	}
	k := op.Kernels[gi]
	if op.Kind == OpDepthwise {
		return key, []int{op.OutSplit[gi], 1, k, k}
	}
	return key, []int{op.OutSplit[gi], op.InSplit[gi], k, k}
}

// ShapeMismatch is one state_dict entry whose shape is not the expected one.
type ShapeMismatch struct {
	Key       string
	Want, Got []int
}

// WeightsError reports every problem of a weight file at once.
type WeightsError struct {
	File       string
	Arch       string
	Missing    []TensorSpec
	Unexpected []string
	Mismatched []ShapeMismatch
	Other      []string
}

func (e *WeightsError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: weights do not fit %s:", e.File, e.Arch)
	const limit = 12
	list := func(title string, n int, item func(i int) string) {
		if n == 0 {
			return
		}
		fmt.Fprintf(&b, "\n  %d %s:", n, title)
		for i := 0; i < n && i < limit; i++ {
			b.WriteString("\n    " + item(i))
		}
		if n > limit {
			fmt.Fprintf(&b, "\n    … and %d more", n-limit)
		}
	}
	list("missing", len(e.Missing), func(i int) string {
		return fmt.Sprintf("%s (expected shape %v)", e.Missing[i].Key, e.Missing[i].Shape)
	})
	list("unexpected", len(e.Unexpected), func(i int) string { return e.Unexpected[i] })
	list("mis-shaped", len(e.Mismatched), func(i int) string {
		m := e.Mismatched[i]
		return fmt.Sprintf("%s: expected shape %v, got %v", m.Key, m.Want, m.Got)
	})
	list("unreadable", len(e.Other), func(i int) string { return e.Other[i] })
	if len(e.Unexpected) > 0 && len(e.Missing) > 0 {
		b.WriteString("\n  (is --arch right? the key list looks like another architecture or class count)")
	}
	return b.String()
}

// CheckTensors compares a file's keys and shapes with what g expects.
// It returns nil or a *WeightsError naming every problem.
func (g *Graph) CheckTensors(f *safetensors.File) error {
	e := &WeightsError{File: f.Path, Arch: g.Arch.Name}
	want := map[string][]int{}
	for _, t := range g.ExpectedTensors() {
		want[t.Key] = t.Shape
		info, ok := f.Info(t.Key)
		if !ok {
			e.Missing = append(e.Missing, t)
			continue
		}
		if !equalShape(info.Shape, t.Shape) {
			e.Mismatched = append(e.Mismatched, ShapeMismatch{t.Key, t.Shape, info.Shape})
			continue
		}
		switch info.DType {
		case safetensors.F32, safetensors.F16, safetensors.BF16:
		default:
			e.Other = append(e.Other, fmt.Sprintf("%s: dtype %s, want F32, F16 or BF16", t.Key, info.DType))
		}
	}
	for _, name := range f.Names() {
		if _, ok := want[name]; ok {
			continue
		}
		if strings.HasSuffix(name, ".num_batches_tracked") {
			if _, ok := want[strings.TrimSuffix(name, "num_batches_tracked")+"running_mean"]; ok {
				continue // a BN counter: training state, ignored
			}
		}
		e.Unexpected = append(e.Unexpected, name)
	}
	sort.Strings(e.Unexpected)
	if len(e.Missing)+len(e.Unexpected)+len(e.Mismatched)+len(e.Other) > 0 {
		return e
	}
	return nil
}

func equalShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// LoadWeights checks f against g and returns its weights with every
// BatchNorm folded into the conv before it (eps from the architecture).
func LoadWeights(g *Graph, f *safetensors.File) (*Weights, error) {
	if err := g.CheckTensors(f); err != nil {
		return nil, err
	}
	tensors := map[string][]float32{}
	for _, t := range g.ExpectedTensors() {
		v, _, err := f.Float32(t.Key)
		if err != nil {
			return nil, err // names the file and the key
		}
		tensors[t.Key] = v
	}
	return g.foldWeights(func(key string) []float32 { return tensors[key] }), nil
}

// foldWeights converts torch-layout tensors fetched by get into the
// executor's layouts, folding BN: w' = w·γ/√(σ²+ε), b' = β − μ·γ/√(σ²+ε).
func (g *Graph) foldWeights(get func(string) []float32) *Weights {
	w := &Weights{Ops: make([]OpWeights, len(g.Ops))}
	eps := g.Arch.BNEps
	for i := range g.Ops {
		op := &g.Ops[i]
		ow := &w.Ops[i]
		switch op.Kind {
		case OpStem, OpPointwise, OpDepthwise:
			cout := sum(op.OutSplit)
			scale := make([]float64, cout)
			ow.B = make([]float32, cout)
			gamma, beta := get(op.BN+".weight"), get(op.BN+".bias")
			ow.BNGamma, ow.BNBeta = gamma[:cout:cout], beta[:cout:cout]
			mean, variance := get(op.BN+".running_mean"), get(op.BN+".running_var")
			for c := 0; c < cout; c++ {
				s := float64(gamma[c]) / math.Sqrt(float64(variance[c])+eps)
				scale[c] = s
				ow.B[c] = float32(float64(beta[c]) - float64(mean[c])*s)
			}
			ow.W = make([][]float32, len(op.Kernels))
			off := 0
			for gi, k := range op.Kernels {
				key, _ := op.weightKey(gi)
				t := get(key)
				co, ci := op.OutSplit[gi], op.InSplit[gi]
				sc := scale[off : off+co]
				switch op.Kind {
				case OpDepthwise:
					dst := make([]float32, k*k*co)
					mixconv.ConvertTorchWeight(dst, t, co, k)
					for j := range dst {
						dst[j] = float32(float64(dst[j]) * sc[j%co])
					}
					ow.W[gi] = dst
				case OpStem:
					dst := make([]float32, k*k*ci*co)
					for o := 0; o < co; o++ {
						for c := 0; c < ci; c++ {
							for ky := 0; ky < k; ky++ {
								for kx := 0; kx < k; kx++ {
									v := t[((o*ci+c)*k+ky)*k+kx]
									dst[((ky*k+kx)*ci+c)*co+o] = float32(float64(v) * sc[o])
								}
							}
						}
					}
					ow.W[gi] = dst
				case OpPointwise:
					dst := make([]float32, ci*co)
					for o := 0; o < co; o++ {
						for c := 0; c < ci; c++ {
							dst[c*co+o] = float32(float64(t[o*ci+c]) * sc[o])
						}
					}
					ow.W[gi] = dst
				}
				off += co
			}
		case OpSE:
			mid, rd := g.Tensors[op.In].C, op.SEReduce
			ow.W = [][]float32{
				transpose(get(op.Name+".conv_reduce.weight"), rd, mid),
				transpose(get(op.Name+".conv_expand.weight"), mid, rd),
			}
			ow.SEBias = get(op.Name + ".conv_reduce.bias")
			ow.B = get(op.Name + ".conv_expand.bias")
		case OpLinear:
			ow.W = [][]float32{get(op.Name + ".weight")}
			ow.B = get(op.Name + ".bias")
		}
	}
	return w
}

// transpose turns a row-major [rows][cols] matrix into [cols][rows].
func transpose(m []float32, rows, cols int) []float32 {
	t := make([]float32, len(m))
	for r := 0; r < rows; r++ {
		for c := 0; c < cols; c++ {
			t[c*rows+r] = m[r*cols+c]
		}
	}
	return t
}
