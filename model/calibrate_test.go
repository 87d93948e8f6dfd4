package model

import (
	"math"
	"strings"
	"testing"

	"github.com/mixedge/mixedge/camera"
	"github.com/mixedge/mixedge/kernels"
	"github.com/mixedge/mixedge/quant"
)

func TestParseObserverSpec(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"mse", "mse"},
		{"percentile,add=minmax", "conv=percentile,preact=percentile,add=minmax,se=percentile,pool=percentile"},
		{"minmax,conv=mse,preact=mse", "conv=mse,preact=mse,add=minmax,se=minmax,pool=minmax"},
		{" mse , se=minmax ", "conv=mse,preact=mse,add=mse,se=minmax,pool=mse"},
	} {
		s, err := ParseObserverSpec(tc.in)
		if err != nil {
			t.Fatalf("%q: %v", tc.in, err)
		}
		if s.String() != tc.want {
			t.Errorf("%q: %s, want %s", tc.in, s, tc.want)
		}
		if back, err := ParseObserverSpec(s.String()); err != nil || back != s {
			t.Errorf("%q: round trip %v, %v", tc.in, back, err)
		}
	}
	for in, want := range map[string]string{
		"":                "empty observer",
		"fancy":           `unknown observer "fancy"`,
		"mse,percentile":  "may only come first",
		"mse,gate=minmax": `unknown point class "gate"`,
		"conv=fancy":      `unknown observer "fancy"`,
	} {
		if _, err := ParseObserverSpec(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want it to say %q", in, err, want)
		}
	}
}

func TestPointClassOf(t *testing.T) {
	g := buildS(t, 64)
	seen := map[PointClass]bool{}
	for i := range g.Ops {
		op := &g.Ops[i]
		for p := Point(0); p < NumPoints; p++ {
			c := PointClassOf(op, p)
			seen[c] = true
			switch {
			case p == PointPreAct && c != ClassPreAct,
				p >= PointSEMean && c != ClassSE,
				p == PointOut && op.Kind == OpSE && c != ClassSE,
				p == PointOut && op.Kind == OpAdd && c != ClassAdd,
				p == PointOut && op.Kind == OpPool && c != ClassPool,
				p == PointOut && op.Kind == OpPointwise && c != ClassConv:
				t.Errorf("%s %s: class %s", op.Name, p, c)
			}
		}
	}
	if len(seen) != int(NumClasses) {
		t.Errorf("classes seen: %v", seen)
	}
}

