package main

import (
	"flag"
	"fmt"

	"github.com/mixedge/mixedge/camera"
	"github.com/mixedge/mixedge/kernels"
	"github.com/mixedge/mixedge/model"
	"github.com/mixedge/mixedge/model/safetensors"
)

// set returns the names of the flags given on the command line.
func set(fs *flag.FlagSet) map[string]bool {
	m := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { m[f.Name] = true })
	return m
}

// classifier is a loaded network of either precision.
type classifier struct {
	pre    camera.Preprocess
	labels []string
	run    func(nhwc []float32) []float32
	close  func()
	int8   *model.Int8Net
	float  *model.FloatNet
}

// loadFloat builds arch at size with classes outputs and loads timm weights
// (given with --weights).
func loadFloat(weights, arch string, size, classes int) (*model.FloatNet, error) {
	return loadFloatFlag("--weights", weights, arch, size, classes)
}

// loadFloatFlag is loadFloat for weights given with weightsFlag.
func loadFloatFlag(weightsFlag, weights, arch string, size, classes int) (*model.FloatNet, error) {
	a, err := model.LookupArch(arch)
	if err != nil {
		return nil, fmt.Errorf("--arch: %w", err)
	}
	if size == 0 {
		size = a.Preprocess.InputSize
	}
	g, err := model.Build(a, size, classes)
	if err != nil {
		return nil, err
	}
	f, err := safetensors.Open(weights)
	if err != nil {
		return nil, notWeights(weightsFlag, weights, err)
	}
	defer f.Close()
	w, err := model.LoadWeights(g, f)
	if err != nil {
		return nil, err
	}
	return model.NewFloatNet(g, w)
}

// loadClassifier loads the network o names, with the labels of --labels
// when given.
func loadClassifier(o *classifyOpts, given map[string]bool) (*classifier, error) {
	m, err := loadNet(o, given)
	if err != nil {
		return nil, err
	}
	if o.top > len(m.labels) && given["top"] { // the default is capped quietly
		m.close()
		return nil, fmt.Errorf("--top %d: the model has only %d classes", o.top, len(m.labels))
	}
	if o.labels == "" {
		return m, nil
	}
	if m.int8 == nil {
		m.labels, err = loadLabels(o.labels, len(m.labels)) // its error suggests --classes
	} else {
		var l []string // a .fw fixes the classes
		if l, err = model.ReadLabels(o.labels); err == nil && len(l) != len(m.labels) {
			err = fmt.Errorf("--labels %s has %d lines; the classes are fixed by %s, which has %d", o.labels, len(l), o.model, len(m.labels))
		}
		m.labels = l
	}
	if err != nil {
		m.close()
		return nil, err
	}
	return m, nil
}

func loadNet(o *classifyOpts, given map[string]bool) (*classifier, error) {
	if o.model != "" {
		for _, f := range []string{"arch", "classes", "input-size"} {
			if given[f] {
				return nil, fmt.Errorf("--%s is fixed by the .fw image; it applies only with --weights", f)
			}
		}
		if o.precision != "" && o.precision != "int8" {
			return nil, fmt.Errorf("--precision %s: a .fw image is int8 (use --weights for fp32)", o.precision)
		}
		k, err := kernels.Select(o.kernels)
		if err != nil {
			return nil, err
		}
		fw, err := model.OpenFirmware(o.model)
		if err != nil {
			return nil, notFirmware("--model", o.model, err)
		}
		n, err := model.NewInt8NetWithPlan(fw.Q, k, fw.Bufs, fw.Plan)
		if err != nil {
			fw.Close()
			return nil, fmt.Errorf("%s: %w", o.model, err)
		}
		if o.threads < 1 || o.threads > model.MaxThreads {
			fw.Close()
			return nil, fmt.Errorf("--threads %d: want 1 to %d", o.threads, model.MaxThreads)
		}
		n.SetThreads(o.threads)
		p := fw.Q.Pre
		return &classifier{
			pre:    camera.Preprocess{Size: fw.Q.G.InputSize, CropPct: p.CropPct, Mean: p.Mean, Std: p.Std},
			labels: fw.Q.Labels, run: n.Run, close: func() { n.Close(); fw.Close() }, int8: n,
		}, nil
	}
	if o.precision != "" && o.precision != "fp32" {
		return nil, fmt.Errorf("--precision %s with %s %s (float32 weights): convert to a .fw first ('mixedge convert'), then classify --model M.fw", o.precision, o.weightsFlag(), o.weights)
	}
	net, err := loadFloatFlag(o.weightsFlag(), o.weights, o.arch, o.size, o.classes)
	if err != nil {
		return nil, err
	}
	labels, err := loadLabels("", o.classes)
	if err != nil {
		return nil, err
	}
	p := net.G.Arch.Preprocess
	return &classifier{
		pre:    camera.Preprocess{Size: net.G.InputSize, CropPct: p.CropPct, Mean: p.Mean, Std: p.Std},
		labels: labels, run: net.Run, close: func() {}, float: net,
	}, nil
}
