package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/mixedge/mixedge/camera"
	"github.com/mixedge/mixedge/kernels"
	"github.com/mixedge/mixedge/model"
	"github.com/mixedge/mixedge/quant"
)

// benchSchema names the version of the --json document (docs/PROFILING.md).
const benchSchema = "mixedge.bench/1"

type benchOp struct {
	Name     string  `json:"name"`
	Block    string  `json:"block"`
	Op       string  `json:"op"`
	Kernels  []int   `json:"kernels,omitempty"`
	Split    []int   `json:"split,omitempty"`
	Out      []int   `json:"out"`
	MACs     int64   `json:"macs"`
	MedianMS float64 `json:"median_ms"`
	P90MS    float64 `json:"p90_ms"`
	Share    float64 `json:"share"`
	GMACs    float64 `json:"gmac_per_s,omitempty"`
	Impl     string  `json:"impl"`
}

// benchResult is one timed configuration (one thread count of a sweep).
type benchResult struct {
	Threads  int     `json:"threads"`
	Runs     int     `json:"runs"`
	MedianMS float64 `json:"median_ms"`
	P10MS    float64 `json:"p10_ms"`
	P90MS    float64 `json:"p90_ms"`
	FPS      float64 `json:"fps"`
	GMACs    float64 `json:"gmac_per_s"`
	Allocs   float64 `json:"allocs_per_frame"`
	AllocB   float64 `json:"alloc_bytes_per_frame"`
	GC       float64 `json:"gc_cycles_per_frame"`
	// SingleShare is the share of the timed frames that the executor ran
	// on one goroutine because that measured faster (several threads
	// only; model.Int8Net.ThreadFrames).
	SingleShare float64 `json:"single_thread_share"`
	// With --profile: the frames run with the per-op hook, interleaved with
	// the plain ones above, and the per-op table.
	Profile *benchProfile `json:"profile,omitempty"`
	Ops     []benchOp     `json:"ops,omitempty"`
	// Batches: the turns this count's frames ran in (a sweep in turns,
	// --batch); Cores: what --check-cores found (the largest count).
	Batches int         `json:"batches,omitempty"`
	Cores   *coresCheck `json:"cores_check,omitempty"`
}

type benchProfile struct {
	MedianMS float64 `json:"median_ms"`
	P90MS    float64 `json:"p90_ms"`
	Overhead float64 `json:"overhead"`
	Paired   float64 `json:"overhead_paired"`
	HookNS   float64 `json:"hook_ns"`
	HookFrac float64 `json:"hook_overhead"`
	OpSumMS  float64 `json:"op_sum_ms"`
}

type benchDevice struct {
	CPU       string   `json:"cpu"`
	Vendor    string   `json:"vendor"`
	Board     string   `json:"board,omitempty"`
	Physical  int      `json:"physical_cores"`
	Logical   int      `json:"logical_cores"`
	Features  []string `json:"features"`
	OS        string   `json:"os"`
	Arch      string   `json:"arch"`
	GoVersion string   `json:"go_version"`
	Governor  string   `json:"governor,omitempty"`
	CurKHz    int      `json:"cur_freq_khz,omitempty"`
	MaxKHz    int      `json:"max_freq_khz,omitempty"`
}

type benchModel struct {
	Arch        string `json:"arch"`
	InputSize   int    `json:"input_size"`
	Source      string `json:"source"`
	SHA256      string `json:"sha256,omitempty"`
	Ops         int    `json:"ops"`
	MACs        int64  `json:"macs"`
	Params      int64  `json:"params"`
	ArenaBytes  int    `json:"arena_bytes"`
	ArenaBound  int    `json:"arena_lower_bound"`
	WeightBytes int    `json:"weight_bytes"`
}

type benchSettings struct {
	Kernels string `json:"kernels"`
	Threads []int  `json:"threads"`
	Runs    int    `json:"runs"`
	Warmup  int    `json:"warmup"`
	Profile bool   `json:"profile"`
	// Source is the camera source of a `stream --profile-json` record
	// (whose runs are live frames); absent for bench.
	Source string `json:"source,omitempty"`
	// Busy CPU-bound competitors that ran alongside (bench --busy), and
	// their kind: "process" or "goroutine".
	Busy     int    `json:"busy,omitempty"`
	BusyKind string `json:"busy_kind,omitempty"`
	// Fixed: every frame ran on all threads (bench --fixed), no per-frame
	// fallback to one thread.
	Fixed bool `json:"fixed,omitempty"`
	// EqualSplit: bench --equal-split, every thread the same share.
	EqualSplit bool `json:"equal_split,omitempty"`
	// Batch: a sweep ran in turns of this many frames per thread count
	// (0: one count after the other); CheckCores: --check-cores.
	Batch      int  `json:"batch,omitempty"`
	CheckCores bool `json:"check_cores,omitempty"`
}

