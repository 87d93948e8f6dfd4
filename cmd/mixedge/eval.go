package main

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/mixedge/mixedge/camera"
	"github.com/mixedge/mixedge/kernels"
	"github.com/mixedge/mixedge/model"
	"github.com/mixedge/mixedge/model/safetensors"
)

type evalOpts struct {
	model, weights, arch, against string
	labels, labelsCSV, match      string
	kernels                       string
	classes, size, workers        int
	limit, perClassLimit, show    int
	cropPct                       float64
	mean, std                     float3
	asJSON, perClass              bool
	progressEvery                 time.Duration
}

// sqnrCap bounds one image's logit SQNR in the mean (identical logits
// would make it infinite), as convert --report does per layer.
const sqnrCap = 99

func runEval(args []string, stdout, stderr io.Writer) error {
	var o evalOpts
	fs := newFlagSet("eval", "(--model M.fw | --weights W.safetensors --arch ARCH) [--against OTHER] [flags] DIR",
		`Measure a MixNet's accuracy on labelled pictures, the way you check a
deployment: top-1 and top-5 over every image, int8 (--model, a .fw from
'mixedge convert' or a published name) or float32 (--weights).

DIR is an ImageFolder tree: DIR/<class>/*.png|jpg (sub-folders of a class
folder count too). The class of a folder is found, with --match auto (the
default), like this:
  - every folder name is one of the model's labels (or one of a label's
    comma-separated synonyms; case, spaces, '_' and '-' are ignored):
    that label's index;
  - no folder name is a label: sorted folder order is the class index
    (torchvision's ImageFolder: the first folder is class 0), said on stderr;
    but folders named 1, 2, ... or 0..10 (where text order, "10" before
    "2", and the numbers disagree) are refused: say --match index or sorted;
  - some names match and some do not: an error naming the ones that do not
    (a typo would otherwise shift every class silently).
--match names|sorted|index forces one rule (index: the folder name is the
class number, e.g. DIR/7/). More class folders than the model has classes
is an error: those images have no class the model could answer; leave
them out, or list the images you want with --labels-csv.
--labels-csv FILE instead reads "path,index" lines (a header line and
#-comments are allowed; relative paths are taken from DIR if given, else
from the CSV's folder).

--against OTHER also runs the other precision on the same images (a .fw
for float32 weights, float32 weights for a .fw; the .fw fixes arch, size and
classes) and adds how far int8 is from float32: top-1 agreement, the mean
logit SQNR in dB (per image, capped at 99 dB) and the images where the two
top-1 answers differ.

Images are decoded and inferred in --workers goroutines, each with its own
networks (arena, activations). Files that cannot be decoded are named and
left out of the accuracy; they do not stop the run. Progress goes to stderr:
a bar on a terminal, else a line every --progress.
--json prints one JSON object at the end, e.g.
  {"source":DIR,"mapping":"names","images":N,"classes":C,"int8":{"model":M,"top1":0.87,
   "top1_correct":870,"top5":0.99,"top5_correct":990},"fp32":{...},
   "agreement":{"top1":0.99,"agree":990,"sqnr_db_mean":31.2,"sqnr_db_min":9.8,
   "disagree":[{"path":P,"label":L,"int8":I,"fp32":F}]},
   "per_class":[{"index":0,"label":"cat","folder":"cat","images":100,
   "top1":{"int8":0.9,"fp32":0.91},"top5":{...}}],
   "failed":[{"path":P,"error":E}],"seconds":4.2,"workers":2}
("mapping": names, sorted, index or csv; rates are fractions of the
decoded images; "failed" and "per_class" are
always there, "fp32"/"int8"/"agreement" when measured).`,
		`  mixedge eval --model mixnet_s.fw imagenet/val
  mixedge eval --model fashion.fw --against fashion.safetensors --per-class test/
  mixedge eval --weights w.safetensors --arch mixnet_s --classes 10 --input-size 64 --labels labels.txt test/
  mixedge eval --model m.fw --labels-csv val.csv --json > result.json
  mixedge eval --model m.fw --per-class-limit 50 --match sorted photos/`, stderr)
	fs.StringVar(&o.model, "model", "", "int8 .fw image, or a published name (mixnet_s, ...; fetched and converted once)")
	fs.StringVar(&o.weights, "weights", "", "float32: safetensors file with timm's state_dict (with --arch, --classes, --input-size)")
	fs.StringVar(&o.against, "against", "", "also run the other precision: W.safetensors with --model, M.fw with --weights")
	fs.StringVar(&o.arch, "arch", "mixnet_s", "float32 architecture: "+strings.Join(model.ArchNames(), ", "))
	fs.IntVar(&o.classes, "classes", 1000, "float32: classifier outputs of the weights")
	fs.IntVar(&o.size, "input-size", 0, "float32: network input size (default: the architecture's, 224)")
	fs.Float64Var(&o.cropPct, "crop-pct", 0, "centre-crop fraction (default: the model's)")
	fs.Var(&o.mean, "mean", "normalisation mean r,g,b (default: the model's)")
	fs.Var(&o.std, "std", "normalisation std r,g,b (default: the model's)")
	fs.StringVar(&o.labels, "labels", "", "class names, one per line (default: the .fw's, or ImageNet-1k for 1000 float32 classes)")
	fs.StringVar(&o.labelsCSV, "labels-csv", "", `"path,index" lines naming the images and their classes (instead of class folders)`)
	fs.StringVar(&o.match, "match", "auto", "how class folders map to class indices: auto, names, sorted, index")
	fs.StringVar(&o.kernels, "kernels", "", "int8 kernel tier: auto, generic, avx2, neon, dotprod (default $MIXEDGE_KERNELS or auto)")
	fs.IntVar(&o.workers, "workers", runtime.NumCPU(), "images decoded and inferred at once")
	fs.IntVar(&o.limit, "limit", 0, "evaluate at most N images, taken in turn from each class (0: all)")
	fs.IntVar(&o.perClassLimit, "per-class-limit", 0, "at most N images of each class, the first in name order (0: all)")
	fs.BoolVar(&o.perClass, "per-class", false, "print the accuracy of every class")
	fs.IntVar(&o.show, "show", 20, "with --against: how many disagreeing images to list (-1: all)")
	fs.BoolVar(&o.asJSON, "json", false, "print one JSON object with every figure at the end")
	fs.DurationVar(&o.progressEvery, "progress", 10*time.Second, "when stderr is not a terminal, a progress line this often (0: none)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	given := set(fs)
	usageErr := func(msg string) error {
		fmt.Fprintf(stderr, "mixedge eval: %s\n", msg)
		fs.Usage()
		return errUsage
	}
	var dir string
	switch {
	case len(pos) == 1:
		dir = pos[0]
	case len(pos) == 0 && o.labelsCSV != "":
	case len(pos) == 0:
		return usageErr("no image folder given (DIR/<class>/*.png, or --labels-csv FILE)")
	default:
		return usageErr(fmt.Sprintf("want one image folder, got %d arguments: %s", len(pos), strings.Join(pos, " ")))
	}
	if o.weights != "" && o.model != "" {
		return usageErr("give --model (int8) or --weights (float32), not both; --against adds the other")
	}
	switch o.match {
	case "auto", "names", "sorted", "index":
	default:
		return fmt.Errorf("--match %q: want auto, names, sorted or index", o.match)
	}
	if o.labelsCSV != "" && given["match"] {
		return errors.New("--match applies to class folders, not to --labels-csv")
	}
	if o.workers < 1 {
		return fmt.Errorf("--workers %d: want at least 1", o.workers)
	}
	if o.limit < 0 || o.perClassLimit < 0 {
		return fmt.Errorf("--limit %d, --per-class-limit %d: want 0 (all) or more", o.limit, o.perClassLimit)
	}
	if o.weights == "" && strings.HasSuffix(o.model, ".safetensors") {
		o.weights, o.model = o.model, ""
	}

	ev, err := loadEvalNets(&o, given, stderr)
	if err != nil {
		return err
	}
	defer ev.close()

	var ds *evalData
	if o.labelsCSV != "" {
		ds, err = readLabelsCSV(o.labelsCSV, dir, ev.classes)
	} else {
		ds, err = scanImageFolder(dir, ev.labels, o.match)
	}
	if err != nil {
		return err
	}
	if ds.note != "" {
		fmt.Fprintf(stderr, "mixedge eval: %s\n", ds.note)
	}
	ds.limit(o.perClassLimit, o.limit)
	if len(ds.items) == 0 {
		return fmt.Errorf("%s: no images to evaluate", ds.source)
	}

	what := make([]string, len(ev.names))
	for j := range ev.names {
		what[j] = ev.precision[j] + " " + ev.names[j]
	}
	if !o.asJSON {
		fmt.Fprintf(stdout, "%d images in %d classes from %s (%s); %s; %dx%d; %d workers\n",
			len(ds.items), len(ds.classIdx()), ds.source, mappingText[ds.mapping], strings.Join(what, " against "), ev.pre.Size, ev.pre.Size, min(o.workers, len(ds.items)))
	}

	set := model.EvalSet{N: len(ds.items), NewLoader: func() model.Loader { return newImageLoader(ds.items, ev.pre) }}
	pr := newEvalProgress(stderr, len(ds.items), o.progressEvery)
	start := time.Now()
	res, err := model.Evaluate(set, ev.nets, model.EvalOptions{Workers: o.workers, Progress: pr.update, ProgressEvery: pr.tick()})
	pr.finish()
	if err != nil {
		return err
	}
	elapsed := time.Since(start)
	if res.Loaded == 0 {
		return fmt.Errorf("none of the %d images could be decoded; the first: %v", len(ds.items), errPath(ds.items[res.Failed[0].Index].path, res.Failed[0].Err))
	}
	doc := ds.report(res, ev, elapsed, o.workers)
	if o.asJSON {
		b, err := json.Marshal(doc)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s\n", b)
		return nil
	}
	printEval(stdout, doc, o)
	return nil
}

// evalNets are the networks of one evaluation: float32 first when there
// are two (it is the reference the int8 one is measured against).
type evalNets struct {
	nets      []model.NetFactory
	precision []string // "fp32", "int8"
	names     []string // the files
	labels    []string
	classes   int
	pre       camera.Preprocess
	closers   []func()
}

func (e *evalNets) close() {
	for _, c := range e.closers {
		c()
	}
}

func loadEvalNets(o *evalOpts, given map[string]bool, stderr io.Writer) (*evalNets, error) {
	e := &evalNets{}
	var fwPath, wPath string
	switch {
	case o.weights != "":
		wPath, fwPath = o.weights, o.against
		if fwPath != "" && strings.HasSuffix(fwPath, ".safetensors") {
			return nil, fmt.Errorf("--against %s: float32 against float32; with --weights, --against takes an int8 .fw", fwPath)
		}
	default:
		p, err := resolveModel(o.model, stderr)
		if err != nil {
			return nil, err
		}
		fwPath, wPath = p, o.against
		if wPath != "" && strings.HasSuffix(wPath, ".fw") {
			return nil, fmt.Errorf("--against %s: int8 against int8; with --model, --against takes float32 .safetensors weights", wPath)
		}
		for _, f := range []string{"arch", "classes", "input-size"} {
			if given[f] {
				return nil, fmt.Errorf("--%s is fixed by the .fw image %s; it applies only with --weights", f, fwPath)
			}
		}
	}
	var fw *model.Firmware
	if fwPath != "" {
		k, err := kernels.Select(o.kernels)
		if err != nil {
			return nil, err
		}
		if fw, err = model.OpenFirmware(fwPath); err != nil {
			return nil, err
		}
		e.closers = append(e.closers, func() { fw.Close() })
		// One net now, so a bad plan is reported before any image is read.
		n, err := model.NewInt8NetWithPlan(fw.Q, k, fw.Bufs, fw.Plan)
		if err != nil {
			e.close()
			return nil, fmt.Errorf("%s: %w", fwPath, err)
		}
		n.Close()
		g := fw.Q.G
		p := fw.Q.Pre
		e.pre = camera.Preprocess{Size: g.InputSize, CropPct: p.CropPct, Mean: p.Mean, Std: p.Std}
		e.labels, e.classes = fw.Q.Labels, g.Classes
		e.nets = append(e.nets, model.Int8NetsWithPlan(fw.Q, k, fw.Bufs, fw.Plan))
		e.precision, e.names = append(e.precision, "int8"), append(e.names, fwPath)
	}
	if wPath != "" {
		arch, size, classes := o.arch, o.size, o.classes
		var a model.Arch
		if fw != nil && o.weights == "" {
			a, size, classes = fw.Q.G.Arch, fw.Q.G.InputSize, fw.Q.G.Classes
		} else {
			if fw != nil { // --weights W --against M.fw: the .fw's shape unless told
				if !given["arch"] {
					arch = fw.Q.G.Arch.Name
				}
				if !given["input-size"] {
					size = fw.Q.G.InputSize
				}
				if !given["classes"] {
					classes = fw.Q.G.Classes
				}
			}
			var err error
			if a, err = model.LookupArch(arch); err != nil {
				return nil, fmt.Errorf("--arch: %w", err)
			}
			if size == 0 {
				size = a.Preprocess.InputSize
			}
		}
		net, err := loadFloatArch(wPath, a, size, classes)
		if err != nil {
			e.close()
			if fw != nil && o.weights == "" {
				return nil, fmt.Errorf("--against %s (as %s at %d with %d classes, from %s): %w", wPath, a.Name, size, classes, fwPath, err)
			}
			return nil, err
		}
		if fw == nil {
			p := net.G.Arch.Preprocess
			e.pre = camera.Preprocess{Size: net.G.InputSize, CropPct: p.CropPct, Mean: p.Mean, Std: p.Std}
			e.classes = classes
			if e.labels, err = loadLabels("", classes); err != nil {
				return nil, err
			}
		}
		if fw != nil && o.weights != "" {
			if fa, fs, fc := fw.Q.G.Arch.Name, fw.Q.G.InputSize, fw.Q.G.Classes; fa != a.Name || fs != net.G.InputSize || fc != classes {
				e.close()
				return nil, fmt.Errorf("--against %s is %s at %dx%d with %d classes; the float32 weights run as %s at %dx%d with %d classes (set --arch, --input-size, --classes)",
					fwPath, fa, fs, fs, fc, a.Name, net.G.InputSize, net.G.InputSize, classes)
			}
		}
		// float32 first: the reference.
		e.nets = append([]model.NetFactory{model.FloatNets(net.G, net.W)}, e.nets...)
		e.precision = append([]string{"fp32"}, e.precision...)
		e.names = append([]string{wPath}, e.names...)
	}
	if o.labels != "" {
		l, err := loadLabels(o.labels, e.classes)
		if err != nil {
			e.close()
			return nil, err
		}
		e.labels = l
	}
	if o.cropPct != 0 {
		e.pre.CropPct = o.cropPct
	}
	if o.mean.set {
		e.pre.Mean = o.mean.v
	}
	if o.std.set {
		e.pre.Std = o.std.v
	}
	if err := e.pre.Validate(); err != nil {
		e.close()
		return nil, err
	}
	return e, nil
}

// loadFloatArch is loadFloat with the architecture itself (a .fw's).
func loadFloatArch(weights string, a model.Arch, size, classes int) (*model.FloatNet, error) {
	g, err := model.Build(a, size, classes)
	if err != nil {
		return nil, err
	}
	f, err := safetensors.Open(weights)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	w, err := model.LoadWeights(g, f)
	if err != nil {
		return nil, err
	}
	return model.NewFloatNet(g, w)
}

// mappingText says in words how images got their classes.
var mappingText = map[string]string{
	"names":  "folder names = labels",
	"sorted": "sorted folder order = class index",
	"index":  "folder name = class index",
	"csv":    "classes from --labels-csv",
}

// evalItem is one labelled image.
type evalItem struct {
	path  string
	class int
}

// evalData is the labelled images of a run and where they came from.
type evalData struct {
	source  string // the folder or the CSV
	mapping string // "names", "sorted", "index", "csv" (mappingText)
	items   []evalItem
	folder  map[int]string // class -> folder name (class folders only)
	note    string         // said on stderr before the run
}

func (d *evalData) classIdx() []int {
	seen := map[int]bool{}
	var out []int
	for _, it := range d.items {
		if !seen[it.class] {
			seen[it.class] = true
			out = append(out, it.class)
		}
	}
	sort.Ints(out)
	return out
}

// limit keeps at most perClass images of each class (the first ones), then
// orders the images class by class in turn (one of each class, then the
// next of each, ...) so that --limit n keeps a balanced subset.
func (d *evalData) limit(perClass, n int) {
	by := map[int][]evalItem{}
	for _, it := range d.items {
		if perClass == 0 || len(by[it.class]) < perClass {
			by[it.class] = append(by[it.class], it)
		}
	}
	classes := d.classIdx()
	var out []evalItem
	for round := 0; ; round++ {
		added := false
		for _, c := range classes {
			if round < len(by[c]) {
				out = append(out, by[c][round])
				added = true
			}
		}
		if !added {
			break
		}
	}
	if n > 0 && len(out) > n {
		out = out[:n]
	}
	d.items = out
}

// normName folds a label or folder name for matching: lower case, every
// run of characters other than letters and digits one space.
func normName(s string) string {
	var b strings.Builder
	space := false
	for _, r := range strings.ToLower(s) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			b.WriteRune(r)
			space = false
		} else {
			space = true
		}
	}
	return b.String()
}

