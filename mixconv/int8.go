package mixconv

import (
	"fmt"

	"github.com/mixedge/mixedge/kernels"
	"github.com/mixedge/mixedge/quant"
)

// QS8 is a MixConv in int8: one depthwise kernel call per group, each on
// its channel slice of the same NHWC tensors, so the executor sees one op.
type QS8 struct {
	Spec   Spec
	Shapes []kernels.DWConvShape // per group
	W      [][]int8              // per group [K][K][Cg], symmetric in [-127, 127] (after Pack: a tier's PackDW form)
	Bias   []int32               // [C], input zero point folded in
	M      []quant.Multiplier    // [C]
	// Off is each group's first channel in the tensors, Bias and M; nil
	// means the groups follow each other from channel 0 (Halves sets it).
	Off []int
}

// NewQS8 lays out the per-group kernel calls of spec on an h×w input.
// weights is every group's [K][K][Cg] block, groups in channel order.
func NewQS8(spec Spec, h, w int, weights []int8, bias []int32, m []quant.Multiplier) (*QS8, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	if spec.dilation() != 1 {
		return nil, fmt.Errorf("mixconv: the int8 path has no dilation (got %d)", spec.dilation())
	}
	c := spec.Channels()
	if len(bias) != c || len(m) != c {
		return nil, fmt.Errorf("mixconv: %d biases and %d multipliers for %d channels", len(bias), len(m), c)
	}
	oh, ow := spec.OutSize(h, w)
	q := &QS8{Spec: spec, Bias: bias, M: m}
	off := 0
	for g, k := range spec.Kernels {
		n := spec.WeightLen(g)
		if off+n > len(weights) {
			return nil, fmt.Errorf("mixconv: %d weights, group %d needs up to %d", len(weights), g, off+n)
		}
		top, _, left, _ := spec.Pads(g, h, w)
		s := kernels.DWConvShape{H: h, W: w, C: spec.Split[g], InStride: c, OutStride: c,
			K: k, Stride: spec.Stride, PadTop: top, PadLeft: left, OH: oh, OW: ow}
		if err := s.Validate(); err != nil {
			return nil, fmt.Errorf("mixconv group %d: %w", g, err)
		}
		q.Shapes = append(q.Shapes, s)
		q.W = append(q.W, weights[off:off+n])
		off += n
	}
	if off != len(weights) {
		return nil, fmt.Errorf("mixconv: %d weights, the groups take %d", len(weights), off)
	}
	return q, nil
}

// Pack replaces each group's weights with pack's form of them (a kernel
// tier's PackDW), once at load, for that tier's depthwise entry.
func (q *QS8) Pack(pack func(w []int8, k, c int) []int8) {
	for g := range q.W {
		q.W[g] = pack(q.W[g], q.Shapes[g].K, q.Shapes[g].C)
	}
}

// Forward computes output rows [y0, y1) of every group with dw (a kernel
// tier's depthwise entry): requantized to zOut and clamped to [qmin, qmax].
func (q *QS8) Forward(dw kernels.DWConvFunc, dst, src []int8, zIn, zOut, qmin, qmax int32, y0, y1 int) {
	off := 0
	for g := range q.Shapes {
		c := q.Shapes[g].C
		if q.Off != nil {
			off = q.Off[g]
		}
		dw(dst[off:], src[off:], q.W[g], q.Bias[off:off+c], q.M[off:off+c], &q.Shapes[g], zIn, zOut, qmin, qmax, y0, y1)
		off += c
	}
}

// HalfMinC is the fewest channels a group needs for Halves (16 per half:
// the SIMD kernels' block).
const HalfMinC = 32

// Halves splits every group's channels in two, the first part a multiple
// of 16, so that two threads can each run every row of one half: on small
// maps a split by rows makes each thread convert most input rows again
// (K-1 rows of overlap) and leaves 7 rows unevenly shared. It needs the
// plain weights (call it before Pack; pack each half) and reports false if
// a group has fewer than HalfMinC channels.
func (q *QS8) Halves() ([2]*QS8, bool) {
	var h [2]*QS8
	for p := range h {
		h[p] = &QS8{Spec: q.Spec, Bias: q.Bias, M: q.M}
	}
	off := 0
	for g, s := range q.Shapes {
		if s.C < HalfMinC {
			return [2]*QS8{}, false
		}
		first := (s.C/2 + 15) &^ 15
		parts := [2][2]int{{0, first}, {first, s.C}}
		taps := s.K * s.K
		for p, r := range parts {
			c := r[1] - r[0]
			w := make([]int8, taps*c)
			for t := range taps {
				copy(w[t*c:(t+1)*c], q.W[g][t*s.C+r[0]:])
			}
			hs := s
			hs.C = c
			h[p].Shapes = append(h[p].Shapes, hs)
			h[p].W = append(h[p].W, w)
			h[p].Off = append(h[p].Off, off+r[0])
		}
		off += s.C
	}
	return h, true
}