type benchMemory struct {
	ArenaBytes  int   `json:"arena_bytes"`
	ArenaBound  int   `json:"arena_lower_bound"`
	WeightBytes int   `json:"weight_bytes"`
	PeakRSS     int64 `json:"peak_rss_bytes,omitempty"`
}

// benchDoc is the --json document, schema benchSchema.
type benchDoc struct {
	Schema   string        `json:"schema"`
	Device   benchDevice   `json:"device"`
	Model    benchModel    `json:"model"`
	Settings benchSettings `json:"settings"`
	Memory   benchMemory   `json:"memory"`
	Results  []benchResult `json:"results"`

	// For Go callers, not in the JSON: the model's arch and, promoted,
	// the fields of Results[0]. Filled by runBench and UnmarshalJSON.
	Arch        string `json:"-"`
	benchResult `json:"-"`
}

func (d *benchDoc) UnmarshalJSON(b []byte) error {
	type plain benchDoc
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*d = benchDoc(p)
	d.fill()
	return nil
}

func (d *benchDoc) fill() {
	d.Arch = d.Model.Arch
	if len(d.Results) > 0 {
		d.benchResult = d.Results[0]
	}
}

// parseThreads reads "4" or "1,2,4".
func parseThreads(s string) ([]int, error) {
	var v []int
	for _, f := range strings.Split(s, ",") {
		t, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || t < 1 {
			return nil, fmt.Errorf("--threads %q: want positive integers separated by commas", s)
		}
		if t > model.MaxThreads {
			return nil, fmt.Errorf("--threads %d: at most %d goroutines run one network", t, model.MaxThreads)
		}
		v = append(v, t)
	}
	return v, nil
}

