package model

import (
	"math"
	"math/rand/v2"
	"strings"
)

// SyntheticStateDict draws deterministic weights in timm's state_dict
// layout for g: He-initialised convs, BN statistics and biases of the
// magnitude trained MixNets have. For benchmarks and tests without files.
func (g *Graph) SyntheticStateDict(seed uint64) map[string][]float32 {
	rng := rand.New(rand.NewPCG(seed, 0x6d69786564676521))
	sd := map[string][]float32{}
	for _, ts := range g.ExpectedTensors() {
		n := 1
		for _, d := range ts.Shape {
			n *= d
		}
		fan := max(n/ts.Shape[0], 1)
		v := make([]float32, n)
		for i := range v {
			switch {
			case strings.HasSuffix(ts.Key, ".running_var"), strings.HasSuffix(ts.Key, ".weight") && len(ts.Shape) == 1:
				v[i] = float32(0.5 + rng.Float64()) // BN variance and gamma
			case len(ts.Shape) == 1:
				v[i] = float32(rng.NormFloat64() * 0.2) // BN mean/beta, biases
			default:
				v[i] = float32(rng.NormFloat64() * math.Sqrt(2/float64(fan)))
			}
		}
		sd[ts.Key] = v
	}
	return sd
}

// SyntheticWeights are SyntheticStateDict(seed), folded for the executor.
func (g *Graph) SyntheticWeights(seed uint64) *Weights {
	sd := g.SyntheticStateDict(seed)
	return g.foldWeights(func(k string) []float32 { return sd[k] })
}
