package quant

import (
	"fmt"
	"math"
	"strings"
)

// Observer picks the real range of one activation tensor from the values it
// takes over calibration data. Some observers need two passes over the
// data: the first finds the extent, the second fills a histogram.
type Observer interface {
	Observe(x []float32)
	EndPass()
	Passes() int
	// Range is the chosen [lo, hi]; ok is false when nothing was observed.
	Range() (lo, hi float32, ok bool)
}

// Observer names accepted by NewObserver.
var ObserverNames = []string{"minmax", "percentile", "mse", "image-mse"}

// DefaultObserver is the robust observer: it clips nothing the pictures
// showed, so a saturated, high-contrast scene keeps its extremes. convert
// uses it for the built-in pictures and synthetic benchmarks; with the
// user's own pictures it picks a closer fit (model.DefaultObserverSpec).
// Both choices are measured in docs/QUANTIZATION.md.
const DefaultObserver = "minmax"

// NewObserver returns a fresh observer by name.
func NewObserver(name string) (func() Observer, error) {
	switch name {
	case "minmax":
		return func() Observer { return &MinMax{} }, nil
	case "percentile":
		return func() Observer { return &Histogram{Pick: PickPercentile, Percentile: 99.99} }, nil
	case "mse":
		return func() Observer { return &Histogram{Pick: PickMSE} }, nil
	case "image-mse":
		return func() Observer { return &PerImage{} }, nil
	}
	return nil, fmt.Errorf("unknown observer %q (known: %s)", name, strings.Join(ObserverNames, ", "))
}

// MinMax keeps the smallest and largest value seen.
type MinMax struct {
	Lo, Hi float32
	seen   bool
}

func (m *MinMax) Observe(x []float32) {
	if len(x) == 0 {
		return
	}
	lo, hi := m.Lo, m.Hi
	if !m.seen {
		lo, hi = x[0], x[0]
		m.seen = true
	}
	for _, v := range x {
		if v < lo {
			lo = v
		}
		if v > hi {
			hi = v
		}
	}
	m.Lo, m.Hi = lo, hi
}

func (m *MinMax) EndPass()    {}
func (m *MinMax) Passes() int { return 1 }
func (m *MinMax) Range() (float32, float32, bool) {
	return m.Lo, m.Hi, m.seen
}

// HistBins is the resolution of Histogram.
const HistBins = 2048

// Pick says how a Histogram turns its counts into a range.
type Pick uint8

const (
	PickPercentile Pick = iota // the central Percentile % of the values
	PickMSE                    // the range minimising expected int8 quantization error
)

// Histogram learns the extent in pass 1 and counts values in HistBins
// equal bins over it in pass 2 (always including 0, which int8 represents
// exactly).
type Histogram struct {
	Pick       Pick
	Percentile float64 // for PickPercentile, e.g. 99.99

	mm     MinMax
	pass   int
	lo, hi float64
	counts [HistBins]float64
	total  float64
}

func (h *Histogram) Passes() int { return 2 }

func (h *Histogram) Observe(x []float32) {
	if h.pass == 0 {
		h.mm.Observe(x)
		return
	}
	if h.hi <= h.lo {
		return
	}
	inv := HistBins / (h.hi - h.lo)
	for _, v := range x {
		b := int((float64(v) - h.lo) * inv)
		b = min(max(b, 0), HistBins-1)
		h.counts[b]++
	}
	h.total += float64(len(x))
}

func (h *Histogram) EndPass() {
	if h.pass == 0 {
		h.lo = math.Min(float64(h.mm.Lo), 0)
		h.hi = math.Max(float64(h.mm.Hi), 0)
	}
	h.pass++
}

func (h *Histogram) Range() (float32, float32, bool) {
	lo, hi, ok := h.mm.Range()
	if !ok || h.pass < 2 || h.total == 0 || h.hi <= h.lo {
		return lo, hi, ok
	}
	var a, b float64
	switch h.Pick {
	case PickPercentile:
		a, b = h.percentile()
	default:
		a, b = h.mse()
	}
	return float32(a), float32(b), true
}

