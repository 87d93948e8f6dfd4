package model

import (
	"math"
	"sort"
)

// LayerShift says how far calibration pictures moved one conv's output
// from what its BatchNorm statistics say the training data gave: the root
// mean square over channels of (picture mean − predicted mean) / predicted
// standard deviation, after the activation.
type LayerShift struct {
	Op    int
	Shift float64
}

// DomainCheck compares calibration pictures with the training data as the
// BatchNorm statistics describe it. Pictures like the training data keep
// Score (the median layer shift) small; pictures of another kind (colour
// photos for a model trained on grey clothing) move many layers by several
// standard deviations.
type DomainCheck struct {
	Layers []LayerShift // conv ops, in graph order
	Score  float64      // median of Layers' shifts
}

// DomainWarnScore is the Score above which convert warns that the
// calibration pictures do not look like the model's training data
// (measured in docs/QUANTIZATION.md: in-domain pictures stay well below,
// off-domain ones well above).
const DomainWarnScore = 0.25

// CheckDomain compares cal's pictures with df's BatchNorm predictions.
func CheckDomain(g *Graph, cal *Calibrator, df *DataFreeStats) DomainCheck {
	var d DomainCheck
	var shifts []float64
	for i := range g.Ops {
		switch g.Ops[i].Kind {
		case OpStem, OpPointwise, OpDepthwise:
		default:
			continue
		}
		m, _ := cal.OpMoments(i)
		pm, ps := df.OpMean[i], df.OpStd[i]
		if m == nil || len(pm) != len(m) {
			continue
		}
		var ss float64
		for c := range m {
			z := (m[c] - pm[c]) / math.Max(ps[c], 1e-3)
			ss += z * z
		}
		s := math.Sqrt(ss / float64(len(m)))
		d.Layers = append(d.Layers, LayerShift{Op: i, Shift: s})
		shifts = append(shifts, s)
	}
	if len(shifts) > 0 {
		sort.Float64s(shifts)
		d.Score = shifts[len(shifts)/2]
	}
	return d
}