// labelIndex maps each folded label, and each folded comma-separated
// synonym of a label ("tench, Tinca tinca"), to the indices it names.
func labelIndex(labels []string) map[string][]int {
	m := map[string][]int{}
	add := func(k string, i int) {
		if k == "" {
			return
		}
		for _, j := range m[k] {
			if j == i {
				return
			}
		}
		m[k] = append(m[k], i)
	}
	for i, l := range labels {
		add(normName(l), i)
		for _, syn := range strings.Split(l, ",") {
			add(normName(syn), i)
		}
	}
	return m
}

// scanImageFolder reads DIR/<class>/**/*.{png,jpg,jpeg} and gives each
// class folder its class index by match (auto, names, sorted, index).
func scanImageFolder(dir string, labels []string, match string) (*evalData, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("image folder: %w", err)
	}
	var folders []string
	loose := 0
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		isDir := e.IsDir()
		if e.Type()&fs.ModeSymlink != 0 { // a class folder linked from elsewhere
			if st, err := os.Stat(filepath.Join(dir, e.Name())); err == nil {
				isDir = st.IsDir()
			}
		}
		if isDir {
			folders = append(folders, e.Name())
		} else if imageExts[strings.ToLower(filepath.Ext(e.Name()))] {
			loose++
		}
	}
	sort.Strings(folders) // ReadDir sorts already; the class order must not depend on it
	if len(folders) == 0 {
		if loose > 0 {
			return nil, fmt.Errorf("%s has %d images but no class folders: want %s/<class>/*.png (one folder per class), or --labels-csv", dir, loose, dir)
		}
		return nil, fmt.Errorf("%s has no class folders: want %s/<class>/*.png (one folder per class), or --labels-csv", dir, dir)
	}
	d := &evalData{source: dir, folder: map[int]string{}}
	classes := len(labels)
	idx := labelIndex(labels)
	var matched, unmatched, ambiguous []string
	for _, f := range folders {
		switch len(idx[normName(f)]) {
		case 0:
			unmatched = append(unmatched, f)
		case 1:
			matched = append(matched, f)
		default:
			ambiguous = append(ambiguous, f)
		}
	}
	if match == "auto" {
		switch {
		case len(unmatched) == 0 && len(ambiguous) == 0:
			match = "names"
		case len(matched) == 0 && len(ambiguous) == 0:
			if f, i := numberOrderClash(folders); f != "" {
				return nil, fmt.Errorf("%s: the class folders are numbers, and sorted as text (torchvision's ImageFolder order) folder %s would be class %d: say --match index (the folder name is the class) or --match sorted (text order)", dir, quoteName(f), i)
			}
			match = "sorted"
			d.note = fmt.Sprintf("no folder of %s is named after one of the model's %d labels (%s): class index = sorted folder order (%s = 0, %s = %d); --match or --labels-csv to say otherwise",
				dir, classes, labelExamples(labels), quoteName(folders[0]), quoteName(folders[len(folders)-1]), len(folders)-1)
		default:
			match = "names"
		}
	}
	class := make([]int, len(folders))
	switch match {
	case "names":
		if len(ambiguous) > 0 {
			f := ambiguous[0]
			return nil, fmt.Errorf("%s: folder %s matches labels %v of the model; rename it to one of them exactly, or use --labels-csv", dir, quoteName(f), idx[normName(f)])
		}
		if len(unmatched) > 0 {
			return nil, fmt.Errorf("%s: %d of %d class folders are named after none of the model's %d labels: %s (%d others match); the labels are %s. Rename the folders, give the model's labels with --labels, or use --match sorted (sorted folder order = class index) or --labels-csv",
				dir, len(unmatched), len(folders), classes, quoteList(unmatched, 8), len(matched), labelExamples(labels))
		}
		seen := map[int]string{}
		for i, f := range folders {
			c := idx[normName(f)][0]
			if prev, ok := seen[c]; ok {
				return nil, fmt.Errorf("%s: folders %s and %s both name class %d (%s)", dir, quoteName(prev), quoteName(f), c, labels[c])
			}
			seen[c] = f
			class[i] = c
		}
		d.mapping = "names"
	case "sorted":
		if len(folders) > classes {
			return nil, fmt.Errorf("%s has %d class folders but the model has %d classes: sorted folder order would give %s class indices %d..%d, which the model does not have. Evaluate a subset with --labels-csv, or use a model with %d classes",
				dir, len(folders), classes, quoteList(folders[classes:], 8), classes, len(folders)-1, len(folders))
		}
		for i := range folders {
			class[i] = i
		}
		d.mapping = "sorted"
	case "index":
		seen := map[int]string{}
		for i, f := range folders {
			c, err := strconv.Atoi(f)
			if err != nil || c < 0 {
				return nil, fmt.Errorf("%s: --match index: folder %s is not a class number (want 0..%d)", dir, quoteName(f), classes-1)
			}
			if c >= classes {
				return nil, fmt.Errorf("%s: --match index: folder %s is class %d, but the model has %d classes (0..%d)", dir, quoteName(f), c, classes, classes-1)
			}
			if prev, ok := seen[c]; ok {
				return nil, fmt.Errorf("%s: folders %s and %s both name class %d", dir, quoteName(prev), quoteName(f), c)
			}
			seen[c] = f
			class[i] = c
		}
		d.mapping = "index"
	}
	for i, f := range folders {
		d.folder[class[i]] = f
		var files []string
		top := filepath.Join(dir, f)
		root, err := filepath.EvalSymlinks(top) // WalkDir does not follow a linked root
		if err != nil {
			return nil, fmt.Errorf("image folder: %w", err)
		}
		err = filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if rel, rerr := filepath.Rel(root, p); rerr == nil { // paths as the user sees them
				p = filepath.Join(top, rel)
			}
			if strings.HasPrefix(e.Name(), ".") && p != top {
				if e.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if !e.IsDir() && imageExts[strings.ToLower(filepath.Ext(p))] {
				files = append(files, p)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("image folder: %w", err)
		}
		sort.Strings(files)
		for _, p := range files {
			d.items = append(d.items, evalItem{p, class[i]})
		}
	}
	if len(d.items) == 0 {
		return nil, fmt.Errorf("%s: the class folders (%s) hold no PNG or JPEG images", dir, quoteList(folders, 8))
	}
	return d, nil
}

