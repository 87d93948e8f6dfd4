package main

import (
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/mixedge/mixedge/camera"
	"github.com/mixedge/mixedge/kernels"
	"github.com/mixedge/mixedge/model"
	"github.com/mixedge/mixedge/model/calib"
	"github.com/mixedge/mixedge/quant"
)

func runConvert(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("convert", "--weights W.safetensors --arch ARCH [flags] -o OUT.fw",
		fmt.Sprintf(`Quantize a MixNet to int8 and write the deployable .fw image: per-channel
int8 weights packed for the kernels, activation ranges calibrated by running
the float network over images, the op list, the arena plan, preprocessing
parameters and labels.
Calibration data: --calib DIR (PNG/JPEG images, preprocessed like classify)
and/or --calib-synthetic N generated pictures. With neither, the built-in
set: the %d freely licensed photos shipped in mixedge plus %d synthetic
pictures (docs/QUANTIZATION.md has the measurements behind that choice).
Observers: minmax (default), percentile, mse, image-mse.
--report prints, per layer, the SQNR of the int8 output against float32
on report images (the calibration images, at most 4, or held-out synthetic
ones), so the layers that lose the most stand out.`, len(calib.PhotoNames()), calib.DefaultSynthetic),
		`  mixedge convert --weights mixnet_s.safetensors --arch mixnet_s -o mixnet_s.fw
  mixedge convert --weights w.safetensors --arch tf_mixnet_l --calib photos/ --report -o l.fw`, stderr)
	weights := fs.String("weights", "", "safetensors file with timm's state_dict")
	arch := fs.String("arch", "mixnet_s", "architecture: "+strings.Join(model.ArchNames(), ", "))
	classes := fs.Int("classes", 1000, "classifier outputs of the weights")
	size := fs.Int("input-size", 0, "network input size (default: the architecture's, 224)")
	calibDir := fs.String("calib", "", "directory of calibration images")
	calibSyn := fs.Int("calib-synthetic", 0, fmt.Sprintf("number of synthetic calibration images (without --calib or this flag: the built-in %d photos + %d synthetic)", len(calib.PhotoNames()), calib.DefaultSynthetic))
	observer := fs.String("observer", quant.DefaultObserver, "range observer: "+strings.Join(quant.ObserverNames, ", "))
	cropPct := fs.Float64("crop-pct", 0, "centre-crop fraction (default: the architecture's, 0.875)")
	var mean, std float3
	fs.Var(&mean, "mean", "normalisation mean r,g,b")
	fs.Var(&std, "std", "normalisation std r,g,b")
	labelsPath := fs.String("labels", "", "class names, one per line (default: ImageNet-1k)")
	report := fs.Bool("report", false, "print per-layer SQNR of int8 against float32")
	out := fs.String("o", "", "output .fw file")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("unexpected argument %q", pos[0])
	}
	if *weights == "" || *out == "" {
		fmt.Fprintln(stderr, "mixedge convert: --weights and -o are required")
		fs.Usage()
		return errUsage
	}
	if err := checkOutput("-o", *out); err != nil {
		return err
	}
	newObs, err := quant.NewObserver(*observer)
	if err != nil {
		return fmt.Errorf("--observer: %w", err)
	}
	if *calibSyn < 0 || *calibSyn > 100000 {
		return fmt.Errorf("--calib-synthetic %d: want 1..100000", *calibSyn)
	}
	labels, err := loadLabels(*labelsPath, *classes)
	if err != nil {
		return err
	}
	log := newStageLog(stderr)
	log.stage("loading %s (%s)", *weights, *arch)
	net, err := loadFloat(*weights, *arch, *size, *classes)
	if err != nil {
		return err
	}
	g := net.G
	pre := g.Arch.Preprocess
	pre.InputSize = g.InputSize
	if *cropPct != 0 {
		pre.CropPct = *cropPct
	}
	if mean.set {
		pre.Mean = mean.v
	}
	if std.set {
		pre.Std = std.v
	}
	pp := camera.Preprocess{Size: pre.InputSize, CropPct: pre.CropPct, Mean: pre.Mean, Std: pre.Std}
	if err := pp.Validate(); err != nil {
		return err
	}

	// The calibration set: images from --calib, then synthetic ones.
	var sources []func(dst []float32) error
	var names []string
	if *calibDir != "" {
		files, err := expandInputs([]string{*calibDir}, false)
		if err != nil {
			return fmt.Errorf("--calib: %w", err)
		}
		for _, f := range files {
			f := f
			names = append(names, f)
			sources = append(sources, func(dst []float32) error {
				img, err := camera.DecodeFile(f)
				if err != nil {
					return err
				}
				return pp.Apply(dst, img)
			})
		}
	}
	builtin := calib.Synthetic(*calibSyn)
	if *calibSyn == 0 && *calibDir == "" {
		builtin = calib.Default() // shipped photos + synthetic pictures
	}
	for _, im := range builtin {
		names = append(names, im.Name)
		sources = append(sources, func(dst []float32) error {
			m, err := im.Load()
			if err != nil {
				return err
			}
			return pp.Apply(dst, m)
		})
	}

	cal := model.NewCalibrator(net, newObs)
	img := make([]float32, pp.Size*pp.Size*3)
	passes := ""
	if cal.Passes() > 1 {
		passes = fmt.Sprintf(" in %d passes", cal.Passes())
	}
	log.stage("calibrating on %d images%s, observer %s", len(sources), passes, *observer)
	bar := newProgress(stderr, "calibrating", cal.Passes()*len(sources))
	for pass := 0; pass < cal.Passes(); pass++ {
		for i, src := range sources {
			if err := src(img); err != nil {
				bar.done()
				return fmt.Errorf("calibration image %s: %w", names[i], err)
			}
			cal.Observe(img)
			bar.step()
		}
		cal.EndPass()
		if cal.Passes() > 1 {
			log.stage("calibration pass %d of %d done", pass+1, cal.Passes())
		}
	}
	bar.done()
	ranges, err := cal.Ranges()
	if err != nil {
		return err
	}
	log.stage("quantizing weights, planning the arena")
	q, err := model.Quantize(g, net.W, ranges, pre, labels)
	if err != nil {
		return err
	}
	qn, err := model.NewInt8Net(q, kernels.Generic)
	if err != nil {
		return err
	}
	data, err := model.EncodeFirmware(q, qn.Plan)
	if err != nil {
		return err
	}
	log.stage("writing %s", *out)
	if err := writeFileAtomic(*out, data); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: %s, %s int8 (%s), %d calibration images, observer %s\n",
		*out, mib(len(data)), g.Arch.Name, shapeText([]int{3, g.InputSize, g.InputSize}), len(sources), *observer)
	fmt.Fprintf(stdout, "arena %s (lower bound %s, %.3f×)\n", mib(qn.Plan.Size), mib(qn.Plan.LowerBound),
		float64(qn.Plan.Size)/float64(qn.Plan.LowerBound))

	if *report {
		log.stage("measuring per-layer SQNR")
		return printReport(stdout, net, qn, sources, names)
	}
	return nil
}

