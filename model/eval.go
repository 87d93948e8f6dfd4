package model

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mixedge/mixedge/kernels"
)

// Classifier is a network Evaluate can run: Int8Net and FloatNet. Run's
// result is a view valid until the next Run of the same network.
type Classifier interface {
	Run(nhwc []float32) []float32
	// Shape is the input size S (NHWC [S][S][3]) and the number of classes.
	Shape() (inputSize, classes int)
}

// Shape is the network's input size and class count.
func (n *Int8Net) Shape() (int, int) { return n.Q.G.InputSize, n.Q.G.Classes }

// Shape is the network's input size and class count.
func (n *FloatNet) Shape() (int, int) { return n.G.InputSize, n.G.Classes }

// NetFactory makes one network instance per evaluation worker. Instances
// run concurrently, so each needs its own activations (an Int8Net its own
// arena); read-only weights may be shared. A Classifier with a Close()
// method is closed when the evaluation ends.
type NetFactory func() (Classifier, error)

// Int8Nets makes single-threaded Int8Nets of q on kernel tier k (nil: the
// best this CPU has), each with its own arena.
func Int8Nets(q *QModel, k *kernels.Table) NetFactory {
	return func() (Classifier, error) { return NewInt8Net(q, k) }
}

// Int8NetsWithPlan is Int8Nets with a given arena plan (a .fw's).
func Int8NetsWithPlan(q *QModel, k *kernels.Table, bufs []Buffer, plan Plan) NetFactory {
	return func() (Classifier, error) { return NewInt8NetWithPlan(q, k, bufs, plan) }
}

// FloatNets makes FloatNets of g sharing the weights w.
func FloatNets(g *Graph, w *Weights) NetFactory {
	return func() (Classifier, error) { return NewFloatNet(g, w) }
}

// Loader writes labelled sample i, preprocessed to NHWC float32, into dst
// (len S·S·3) and returns its class index. An error marks the sample as
// failed (an undecodable file, say); the evaluation goes on without it.
type Loader func(i int, dst []float32) (label int, err error)

// EvalSet is a set of N labelled samples. Each worker calls NewLoader once,
// so a loader may keep state that is not safe for concurrent use (a
// camera.Pipeline, decode buffers).
type EvalSet struct {
	N         int
	NewLoader func() Loader
}

// EvalOptions tune Evaluate. The zero value is fine.
type EvalOptions struct {
	// Workers is how many samples are loaded and run at once, each worker
	// with its own instance of every network (0: GOMAXPROCS).
	Workers int
	// KeepLogits keeps every sample's logits in NetResult.Logits.
	KeepLogits bool
	// Progress, when set, is called with the number of samples done, from
	// the goroutine that called Evaluate, about every ProgressEvery, and
	// once at the end.
	Progress      func(done int)
	ProgressEvery time.Duration // 0: 100 ms
	// Ref, when set, is the reference every network is compared with
	// (Agree, SQNR; for Nets[0] too) instead of Nets[0]: a NetResult of an
	// earlier Evaluate of the same set with KeepLogits, so that a float32
	// reference runs once for many int8 variants evaluated one by one.
	Ref *NetResult
}

// EvalResult is what Evaluate measured.
type EvalResult struct {
	N       int      // samples in the set
	Loaded  int      // samples that loaded (the accuracy denominators)
	Classes int      // classes of the networks
	Label   []int32  // per sample: its class, -1 if it failed to load
	Failed  []Failed // samples that failed to load, by index
	Nets    []NetResult
}

// Failed is a sample that did not load.
type Failed struct {
	Index int
	Err   error
}

