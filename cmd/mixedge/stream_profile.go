package main

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/mixedge/mixedge/model"
)

// streamProfile times every op of every live frame (stream --profile) in
// constant memory: one latency histogram per op, so hours of streaming cost
// no more than one frame. Its hook allocates nothing.
type streamProfile struct {
	ops                 []latHist
	capture, pre, infer latHist
	last                time.Time
	hook                func(op int) // p.record, bound once
	frames              int64
}

func newStreamProfile(n *model.Int8Net) *streamProfile {
	p := &streamProfile{ops: make([]latHist, len(n.Q.G.Ops))}
	p.hook = p.record
	return p
}

func (p *streamProfile) record(op int) {
	now := time.Now()
	p.ops[op].add(now.Sub(p.last))
	p.last = now
}

// begin is called just before the network runs.
func (p *streamProfile) begin(t time.Time) { p.last = t }

// frame records a finished frame's stage times.
func (p *streamProfile) frame(capture, pre, infer time.Duration) {
	p.capture.add(capture)
	p.pre.add(pre)
	p.infer.add(infer)
	p.frames++
}

// result is the profile as a bench result: Runs is the number of frames,
// the frame times are the inference times, and Ops the per-op table.
func (p *streamProfile) result(n *model.Int8Net) benchResult {
	g := n.Q.G
	r := benchResult{Threads: n.Threads(), Runs: int(p.frames),
		MedianMS: ms(p.infer.quantile(0.5)), P10MS: ms(p.infer.quantile(0.1)), P90MS: ms(p.infer.quantile(0.9))}
	if r.MedianMS > 0 {
		r.FPS = 1e3 / r.MedianMS
		r.GMACs = float64(g.TotalMACs()) / r.MedianMS / 1e6
	}
	meds := make([]float64, len(g.Ops))
	p90s := make([]float64, len(g.Ops))
	prof := &benchProfile{MedianMS: r.MedianMS, P90MS: r.P90MS}
	for i := range g.Ops {
		meds[i], p90s[i] = ms(p.ops[i].quantile(0.5)), ms(p.ops[i].quantile(0.9))
		prof.OpSumMS += meds[i]
	}
	r.Profile = prof
	r.Ops = opRows(g, n.K, meds, p90s, prof.OpSumMS)
	return r
}

// report prints the stage times and the per-op table of the live frames.
func (p *streamProfile) report(w io.Writer, n *model.Int8Net, by string) {
	if p.frames == 0 {
		fmt.Fprintln(w, "profile: no frame was classified")
		return
	}
	r := p.result(n)
	fmt.Fprintf(w, "\nprofile of %d live frames (threads %d, kernels %s):\n", p.frames, r.Threads, n.K.Name)
	fmt.Fprintf(w, "stages p50 / p90 ms: capture wait %.3f / %.3f  preprocess %.3f / %.3f  infer %.3f / %.3f\n",
		ms(p.capture.quantile(0.5)), ms(p.capture.quantile(0.9)), ms(p.pre.quantile(0.5)), ms(p.pre.quantile(0.9)),
		ms(p.infer.quantile(0.5)), ms(p.infer.quantile(0.9)))
	fmt.Fprintf(w, "by %s (per-op times within 1%%; the sum of medians is not the median frame):\n", by)
	printProfile(w, &r, by)
}

// writeDoc writes the profile as a mixedge.bench/1 document, so
// `mixedge bench --compare` can set live frames beside a bench run.
func (p *streamProfile) writeDoc(w io.Writer, n *model.Int8Net, fwPath, source string) error {
	g := n.Q.G
	doc := benchDoc{Schema: benchSchema, Device: deviceInfo(),
		Settings: benchSettings{Kernels: n.K.Name, Threads: []int{n.Threads()}, Runs: int(p.frames), Profile: true, Source: source}}
	doc.Model = benchModel{Arch: g.Arch.Name, InputSize: g.InputSize, Source: fwPath, Ops: len(g.Ops),
		MACs: g.TotalMACs(), Params: g.TotalParams(), ArenaBytes: n.ArenaBytes(), ArenaBound: n.Plan.LowerBound,
		WeightBytes: n.Q.WeightBytes()}
	if sum, err := fileSHA256(fwPath); err == nil {
		doc.Model.SHA256 = sum
	}
	doc.Memory = benchMemory{ArenaBytes: doc.Model.ArenaBytes, ArenaBound: doc.Model.ArenaBound,
		WeightBytes: doc.Model.WeightBytes, PeakRSS: peakRSS()}
	doc.Results = []benchResult{p.result(n)}
	doc.fill()
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(&doc)
}
