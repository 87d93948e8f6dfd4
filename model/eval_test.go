package model

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/mixedge/mixedge/camera"
	"github.com/mixedge/mixedge/kernels"
)

// evalFixture is a 10-class mixnet_s at 32x32 (synthetic weights, int8
// calibrated on two synthetic pictures), its float net, and n preprocessed
// synthetic pictures.
func evalFixture(t *testing.T, n int) (*QModel, *FloatNet, [][]float32) {
	t.Helper()
	q, _ := synthMixnetS(t, 32, 10, 3, 2)
	net, err := NewFloatNet(q.G, q.G.SyntheticWeights(3))
	if err != nil {
		t.Fatal(err)
	}
	pre := q.Pre
	pp := camera.Preprocess{Size: 32, CropPct: pre.CropPct, Mean: pre.Mean, Std: pre.Std}
	var imgs [][]float32
	for i := range n {
		in := make([]float32, 32*32*3)
		if err := pp.Apply(in, camera.SyntheticImage(uint64(100+i), 48, 40)); err != nil {
			t.Fatal(err)
		}
		imgs = append(imgs, in)
	}
	return q, net, imgs
}

// rankNaive sorts the classes (ties to the lower index) and finds label.
func rankNaive(l []float32, label int) (pred, rank int) {
	idx := make([]int, len(l))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return l[idx[a]] > l[idx[b]] })
	for r, c := range idx {
		if c == label {
			rank = r
		}
	}
	return idx[0], rank
}