func runBench(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench", "(--model M.fw | --arch ARCH --synthetic) [--threads N[,N...]] [--kernels T] [--runs N] [--profile [--by op|block|kind]] [--json] [--svg F] [--html F]\n       mixedge bench --compare A.json B.json [...]",
		`Time int8 inference frame by frame: median, p10 and p90 per frame,
allocations and GC cycles per frame. The input is a fixed synthetic picture,
already in the arena, so the figures are the network alone. --synthetic
needs no files: deterministic synthetic weights, calibrated on two synthetic
images.

--profile also times every op (frames with the per-op hook interleaved with
frames without it, so the hook's overhead is measured and printed): layer,
op, kernels and channel split, output, MACs, median and p90 ms, GMAC/s, % of
the frame, kernel used. Without --profile no hook is installed.

--threads 1,2,4 runs a sweep, one result per thread count, one count
after the other. --batch N makes the counts take turns of N frames (a
network each), so a slow spell of a shared machine falls on all of them
alike; on a VM a multi-thread network's first ~20 frames after a pause
ran ~5% slower (its idle vCPU waking up), so take turns of 100 frames or
more. --check-cores (with --batch) also probes, after each turn of the
largest count, how many cores the machine gives at that moment (that
many one-thread networks side by side against one alone) and reports the
speed-up in the turns that had them all. --json writes one
document (schema mixedge.bench/1, docs/PROFILING.md): device, model,
settings, memory, results. --svg / --html draw a bar per layer (implies
--profile) and, for a sweep, the scaling curve. --compare reads recorded
--json documents and prints per-layer times side by side with ratios.

--busy N runs N CPU-bound competitors while timing (--busy-kind process:
child processes of mixedge that spin, as a camera pipeline or another
program would; goroutine: spinning goroutines in this process, as a
CPU-bound frame source in stream). With a thread sweep this shows whether
more threads still help when the cores are not all ours.

With several threads a frame runs on one when that has been measuring
faster (single_thread_share in --json). All threads are re-checked now
and then: every 16 to 128 frames; on Linux, while other programs leave no
CPU for each thread (/proc/loadavg's runnable count), only when one frees
up, or blindly once in 256 to 4096 frames.
--fixed runs every frame on all threads, to measure the split itself.`,
		`  mixedge bench --arch mixnet_s --synthetic
  mixedge bench --model mixnet_s.fw --threads 1 --kernels generic --runs 20 --json
  mixedge bench --model mixnet_s.fw --profile --by block
  mixedge bench --model mixnet_s.fw --threads 1,2,4 --json > pi4.json --svg pi4.svg
  mixedge bench --model mixnet_s.fw --threads 1,2 --busy 1 --runs 200
  mixedge bench --compare pi4.json pi5.json`, stderr)
	fwPath := fs.String("model", "", "int8 .fw image")
	arch := fs.String("arch", "mixnet_s", "architecture (with --synthetic)")
	synthetic := fs.Bool("synthetic", false, "use deterministic synthetic weights instead of a .fw")
	size := fs.Int("input-size", 0, "input size (with --synthetic; default 224)")
	threadsArg := fs.String("threads", strconv.Itoa(runtime.NumCPU()), "goroutines per frame; a list (1,2,4) runs a sweep")
	tier := fs.String("kernels", "", "kernel tier: auto, generic, avx2, avxvnni, vnni, neon, dotprod (default $MIXEDGE_KERNELS or auto)")
	runs := fs.Int("runs", 50, "timed frames (per mode with --profile)")
	warmup := fs.Int("warmup", 5, "untimed frames first")
	asJSON := fs.Bool("json", false, "print one JSON document (schema "+benchSchema+")")
	profile := fs.Bool("profile", false, "time every op too, and measure the overhead of doing so")
	by := fs.String("by", "op", "profile rows: op (one per layer), block, or kind")
	svgPath := fs.String("svg", "", "write an SVG picture of the profile to `FILE` (implies --profile)")
	htmlPath := fs.String("html", "", "write a self-contained HTML page of the profile to `FILE` (implies --profile)")
	compare := fs.Bool("compare", false, "compare recorded --json documents given as arguments")
	top := fs.Int("top", 5, "with --compare: how many most-changed layers to list")
	busy := fs.Int("busy", 0, "run `N` CPU-bound competitors while timing")
	fixed := fs.Bool("fixed", false, "run every frame on all --threads (no per-frame fallback to one thread)")
	equal := fs.Bool("equal-split", false, "give every thread the same share of each op, whatever their measured speeds (instruction counts under an emulator)")
	busyKind := fs.String("busy-kind", "process", "competitors: process (child processes) or goroutine")
	batch := fs.Int("batch", 0, "a sweep without --profile takes turns of `N` frames per thread count (0: one count after the other)")
	checkCores := fs.Bool("check-cores", false, "after each turn of the largest thread count, measure how many cores the machine gives")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if *compare {
		if len(pos) < 2 {
			fmt.Fprintln(stderr, "mixedge bench: --compare needs two or more JSON documents")
			fs.Usage()
			return errUsage
		}
		return runCompare(pos, *top, stdout)
	}
	if len(pos) > 0 {
		return fmt.Errorf("unexpected argument %q", pos[0])
	}
	if (*fwPath == "") == !*synthetic {
		fmt.Fprintln(stderr, "mixedge bench: give --model M.fw or --arch ARCH --synthetic")
		fs.Usage()
		return errUsage
	}
	threads, err := parseThreads(*threadsArg)
	if err != nil {
		return err
	}
	if *runs < 1 || *warmup < 0 {
		return fmt.Errorf("--runs %d, --warmup %d: want runs ≥ 1, warmup ≥ 0", *runs, *warmup)
	}
	switch *by {
	case "op", "block", "kind":
	default:
		return fmt.Errorf("--by %q: want op, block or kind", *by)
	}
	if *svgPath != "" || *htmlPath != "" {
		*profile = true
	}
	if *batch < 0 {
		return fmt.Errorf("--batch %d: want N ≥ 0 frames per turn", *batch)
	}
	if *checkCores && (len(threads) < 2 || *batch == 0 || *profile) {
		return fmt.Errorf("--check-cores probes the cores between the turns of a sweep: it needs two or more --threads counts, --batch > 0 and no --profile")
	}
	if *busy < 0 || (*busyKind != "process" && *busyKind != "goroutine") {
		return fmt.Errorf("--busy %d --busy-kind %q: want N ≥ 0 and process or goroutine", *busy, *busyKind)
	}
	for _, o := range []struct{ flag, path string }{{"--svg", *svgPath}, {"--html", *htmlPath}} {
		if o.path != "" {
			if err := checkOutput(o.flag, o.path); err != nil {
				return err
			}
		}
	}
	k, err := kernels.Select(*tier)
	if err != nil {
		return err
	}
	doc := benchDoc{Schema: benchSchema, Device: deviceInfo(),
		Settings: benchSettings{Kernels: k.Name, Threads: threads, Runs: *runs, Warmup: *warmup, Profile: *profile}}
	var q *model.QModel
	var newNet func() (*model.Int8Net, error)
	if *fwPath != "" {
		sum, err := fileSHA256(*fwPath)
		if err != nil {
			return err
		}
		fw, err := model.OpenFirmware(*fwPath)
		if err != nil {
			return notFirmware("--model", *fwPath, err)
		}
		defer fw.Close()
		q = fw.Q
		newNet = func() (*model.Int8Net, error) { return model.NewInt8NetWithPlan(q, k, fw.Bufs, fw.Plan) }
		doc.Model.Source, doc.Model.SHA256 = *fwPath, sum
	} else {
		if q, err = syntheticQModel(*arch, *size); err != nil {
			return err
		}
		newNet = func() (*model.Int8Net, error) { return model.NewInt8Net(q, k) }
		doc.Model.Source = "synthetic"
	}
	n, err := newNet()
	if err != nil {
		return err
	}
	defer n.Close()
	g := q.G
	doc.Model.Arch, doc.Model.InputSize, doc.Model.Ops = g.Arch.Name, g.InputSize, len(g.Ops)
	doc.Model.MACs, doc.Model.Params = g.TotalMACs(), g.TotalParams()
	doc.Model.ArenaBytes, doc.Model.ArenaBound, doc.Model.WeightBytes = n.ArenaBytes(), n.Plan.LowerBound, q.WeightBytes()

	img := make([]float32, g.InputSize*g.InputSize*3)
	pp := camera.Preprocess{Size: g.InputSize, CropPct: q.Pre.CropPct, Mean: q.Pre.Mean, Std: q.Pre.Std}
	if err := pp.Apply(img, camera.SyntheticImage(7, g.InputSize+32, g.InputSize+32)); err != nil {
		return err
	}
	if err := quant.QuantizeSlice(n.Input(), img, q.In); err != nil {
		return err
	}
	if *busy > 0 {
		stop, err := startBusy(*busy, *busyKind)
		if err != nil {
			return err
		}
		defer stop()
		doc.Settings.Busy, doc.Settings.BusyKind = *busy, *busyKind
	}
	n.SetFixedThreads(*fixed)
	n.SetEqualSplit(*equal)
	doc.Settings.Fixed, doc.Settings.EqualSplit = *fixed, *equal
	if len(threads) > 1 && *batch > 0 && !*profile {
		// In turns, each count on its own network (newNet): switching one
		// network's threads would restart its per-frame thread choice.
		nets := []*model.Int8Net{n}
		for range threads[1:] {
			m, err := newNet()
			if err != nil {
				return err
			}
			defer m.Close()
			m.SetFixedThreads(*fixed)
			m.SetEqualSplit(*equal)
			copy(m.Input(), n.Input())
			nets = append(nets, m)
		}
		for i, t := range threads {
			nets[i].SetThreads(t)
		}
		var probe []*model.Int8Net
		if *checkCores {
			for range slices.Max(threads) {
				m, err := newNet()
				if err != nil {
					return err
				}
				copy(m.Input(), n.Input())
				probe = append(probe, m)
			}
		}
		doc.Settings.Batch, doc.Settings.CheckCores = *batch, *checkCores
		doc.Results = benchTurns(nets, threads, *runs, *warmup, *batch, probe)
	} else {
		for _, t := range threads {
			n.SetThreads(t)
			doc.Results = append(doc.Results, benchOnce(n, k, *runs, *warmup, *profile))
		}
	}
	doc.Memory = benchMemory{ArenaBytes: doc.Model.ArenaBytes, ArenaBound: doc.Model.ArenaBound,
		WeightBytes: doc.Model.WeightBytes, PeakRSS: peakRSS()}
	doc.fill()

	if *svgPath != "" {
		if err := writeFileWith(*svgPath, func(w io.Writer) error { return writeSVG(w, &doc) }); err != nil {
			return err
		}
	}
	if *htmlPath != "" {
		if err := writeFileWith(*htmlPath, func(w io.Writer) error { return writeHTML(w, &doc) }); err != nil {
			return err
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(&doc)
	}
	printBench(stdout, &doc, *by)
	return nil
}

