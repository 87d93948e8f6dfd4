package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"runtime"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/mixedge/mixedge/camera"
	"github.com/mixedge/mixedge/kernels"
	"github.com/mixedge/mixedge/model"
	"github.com/mixedge/mixedge/quant"
)

type benchOp struct {
	Name     string  `json:"name"`
	Block    string  `json:"block"`
	Op       string  `json:"op"`
	Kernels  []int   `json:"kernels,omitempty"`
	Out      []int   `json:"out"`
	MACs     int64   `json:"macs"`
	MedianMS float64 `json:"median_ms"`
	P90MS    float64 `json:"p90_ms"`
	Share    float64 `json:"share"`
	GMACs    float64 `json:"gmac_per_s,omitempty"`
	Impl     string  `json:"impl"`
}

type benchDoc struct {
	Arch      string    `json:"arch"`
	InputSize int       `json:"input_size"`
	Model     string    `json:"model,omitempty"`
	Kernels   string    `json:"kernels"`
	Threads   int       `json:"threads"`
	Runs      int       `json:"runs"`
	MedianMS  float64   `json:"median_ms"`
	P10MS     float64   `json:"p10_ms"`
	P90MS     float64   `json:"p90_ms"`
	GMACs     float64   `json:"gmac_per_s"`
	Allocs    float64   `json:"allocs_per_frame"`
	ArenaB    int       `json:"arena_bytes"`
	Ops       []benchOp `json:"ops"`
	GOOS      string    `json:"goos"`
	GOARCH    string    `json:"goarch"`
	GoVersion string    `json:"go_version"`
}

func runBench(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench", "(--model M.fw | --arch ARCH --synthetic) [--threads N] [--kernels T] [--runs N] [--json]",
		`Time int8 inference frame by frame: median, p10 and p90 per frame, the
time of every op (median over the runs), allocations per frame. The input
is a fixed synthetic picture, already in the arena, so the figures are the
network alone. --synthetic needs no files: deterministic synthetic weights,
calibrated on two synthetic images.`,
		`  mixedge bench --arch mixnet_s --synthetic
  mixedge bench --model mixnet_s.fw --threads 1 --kernels generic --runs 20 --json`, stderr)
	fwPath := fs.String("model", "", "int8 .fw image")
	arch := fs.String("arch", "mixnet_s", "architecture (with --synthetic)")
	synthetic := fs.Bool("synthetic", false, "use deterministic synthetic weights instead of a .fw")
	size := fs.Int("input-size", 0, "input size (with --synthetic; default 224)")
	threads := fs.Int("threads", runtime.NumCPU(), "goroutines per frame")
	tier := fs.String("kernels", "", "kernel tier: auto, generic, avx2, neon, dotprod (default $MIXEDGE_KERNELS or auto)")
	runs := fs.Int("runs", 50, "timed frames")
	warmup := fs.Int("warmup", 5, "untimed frames first")
	asJSON := fs.Bool("json", false, "print one JSON document")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("unexpected argument %q", pos[0])
	}
	if (*fwPath == "") == !*synthetic {
		fmt.Fprintln(stderr, "mixedge bench: give --model M.fw or --arch ARCH --synthetic")
		fs.Usage()
		return errUsage
	}
	if *runs < 1 || *threads < 1 || *warmup < 0 {
		return fmt.Errorf("--runs %d, --threads %d, --warmup %d: want runs, threads ≥ 1", *runs, *threads, *warmup)
	}
	k, err := kernels.Select(*tier)
	if err != nil {
		return err
	}
	var q *model.QModel
	var n *model.Int8Net
	if *fwPath != "" {
		fw, err := model.OpenFirmware(*fwPath)
		if err != nil {
			return err
		}
		defer fw.Close()
		q = fw.Q
		if n, err = model.NewInt8NetWithPlan(q, k, fw.Bufs, fw.Plan); err != nil {
			return err
		}
	} else {
		if q, err = syntheticQModel(*arch, *size); err != nil {
			return err
		}
		if n, err = model.NewInt8Net(q, k); err != nil {
			return err
		}
	}
	n.SetThreads(*threads)
	defer n.Close()
	g := q.G

	img := make([]float32, g.InputSize*g.InputSize*3)
	pp := camera.Preprocess{Size: g.InputSize, CropPct: q.Pre.CropPct, Mean: q.Pre.Mean, Std: q.Pre.Std}
	if err := pp.Apply(img, camera.SyntheticImage(7, g.InputSize+32, g.InputSize+32)); err != nil {
		return err
	}
	if err := quant.QuantizeSlice(n.Input(), img, q.In); err != nil {
		return err
	}
	for i := 0; i < *warmup; i++ {
		n.RunQuantized()
	}
	frames := make([]float64, *runs)
	perOp := make([][]float64, len(g.Ops))
	for i := range perOp {
		perOp[i] = make([]float64, *runs)
	}
	run := 0
	var last time.Time
	n.OnOp = func(op int) {
		now := time.Now()
		perOp[op][run] = now.Sub(last).Seconds() * 1e3
		last = now
	}
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	for run = 0; run < *runs; run++ {
		start := time.Now()
		last = start
		n.RunQuantized()
		frames[run] = time.Since(start).Seconds() * 1e3
	}
	runtime.ReadMemStats(&ms1)
	n.OnOp = nil

	doc := benchDoc{Arch: g.Arch.Name, InputSize: g.InputSize, Model: *fwPath, Kernels: k.Name, Threads: n.Threads(),
		Runs: *runs, Allocs: float64(ms1.Mallocs-ms0.Mallocs) / float64(*runs), ArenaB: n.ArenaBytes(),
		GOOS: runtime.GOOS, GOARCH: runtime.GOARCH, GoVersion: runtime.Version()}
	doc.MedianMS, doc.P10MS, doc.P90MS = percentile(frames, 50), percentile(frames, 10), percentile(frames, 90)
	doc.GMACs = float64(g.TotalMACs()) / doc.MedianMS / 1e6
	var sumMed float64
	for i := range g.Ops {
		sumMed += percentile(perOp[i], 50)
	}
	for i := range g.Ops {
		op := &g.Ops[i]
		s := g.Tensors[op.Out]
		med := percentile(perOp[i], 50)
		bo := benchOp{Name: op.Name, Block: op.Block, Op: op.Kind.String(), Out: []int{s.C, s.H, s.W}, MACs: op.MACs,
			MedianMS: med, P90MS: percentile(perOp[i], 90), Share: med / sumMed, Impl: implOf(k, op)}
		if op.Kind == model.OpStem || op.Kind == model.OpPointwise || op.Kind == model.OpDepthwise {
			bo.Kernels = op.Kernels
		}
		if op.MACs > 0 && med > 0 {
			bo.GMACs = float64(op.MACs) / med / 1e6
		}
		doc.Ops = append(doc.Ops, bo)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(doc)
	}
	fmt.Fprintf(stdout, "%s int8 %dx%d  kernels %s  threads %d  runs %d  arena %s\n", doc.Arch, doc.InputSize, doc.InputSize,
		doc.Kernels, doc.Threads, doc.Runs, mib(doc.ArenaB))
	fmt.Fprintf(stdout, "frame: median %.2f ms  p10 %.2f ms  p90 %.2f ms  (%.1f GMAC/s)  allocations/frame %.1f\n\n",
		doc.MedianMS, doc.P10MS, doc.P90MS, doc.GMACs, doc.Allocs)
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "layer\top\tkernels\toutput\tMACs\tmedian ms\tp90 ms\t%\tGMAC/s\timpl")
	for _, o := range doc.Ops {
		gm := ""
		if o.GMACs > 0 {
			gm = fmt.Sprintf("%.1f", o.GMACs)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%.3f\t%.3f\t%.1f\t%s\t%s\n", o.Name, o.Op, joinInts(o.Kernels, "/"), shapeText(o.Out),
			group(o.MACs), o.MedianMS, o.P90MS, 100*o.Share, gm, o.Impl)
	}
	tw.Flush()
	// Where the time goes, by op kind.
	byKind := map[string]float64{}
	for _, o := range doc.Ops {
		byKind[o.Op] += o.MedianMS
	}
	kinds := make([]string, 0, len(byKind))
	for kd := range byKind {
		kinds = append(kinds, kd)
	}
	sort.Slice(kinds, func(a, b int) bool { return byKind[kinds[a]] > byKind[kinds[b]] })
	parts := make([]string, len(kinds))
	for i, kd := range kinds {
		parts[i] = fmt.Sprintf("%s %.2f ms (%.0f%%)", kd, byKind[kd], 100*byKind[kd]/sumMed)
	}
	fmt.Fprintf(stdout, "\nby kind: %s\n", strings.Join(parts, ", "))
	return nil
}

