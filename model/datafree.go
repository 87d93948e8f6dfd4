package model

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Data-free calibration (after Nagel et al., 2019, "Data-Free Quantization
// Through Weight Equalization and Bias Correction"): every conv of a MixNet
// is followed by BatchNorm, whose learnt γ and β say that over the training
// data output channel c had mean β_c and standard deviation |γ_c| before
// the activation. DataFree draws pixels from those per-channel normals,
// pushes them through the activations, squeeze-excite, residual adds and
// the pool, and shows them to the same observers a Calibrator uses. It
// needs no picture, so it cannot be off-domain.

// DataFreeOptions tune the sampling; zero values take the defaults.
type DataFreeOptions struct {
	// Pixels drawn per tensor (each a vector over its channels).
	Samples int
	// PoolSpread is the standard deviation of a channel's per-picture mean
	// (what squeeze-excite and the pool see) as a share of the standard
	// deviation of its pixels: neighbouring pixels are correlated, so a
	// picture's mean varies more than 1/√pixels of it would.
	PoolSpread float64
	// Pictures is how many per-picture means are drawn.
	Pictures int
	Seed     uint64
}

// Defaults of DataFreeOptions, measured on trained MixNets' validation
// splits (docs/QUANTIZATION.md).
const (
	DataFreeSamples    = 4096
	DataFreePoolSpread = 1.0
	DataFreePictures   = 512
)

func (o DataFreeOptions) withDefaults() DataFreeOptions {
	if o.Samples <= 0 {
		o.Samples = DataFreeSamples
	}
	if o.PoolSpread <= 0 {
		o.PoolSpread = DataFreePoolSpread
	}
	if o.Pictures <= 0 {
		o.Pictures = DataFreePictures
	}
	return o
}

// DataFreeStats is what DataFree finds: a range per (op, point) and the
// per-channel mean of every tensor (bias correction), as a Calibrator
// would from pictures.
type DataFreeStats struct {
	Ranges Ranges
	Means  [][]float32 // per tensor id, per channel

	// OpMean and OpStd are each op's output moments per channel, as the
	// BatchNorm statistics predict them (CheckDomain compares pictures'
	// with them).
	OpMean, OpStd [][]float64
}

// DataFree computes ranges and means from the BatchNorm statistics in w,
// with spec's observer for each point class.
func DataFree(g *Graph, w *Weights, spec ObserverSpec, opt DataFreeOptions) (*DataFreeStats, error) {
	opt = opt.withDefaults()
	mk, err := spec.factories()
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(opt.Seed, 0x6d697865646765))
	st := &DataFreeStats{Ranges: make(Ranges, len(g.Ops)), Means: make([][]float32, len(g.Tensors)),
		OpMean: make([][]float64, len(g.Ops)), OpStd: make([][]float64, len(g.Ops))}
	samples := make([][]float32, len(g.Tensors)) // [n][C] per tensor, freed after its last reader
	lastUse := make([]int, len(g.Tensors))
	for i := range g.Ops {
		lastUse[g.Ops[i].In] = i
		if g.Ops[i].In2 >= 0 {
			lastUse[g.Ops[i].In2] = i
		}
	}
	// The image's channel means are unknown without pictures: normalised
	// pictures centre on 0, so the stem gets no bias correction.
	st.Means[g.Input] = make([]float32, g.Tensors[g.Input].C)

	observe := func(i int, p Point, x []float32) {
		o := mk[PointClassOf(&g.Ops[i], p)]()
		chunk := max(len(x)/8, 1)
		for pass := 0; pass < o.Passes(); pass++ {
			for a := 0; a < len(x); a += chunk {
				o.Observe(x[a:min(a+chunk, len(x))])
			}
			o.EndPass()
		}
		lo, hi, ok := o.Range()
		st.Ranges[i][p] = Range{Lo: lo, Hi: hi, Seen: ok}
	}
	for i := range g.Ops {
		op := &g.Ops[i]
		ow := &w.Ops[i]
		c := g.Tensors[op.Out].C
		var out []float32
		switch op.Kind {
		case OpStem, OpPointwise, OpDepthwise:
			if len(ow.BNGamma) != c || len(ow.BNBeta) != c {
				return nil, fmt.Errorf("data-free ranges: %s has no BatchNorm statistics", op.Name)
			}
			out = make([]float32, opt.Samples*c)
			for n := 0; n < opt.Samples; n++ {
				row := out[n*c : (n+1)*c]
				for ch := range row {
					row[ch] = ow.BNBeta[ch] + float32(math.Abs(float64(ow.BNGamma[ch]))*rng.NormFloat64())
				}
			}
			if op.Act == ActSiLU {
				observe(i, PointPreAct, out)
			}
			activate(out, op.Act)
		case OpSE:
			x := samples[op.In]
			mid, rd := c, op.SEReduce
			m := pictureMeans(x, mid, opt, rng)
			observe(i, PointSEMean, m)
			red := affine(m, mid, rd, ow.W[0], ow.SEBias)
			observe(i, PointSEReducePre, red)
			activate(red, op.SEAct)
			observe(i, PointSEAct, red)
			gate := affine(red, rd, mid, ow.W[1], ow.B)
			observe(i, PointSEExpandPre, gate)
			for j, v := range gate {
				gate[j] = sigmoid(v)
			}
			out = make([]float32, len(x))
			for n := 0; n < len(x)/mid; n++ {
				gr := gate[(n%opt.Pictures)*mid:][:mid]
				for ch, v := range x[n*mid : (n+1)*mid] {
					out[n*mid+ch] = v * gr[ch]
				}
			}
		case OpAdd:
			a, b := samples[op.In], samples[op.In2]
			out = make([]float32, len(a))
			for j := range out {
				out[j] = a[j] + b[j]
			}
		case OpPool:
			out = pictureMeans(samples[op.In], c, opt, rng)
		case OpLinear:
			continue // float output: no range
		}
		observe(i, PointOut, out)
		st.OpMean[i], st.OpStd[i] = channelMoments(out, c)
		st.Means[op.Out] = toFloat32(st.OpMean[i])
		samples[op.Out] = out
		for _, t := range []int{op.In, op.In2} {
			if t >= 0 && lastUse[t] == i && t != op.Out {
				samples[t] = nil
			}
		}
	}
	return st, nil
}