// benchOnce times runs frames at n's thread count. Without profile no hook
// is installed. With profile, plain frames and hooked frames alternate, so
// both see the same machine state and the difference is the hook's cost.
func benchOnce(n *model.Int8Net, k *kernels.Table, runs, warmup int, profile bool) benchResult {
	g := n.Q.G
	n.OnOp = nil
	for i := 0; i < warmup; i++ {
		n.RunQuantized()
	}
	frames := make([]float64, runs)
	var hooked []float64
	var perOp [][]float64
	run := 0
	var last time.Time
	hook := func(op int) {
		now := time.Now()
		perOp[op][run] = now.Sub(last).Seconds() * 1e3
		last = now
	}
	if profile {
		hooked = make([]float64, runs)
		perOp = make([][]float64, len(g.Ops))
		for i := range perOp {
			perOp[i] = make([]float64, runs)
		}
		// Warm the hooked path too.
		n.OnOp = func(int) {}
		for i := 0; i < warmup; i++ {
			n.RunQuantized()
		}
		n.OnOp = nil
	}
	// Frames allocate nothing, but loading did: collect that garbage now so
	// that no collection cycle of it runs during the timed frames.
	runtime.GC()
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	f0, s0 := n.ThreadFrames()
	plain := func() {
		start := time.Now()
		n.RunQuantized()
		frames[run] = time.Since(start).Seconds() * 1e3
	}
	profiledFrame := func() {
		n.OnOp = hook
		start := time.Now()
		last = start
		n.RunQuantized()
		hooked[run] = time.Since(start).Seconds() * 1e3
		n.OnOp = nil
	}
	for run = 0; run < runs; run++ {
		switch {
		case !profile:
			plain()
		case run%2 == 0: // alternate the order within pairs: no bias to either
			plain()
			profiledFrame()
		default:
			profiledFrame()
			plain()
		}
	}
	runtime.ReadMemStats(&ms1)
	nf := float64(runs)
	if profile {
		nf *= 2
	}
	r := frameResult(n, frames)
	r.Allocs, r.AllocB = float64(ms1.Mallocs-ms0.Mallocs)/nf, float64(ms1.TotalAlloc-ms0.TotalAlloc)/nf
	r.GC = float64(ms1.NumGC-ms0.NumGC) / nf
	if f1, s1 := n.ThreadFrames(); f1 > f0 {
		r.SingleShare = float64(s1-s0) / float64(f1-f0)
	}
	if !profile {
		return r
	}
	p := &benchProfile{MedianMS: percentile(hooked, 50), P90MS: percentile(hooked, 90)}
	p.Overhead = (p.MedianMS - r.MedianMS) / r.MedianMS
	diff := make([]float64, runs)
	for i := range diff {
		diff[i] = hooked[i] - frames[i]
	}
	p.Paired = percentile(diff, 50) / r.MedianMS
	// The hook's own cost, timed alone: what profiling adds to every op.
	const calls = 1 << 14
	saved := perOp
	perOp = [][]float64{make([]float64, runs)}
	run = 0
	t0 := time.Now()
	last = t0
	for i := 0; i < calls; i++ {
		hook(0)
	}
	p.HookNS = float64(time.Since(t0).Nanoseconds()) / calls
	perOp = saved
	p.HookFrac = p.HookNS * float64(len(g.Ops)) / 1e6 / r.MedianMS
	meds := make([]float64, len(g.Ops))
	for i := range g.Ops {
		meds[i] = percentile(perOp[i], 50)
		p.OpSumMS += meds[i]
	}
	r.Profile = p
	p90s := make([]float64, len(g.Ops))
	for i := range g.Ops {
		p90s[i] = percentile(perOp[i], 90)
	}
	r.Ops = opRows(g, k, meds, p90s, p.OpSumMS)
	return r
}