func buildS(t testing.TB, size int) *Graph {
	t.Helper()
	a, _ := LookupArch("mixnet_s")
	g, err := Build(a, size, 10)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// synthNet is mixnet_s with synthetic weights at a small input size.
func synthNet(t testing.TB, size int) *FloatNet {
	g := buildS(t, size)
	net, err := NewFloatNet(g, g.SyntheticWeights(3))
	if err != nil {
		t.Fatal(err)
	}
	return net
}

func synthImages(t testing.TB, size, n int) [][]float32 {
	pp := camera.Preprocess{Size: size, CropPct: 1, Mean: imagenetDefaults.Mean, Std: imagenetDefaults.Std}
	var out [][]float32
	for i := 0; i < n; i++ {
		x := make([]float32, size*size*3)
		if err := pp.Apply(x, camera.SyntheticImage(uint64(i), size+8, size+8)); err != nil {
			t.Fatal(err)
		}
		out = append(out, x)
	}
	return out
}

// Bias correction removes the mean output shift of rounded weights: the
// mean over pictures of each conv's int8 output (with float inputs up to
// it, so only its own weights differ) moves toward the float mean.
func TestBiasCorrectionCentresOutputs(t *testing.T) {
	net := synthNet(t, 48)
	imgs := synthImages(t, 48, 6)
	cal, err := NewCalibratorSpec(net, DefaultObserverSpec)
	if err != nil {
		t.Fatal(err)
	}
	for p := 0; p < cal.Passes(); p++ {
		for _, x := range imgs {
			cal.Observe(x)
		}
		cal.EndPass()
	}
	r, err := cal.Ranges()
	if err != nil {
		t.Fatal(err)
	}
	pre := net.G.Arch.Preprocess
	pre.InputSize, pre.CropPct = 48, 1
	plain, err := QuantizeWith(net.G, net.W, r, pre, nil, QuantizeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	corr, err := QuantizeWith(net.G, net.W, r, pre, nil, QuantizeOptions{Means: cal.Means()})
	if err != nil {
		t.Fatal(err)
	}
	// The mean shift of each conv's pre-requantization output, computed in
	// float from the dequantized weights and biases against the float ones,
	// over the calibration inputs' channel means.
	var before, after float64
	changed := 0
	for i := range net.G.Ops {
		op := &net.G.Ops[i]
		if op.Kind != OpPointwise {
			continue
		}
		for c := range plain.Ops[i].Bias {
			if plain.Ops[i].Bias[c] != corr.Ops[i].Bias[c] {
				changed++
			}
		}
		b, a := meanShift(net, plain, i, cal.Means()), meanShift(net, corr, i, cal.Means())
		before += b
		after += a
	}
	t.Logf("pointwise mean output shift: %.4g without bias correction, %.4g with; %d biases changed", before, after, changed)
	if changed == 0 || !(after < 0.5*before) {
		t.Errorf("bias correction: shift %.4g -> %.4g (%d biases changed), want at most half", before, after, changed)
	}
}

// meanShift is Σ_o |E[y_q] − E[y]| for pointwise op i given its input
// means: (W_q·s_w − W)·E[x] + (b_q·s_in·s_w − b), zero point folded out.
func meanShift(net *FloatNet, q *QModel, i int, means [][]float32) float64 {
	g := net.G
	op := &g.Ops[i]
	qo := &q.Ops[i]
	m := means[op.In]
	var sum float64
	off, inOff := 0, 0
	for gi := range op.Kernels {
		ci, co := op.InSplit[gi], op.OutSplit[gi]
		w := net.W.Ops[i].W[gi] // [ci][co]
		qw := qo.W[inOffW(op, gi):]
		for o := 0; o < co; o++ {
			s := float64(qo.WScale[off+o])
			var y, yq, zsum float64
			for c := 0; c < ci; c++ {
				y += float64(w[c*co+o]) * float64(m[inOff+c])
				yq += float64(qw[o*ci+c]) * s * float64(m[inOff+c])
				zsum += float64(qw[o*ci+c])
			}
			// Bias holds b/(s_in·s_w) − zIn·Σw_q.
			inS := float64(q.In.Scale)
			if op.In != g.Input {
				inS = float64(paramsOfTensor(q, op.In).Scale)
			}
			bq := (float64(qo.Bias[off+o]) + float64(qo.ZIn)*zsum) * inS * s
			sum += math.Abs((yq + bq) - (y + float64(net.W.Ops[i].B[off+o])))
		}
		off += co
		inOff += ci
	}
	return sum
}

func inOffW(op *Op, gi int) int {
	n := 0
	for j := 0; j < gi; j++ {
		n += op.InSplit[j] * op.OutSplit[j]
	}
	return n
}

// paramsOfTensor finds the int8 parameters of tensor t (the last op writing it).
func paramsOfTensor(q *QModel, t int) (p quant.Params) {
	for i := range q.G.Ops {
		if q.G.Ops[i].Out == t {
			p = q.Ops[i].Out
		}
	}
	return p
}

// Data-free ranges need no picture, are reproducible, cover every point
// the int8 network needs, and give a working model.
func TestDataFree(t *testing.T) {
	net := synthNet(t, 32)
	small := DataFreeOptions{Seed: 1, Samples: 512, Pictures: 64}
	a, err := DataFree(net.G, net.W, DefaultObserverSpec, small)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := DataFree(net.G, net.W, DefaultObserverSpec, small)
	for i := range a.Ranges {
		if a.Ranges[i] != b.Ranges[i] {
			t.Fatalf("op %d: ranges differ between two runs with one seed", i)
		}
	}
	for i := range net.G.Ops {
		op := &net.G.Ops[i]
		if op.Kind == OpLinear {
			continue
		}
		if r := a.Ranges[i][PointOut]; !r.Seen || !(r.Hi > r.Lo) {
			t.Errorf("%s: output range %+v", op.Name, r)
		}
		if op.Act == ActReLU && a.Ranges[i][PointOut].Lo < 0 {
			t.Errorf("%s: ReLU output range %+v goes below 0", op.Name, a.Ranges[i][PointOut])
		}
	}
	pre := net.G.Arch.Preprocess
	pre.InputSize, pre.CropPct = 32, 1
	q, err := QuantizeWith(net.G, net.W, a.Ranges, pre, nil, QuantizeOptions{Means: a.Means})
	if err != nil {
		t.Fatal(err)
	}
	qn, err := NewInt8Net(q, kernels.Generic)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range synthImages(t, 32, 2) {
		if got := qn.Run(x); len(got) != 10 || math.IsNaN(float64(got[0])) {
			t.Fatalf("logits %v", got)
		}
	}
	// A conv without BatchNorm statistics is an error, not a guess.
	w := *net.W
	w.Ops = append([]OpWeights(nil), net.W.Ops...)
	w.Ops[0].BNGamma = nil
	if _, err := DataFree(net.G, &w, DefaultObserverSpec, small); err == nil || !strings.Contains(err.Error(), "conv_stem") {
		t.Errorf("no BatchNorm statistics: error %v, want one naming conv_stem", err)
	}
}

func TestUnionRanges(t *testing.T) {
	a := Ranges{{PointOut: {Lo: -1, Hi: 2, Seen: true}}, {}}
	b := Ranges{{PointOut: {Lo: 0, Hi: 3, Seen: true}}, {PointOut: {Lo: 1, Hi: 4, Seen: true}}}
	u := UnionRanges(a, b)
	if u[0][PointOut] != (Range{-1, 3, true}) || u[1][PointOut] != (Range{1, 4, true}) || u[1][PointPreAct].Seen {
		t.Errorf("union %+v", u)
	}
}

// The .fw records how it was calibrated; files without the record load.
func TestFirmwareCalibRecord(t *testing.T) {
	net := synthNet(t, 32)
	st, err := DataFree(net.G, net.W, DefaultObserverSpec, DataFreeOptions{Samples: 256, Pictures: 32})
	if err != nil {
		t.Fatal(err)
	}
	pre := net.G.Arch.Preprocess
	pre.InputSize, pre.CropPct = 32, 1
	q, err := QuantizeWith(net.G, net.W, st.Ranges, pre, make([]string, 10), QuantizeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, rec := range []string{"", "data-free (BatchNorm statistics, no pictures), observer mse"} {
		q.Calib = rec
		qn, err := NewInt8Net(q, kernels.Generic)
		if err != nil {
			t.Fatal(err)
		}
		data, err := EncodeFirmware(q, qn.Plan)
		if err != nil {
			t.Fatal(err)
		}
		fw, err := ParseFirmware(data, "t.fw")
		if err != nil {
			t.Fatal(err)
		}
		if fw.Q.Calib != rec {
			t.Errorf("calib record %q, want %q", fw.Q.Calib, rec)
		}
	}
}
