package model

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/mixedge/mixedge/camera"
	"github.com/mixedge/mixedge/kernels"
	"github.com/mixedge/mixedge/model/calib"
	"github.com/mixedge/mixedge/quant"
	"github.com/mixedge/mixedge/tools/fashion/fmnist"
)

// Trained fixtures: MixNets trained on Fashion-MNIST by tools/fashion
// (`make fixtures`), 32x32 inputs, 10 classes, ImageNet mean/std.
const fmnistSize = 32

func fixtureDir() string {
	if d := os.Getenv("MIXEDGE_FIXTURES"); d != "" {
		return d
	}
	return "testdata"
}

// trainedNet loads the fixture for arch, skipping when it or the data set is missing.
func trainedNet(t testing.TB, arch string) *FloatNet {
	t.Helper()
	path := filepath.Join(fixtureDir(), "fmnist_"+arch+".safetensors")
	size := fmnistSize
	if strings.HasPrefix(arch, "64_") { // the 64x64 fixture: fmnist64_mixnet_s
		arch, size = strings.TrimPrefix(arch, "64_"), 64
		path = filepath.Join(fixtureDir(), "fmnist64_"+arch+".safetensors")
	}
	if _, err := os.Stat(path); err != nil {
		t.Skipf("trained fixture missing (make fixtures writes it): %v", err)
	}
	return loadFloatNet(t, path, arch, size, 10)
}

// fmnistData is Fashion-MNIST preprocessed as mixedge preprocesses a 28x28
// grey PNG for a 32x32 model (crop 1, ImageNet mean and std).
type fmnistData struct {
	calib, val, test []labelled
	builtin          []labelled // calib.Default(), preprocessed the same way (label -1)
}

type labelled struct {
	x     []float32
	label int
}

var (
	fmnistMu   sync.Mutex
	fmnistSets = map[int]*fmnistData{} // by input size
)

// fmnistCalibImages is how many training pictures calibrate: every 100th
// picture of the training split (never a validation one: 100 is 4 mod 12), 600 in all, the
// first N of them used.
func loadFmnist(t testing.TB) *fmnistData { return loadFmnistSize(t, fmnistSize) }

func loadFmnistSize(t testing.TB, size int) *fmnistData {
	t.Helper()
	if _, err := os.Stat(filepath.Join(fmnist.Dir, "train-images-idx3-ubyte.gz")); err != nil {
		t.Skipf("Fashion-MNIST not installed (apt-get install dataset-fashion-mnist): %v", err)
	}
	fmnistMu.Lock()
	defer fmnistMu.Unlock()
	if d := fmnistSets[size]; d != nil {
		return d
	}
	d, err := prepFmnist(size)
	if err != nil {
		t.Fatal(err)
	}
	fmnistSets[size] = d
	return d
}

func prepFmnist(size int) (*fmnistData, error) {
	{
		pp := camera.Preprocess{Size: size, CropPct: 1, Mean: imagenetDefaults.Mean, Std: imagenetDefaults.Std}
		prep := func(s *fmnist.Set, idx []int) []labelled {
			out := make([]labelled, len(idx))
			parallelFor(len(idx), func(lo, hi int) {
				m := camera.NewRGB(s.W, s.H)
				for j := lo; j < hi; j++ {
					s.ImageInto(m, idx[j])
					x := make([]float32, size*size*3)
					if err := pp.Apply(x, m); err != nil {
						panic(err)
					}
					out[j] = labelled{x, int(s.Labels[idx[j]])}
				}
			})
			return out
		}
		train, err := fmnist.Load(fmnist.Dir, "train")
		if err != nil {
			return nil, err
		}
		test, err := fmnist.Load(fmnist.Dir, "t10k")
		if err != nil {
			return nil, err
		}
		var cal, val, all []int
		for i := 0; i < train.N; i++ {
			if fmnist.IsValidation(i) {
				val = append(val, i)
			} else if i%100 == 0 {
				cal = append(cal, i)
			}
		}
		for i := 0; i < test.N; i++ {
			all = append(all, i)
		}
		d := &fmnistData{calib: prep(train, cal), val: prep(train, val), test: prep(test, all)}
		for _, im := range calib.Default() {
			m, err := im.Load()
			if err != nil {
				return nil, err
			}
			x := make([]float32, size*size*3)
			if err := pp.Apply(x, m); err != nil {
				return nil, err
			}
			d.builtin = append(d.builtin, labelled{x, -1})
		}
		return d, nil
	}
}

