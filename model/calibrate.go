package model

import (
	"fmt"
	"math"
	"strings"

	"github.com/mixedge/mixedge/quant"
)

// PointClass groups quantization points whose values behave alike, so that
// each class can have its own range observer.
type PointClass uint8

const (
	ClassConv   PointClass = iota // stem, pointwise and depthwise outputs (after ReLU/SiLU, or linear projections)
	ClassPreAct                   // conv outputs before a SiLU table
	ClassAdd                      // residual adds
	ClassSE                       // squeeze-excite: mean, reduce, activation, expand and the gated output
	ClassPool                     // the global pool feeding the classifier
	NumClasses
)

var classNames = [...]string{"conv", "preact", "add", "se", "pool"}

func (c PointClass) String() string { return classNames[c] }

// PointClassOf is the class of point p of op.
func PointClassOf(op *Op, p Point) PointClass {
	switch {
	case p == PointPreAct:
		return ClassPreAct
	case p != PointOut || op.Kind == OpSE:
		return ClassSE
	case op.Kind == OpAdd:
		return ClassAdd
	case op.Kind == OpPool:
		return ClassPool
	}
	return ClassConv
}

// ObserverSpec names a range observer per point class.
type ObserverSpec [NumClasses]string

// The observers convert uses unless told otherwise, chosen by measurement
// on trained MixNets' validation splits and on the reference weights'
// hard pictures (docs/QUANTIZATION.md):
var (
	// DefaultObserverSpec, for the user's own pictures (--calib DIR): they
	// show what the model will see, so ranges fit them closely.
	DefaultObserverSpec = ObserverSpec{"percentile", "percentile", "percentile", "percentile", "percentile"}
	// RobustObserverSpec, for the built-in pictures: they stand for scenes
	// nobody showed, so no value they produce is clipped.
	RobustObserverSpec = ObserverSpec{quant.DefaultObserver, quant.DefaultObserver, quant.DefaultObserver, quant.DefaultObserver, quant.DefaultObserver}
	// DataFreeObserverSpec, for ranges from BatchNorm statistics alone.
	DataFreeObserverSpec = ObserverSpec{"mse", "mse", "mse", "mse", "mse"}
)

// ParseObserverSpec reads "NAME" (every class) or a comma list of
// CLASS=NAME, optionally led by a plain NAME for the classes not listed:
// "mse", "percentile,add=minmax", "conv=mse,preact=percentile".
func ParseObserverSpec(s string) (ObserverSpec, error) {
	spec := DefaultObserverSpec
	if strings.TrimSpace(s) == "" {
		return spec, fmt.Errorf("empty observer (known: %s)", strings.Join(quant.ObserverNames, ", "))
	}
	for i, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		class, name, keyed := strings.Cut(part, "=")
		if !keyed {
			if i != 0 {
				return spec, fmt.Errorf("observer %q: a plain name (%q) may only come first; name a class as CLASS=NAME (classes: %s)", s, part, strings.Join(classNames[:], ", "))
			}
			name = part
		}
		if _, err := quant.NewObserver(name); err != nil {
			return spec, fmt.Errorf("observer %q: %w", s, err)
		}
		if !keyed {
			for c := range spec {
				spec[c] = name
			}
			continue
		}
		found := false
		for c, cn := range classNames {
			if cn == class {
				spec[c], found = name, true
			}
		}
		if !found {
			return spec, fmt.Errorf("observer %q: unknown point class %q (classes: %s)", s, class, strings.Join(classNames[:], ", "))
		}
	}
	return spec, nil
}

// String is the spec in the form ParseObserverSpec reads, shortest first.
func (s ObserverSpec) String() string {
	same := true
	for _, n := range s[1:] {
		same = same && n == s[0]
	}
	if same {
		return s[0]
	}
	parts := make([]string, len(s))
	for c, n := range s {
		parts[c] = classNames[c] + "=" + n
	}
	return strings.Join(parts, ",")
}

// Calibrator collects activation ranges by running the float network over
// calibration images, with one observer per (op, point). It also keeps the
// per-channel mean of every op's output (and of the image), which bias
// correction needs.
type Calibrator struct {
	net    *FloatNet
	obs    [][NumPoints]quant.Observer
	pass   int
	means  [][]float64 // per op output, per channel: sum over pixels and images
	sqs    [][]float64 // the same for squares
	inMean []float64
	counts []float64 // pixels summed per op
	inN    float64
}

// NewCalibrator makes one kind of observer for every point (e.g. quant.NewObserver("mse")).
func NewCalibrator(net *FloatNet, newObs func() quant.Observer) *Calibrator {
	return newCalibrator(net, func(PointClass) func() quant.Observer { return newObs })
}

// NewCalibratorSpec makes each point's observer from its class's entry in spec.
func NewCalibratorSpec(net *FloatNet, spec ObserverSpec) (*Calibrator, error) {
	mk, err := spec.factories()
	if err != nil {
		return nil, err
	}
	return newCalibrator(net, func(c PointClass) func() quant.Observer { return mk[c] }), nil
}

// factories returns the observer constructor of each point class.
func (s ObserverSpec) factories() ([NumClasses]func() quant.Observer, error) {
	var mk [NumClasses]func() quant.Observer
	for c, name := range s {
		f, err := quant.NewObserver(name)
		if err != nil {
			return mk, fmt.Errorf("observer for %s: %w", PointClass(c), err)
		}
		mk[c] = f
	}
	return mk, nil
}