// frameResult is the timing part of n's result from its frame times (ms).
func frameResult(n *model.Int8Net, frames []float64) benchResult {
	r := benchResult{Threads: n.Threads(), Runs: len(frames)}
	r.MedianMS, r.P10MS, r.P90MS = percentile(frames, 50), percentile(frames, 10), percentile(frames, 90)
	r.FPS = 1e3 / r.MedianMS
	r.GMACs = float64(n.Q.G.TotalMACs()) / r.MedianMS / 1e6
	return r
}

// opRows is the per-op table from per-op median and p90 times (ms); sum is
// the frame time the shares are of.
func opRows(g *model.Graph, k *kernels.Table, meds, p90s []float64, sum float64) []benchOp {
	rows := make([]benchOp, 0, len(g.Ops))
	for i := range g.Ops {
		op := &g.Ops[i]
		s := g.Tensors[op.Out]
		med := meds[i]
		bo := benchOp{Name: op.Name, Block: op.Block, Op: op.Kind.String(), Out: []int{s.C, s.H, s.W}, MACs: op.MACs,
			MedianMS: med, P90MS: p90s[i], Impl: implOf(k, op)}
		if sum > 0 {
			bo.Share = med / sum
		}
		if op.Kind == model.OpStem || op.Kind == model.OpPointwise || op.Kind == model.OpDepthwise {
			bo.Kernels = op.Kernels
			if len(op.OutSplit) > 1 {
				bo.Split = op.OutSplit
			}
		}
		if op.MACs > 0 && med > 0 {
			bo.GMACs = float64(op.MACs) / med / 1e6
		}
		rows = append(rows, bo)
	}
	return rows
}