func parallelFor(n int, f func(lo, hi int)) {
	w := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	for k := 0; k < w; k++ {
		lo, hi := n*k/w, n*(k+1)/w
		wg.Add(1)
		go func() { defer wg.Done(); f(lo, hi) }()
	}
	wg.Wait()
}

// floatEval runs the float network over set (a copy of the network per
// worker) and returns its top-1 accuracy in percent and every logit vector.
func floatEval(t testing.TB, net *FloatNet, set []labelled) (float64, [][]float32) {
	logits := make([][]float32, len(set))
	parallelFor(len(set), func(lo, hi int) {
		n, err := NewFloatNet(net.G, net.W)
		if err != nil {
			panic(err)
		}
		for j := lo; j < hi; j++ {
			logits[j] = append([]float32(nil), n.Run(set[j].x)...)
		}
	})
	correct := 0
	for j, l := range logits {
		if argmax(l) == set[j].label {
			correct++
		}
	}
	return 100 * float64(correct) / float64(len(set)), logits
}

// int8Score is how an int8 model does on a labelled set: top-1 in percent,
// agreement of its top-1 with the float network's in percent, and the mean
// SQNR of its logits against the float logits in dB.
type int8Score struct{ top1, agree, sqnr float64 }

func int8Eval(t testing.TB, q *QModel, set []labelled, ref [][]float32) int8Score {
	var mu sync.Mutex
	var correct, agree int
	var sq float64
	parallelFor(len(set), func(lo, hi int) {
		n, err := NewInt8Net(q, bestTier())
		if err != nil {
			panic(err)
		}
		c, a, s := 0, 0, 0.0
		for j := lo; j < hi; j++ {
			got := n.Run(set[j].x)
			top := argmax(got)
			if top == set[j].label {
				c++
			}
			if ref != nil {
				if top == argmax(ref[j]) {
					a++
				}
				s += min(quant.SQNR(ref[j], got), 99)
			}
		}
		mu.Lock()
		correct, agree, sq = correct+c, agree+a, sq+s
		mu.Unlock()
	})
	n := float64(len(set))
	return int8Score{100 * float64(correct) / n, 100 * float64(agree) / n, sq / n}
}

// recipe is one way of choosing the int8 parameters.
type recipe struct {
	name     string
	spec     ObserverSpec
	biasCorr bool
	nCalib   int
	builtin  bool            // calibrate on calib.Default() instead of training pictures
	dataFree bool            // ranges (and means) from BatchNorm statistics, no pictures
	dfOpt    DataFreeOptions // with dataFree
	union    bool            // pictures' ranges widened to hold the data-free ones
	optimize int             // OptimizeRanges on this many of the calibration pictures
	dfMeans  bool            // with union: bias correction from the data-free means
}