// numberOrderClash reports a folder whose name is a number other than its
// place in sorted (text) order, when every folder name is a number: then
// "sorted order = class index" and "the name is the class" disagree ("10"
// sorts before "2"), and guessing either could shift classes silently.
func numberOrderClash(folders []string) (string, int) {
	for _, f := range folders {
		if n, err := strconv.Atoi(f); err != nil || n < 0 {
			return "", 0
		}
	}
	for i, f := range folders {
		if n, _ := strconv.Atoi(f); n != i {
			return f, i
		}
	}
	return "", 0
}

// readLabelsCSV reads "path,index" lines. Relative paths are taken from
// dir, or from the CSV's folder when dir is "".
func readLabelsCSV(path, dir string, classes int) (*evalData, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--labels-csv: %w", err)
	}
	defer f.Close()
	base := dir
	if base == "" {
		base = filepath.Dir(path)
	}
	r := csv.NewReader(f)
	r.Comment = '#'
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true
	d := &evalData{source: path, mapping: "csv"}
	for first := true; ; first = false {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("--labels-csv %s: %w", path, err)
		}
		line, _ := r.FieldPos(0)
		if len(rec) != 2 {
			return nil, fmt.Errorf("%s:%d: %d fields, want 2: path,index", path, line, len(rec))
		}
		p, s := strings.TrimSpace(rec[0]), strings.TrimSpace(rec[1])
		c, err := strconv.Atoi(s)
		if err != nil {
			if first { // a header ("path,label")
				continue
			}
			return nil, fmt.Errorf("%s:%d: class index %q is not a whole number", path, line, s)
		}
		if c < 0 || c >= classes {
			return nil, fmt.Errorf("%s:%d: class index %d, but the model has %d classes (0..%d)", path, line, c, classes, classes-1)
		}
		if p == "" {
			return nil, fmt.Errorf("%s:%d: empty path", path, line)
		}
		if !filepath.IsAbs(p) {
			p = filepath.Join(base, p)
		}
		d.items = append(d.items, evalItem{p, c})
	}
	if len(d.items) == 0 {
		return nil, fmt.Errorf("--labels-csv %s: no path,index lines", path)
	}
	return d, nil
}