func printBench(w io.Writer, doc *benchDoc, by string) {
	m, d := &doc.Model, &doc.Device
	cpu := d.CPU
	if d.Board != "" {
		cpu = d.Board + ", " + cpu
	}
	fmt.Fprintf(w, "%s int8 %dx%d  kernels %s  runs %d  arena %s (bound %s)  weights %s\n", m.Arch, m.InputSize, m.InputSize,
		doc.Settings.Kernels, doc.Settings.Runs, mib(m.ArenaBytes), mib(m.ArenaBound), mib(m.WeightBytes))
	fmt.Fprintf(w, "device: %s  %s/%s  %d cores  %s", cpu, d.OS, d.Arch, d.Logical, d.GoVersion)
	if d.Governor != "" {
		fmt.Fprintf(w, "  governor %s %d MHz", d.Governor, d.CurKHz/1000)
	}
	fmt.Fprintln(w)
	if doc.Memory.PeakRSS > 0 {
		fmt.Fprintf(w, "memory: peak RSS %s\n", mib(int(doc.Memory.PeakRSS)))
	}
	if doc.Settings.Busy > 0 {
		fmt.Fprintf(w, "competitors: %d busy %s(es) spinning while timing\n", doc.Settings.Busy, doc.Settings.BusyKind)
	}
	if doc.Settings.Batch > 0 {
		fmt.Fprintf(w, "thread counts in turns of %d frames, each on its own network\n", doc.Settings.Batch)
	}
	for i := range doc.Results {
		r := &doc.Results[i]
		fmt.Fprintf(w, "threads %d: median %.2f ms  p10 %.2f ms  p90 %.2f ms  (%.1f fps, %.1f GMAC/s)  allocations/frame %.1f  GC/frame %.2f\n",
			r.Threads, r.MedianMS, r.P10MS, r.P90MS, r.FPS, r.GMACs, r.Allocs, r.GC)
		if r.SingleShare > 0 {
			fmt.Fprintf(w, "  %.0f%% of these frames ran on one thread (it measured faster, or to check that it still is)\n", 100*r.SingleShare)
		}
		if c := r.Cores; c != nil {
			fmt.Fprintf(w, "  cores check: %d networks side by side ran at %.2f cores (median of %d probes)", r.Threads, c.Capacity, c.Batches)
			if c.Speedup > 0 {
				fmt.Fprintf(w, "; speed-up over 1 thread %.2fx (median of the turns)", c.Speedup)
			}
			fmt.Fprintln(w)
			if c.Full > 0 {
				fmt.Fprintf(w, "  in the %d of %d turns with %.1f cores or more: median %.2f ms", c.Full, c.Batches, 0.9*float64(r.Threads), c.FullMedianMS)
				if c.FullSpeedup > 0 {
					fmt.Fprintf(w, ", %.2fx 1 thread", c.FullSpeedup)
				}
				fmt.Fprintln(w)
			} else {
				fmt.Fprintf(w, "  no turn had %.1f cores: the machine shared them out (other programs, or vCPUs on one physical core)\n", 0.9*float64(r.Threads))
			}
		}
		if r.Profile != nil {
			p := r.Profile
			fmt.Fprintf(w, "  profiled frames: median %.2f ms; overhead %+.2f%% of the frame (medians), %+.2f%% (paired frames), hook alone %.0f ns × %d ops = %.3f%%\n",
				p.MedianMS, 100*p.Overhead, 100*p.Paired, p.HookNS, len(r.Ops), 100*p.HookFrac)
		}
	}
	for i := range doc.Results {
		r := &doc.Results[i]
		if r.Ops == nil {
			continue
		}
		fmt.Fprintf(w, "\nthreads %d, by %s:\n", r.Threads, by)
		printProfile(w, r, by)
	}
}