// quantize converts net with the recipe, calibrating (unless data-free) on
// imgs.
func (r recipe) quantize(t testing.TB, net *FloatNet, imgs []labelled, pre PreprocessDefaults, labels []string) *QModel {
	t.Helper()
	var rg Ranges
	var opt QuantizeOptions
	var st *DataFreeStats
	if r.union || r.dataFree {
		var err error
		if st, err = DataFree(net.G, net.W, r.spec, r.dfOpt); err != nil {
			t.Fatal(err)
		}
		rg = st.Ranges
		if r.biasCorr {
			opt.Means = st.Means
		}
	}
	if !r.dataFree {
		cal := calibrateOn(t, net, r.spec, imgs)
		pr, err := cal.Ranges()
		if err != nil {
			t.Fatal(err)
		}
		rg = pr
		if r.union {
			rg = UnionRanges(pr, st.Ranges)
		}
		if r.biasCorr && !r.dfMeans {
			opt.Means = cal.Means()
		}
	}
	if r.optimize > 0 {
		sub := imgs[:min(r.optimize, len(imgs))]
		var xs, ref [][]float32
		for _, s := range sub {
			xs = append(xs, s.x)
			ref = append(ref, append([]float32(nil), net.Run(s.x)...))
		}
		var err error
		if rg, _, err = OptimizeRanges(net.G, net.W, rg, pre, opt, xs, ref, bestTier(), nil); err != nil {
			t.Fatal(err)
		}
	}
	q, err := QuantizeWith(net.G, net.W, rg, pre, labels, opt)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// fmnistQuantize is recipe.quantize for the Fashion-MNIST fixtures.
func (r recipe) fmnistQuantize(t testing.TB, net *FloatNet, d *fmnistData) *QModel {
	pre := net.G.Arch.Preprocess
	pre.InputSize, pre.CropPct = net.G.InputSize, 1
	imgs := d.calib[:min(r.nCalib, len(d.calib))]
	if r.builtin {
		imgs = d.builtin
	}
	return r.quantize(t, net, imgs, pre, fmnist.Labels)
}

func mustSpec(t testing.TB, s string) ObserverSpec {
	spec, err := ParseObserverSpec(s)
	if err != nil {
		t.Fatal(err)
	}
	return spec
}

// TestTrainedRecipes prints int8 top-1 on the validation split for every
// recipe (the measurements behind the defaults; docs/QUANTIZATION.md).
func TestTrainedRecipes(t *testing.T) {
	if os.Getenv("MIXEDGE_MEASURE") == "" {
		t.Skip("a measurement table (minutes), not a check: run with MIXEDGE_MEASURE=1 -v")
	}
	arch := os.Getenv("MIXEDGE_RECIPE_ARCH")
	if arch == "" {
		arch = "mixnet_s"
	}
	net := trainedNet(t, arch)
	d := loadFmnistSize(t, net.G.InputSize)
	fp, ref := floatEval(t, net, d.val)
	t.Logf("%s fp32 validation top-1 %.2f%%", arch, fp)
	var recipes []recipe
	for _, r := range observerRecipes(t) {
		r.nCalib = 500
		recipes = append(recipes, r)
	}
	for _, r := range noCalibRecipes(t) {
		r.name = "no-calib " + r.name
		recipes = append(recipes, r)
	}
	for _, r := range recipes {
		if !recipeWanted(r) {
			continue
		}
		q := r.fmnistQuantize(t, net, d)
		sc := int8Eval(t, q, d.val, ref)
		t.Logf("%-20s %-24s bias-corr %-5v calib %3d spread %.2f: top-1 %.2f%% (%+.2f), agree %.2f%%, SQNR %.2f dB",
			r.name, r.spec, r.biasCorr, r.nCalib, r.dfOpt.PoolSpread, sc.top1, sc.top1-fp, sc.agree, sc.sqnr)
	}
	_ = fmt.Sprint
}

func bestTier() *kernels.Table {
	ts := kernels.Tiers()
	return ts[len(ts)-1]
}

// domainScore calibrates net on imgs and compares with its BatchNorm statistics.
func domainScore(t testing.TB, net *FloatNet, imgs []labelled) DomainCheck {
	t.Helper()
	cal := calibrateOn(t, net, DefaultObserverSpec, imgs)
	df, err := DataFree(net.G, net.W, DefaultObserverSpec, DataFreeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return CheckDomain(net.G, cal, df)
}

// The check that makes convert warn: the built-in photos are off-domain
// for a model trained on grey clothing, its own training pictures are not.
func TestDomainCheckTrained(t *testing.T) {
	if testing.Short() {
		t.Skip("preprocesses Fashion-MNIST and calibrates twice (seconds here, minutes under qemu); skipped with -short")
	}
	net := trainedNet(t, "mixnet_s")
	d := loadFmnist(t)
	in := domainScore(t, net, d.calib[:14]) // as few as the built-in set
	off := domainScore(t, net, d.builtin)
	t.Logf("median layer shift: training pictures %.2f, built-in pictures %.2f (warn above %.1f)", in.Score, off.Score, DomainWarnScore)
	if in.Score >= DomainWarnScore {
		t.Errorf("training pictures score %.2f, want < %.1f (no warning in-domain)", in.Score, DomainWarnScore)
	}
	if off.Score <= DomainWarnScore {
		t.Errorf("built-in pictures score %.2f, want > %.1f (a warning off-domain)", off.Score, DomainWarnScore)
	}
}

// observerRecipes are the observer choices measured for calibration on
// pictures, each with and without bias correction.
func observerRecipes(t testing.TB) []recipe {
	var rs []recipe
	for _, obs := range []string{"minmax", "percentile", "mse", "image-mse", "percentile,add=minmax", "mse,add=minmax",
		"minmax,conv=percentile,preact=percentile", "minmax,conv=mse,preact=mse", "percentile,se=minmax,add=minmax"} {
		for _, bc := range []bool{false, true} {
			rs = append(rs, recipe{name: obs, spec: mustSpec(t, obs), biasCorr: bc})
		}
	}
	for _, obs := range []string{"minmax", "percentile", "mse"} {
		rs = append(rs, recipe{name: "union(calib,df) " + obs, spec: mustSpec(t, obs), biasCorr: true, union: true})
		rs = append(rs, recipe{name: "optimize " + obs, spec: mustSpec(t, obs), biasCorr: true, optimize: 64})
	}
	return rs
}

// noCalibRecipes are the candidates for convert without --calib: the
// built-in pictures, data-free ranges, or both.
func noCalibRecipes(t testing.TB) []recipe {
	var rs []recipe
	for _, obs := range []string{"minmax", "mse"} {
		rs = append(rs, recipe{name: "builtin " + obs, spec: mustSpec(t, obs), biasCorr: true, builtin: true})
		rs = append(rs, recipe{name: "union(builtin,df) " + obs, spec: mustSpec(t, obs), biasCorr: true, builtin: true, union: true})
		rs = append(rs, recipe{name: "union(builtin,df) dfmeans " + obs, spec: mustSpec(t, obs), biasCorr: true, builtin: true, union: true, dfMeans: true})
	}
	for _, obs := range []string{"percentile", "mse"} {
		for _, spread := range []float64{0.25, 0.5, 1} {
			rs = append(rs, recipe{name: "data-free " + obs, spec: mustSpec(t, obs), biasCorr: true,
				dataFree: true, dfOpt: DataFreeOptions{PoolSpread: spread}})
		}
	}
	return rs
}

// The defaults on the trained fixture's test split (final figures: the
// defaults were chosen on the validation split, TestTrainedRecipes):
// convert with ≤ 500 of the model's training pictures keeps int8 top-1
// within 0.2 point of fp32, and convert with no pictures of its own (the
// built-in set widened to the data-free ranges; or data-free alone)
// within 1 point.
func TestTrainedDefaults(t *testing.T) {
	if testing.Short() {
		t.Skip("10k test pictures through the float network (a minute or two); skipped with -short")
	}
	net := trainedNet(t, "mixnet_s")
	d := loadFmnist(t)
	fp, ref := floatEval(t, net, d.test)
	t.Logf("fp32 test top-1 %.2f%%", fp)
	for _, tc := range []struct {
		r    recipe
		loss float64
	}{
		{recipe{name: "--calib (500 training pictures)", spec: DefaultObserverSpec, biasCorr: true, nCalib: 500}, 0.2},
		{recipe{name: "no --calib (built-in set + data-free)", spec: RobustObserverSpec, biasCorr: true, builtin: true, union: true}, 1},
		{recipe{name: "--calib none (data-free)", spec: DataFreeObserverSpec, biasCorr: true, dataFree: true}, 1},
	} {
		s := int8Eval(t, tc.r.fmnistQuantize(t, net, d), d.test, ref)
		t.Logf("%-40s int8 test top-1 %.2f%% (%+.2f), agreement %.2f%%, logit SQNR %.2f dB", tc.r.name, s.top1, s.top1-fp, s.agree, s.sqnr)
		if s.top1 < fp-tc.loss {
			t.Errorf("%s: int8 top-1 %.2f%%, fp32 %.2f%%: more than %.1f point lost", tc.r.name, s.top1, fp, tc.loss)
		}
	}
}

// recipeWanted filters the measurement tables by MIXEDGE_RECIPES, a list of
// name|name|... (a recipe runs when its name equals one; empty: all).
func recipeWanted(r recipe) bool {
	f := os.Getenv("MIXEDGE_RECIPES")
	if f == "" {
		return true
	}
	for _, n := range strings.Split(f, "|") {
		if r.name == n || strings.TrimPrefix(r.name, "no-calib ") == n {
			return true
		}
	}
	return false
}

// calibrateOn runs every pass of a spec calibrator over imgs.
func calibrateOn(t testing.TB, net *FloatNet, spec ObserverSpec, imgs []labelled) *Calibrator {
	t.Helper()
	cal, err := NewCalibratorSpec(net, spec)
	if err != nil {
		t.Fatal(err)
	}
	for p := 0; p < cal.Passes(); p++ {
		for _, s := range imgs {
			cal.Observe(s.x)
		}
		cal.EndPass()
	}
	return cal
}