func quoteName(s string) string { return strconv.Quote(s) }

// quoteList quotes up to n names and says how many more there are.
func quoteList(names []string, n int) string {
	var q []string
	for i, s := range names {
		if i == n {
			q = append(q, fmt.Sprintf("and %d more", len(names)-n))
			break
		}
		q = append(q, quoteName(s))
	}
	return strings.Join(q, ", ")
}

// labelExamples shows the first labels, so a user sees what names the
// model expects.
func labelExamples(labels []string) string {
	const n = 5
	var q []string
	for i, l := range labels {
		if i == n {
			return strings.Join(q, ", ") + fmt.Sprintf(", ... (%d in all)", len(labels))
		}
		q = append(q, quoteName(l))
	}
	return strings.Join(q, ", ")
}

// newImageLoader decodes and preprocesses items; each worker has its own,
// with one camera.Pipeline per source size.
func newImageLoader(items []evalItem, pp camera.Preprocess) model.Loader {
	pipes := map[[2]int]*camera.Pipeline{}
	return func(i int, dst []float32) (int, error) {
		it := items[i]
		img, err := camera.DecodeFile(it.path)
		if err != nil {
			return 0, err
		}
		key := [2]int{img.W, img.H}
		pl := pipes[key]
		if pl == nil {
			if pl, err = pp.NewPipeline(img.W, img.H); err != nil {
				return 0, fmt.Errorf("%s: %w", it.path, err)
			}
			if len(pipes) < 64 { // many sizes: do not keep them all
				pipes[key] = pl
			}
		}
		if err := pl.Apply(dst, img); err != nil {
			return 0, fmt.Errorf("%s: %w", it.path, err)
		}
		return it.class, nil
	}
}