func (h *Histogram) edge(i int) float64 { return h.lo + (h.hi-h.lo)*float64(i)/HistBins }

func (h *Histogram) center(i int) float64 { return h.lo + (h.hi-h.lo)*(float64(i)+0.5)/HistBins }

// percentile cuts (100-P)/2 % of the values off each end that extends
// beyond zero.
func (h *Histogram) percentile() (float64, float64) {
	cut := h.total * (100 - h.Percentile) / 200
	a, b := h.lo, h.hi
	var acc float64
	for i := 0; i < HistBins; i++ {
		acc += h.counts[i]
		if acc > cut {
			a = h.edge(i)
			break
		}
	}
	acc = 0
	for i := HistBins - 1; i >= 0; i-- {
		acc += h.counts[i]
		if acc > cut {
			b = h.edge(i + 1)
			break
		}
	}
	return math.Min(a, 0), math.Max(b, 0)
}

// quantError is the expected squared error of quantizing the histogram to
// 256 levels over [a, b]: values outside are clipped, values inside carry
// the uniform rounding noise step²/12.
func (h *Histogram) quantError(a, b float64) float64 {
	step := (b - a) / 255
	noise := step * step / 12
	var e float64
	for i, c := range h.counts {
		if c == 0 {
			continue
		}
		x := h.center(i)
		switch {
		case x < a:
			e += c * ((x-a)*(x-a) + noise)
		case x > b:
			e += c * ((x-b)*(x-b) + noise)
		default:
			e += c * noise
		}
	}
	return e
}

// mse shrinks each end of the range in turn (coordinate descent over 100
// candidates per end) to minimise quantError.
func (h *Histogram) mse() (float64, float64) {
	a, b := h.lo, h.hi
	const steps = 100
	for round := 0; round < 3; round++ {
		best := h.quantError(a, b)
		if b > 0 {
			nb := b
			for s := 1; s <= steps; s++ {
				c := h.hi * float64(s) / steps
				if e := h.quantError(a, c); e < best {
					best, nb = e, c
				}
			}
			b = nb
		}
		if a < 0 {
			na := a
			for s := 1; s <= steps; s++ {
				c := h.lo * float64(s) / steps
				if e := h.quantError(c, b); e < best {
					best, na = e, c
				}
			}
			a = na
		}
	}
	return a, b
}

// SQNR returns 10·log10(Σref² / Σ(ref-x)²) in dB (+Inf when equal).
func SQNR(ref, x []float32) float64 {
	var s, n float64
	for i := range ref {
		d := float64(ref[i]) - float64(x[i])
		s += float64(ref[i]) * float64(ref[i])
		n += d * d
	}
	if n == 0 {
		return math.Inf(1)
	}
	return 10 * math.Log10(s/n)
}

// PerImage finds the MSE-optimal range of each image's tensor on its own
// and keeps the widest: every calibration image, the demanding ones
// included, is served by a range fitted to it rather than by the outliers
// of all of them (minmax) or by their average (mse).
type PerImage struct {
	lo, hi float32
	seen   bool
	h      Histogram
}

func (p *PerImage) Passes() int { return 1 }
func (p *PerImage) EndPass()    {}

func (p *PerImage) Observe(x []float32) {
	if len(x) == 0 {
		return
	}
	h := &p.h
	*h = Histogram{Pick: PickMSE}
	h.Observe(x)
	h.EndPass()
	h.Observe(x)
	h.EndPass()
	lo, hi, _ := h.Range()
	if !p.seen {
		p.lo, p.hi, p.seen = lo, hi, true
		return
	}
	p.lo, p.hi = min(p.lo, lo), max(p.hi, hi)
}

func (p *PerImage) Range() (float32, float32, bool) { return p.lo, p.hi, p.seen }