// implOf names the implementation the op's main kernel runs.
func implOf(k *kernels.Table, op *model.Op) string {
	key := map[model.OpKind]string{model.OpStem: "stem", model.OpPointwise: "gemm", model.OpDepthwise: "dwconv",
		model.OpSE: "channel_mul", model.OpAdd: "add", model.OpPool: "pool", model.OpLinear: "gemm_f32"}[op.Kind]
	if key == "stem" && k.Ops["stem"] == "generic" {
		return "im2col+" + k.Ops["gemm"] // see model.Int8Net
	}
	if s := k.Ops[key]; s != "" {
		return s
	}
	return k.Name
}

func percentile(v []float64, p float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s) == 0 {
		return math.NaN()
	}
	i := int(math.Round(p / 100 * float64(len(s)-1)))
	return s[i]
}

// syntheticQModel builds arch with deterministic synthetic weights and
// calibrates it on two synthetic images.
func syntheticQModel(arch string, size int) (*model.QModel, error) {
	a, err := model.LookupArch(arch)
	if err != nil {
		return nil, fmt.Errorf("--arch: %w", err)
	}
	if size == 0 {
		size = a.Preprocess.InputSize
	}
	g, err := model.Build(a, size, 1000)
	if err != nil {
		return nil, err
	}
	net, err := model.NewFloatNet(g, g.SyntheticWeights(1))
	if err != nil {
		return nil, err
	}
	newObs, _ := quant.NewObserver(quant.DefaultObserver)
	c := model.NewCalibrator(net, newObs)
	pre := a.Preprocess
	pre.InputSize = size
	pp := camera.Preprocess{Size: size, CropPct: pre.CropPct, Mean: pre.Mean, Std: pre.Std}
	img := make([]float32, size*size*3)
	for pass := 0; pass < c.Passes(); pass++ {
		for i := uint64(0); i < 2; i++ {
			if err := pp.Apply(img, camera.SyntheticImage(i, size+32, size+32)); err != nil {
				return nil, err
			}
			c.Observe(img)
		}
		c.EndPass()
	}
	r, err := c.Ranges()
	if err != nil {
		return nil, err
	}
	return model.Quantize(g, net.W, r, pre, model.ImageNetLabels())
}