// errPath puts path in front of err unless it names it already.
func errPath(path string, err error) string {
	msg := err.Error()
	if !strings.Contains(msg, path) {
		msg = path + ": " + msg
	}
	return msg
}

// evalProgress shows progress on stderr: a bar on a terminal (redrawn
// every 200 ms), else a line every `every`.
type evalProgress struct {
	w     io.Writer
	n     int
	tty   bool
	every time.Duration
	start time.Time
	last  time.Time
	drawn bool
}

func newEvalProgress(w io.Writer, n int, every time.Duration) *evalProgress {
	p := &evalProgress{w: w, n: n, every: every, start: time.Now()}
	p.last = p.start
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			p.tty = true
		}
	}
	return p
}

func (p *evalProgress) tick() time.Duration {
	if p.tty || p.every <= 0 {
		return 200 * time.Millisecond
	}
	return min(p.every, time.Second)
}

func (p *evalProgress) rate(done int) string {
	el := time.Since(p.start).Seconds()
	if done == 0 || el <= 0 {
		return ""
	}
	r := float64(done) / el
	return fmt.Sprintf(", %.0f images/s, %s left", r, (time.Duration(float64(p.n-done)/r) * time.Second).Round(time.Second))
}

func (p *evalProgress) update(done int) {
	switch {
	case p.tty:
		const width = 30
		fill := width * done / max(p.n, 1)
		fmt.Fprintf(p.w, "\reval [%s%s] %d/%d%s   ", strings.Repeat("#", fill), strings.Repeat(".", width-fill), done, p.n, p.rate(done))
		p.drawn = true
	case p.every > 0 && done < p.n && time.Since(p.last) >= p.every:
		p.last = time.Now()
		fmt.Fprintf(p.w, "eval: %d/%d images%s\n", done, p.n, p.rate(done))
	}
}