// NetResult is one network's results. Against the reference (Nets[0], or
// EvalOptions.Ref), the others also have Agree and SQNR.
type NetResult struct {
	Top1, Top5 int // correct among the loaded samples
	// Pred is each sample's top-1 class (ties to the lower index, as
	// classify prints), -1 if it failed to load.
	Pred []int32
	// Rank is where each sample's true class came: 0 = top-1, 4 = fifth,
	// -1 if it failed to load. Top-k accuracy is the share with Rank < k.
	Rank []int32
	// Agree counts loaded samples whose Pred equals the reference's
	// (Nets[0] without a Ref: all of them).
	Agree int
	// SQNR is, per sample, 10·log10(Σref² / Σ(ref-x)²) in dB of this
	// network's logits x against the reference's: +Inf when they are
	// equal, NaN for a failed sample. Nil for Nets[0] without a Ref.
	SQNR []float64
	// Logits (with KeepLogits) holds sample i's logits at
	// [i·Classes, (i+1)·Classes); zeros for a failed sample.
	Logits []float32
}

// Top1Rate and Top5Rate are the accuracies over the loaded samples.
func (r *EvalResult) Top1Rate(net int) float64 { return ratio(r.Nets[net].Top1, r.Loaded) }
func (r *EvalResult) Top5Rate(net int) float64 { return ratio(r.Nets[net].Top5, r.Loaded) }

// AgreeRate is net's top-1 agreement with the reference over the loaded
// samples.
func (r *EvalResult) AgreeRate(net int) float64 { return ratio(r.Nets[net].Agree, r.Loaded) }

// MeanSQNR is the mean over the loaded samples of net's per-sample logit
// SQNR against the reference, each capped at capDB (so identical logits
// do not make it infinite), and the lowest one.
func (r *EvalResult) MeanSQNR(net int, capDB float64) (mean, lowest float64) {
	s := r.Nets[net].SQNR
	lowest = math.Inf(1)
	n := 0
	for _, v := range s {
		if math.IsNaN(v) {
			continue
		}
		mean += math.Min(v, capDB)
		lowest = math.Min(lowest, v)
		n++
	}
	if n == 0 {
		return math.NaN(), math.NaN()
	}
	return mean / float64(n), lowest
}

func ratio(a, b int) float64 {
	if b == 0 {
		return math.NaN()
	}
	return float64(a) / float64(b)
}