func printProfile(w io.Writer, r *benchResult, by string) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if by == "op" {
		fmt.Fprintln(tw, "layer\top\tkernels\tsplit\toutput\tMACs\tmedian ms\tp90 ms\tGMAC/s\t%\timpl")
		for _, o := range r.Ops {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%.3f\t%.3f\t%s\t%.1f\t%s\n", o.Name, o.Op, joinInts(o.Kernels, "/"), joinInts(o.Split, "/"),
				shapeText(o.Out), group(o.MACs), o.MedianMS, o.P90MS, gmacText(o.GMACs), 100*o.Share, o.Impl)
		}
	} else {
		fmt.Fprintf(tw, "%s\tops\tMACs\tmedian ms\tGMAC/s\t%%\n", by)
		for _, gr := range groupOps(r.Ops, by) {
			fmt.Fprintf(tw, "%s\t%d\t%s\t%.3f\t%s\t%.1f\n", gr.Name, gr.Count, group(gr.MACs), gr.MedianMS, gmacText(gr.GMACs()), 100*gr.Share)
		}
	}
	var macs int64
	for _, o := range r.Ops {
		macs += o.MACs
	}
	if by == "op" {
		fmt.Fprintf(tw, "total\t\t\t\t\t%s\t%.3f\t\t%s\t100.0\t\n", group(macs), r.Profile.OpSumMS, gmacText(float64(macs)/r.Profile.OpSumMS/1e6))
	} else {
		fmt.Fprintf(tw, "total\t%d\t%s\t%.3f\t%s\t100.0\n", len(r.Ops), group(macs), r.Profile.OpSumMS, gmacText(float64(macs)/r.Profile.OpSumMS/1e6))
	}
	tw.Flush()
	// Where the time goes, by op kind.
	parts := []string{}
	for _, gr := range sortedGroups(groupOps(r.Ops, "kind")) {
		parts = append(parts, fmt.Sprintf("%s %.2f ms (%.0f%%)", gr.Name, gr.MedianMS, 100*gr.Share))
	}
	fmt.Fprintf(w, "by kind: %s\n", strings.Join(parts, ", "))
}

func gmacText(v float64) string {
	if v <= 0 {
		return ""
	}
	return fmt.Sprintf("%.1f", v)
}

func writeFileWith(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, bareErr(err))
	}
	if err := write(f); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	return f.Close()
}

// implOf names the implementation the op's main kernel runs.
func implOf(k *kernels.Table, op *model.Op) string {
	key := map[model.OpKind]string{model.OpStem: "stem", model.OpPointwise: "gemm", model.OpDepthwise: "dwconv",
		model.OpSE: "channel_mul", model.OpAdd: "add", model.OpPool: "pool", model.OpLinear: "gemm_f32"}[op.Kind]
	if key == "stem" && k.Ops["stem"] != "avx2" {
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

// synthCache keeps the synthetic models built in this process (the tests
// run bench many times; a QModel is not modified by the nets run on it).
var synthCache sync.Map // "arch/size" → *model.QModel

// syntheticQModel builds arch with deterministic synthetic weights and
// calibrates it on two synthetic images.
func syntheticQModel(arch string, size int) (*model.QModel, error) {
	key := fmt.Sprintf("%s/%d", arch, size)
	if q, ok := synthCache.Load(key); ok {
		return q.(*model.QModel), nil
	}
	q, err := buildSyntheticQModel(arch, size)
	if err == nil {
		synthCache.Store(key, q)
	}
	return q, err
}

func buildSyntheticQModel(arch string, size int) (*model.QModel, error) {
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