func (p *evalProgress) finish() {
	if p.drawn {
		fmt.Fprintln(p.w)
	}
}

// JSON document of a run.
type evalDoc struct {
	Source    string           `json:"source"`
	Mapping   string           `json:"mapping"`
	Images    int              `json:"images"` // decoded and evaluated
	Classes   int              `json:"classes"`
	Int8      *evalNetDoc      `json:"int8,omitempty"`
	FP32      *evalNetDoc      `json:"fp32,omitempty"`
	Agreement *evalAgreeDoc    `json:"agreement,omitempty"`
	PerClass  []evalClassDoc   `json:"per_class"`
	Failed    []evalFailureDoc `json:"failed"`
	Seconds   float64          `json:"seconds"`
	Workers   int              `json:"workers"`
	labels    []string
}

type evalNetDoc struct {
	Model       string  `json:"model"`
	Top1        float64 `json:"top1"`
	Top1Correct int     `json:"top1_correct"`
	Top5        float64 `json:"top5"`
	Top5Correct int     `json:"top5_correct"`
}

type evalAgreeDoc struct {
	Top1     float64        `json:"top1"`
	Agree    int            `json:"agree"`
	SQNRMean float64        `json:"sqnr_db_mean"`
	SQNRMin  float64        `json:"sqnr_db_min"`
	Disagree []evalDisagree `json:"disagree"`
}