// Evaluate runs every network on every sample of set and counts top-1 and
// top-5 hits. Samples are loaded and run by opt.Workers goroutines, each
// with its own loader and its own instance of every network, so a sample
// is loaded (decoded, preprocessed) once for all networks. The networks
// must agree on input size and classes. Beyond what the loader does (a
// decode), no sample allocates.
//
// To compare quantization options in one pass, put the float32 network
// first and an int8 network per option after it: each NetResult then has
// its accuracy, its top-1 agreement with float32 and its logit SQNR.
func Evaluate(set EvalSet, nets []NetFactory, opt EvalOptions) (*EvalResult, error) {
	if len(nets) == 0 {
		return nil, errors.New("model: Evaluate needs at least one network")
	}
	if set.N < 0 || set.NewLoader == nil {
		return nil, fmt.Errorf("model: Evaluate: bad set (N %d, NewLoader set: %v)", set.N, set.NewLoader != nil)
	}
	workers := opt.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = max(1, min(workers, set.N))

	// Each worker builds its own instances; the first set is built here to
	// learn the shape and fail early.
	inst := make([][]Classifier, workers)
	defer func() {
		for _, ws := range inst {
			for _, c := range ws {
				if cl, ok := c.(interface{ Close() }); ok {
					cl.Close()
				}
			}
		}
	}()
	size, classes := -1, -1
	for w := range inst {
		for j, f := range nets {
			c, err := f()
			if err != nil {
				return nil, fmt.Errorf("model: Evaluate: network %d: %w", j, err)
			}
			inst[w] = append(inst[w], c)
			s, k := c.Shape()
			if size < 0 {
				size, classes = s, k
			} else if s != size || k != classes {
				return nil, fmt.Errorf("model: Evaluate: network %d is %dx%d with %d classes, network 0 %dx%d with %d", j, s, s, k, size, size, classes)
			}
		}
	}

	ref := opt.Ref
	if ref != nil && (len(ref.Logits) != set.N*classes || len(ref.Pred) != set.N) {
		return nil, fmt.Errorf("model: Evaluate: Ref has %d logits and %d predictions, want %d×%d and %d (an Evaluate of this set with KeepLogits)",
			len(ref.Logits), len(ref.Pred), set.N, classes, set.N)
	}
	r := &EvalResult{N: set.N, Classes: classes, Label: make([]int32, set.N), Nets: make([]NetResult, len(nets))}
	for j := range r.Nets {
		nr := &r.Nets[j]
		nr.Pred = make([]int32, set.N)
		nr.Rank = make([]int32, set.N)
		if j > 0 || ref != nil {
			nr.SQNR = make([]float64, set.N)
		}
		if opt.KeepLogits {
			nr.Logits = make([]float32, set.N*classes)
		}
	}
	errs := make([]error, set.N)
	var next, done atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func(ws []Classifier) {
			defer wg.Done()
			load := set.NewLoader()
			in := make([]float32, size*size*3)
			for {
				i := int(next.Add(1) - 1)
				if i >= set.N {
					return
				}
				label, err := load(i, in)
				if err == nil && (label < 0 || label >= classes) {
					err = fmt.Errorf("label %d out of range: the networks have %d classes (0..%d)", label, classes, classes-1)
				}
				if err != nil {
					errs[i] = err
					r.Label[i] = -1
					for j := range r.Nets {
						r.Nets[j].Pred[i], r.Nets[j].Rank[i] = -1, -1
						if r.Nets[j].SQNR != nil {
							r.Nets[j].SQNR[i] = math.NaN()
						}
					}
					done.Add(1)
					continue
				}
				r.Label[i] = int32(label)
				var refLogits []float32
				if ref != nil {
					refLogits = ref.Logits[i*classes : (i+1)*classes]
				}
				for j, c := range ws {
					l := c.Run(in)
					nr := &r.Nets[j]
					nr.Pred[i], nr.Rank[i] = predRank(l, label)
					if j == 0 && ref == nil {
						refLogits = l
					} else {
						nr.SQNR[i] = sqnrDB(refLogits, l)
					}
					if nr.Logits != nil {
						copy(nr.Logits[i*classes:(i+1)*classes], l)
					}
				}
				done.Add(1)
			}
		}(inst[w])
	}
	if opt.Progress != nil {
		every := opt.ProgressEvery
		if every <= 0 {
			every = 100 * time.Millisecond
		}
		finished := make(chan struct{})
		go func() { wg.Wait(); close(finished) }()
		t := time.NewTicker(every)
	wait:
		for {
			select {
			case <-finished:
				break wait
			case <-t.C:
				opt.Progress(int(done.Load()))
			}
		}
		t.Stop()
		opt.Progress(set.N)
	} else {
		wg.Wait()
	}

	for i, err := range errs {
		if err != nil {
			r.Failed = append(r.Failed, Failed{i, err})
		}
	}
	r.Loaded = set.N - len(r.Failed)
	for j := range r.Nets {
		nr := &r.Nets[j]
		refPred := r.Nets[0].Pred
		if ref != nil {
			refPred = ref.Pred
		}
		for i, k := range nr.Rank {
			if k < 0 {
				continue
			}
			if k == 0 {
				nr.Top1++
			}
			if k < 5 {
				nr.Top5++
			}
			if nr.Pred[i] == refPred[i] {
				nr.Agree++
			}
		}
	}
	return r, nil
}

// predRank is the top-1 class of logits and the rank of class label among
// them, both ordering ties by the lower index (as classify's top-k does).
func predRank(logits []float32, label int) (pred, rank int32) {
	v := logits[label]
	best := 0
	for c, x := range logits {
		if x > logits[best] {
			best = c
		}
		if x > v || (x == v && c < label) {
			rank++
		}
	}
	return int32(best), rank
}

// sqnrDB is 10·log10(Σref² / Σ(ref-x)²).
func sqnrDB(ref, x []float32) float64 {
	var s, n float64
	for i, a := range ref {
		d := float64(a) - float64(x[i])
		s += float64(a) * float64(a)
		n += d * d
	}
	if n == 0 {
		return math.Inf(1)
	}
	return 10 * math.Log10(s/n)
}