func TestEvaluate(t *testing.T) {
	q, fnet, imgs := evalFixture(t, 23)
	// Labels: even samples claim float32's top-1 class, odd ones i%10
	// (mostly misses); sample 5 fails to load, sample 9 has a label out of
	// range.
	fp := make([]int, len(imgs))
	for i, in := range imgs {
		fp[i], _ = rankNaive(fnet.Run(in), 0)
	}
	label := func(i int) int {
		if i%2 == 0 {
			return fp[i]
		}
		return i % 10
	}
	set := EvalSet{N: len(imgs), NewLoader: func() Loader {
		return func(i int, dst []float32) (int, error) {
			switch i {
			case 5:
				return 0, errors.New("broken.png: not a PNG")
			case 9:
				copy(dst, imgs[i])
				return 10, nil
			}
			copy(dst, imgs[i])
			return label(i), nil
		}
	}}
	nets := []NetFactory{FloatNets(fnet.G, fnet.W), Int8Nets(q, kernels.Generic), Int8Nets(q, nil)}
	var last int
	r, err := Evaluate(set, nets, EvalOptions{Workers: 2, KeepLogits: true, Progress: func(d int) { last = d }})
	if err != nil {
		t.Fatal(err)
	}
	if last != len(imgs) {
		t.Errorf("last progress %d, want %d", last, len(imgs))
	}
	if r.Loaded != len(imgs)-2 || len(r.Failed) != 2 || r.Failed[0].Index != 5 || r.Failed[1].Index != 9 ||
		!strings.Contains(r.Failed[1].Err.Error(), "10 classes") || r.Classes != 10 {
		t.Fatalf("loaded %d, failed %v", r.Loaded, r.Failed)
	}
	// Every count against one network instance run sample by sample.
	seq := []Classifier{fnet, mustInt8(t, q, kernels.Generic), mustInt8(t, q, nil)}
	for j, c := range seq {
		nr := r.Nets[j]
		top1, top5, agree := 0, 0, 0
		for i, in := range imgs {
			if i == 5 || i == 9 {
				if nr.Pred[i] != -1 || nr.Rank[i] != -1 || r.Label[i] != -1 || (j > 0 && !math.IsNaN(nr.SQNR[i])) {
					t.Errorf("net %d: failed sample %d has pred %d rank %d", j, i, nr.Pred[i], nr.Rank[i])
				}
				continue
			}
			l := c.Run(in)
			if !reflect.DeepEqual(l, nr.Logits[i*10:(i+1)*10]) {
				t.Fatalf("net %d sample %d: logits differ from a sequential run", j, i)
			}
			p, k := rankNaive(l, label(i))
			if int(nr.Pred[i]) != p || int(nr.Rank[i]) != k {
				t.Errorf("net %d sample %d: pred %d rank %d, want %d %d", j, i, nr.Pred[i], nr.Rank[i], p, k)
			}
			if k == 0 {
				top1++
			}
			if k < 5 {
				top5++
			}
			ref := r.Nets[0].Logits[i*10 : (i+1)*10]
			p0, _ := rankNaive(ref, 0)
			if p == p0 {
				agree++
			}
			if j > 0 {
				var s, n float64
				for c := range l {
					s += float64(ref[c]) * float64(ref[c])
					n += float64(ref[c]-l[c]) * float64(ref[c]-l[c])
				}
				if want := 10 * math.Log10(s/n); math.Abs(want-nr.SQNR[i]) > 1e-3 {
					t.Errorf("net %d sample %d: SQNR %g, want %g", j, i, nr.SQNR[i], want)
				}
			}
		}
		if nr.Top1 != top1 || nr.Top5 != top5 || nr.Agree != agree {
			t.Errorf("net %d: top1 %d top5 %d agree %d, want %d %d %d", j, nr.Top1, nr.Top5, nr.Agree, top1, top5, agree)
		}
		if j == 0 && (top1 < 11 || nr.Agree != r.Loaded) {
			t.Errorf("float32: top1 %d (want the 11 loaded even samples at least), agreement with itself %d", top1, nr.Agree)
		}
	}
	// Generic and the best tier are bit-exact, so they agree everywhere.
	if !reflect.DeepEqual(r.Nets[1].Pred, r.Nets[2].Pred) || !reflect.DeepEqual(r.Nets[1].Logits, r.Nets[2].Logits) {
		t.Error("int8 generic and best tier differ")
	}
	mean, low := r.MeanSQNR(1, 99)
	t.Logf("fp32 top-1 %.3f, int8 %.3f, agreement %.3f, SQNR mean %.1f dB min %.1f dB",
		r.Top1Rate(0), r.Top1Rate(1), r.AgreeRate(1), mean, low)
	if !(mean > 0) || low > mean {
		t.Errorf("SQNR mean %g, lowest %g", mean, low)
	}

	// One worker gives the same results.
	r1, err := Evaluate(set, nets[:2], EvalOptions{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(r1.Nets[1].Rank, r.Nets[1].Rank) || !reflect.DeepEqual(r1.Nets[1].SQNR[:5], r.Nets[1].SQNR[:5]) || r1.Nets[1].Logits != nil {
		t.Error("one worker differs from two")
	}
}

// A reference kept from an earlier run gives the same comparison as
// running it beside the other network.
func TestEvaluateRef(t *testing.T) {
	q, fnet, imgs := evalFixture(t, 9)
	set := EvalSet{N: len(imgs), NewLoader: func() Loader {
		return func(i int, dst []float32) (int, error) { copy(dst, imgs[i]); return i % 10, nil }
	}}
	both, err := Evaluate(set, []NetFactory{FloatNets(fnet.G, fnet.W), Int8Nets(q, nil)}, EvalOptions{KeepLogits: true})
	if err != nil {
		t.Fatal(err)
	}
	ref := both.Nets[0]
	one, err := Evaluate(set, []NetFactory{Int8Nets(q, nil)}, EvalOptions{Ref: &ref})
	if err != nil {
		t.Fatal(err)
	}
	a, b := both.Nets[1], one.Nets[0]
	if a.Top1 != b.Top1 || a.Agree != b.Agree || !reflect.DeepEqual(a.SQNR, b.SQNR) || !reflect.DeepEqual(a.Pred, b.Pred) {
		t.Errorf("with Ref: %+v, beside the reference: %+v", b, a)
	}
	short := ref
	short.Logits = short.Logits[:10]
	if _, err := Evaluate(set, []NetFactory{Int8Nets(q, nil)}, EvalOptions{Ref: &short}); err == nil || !strings.Contains(err.Error(), "KeepLogits") {
		t.Errorf("short Ref: %v", err)
	}
}

func mustInt8(t *testing.T, q *QModel, k *kernels.Table) *Int8Net {
	n, err := NewInt8Net(q, k)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestEvaluateErrors(t *testing.T) {
	q, fnet, imgs := evalFixture(t, 1)
	set := EvalSet{N: 1, NewLoader: func() Loader {
		return func(i int, dst []float32) (int, error) { copy(dst, imgs[i]); return 0, nil }
	}}
	other, _ := synthMixnetS(t, 40, 10, 3, 1)
	if _, err := Evaluate(set, []NetFactory{Int8Nets(q, nil), Int8Nets(other, nil)}, EvalOptions{}); err == nil ||
		!strings.Contains(err.Error(), "40x40") {
		t.Errorf("mixed input sizes: %v", err)
	}
	if _, err := Evaluate(set, nil, EvalOptions{}); err == nil {
		t.Error("no networks: no error")
	}
	// An empty set is not an error: nothing loaded, rates NaN.
	r, err := Evaluate(EvalSet{N: 0, NewLoader: set.NewLoader}, []NetFactory{FloatNets(fnet.G, fnet.W)}, EvalOptions{})
	if err != nil || r.Loaded != 0 || !math.IsNaN(r.Top1Rate(0)) {
		t.Errorf("empty set: %v %+v", err, r)
	}
}

// A sample allocates nothing beyond what its loader does: the allocations
// of an evaluation do not grow with the number of samples.
func TestEvaluateAllocs(t *testing.T) {
	q, _, imgs := evalFixture(t, 4)
	allocs := func(n int) float64 {
		set := EvalSet{N: n, NewLoader: func() Loader {
			return func(i int, dst []float32) (int, error) { copy(dst, imgs[i%len(imgs)]); return i % 10, nil }
		}}
		nets := []NetFactory{Int8Nets(q, nil)}
		return testing.AllocsPerRun(3, func() {
			if _, err := Evaluate(set, nets, EvalOptions{Workers: 1}); err != nil {
				t.Fatal(err)
			}
		})
	}
	a8, a200 := allocs(8), allocs(200)
	t.Logf("allocations: %.0f for 8 samples, %.0f for 200", a8, a200)
	if a200-a8 > 8 {
		t.Errorf("allocations grow with samples: %.0f for 8, %.0f for 200", a8, a200)
	}
}

// BenchmarkEvaluateGrey64 evaluates int8 (and float32) mixnet_s at 64x64
// with 10 classes over grey 64x64 pictures kept in memory, replicated to
// RGB and preprocessed by a camera.Pipeline per worker: what a test over
// Fashion-MNIST-like data costs. Reports images/s.
func BenchmarkEvaluateGrey64(b *testing.B) {
	q, _ := synthMixnetS(b, 64, 10, 7, 2)
	fnet, err := NewFloatNet(q.G, q.G.SyntheticWeights(7))
	if err != nil {
		b.Fatal(err)
	}
	const n = 256
	imgs := make([]*camera.RGB, n)
	for i := range imgs {
		src := camera.SyntheticImage(uint64(i), 64, 64)
		for p := 0; p < len(src.Pix); p += 3 { // grey, as RGB
			y := uint8((int(src.Pix[p]) + int(src.Pix[p+1]) + int(src.Pix[p+2])) / 3)
			src.Pix[p], src.Pix[p+1], src.Pix[p+2] = y, y, y
		}
		imgs[i] = src
	}
	pp := camera.Preprocess{Size: 64, CropPct: 1, Mean: q.Pre.Mean, Std: q.Pre.Std}
	set := EvalSet{N: n, NewLoader: func() Loader {
		pl, err := pp.NewPipeline(64, 64)
		if err != nil {
			b.Fatal(err)
		}
		return func(i int, dst []float32) (int, error) { return i % 10, pl.Apply(dst, imgs[i]) }
	}}
	for _, c := range []struct {
		name string
		nets []NetFactory
	}{
		{"int8", []NetFactory{Int8Nets(q, nil)}},
		{"fp32", []NetFactory{FloatNets(fnet.G, fnet.W)}},
	} {
		for _, w := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/workers=%d", c.name, w), func(b *testing.B) {
				for b.Loop() {
					if _, err := Evaluate(set, c.nets, EvalOptions{Workers: w}); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "images/s")
			})
		}
	}
}
