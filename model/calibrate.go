package model

import (
	"fmt"

	"github.com/mixedge/mixedge/quant"
)

// Calibrator collects activation ranges by running the float network over
// calibration images, with one observer per (op, point).
type Calibrator struct {
	net  *FloatNet
	obs  [][NumPoints]quant.Observer
	pass int
}

// NewCalibrator makes observers with newObs (e.g. quant.NewObserver("mse")).
func NewCalibrator(net *FloatNet, newObs func() quant.Observer) *Calibrator {
	c := &Calibrator{net: net, obs: make([][NumPoints]quant.Observer, len(net.G.Ops))}
	for i := range c.obs {
		for p := range c.obs[i] {
			c.obs[i][p] = newObs()
		}
	}
	return c
}

// Passes is how many times the calibration images must be shown (a
// histogram observer first learns the range, then fills its bins).
func (c *Calibrator) Passes() int { return c.obs[0][0].Passes() }

// Observe runs one preprocessed image (NHWC float32) in the current pass.
func (c *Calibrator) Observe(image []float32) {
	c.net.RunObserve(image, func(op int, p Point, x []float32) {
		c.obs[op][p].Observe(x)
	})
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