type evalDisagree struct {
	Path  string `json:"path"`
	Label int    `json:"label"`
	Int8  int    `json:"int8"`
	FP32  int    `json:"fp32"`
}

type evalClassDoc struct {
	Index  int                `json:"index"`
	Label  string             `json:"label"`
	Folder string             `json:"folder,omitempty"`
	Images int                `json:"images"`
	Top1   map[string]float64 `json:"top1"`
	Top5   map[string]float64 `json:"top5"`
}

type evalFailureDoc struct {
	Path  string `json:"path"`
	Error string `json:"error"`
}

func clampDB(v float64) float64 { return math.Max(-sqnrCap, math.Min(sqnrCap, v)) }

func (d *evalData) report(res *model.EvalResult, ev *evalNets, el time.Duration, workers int) *evalDoc {
	doc := &evalDoc{Source: d.source, Mapping: d.mapping, Images: res.Loaded, Classes: res.Classes,
		Seconds: el.Seconds(), Workers: min(workers, res.N), Failed: []evalFailureDoc{}, PerClass: []evalClassDoc{}, labels: ev.labels}
	for j, prec := range ev.precision {
		nd := &evalNetDoc{Model: ev.names[j], Top1: res.Top1Rate(j), Top1Correct: res.Nets[j].Top1,
			Top5: res.Top5Rate(j), Top5Correct: res.Nets[j].Top5}
		if prec == "int8" {
			doc.Int8 = nd
		} else {
			doc.FP32 = nd
		}
	}
	if len(res.Nets) == 2 { // fp32 (0) against int8 (1)
		mean, low := res.MeanSQNR(1, sqnrCap)
		a := &evalAgreeDoc{Top1: res.AgreeRate(1), Agree: res.Nets[1].Agree, SQNRMean: clampDB(mean), SQNRMin: clampDB(low), Disagree: []evalDisagree{}}
		for i, it := range d.items {
			f, q := res.Nets[0].Pred[i], res.Nets[1].Pred[i]
			if f >= 0 && f != q {
				a.Disagree = append(a.Disagree, evalDisagree{it.path, it.class, int(q), int(f)})
			}
		}
		sort.Slice(a.Disagree, func(x, y int) bool { return a.Disagree[x].Path < a.Disagree[y].Path })
		doc.Agreement = a
	}
	type acc struct{ n, top1, top5 []int }
	per := map[int]*acc{}
	for i, it := range d.items {
		if res.Label[i] < 0 {
			continue
		}
		a := per[it.class]
		if a == nil {
			a = &acc{top1: make([]int, len(res.Nets)), top5: make([]int, len(res.Nets)), n: []int{0}}
			per[it.class] = a
		}
		a.n[0]++
		for j := range res.Nets {
			if k := res.Nets[j].Rank[i]; k == 0 {
				a.top1[j]++
			}
			if k := res.Nets[j].Rank[i]; k < 5 {
				a.top5[j]++
			}
		}
	}
	for _, c := range d.classIdx() {
		a := per[c]
		if a == nil {
			continue // every image of it failed
		}
		cd := evalClassDoc{Index: c, Label: ev.labels[c], Folder: d.folder[c], Images: a.n[0], Top1: map[string]float64{}, Top5: map[string]float64{}}
		for j, prec := range ev.precision {
			cd.Top1[prec] = float64(a.top1[j]) / float64(a.n[0])
			cd.Top5[prec] = float64(a.top5[j]) / float64(a.n[0])
		}
		doc.PerClass = append(doc.PerClass, cd)
	}
	for _, f := range res.Failed {
		p := d.items[f.Index].path
		doc.Failed = append(doc.Failed, evalFailureDoc{p, errPath(p, f.Err)})
	}
	return doc
}