func newCalibrator(net *FloatNet, mk func(PointClass) func() quant.Observer) *Calibrator {
	g := net.G
	c := &Calibrator{net: net, obs: make([][NumPoints]quant.Observer, len(g.Ops)),
		means: make([][]float64, len(g.Ops)), sqs: make([][]float64, len(g.Ops)), counts: make([]float64, len(g.Ops)),
		inMean: make([]float64, g.Tensors[g.Input].C)}
	for i := range c.obs {
		for p := range c.obs[i] {
			c.obs[i][p] = mk(PointClassOf(&g.Ops[i], Point(p)))()
		}
		c.means[i] = make([]float64, g.Tensors[g.Ops[i].Out].C)
		c.sqs[i] = make([]float64, g.Tensors[g.Ops[i].Out].C)
	}
	// Every observer of one calibrator must take the same number of passes.
	n := c.obs[0][0].Passes()
	for i := range c.obs {
		for p := range c.obs[i] {
			if m := c.obs[i][p].Passes(); m > n {
				n = m
			}
		}
	}
	for i := range c.obs {
		for p := range c.obs[i] {
			if c.obs[i][p].Passes() < n {
				c.obs[i][p] = &extraPasses{Observer: c.obs[i][p], passes: n}
			}
		}
	}
	return c
}

// extraPasses lets a one-pass observer sit in a calibrator whose other
// observers need more: it sees only the first pass.
type extraPasses struct {
	quant.Observer
	passes, pass int
}

func (e *extraPasses) Observe(x []float32) {
	if e.pass < e.Observer.Passes() {
		e.Observer.Observe(x)
	}
}

func (e *extraPasses) EndPass() {
	if e.pass < e.Observer.Passes() {
		e.Observer.EndPass()
	}
	e.pass++
}

func (e *extraPasses) Passes() int { return e.passes }

// Passes is how many times the calibration images must be shown (a
// histogram observer first learns the range, then fills its bins).
func (c *Calibrator) Passes() int { return c.obs[0][0].Passes() }

// Observe runs one preprocessed image (NHWC float32) in the current pass.
func (c *Calibrator) Observe(image []float32) {
	first := c.pass == 0
	if first {
		c.inN += addChannelSums(c.inMean, nil, image)
	}
	c.net.RunObserve(image, func(op int, p Point, x []float32) {
		c.obs[op][p].Observe(x)
		if first && p == PointOut {
			c.counts[op] += addChannelSums(c.means[op], c.sqs[op], x)
		}
	})
}

// addChannelSums adds each channel's sum over the pixels of an NHWC tensor
// x to sums (and of squares to sqs, unless nil) and returns the pixel count.
func addChannelSums(sums, sqs []float64, x []float32) float64 {
	nc := len(sums)
	for p := 0; p+nc <= len(x); p += nc {
		for c, v := range x[p : p+nc] {
			sums[c] += float64(v)
			if sqs != nil {
				sqs[c] += float64(v) * float64(v)
			}
		}
	}
	return float64(len(x) / nc)
}

// OpMoments returns the per-channel mean and standard deviation of op i's
// output over the calibration images (nil before any image).
func (c *Calibrator) OpMoments(i int) (mean, std []float64) {
	n := c.counts[i]
	if n == 0 {
		return nil, nil
	}
	mean, std = make([]float64, len(c.means[i])), make([]float64, len(c.means[i]))
	for ch := range mean {
		mean[ch] = c.means[i][ch] / n
		std[ch] = math.Sqrt(max(c.sqs[i][ch]/n-mean[ch]*mean[ch], 0))
	}
	return mean, std
}

// EndPass finishes a pass over the calibration images.
func (c *Calibrator) EndPass() {
	for i := range c.obs {
		for p := range c.obs[i] {
			c.obs[i][p].EndPass()
		}
	}
	c.pass++
}

// Ranges returns the calibrated ranges after the last pass.
func (c *Calibrator) Ranges() (Ranges, error) {
	if c.pass < c.Passes() {
		return nil, fmt.Errorf("calibration: %d of %d passes done", c.pass, c.Passes())
	}
	r := make(Ranges, len(c.obs))
	for i := range c.obs {
		for p := range c.obs[i] {
			lo, hi, ok := c.obs[i][p].Range()
			r[i][p] = Range{Lo: lo, Hi: hi, Seen: ok}
		}
	}
	return r, nil
}

// Means returns the per-channel mean of every tensor over the calibration
// images, indexed by tensor id (nil for a tensor never seen). An op that
// works in place (SE) leaves the value its consumers read.
func (c *Calibrator) Means() [][]float32 {
	g := c.net.G
	m := make([][]float32, len(g.Tensors))
	set := func(t int, sums []float64, n float64) {
		if n == 0 {
			return
		}
		v := make([]float32, len(sums))
		for i, s := range sums {
			v[i] = float32(s / n)
		}
		m[t] = v
	}
	set(g.Input, c.inMean, c.inN)
	for i := range g.Ops {
		set(g.Ops[i].Out, c.means[i], c.counts[i])
	}
	return m
}