// printReport averages per-layer SQNR over up to 4 report images.
func printReport(w io.Writer, net *model.FloatNet, qn *model.Int8Net, sources []func([]float32) error, names []string) error {
	g := net.G
	var imgs []func([]float32) error
	var used []string
	for i, s := range sources {
		if len(imgs) < 4 && !strings.HasPrefix(names[i], "synthetic") {
			imgs, used = append(imgs, s), append(used, names[i])
		}
	}
	pp := camera.Preprocess{Size: g.InputSize, CropPct: qn.Q.Pre.CropPct, Mean: qn.Q.Pre.Mean, Std: qn.Q.Pre.Std}
	for seed := uint64(1000); len(imgs) < 4; seed++ {
		s := seed
		imgs = append(imgs, func(dst []float32) error { return pp.Apply(dst, camera.SyntheticImage(s, 256, 256)) })
		used = append(used, fmt.Sprintf("held-out synthetic #%d", s))
	}
	sum := make([]float64, len(g.Ops))
	img := make([]float32, g.InputSize*g.InputSize*3)
	for _, src := range imgs {
		if err := src(img); err != nil {
			return err
		}
		for i, s := range model.LayerSQNR(net, qn, img) {
			sum[i] += math.Min(s, 99)
		}
	}
	fmt.Fprintf(w, "\nper-layer SQNR of int8 against float32, mean over: %s\n", strings.Join(used, ", "))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "layer\top\tout scale\tzero\tSQNR dB")
	for i := range g.Ops {
		op := &g.Ops[i]
		p := qn.Q.Ops[i].Out
		scale, zero := fmt.Sprintf("%.5f", p.Scale), fmt.Sprint(p.Zero)
		if op.Kind == model.OpLinear {
			scale, zero = "float32", ""
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%6.2f\n", op.Name, op.Kind, scale, zero, sum[i]/float64(len(imgs)))
	}
	return tw.Flush()
}

func mib(n int) string { return fmt.Sprintf("%.2f MiB", float64(n)/(1<<20)) }

// writeFileAtomic writes to a temporary file beside path, then renames, so
// a crash or a concurrent reader never sees half a file.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, bareErr(err))
	}
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write %s: %w", path, bareErr(err))
	}
	return nil
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// stageLog prints a line per stage of long work when w is not a terminal
// (a log, a CI job), where no progress bar is drawn, so the log shows how
// far it got.
type stageLog struct {
	w     io.Writer
	start time.Time
}

func newStageLog(w io.Writer) *stageLog {
	if isTerminal(w) {
		return &stageLog{}
	}
	return &stageLog{w: w, start: time.Now()}
}

func (l *stageLog) stage(format string, args ...any) {
	if l.w != nil {
		fmt.Fprintf(l.w, "mixedge convert: [%5.1fs] %s\n", time.Since(l.start).Seconds(), fmt.Sprintf(format, args...))
	}
}

// progress draws a bar on a terminal; elsewhere it prints a line at each
// quarter and one at the end.
type progress struct {
	w     io.Writer
	what  string
	n, i  int
	tty   bool
	shown int
}

func newProgress(w io.Writer, what string, n int) *progress {
	p := &progress{w: w, what: what, n: n, tty: isTerminal(w)}
	p.draw()
	return p
}

func (p *progress) step() {
	p.i++
	p.draw()
}

func (p *progress) draw() {
	if p.n == 0 {
		return
	}
	if !p.tty {
		// a log line at each quarter, so a log shows long work moving
		if p.i > 0 && p.i < p.n && 4*p.i/p.n != 4*(p.i-1)/p.n {
			fmt.Fprintf(p.w, "%s: %d/%d\n", p.what, p.i, p.n)
		}
		return
	}
	const width = 30
	fill := width * p.i / p.n
	fmt.Fprintf(p.w, "\r%s [%s%s] %d/%d", p.what, strings.Repeat("#", fill), strings.Repeat(".", width-fill), p.i, p.n)
}

func (p *progress) done() {
	if p.tty {
		fmt.Fprintln(p.w)
	} else {
		fmt.Fprintf(p.w, "%s: %d/%d done\n", p.what, p.i, p.n)
	}
}