func printEval(w io.Writer, doc *evalDoc, o evalOpts) {
	pct := func(v float64) string { return fmt.Sprintf("%6.2f %%", 100*v) }
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "\ttop-1\t\ttop-5\t")
	for _, n := range []struct {
		name string
		d    *evalNetDoc
	}{{"int8", doc.Int8}, {"fp32", doc.FP32}} {
		if n.d != nil {
			fmt.Fprintf(tw, "%s\t%s\t%d/%d\t%s\t%d/%d\n", n.name, pct(n.d.Top1), n.d.Top1Correct, doc.Images, pct(n.d.Top5), n.d.Top5Correct, doc.Images)
		}
	}
	tw.Flush()
	if a := doc.Agreement; a != nil {
		fmt.Fprintf(w, "int8 vs fp32: top-1 agreement %s (%d/%d), logit SQNR mean %.2f dB, lowest %.2f dB\n",
			strings.TrimSpace(pct(a.Top1)), a.Agree, doc.Images, a.SQNRMean, a.SQNRMin)
		if len(a.Disagree) > 0 && o.show != 0 {
			shown := a.Disagree
			head := fmt.Sprintf("%d images where int8 and fp32 disagree:", len(a.Disagree))
			if o.show > 0 && len(shown) > o.show {
				shown = shown[:o.show]
				head = fmt.Sprintf("%d images where int8 and fp32 disagree (the first %d; --show -1 lists all, --json has all):", len(a.Disagree), o.show)
			}
			fmt.Fprintln(w, head)
			tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "  image\tlabel\tint8\tfp32")
			lab := labelOf(doc)
			for _, d := range shown {
				fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", d.Path, lab(d.Label), lab(d.Int8), lab(d.FP32))
			}
			tw.Flush()
		}
	}
	if o.perClass {
		fmt.Fprintln(w, "per class:")
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		head := "  index\tlabel\tfolder\timages"
		var precs []string
		for _, p := range []string{"int8", "fp32"} {
			if (p == "int8" && doc.Int8 != nil) || (p == "fp32" && doc.FP32 != nil) {
				precs = append(precs, p)
				head += "\t" + p + " top-1\t" + p + " top-5"
			}
		}
		fmt.Fprintln(tw, head)
		for _, c := range doc.PerClass {
			fmt.Fprintf(tw, "  %d\t%s\t%s\t%d", c.Index, truncate(c.Label, 30), c.Folder, c.Images)
			for _, p := range precs {
				fmt.Fprintf(tw, "\t%s\t%s", pct(c.Top1[p]), pct(c.Top5[p]))
			}
			fmt.Fprintln(tw)
		}
		tw.Flush()
	}
	if len(doc.Failed) > 0 {
		fmt.Fprintf(w, "%d files could not be decoded (left out of the figures above):\n", len(doc.Failed))
		for _, f := range doc.Failed {
			fmt.Fprintf(w, "  %s\n", f.Error)
		}
	}
	rate := float64(doc.Images+len(doc.Failed)) / math.Max(doc.Seconds, 1e-9)
	fmt.Fprintf(w, "%.1f s, %.0f images/s\n", doc.Seconds, rate)
}

// labelOf formats a class index with its label.
func labelOf(doc *evalDoc) func(int) string {
	return func(i int) string {
		if i >= 0 && i < len(doc.labels) {
			return fmt.Sprintf("%d %s", i, truncate(doc.labels[i], 24))
		}
		return strconv.Itoa(i)
	}
}
