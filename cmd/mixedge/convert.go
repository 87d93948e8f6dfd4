package main

import (
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/mixedge/mixedge/camera"
	"github.com/mixedge/mixedge/kernels"
	"github.com/mixedge/mixedge/model"
	"github.com/mixedge/mixedge/model/calib"
	"github.com/mixedge/mixedge/quant"
)

// Where activation ranges come from (--ranges).
const (
	rangesPictures = "pictures"  // observers over calibration pictures
	rangesDataFree = "data-free" // BatchNorm statistics, no pictures
	rangesUnion    = "union"     // pictures' ranges widened to hold the data-free ones
)

// The defaults, chosen on trained MixNets' validation splits and the
// reference weights (docs/QUANTIZATION.md): with the user's own pictures
// their ranges; with none, the data-free ranges widened by the built-in
// pictures', so a saturated scene does not fall apart.
const (
	defaultRangesWithPictures = rangesPictures
	defaultRangesNoPictures   = rangesUnion
)

func runConvert(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("convert", "--weights W.safetensors --arch ARCH [flags] -o OUT.fw",
		fmt.Sprintf(`Quantize a MixNet to int8 and write the deployable .fw image: per-channel
int8 weights packed for the kernels, activation ranges, the op list, the
arena plan, preprocessing parameters and labels.

Activation ranges (--ranges) come from calibration pictures, from the
BatchNorm statistics in the weights (data-free: no pictures, so never
off-domain), or both ("union": the pictures' ranges widened to hold the
data-free ones).
  --calib DIR        your own PNG/JPEG pictures, preprocessed like classify:
                     a few hundred of the model's training pictures is best
  --calib none       no pictures at all: data-free ranges
  neither            the data-free ranges widened by the built-in set (%d
                     freely licensed photos + %d synthetic pictures)
convert prints what it used and warns when the pictures do not look like
the model's training data (their activations disagree with the BatchNorm
statistics), or when the built-in ImageNet-style pictures calibrate a model
that is not a 1000-class ImageNet one. 'info --model' shows it later.
Observers pick a range from the values seen: minmax, percentile, mse,
image-mse, one for all points or per point class (conv, preact, add, se,
pool), e.g. --observer percentile,add=minmax. Bias correction removes the
mean output shift that rounding each conv's weights causes.
--report prints, per layer, the SQNR of the int8 output against float32
on report images (the calibration images, at most 4, or held-out synthetic
ones), so the layers that lose the most stand out.
docs/QUANTIZATION.md has the measurements behind every default.`, len(calib.PhotoNames()), calib.DefaultSynthetic),
		`  mixedge convert --weights mixnet_s.safetensors --arch mixnet_s -o mixnet_s.fw
  mixedge convert --weights mine.safetensors --arch mixnet_s --classes 10 --labels labels.txt \
      --input-size 64 --crop-pct 1 --calib train_pictures/ -o mine.fw
  mixedge convert --weights w.safetensors --arch tf_mixnet_l --calib photos/ --report -o l.fw`, stderr)
	weights := fs.String("weights", "", "safetensors file with timm's state_dict")
	arch := fs.String("arch", "mixnet_s", "architecture: "+strings.Join(model.ArchNames(), ", "))
	classes := fs.Int("classes", 1000, "classifier outputs of the weights")
	size := fs.Int("input-size", 0, "network input size (default: the architecture's, 224)")
	calibDir := fs.String("calib", "", "directory of calibration pictures, or none for data-free ranges")
	calibMax := fs.Int("calib-max", 500, "use at most this many --calib pictures, evenly spread over the sorted paths (class folders)")
	calibSyn := fs.Int("calib-synthetic", 0, "number of synthetic calibration pictures (added to --calib's)")
	rangesFlag := fs.String("ranges", "", fmt.Sprintf("where ranges come from: pictures, data-free or union (default: %s with --calib DIR or --calib-synthetic, %s without)", defaultRangesWithPictures, defaultRangesNoPictures))
	observer := fs.String("observer", "", fmt.Sprintf("range observer: %s, or per point class: NAME,CLASS=NAME,... (default: %s for --calib DIR, %s for the built-in pictures, %s data-free)",
		strings.Join(quant.ObserverNames, ", "), model.DefaultObserverSpec, model.RobustObserverSpec, model.DataFreeObserverSpec))
	optimize := fs.Int("optimize", 0, "narrow each range where that brings the int8 logits closer to float32 on this many calibration pictures (0: off; 64 is plenty; slow at 224x224)")
	biasCorr := fs.Bool("bias-correction", true, "correct each conv's bias for the mean shift of its rounded weights")
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
	var spec model.ObserverSpec
	if *observer != "" {
		if spec, err = model.ParseObserverSpec(*observer); err != nil {
			return fmt.Errorf("--observer: %w", err)
		}
	}
	if *calibMax < 1 {
		return fmt.Errorf("--calib-max %d: want at least 1", *calibMax)
	}
	if *calibSyn < 0 || *calibSyn > 100000 {
		return fmt.Errorf("--calib-synthetic %d: want 1..100000", *calibSyn)
	}
	noPictures := *calibDir == "none"
	if noPictures {
		*calibDir = ""
	}
	userPictures := *calibDir != "" || *calibSyn > 0
	mode := *rangesFlag
	switch {
	case mode == "" && noPictures:
		mode = rangesDataFree
	case mode == "" && userPictures:
		mode = defaultRangesWithPictures
	case mode == "":
		mode = defaultRangesNoPictures
	case mode != rangesPictures && mode != rangesDataFree && mode != rangesUnion:
		return fmt.Errorf("--ranges %q: want pictures, data-free or union", mode)
	}
	switch {
	case noPictures && mode != rangesDataFree:
		return fmt.Errorf("--calib none leaves no pictures for --ranges %s (want --ranges data-free, or --calib DIR)", mode)
	case mode == rangesDataFree && userPictures:
		return fmt.Errorf("--ranges data-free reads no pictures, but --calib %s / --calib-synthetic %d give some (drop them, or use --ranges union)", *calibDir, *calibSyn)
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

	// The calibration set: pictures from --calib, then synthetic ones; the
	// built-in set when the ranges need pictures and none were given.
	var sources []func(dst []float32) error
	var names []string
	nFound := 0
	if *calibDir != "" {
		var files []string
		files, nFound, err = calibFiles(*calibDir, *calibMax)
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
	builtinUsed := false
	var builtin []calib.Image
	switch {
	case mode == rangesDataFree:
	case *calibSyn > 0:
		builtin = calib.Synthetic(*calibSyn)
	case !userPictures:
		builtin, builtinUsed = calib.Default(), true // shipped photos + synthetic pictures
	}
	if *observer == "" {
		switch {
		case mode == rangesDataFree:
			spec = model.DataFreeObserverSpec
		case *calibDir != "":
			spec = model.DefaultObserverSpec
		default:
			spec = model.RobustObserverSpec
		}
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

	var source string
	nDir := len(sources) - len(builtin)
	switch {
	case *calibDir != "" && len(builtin) > 0:
		source = fmt.Sprintf("%d pictures from %s + %d synthetic", nDir, *calibDir, len(builtin))
	case *calibDir != "" && nFound > nDir:
		source = fmt.Sprintf("%d pictures from %s (evenly spread over its %d; --calib-max)", nDir, *calibDir, nFound)
	case *calibDir != "":
		source = fmt.Sprintf("%d pictures from %s", nDir, *calibDir)
	case builtinUsed:
		source = fmt.Sprintf("built-in set (%d photos + %d synthetic pictures)", len(calib.PhotoNames()), calib.DefaultSynthetic)
	case len(builtin) > 0:
		source = fmt.Sprintf("%d synthetic pictures", len(builtin))
	}
	c, err := calibrate(net, pp, sources, names, source, mode, spec, *biasCorr, log, stderr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "mixedge convert: calibration: %s\n", c.desc)
	var why []string
	if builtinUsed && *classes != 1000 {
		why = append(why, fmt.Sprintf("the built-in pictures are ImageNet-style photos and patterns, and this is a %d-class model", *classes))
	}
	if c.domain != nil && c.domain.Score > model.DomainWarnScore {
		worst := c.domain.Layers[0]
		for _, l := range c.domain.Layers {
			if l.Shift > worst.Shift {
				worst = l
			}
		}
		why = append(why, fmt.Sprintf("the pictures' activations sit %.2f standard deviations (median over layers; %.2f at %s) "+
			"from what the weights' BatchNorm statistics say of the training data, where pictures like it stay under %.2f",
			c.domain.Score, worst.Shift, g.Ops[worst.Op].Name, model.DomainWarnScore))
	}
	if len(why) > 0 {
		fmt.Fprintf(stderr, "mixedge convert: warning: the calibration pictures may not be like the pictures this model sees: %s. "+
			"Pass --calib DIR with a few hundred of its own training pictures, or --calib none for data-free ranges\n", strings.Join(why, "; "))
	}

	if *optimize > 0 {
		if len(sources) == 0 {
			return fmt.Errorf("--optimize needs calibration pictures to compare logits on (not --calib none)")
		}
		if err := optimizeRanges(net, pp, pre, sources, names, *optimize, c, stderr); err != nil {
			return err
		}
	}
	log.stage("quantizing weights, planning the arena")
	q, err := model.QuantizeWith(g, net.W, c.ranges, pre, labels, c.opt)
	if err != nil {
		return err
	}
	q.Calib = c.desc
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
	fmt.Fprintf(stdout, "wrote %s: %s, %s int8 (%s), %s\n",
		*out, mib(len(data)), g.Arch.Name, shapeText([]int{3, g.InputSize, g.InputSize}), c.desc)
	fmt.Fprintf(stdout, "arena %s (lower bound %s, %.3f×)\n", mib(qn.Plan.Size), mib(qn.Plan.LowerBound),
		float64(qn.Plan.Size)/float64(qn.Plan.LowerBound))

	if *report {
		log.stage("measuring per-layer SQNR")
		return printReport(stdout, net, qn, sources, names)
	}
	return nil
}

// calibFiles lists the PNG/JPEG files under dir, subdirectories included
// (an ImageFolder tree of training pictures works as it is), sorted, and
// keeps at most max of them evenly spaced over that order. It returns how
// many it found.
func calibFiles(dir string, max int) ([]string, int, error) {
	var found []string
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && imageExts[strings.ToLower(filepath.Ext(path))] {
			found = append(found, path)
		}
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	if len(found) == 0 {
		return nil, 0, fmt.Errorf("%s has no PNG/JPEG pictures (subdirectories included)", dir)
	}
	sort.Strings(found)
	if len(found) <= max {
		return found, len(found), nil
	}
	pick := make([]string, max)
	for i := range pick {
		pick[i] = found[i*len(found)/max]
	}
	return pick, len(found), nil
}

// optimizeRanges narrows c's ranges with model.OptimizeRanges on the first
// n calibration pictures.
func optimizeRanges(net *model.FloatNet, pp camera.Preprocess, pre model.PreprocessDefaults, sources []func([]float32) error,
	names []string, n int, c *calibration, stderr io.Writer) error {
	n = min(n, len(sources))
	imgs, ref := make([][]float32, n), make([][]float32, n)
	for i := range imgs {
		imgs[i] = make([]float32, pp.Size*pp.Size*3)
		if err := sources[i](imgs[i]); err != nil {
			return fmt.Errorf("calibration image %s: %w", names[i], err)
		}
		ref[i] = append([]float32(nil), net.Run(imgs[i])...)
	}
	k, err := kernels.Select("")
	if err != nil {
		return err
	}
	var bar *progress
	r, sqnr, err := model.OptimizeRanges(net.G, net.W, c.ranges, pre, c.opt, imgs, ref, k, func(done, total int) {
		if bar == nil {
			bar = newProgress(stderr, "optimizing ranges", total)
		}
		bar.step()
	})
	if bar != nil {
		bar.done()
	}
	if err != nil {
		return err
	}
	c.ranges = r
	c.desc += fmt.Sprintf(", ranges narrowed for the logits on %d pictures (--optimize: %.1f dB)", n, sqnr)
	return nil
}

// calibration is what calibrate found.
type calibration struct {
	ranges model.Ranges
	opt    model.QuantizeOptions
	domain *model.DomainCheck // nil without pictures
	desc   string             // in words, for the user and the .fw
}

// calibrate chooses the activation ranges (and bias-correction means) by
// mode from the pictures in sources and/or the BatchNorm statistics.
func calibrate(net *model.FloatNet, pp camera.Preprocess, sources []func([]float32) error, names []string,
	source, mode string, spec model.ObserverSpec, biasCorr bool, log *stageLog, stderr io.Writer) (*calibration, error) {
	c := &calibration{}
	log.stage("data-free statistics from the BatchNorm layers")
	df, err := model.DataFree(net.G, net.W, spec, model.DataFreeOptions{})
	if err != nil {
		return nil, err
	}
	if mode == rangesDataFree {
		c.ranges = df.Ranges
		c.desc = fmt.Sprintf("data-free (BatchNorm statistics, no pictures), observer %s", spec)
		if biasCorr {
			c.opt.Means = df.Means
			c.desc += ", bias correction from the statistics"
		}
		return c, nil
	}
	cal, err := model.NewCalibratorSpec(net, spec)
	if err != nil {
		return nil, err
	}
	img := make([]float32, pp.Size*pp.Size*3)
	passes := ""
	if cal.Passes() > 1 {
		passes = fmt.Sprintf(" in %d passes", cal.Passes())
	}
	log.stage("calibrating on %d images%s, observer %s", len(sources), passes, spec)
	bar := newProgress(stderr, "calibrating", cal.Passes()*len(sources))
	for pass := 0; pass < cal.Passes(); pass++ {
		for i, src := range sources {
			if err := src(img); err != nil {
				bar.done()
				return nil, fmt.Errorf("calibration image %s: %w", names[i], err)
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
	if c.ranges, err = cal.Ranges(); err != nil {
		return nil, err
	}
	d := model.CheckDomain(net.G, cal, df)
	c.domain = &d
	c.desc = fmt.Sprintf("%s, observer %s", source, spec)
	if mode == rangesUnion {
		c.ranges = model.UnionRanges(c.ranges, df.Ranges)
		c.desc += ", widened to the data-free ranges"
	}
	if biasCorr {
		c.opt.Means = cal.Means()
		c.desc += ", bias correction from the pictures"
	}
	return c, nil
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
