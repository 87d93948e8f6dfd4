package model

import (
	"math"

	"github.com/mixedge/mixedge/kernels"
	"github.com/mixedge/mixedge/quant"
)

// RangeFactors are the shares of a calibrated range OptimizeRanges tries
// for each point (1 keeps it).
var RangeFactors = []float32{1, 0.8, 0.64, 0.5, 0.4, 0.32, 0.25, 0.2, 0.16}

// OptimizeRanges narrows the calibrated ranges where that brings the int8
// network's logits closer to the float network's on the given pictures.
// With per-tensor scales, a few channels that take large values but barely
// move the logits can set a tensor's range and leave the channels that
// matter a handful of int8 steps; no observer sees that, the logits do.
// Point by point in graph order (earlier choices kept), each range is
// scaled by the factor of RangeFactors that gives the highest mean logit
// SQNR over imgs, whose float logits are ref. It runs the int8 network
// len(RangeFactors)·points·len(imgs) times: minutes at 224×224.
func OptimizeRanges(g *Graph, w *Weights, r Ranges, pre PreprocessDefaults, opt QuantizeOptions,
	imgs, ref [][]float32, k *kernels.Table, progress func(done, total int)) (Ranges, float64, error) {
	cur := append(Ranges(nil), r...)
	score := func(rg Ranges) (float64, error) {
		q, err := QuantizeWith(g, w, rg, pre, nil, opt)
		if err != nil {
			return 0, err
		}
		n, err := NewInt8Net(q, k)
		if err != nil {
			return 0, err
		}
		var s float64
		for i, x := range imgs {
			s += math.Min(quant.SQNR(ref[i], n.Run(x)), 99)
		}
		return s / float64(len(imgs)), nil
	}
	best, err := score(cur)
	if err != nil {
		return nil, 0, err
	}
	type pt struct {
		op int
		p  Point
	}
	var pts []pt
	for i := range g.Ops {
		for p := Point(0); p < NumPoints; p++ {
			if cur[i][p].Seen && g.Ops[i].Kind != OpLinear {
				pts = append(pts, pt{i, p})
			}
		}
	}
	for done, x := range pts {
		base := cur[x.op][x.p]
		choice := base
		for _, f := range RangeFactors[1:] {
			cur[x.op][x.p] = Range{Lo: base.Lo * f, Hi: base.Hi * f, Seen: true}
			s, err := score(cur)
			if err != nil {
				continue // a range too narrow for its table or multiplier: keep the wider one
			}
			if s > best {
				best, choice = s, cur[x.op][x.p]
			}
		}
		cur[x.op][x.p] = choice
		if progress != nil {
			progress(done+1, len(pts))
		}
	}
	return cur, best, nil
}