// pictureMeans draws opt.Pictures per-picture channel means of pixels x
// ([n][c]): normal around each channel's mean, with PoolSpread of its
// standard deviation.
func pictureMeans(x []float32, c int, opt DataFreeOptions, rng *rand.Rand) []float32 {
	mean, std := channelMoments(x, c)
	m := make([]float32, opt.Pictures*c)
	for n := 0; n < opt.Pictures; n++ {
		for ch := 0; ch < c; ch++ {
			m[n*c+ch] = float32(mean[ch] + opt.PoolSpread*std[ch]*rng.NormFloat64())
		}
	}
	return m
}

// affine computes rows of x ([n][ci]) times w ([ci][co]) plus b.
func affine(x []float32, ci, co int, w, b []float32) []float32 {
	n := len(x) / ci
	out := make([]float32, n*co)
	for r := 0; r < n; r++ {
		o := out[r*co : (r+1)*co]
		copy(o, b)
		for k, a := range x[r*ci : (r+1)*ci] {
			for j, v := range w[k*co : (k+1)*co] {
				o[j] += a * v
			}
		}
	}
	return out
}

func channelMoments(x []float32, c int) (mean, std []float64) {
	mean, std = make([]float64, c), make([]float64, c)
	n := float64(len(x) / c)
	for p := 0; p+c <= len(x); p += c {
		for ch, v := range x[p : p+c] {
			mean[ch] += float64(v)
			std[ch] += float64(v) * float64(v)
		}
	}
	for ch := range mean {
		mean[ch] /= n
		std[ch] = math.Sqrt(max(std[ch]/n-mean[ch]*mean[ch], 0))
	}
	return mean, std
}

func toFloat32(v []float64) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}
