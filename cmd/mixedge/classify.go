package main

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"

	"github.com/mixedge/mixedge/camera"
	"github.com/mixedge/mixedge/model"
)

// float3 is a "r,g,b" flag.
type float3 struct {
	v   [3]float32
	set bool
}

func (f *float3) String() string {
	if f == nil {
		return ""
	}
	return fmt.Sprintf("%g,%g,%g", f.v[0], f.v[1], f.v[2])
}

func (f *float3) Set(s string) error {
	parts := strings.Split(s, ",")
	if len(parts) != 3 {
		return fmt.Errorf("want three comma-separated numbers r,g,b, got %q", s)
	}
	for i, p := range parts {
		x, err := strconv.ParseFloat(strings.TrimSpace(p), 32)
		if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Errorf("%q is not a number", p)
		}
		f.v[i] = float32(x)
	}
	f.set = true
	return nil
}

type classifyOpts struct {
	weights, arch, labels string
	model, precision      string
	kernels               string
	threads               int
	top, size, classes    int
	cropPct               float64
	mean, std             float3
	asJSON, logits        bool
	tensor                bool
	modelIsWeights        bool // --model W.safetensors: the weights came with --model
	maxPixels             int64
}

// defaultMaxPixels bounds a decoded picture: a PNG at the limit needs about
// 4 bytes per pixel (160 MB), which a 512 MB Pi Zero 2 W can spare. JPEGs
// are decoded at reduced size first, so the limit applies to that size.
const defaultMaxPixels = 40_000_000

// decodeOptions bounds decoding for pictures preprocessed with pp.
func (o *classifyOpts) decodeOptions(pp camera.Preprocess) camera.DecodeOptions {
	return camera.DecodeOptions{MaxPixels: o.maxPixels, Target: pp.ResizedSize}
}

// maxPixelsHint says how to get past a refused picture.
func maxPixelsHint(err error, limit int64) error {
	if errors.Is(err, camera.ErrTooLarge) {
		return fmt.Errorf("%w (raise --max-pixels, now %d, to decode it; a PNG takes about 4 bytes per pixel)", err, limit)
	}
	return err
}

func (o *classifyOpts) weightsFlag() string {
	if o.modelIsWeights {
		return "--model"
	}
	return "--weights"
}

func runClassify(args []string, stdout, stderr io.Writer) error {
	var o classifyOpts
	fs := newFlagSet("classify", "(--model M.fw | --weights W.safetensors --arch ARCH) [flags] IMAGE|DIR...",
		`Classify images with a MixNet: int8 from a .fw image made by 'mixedge
convert' (--model), or float32 straight from timm's safetensors weights
(--weights, e.g. model.safetensors of timm/mixnet_s.ft_in1k on the hub).
Images (PNG or JPEG; a directory means every image in it) are preprocessed
like timm's eval transform: the shorter side resized to size/crop-pct with
PIL's bicubic filter, a centre crop, then (x/255 - mean)/std.
Big pictures: a JPEG at least twice the resize target in both directions
(e.g. 1024x1024 and up for 224) is decoded at 1/2, 1/4 or 1/8 of its size
(DCT scaling, as libjpeg does; pixels within a level or two of the full
decode's block means), so a 100 MP photo takes a few MB. Smaller JPEGs and
all PNGs decode at full size; a picture that would decode to more than
--max-pixels (default 40 MP, ~160 MB for a PNG) is refused and the others
go on.
With --tensor every input is instead a raw little-endian float32 NCHW
[1,3,S,S] tensor, already preprocessed.
Output: the top K classes with softmax probabilities; --json prints one
object per input per line:
  {"input":PATH,"top":[{"index":I,"label":NAME,"score":P}],"logits":[...]}
(logits only with --logits). An input that fails prints an error (in JSON:
{"input":PATH,"error":MSG}) and the others go on; the exit status is then 1.`,
		`  mixedge classify --model mixnet_s.fw cat.jpg
  mixedge classify --weights mixnet_s.safetensors --arch mixnet_s cat.jpg dog.png
  mixedge classify --weights tf_mixnet_l.safetensors --arch tf_mixnet_l --top 1 --json photos/
  mixedge classify --weights w.safetensors --arch mixnet_s --tensor --logits --json input0.f32`, stderr)
	fs.StringVar(&o.model, "model", "", "int8 .fw image made by 'mixedge convert', W.safetensors (with --arch), or a published name downloaded and converted once: mixnet_s, mixnet_m, mixnet_l, tf_mixnet_s, tf_mixnet_m, tf_mixnet_l (default mixnet_s)")
	fs.StringVar(&o.precision, "precision", "", "int8 (with --model) or fp32 (with --weights); default: what the model file holds")
	fs.StringVar(&o.kernels, "kernels", "", "int8 kernel tier: auto, generic, avx2, avxvnni, vnni, neon, dotprod (default $MIXEDGE_KERNELS or auto)")
	fs.IntVar(&o.threads, "threads", runtime.NumCPU(), "int8: goroutines per image")
	fs.StringVar(&o.weights, "weights", "", "safetensors file with timm's state_dict (F32, F16 or BF16)")
	fs.StringVar(&o.arch, "arch", "mixnet_s", "architecture: "+strings.Join(model.ArchNames(), ", "))
	fs.IntVar(&o.top, "top", 5, "how many classes to print per input")
	fs.BoolVar(&o.asJSON, "json", false, "print one JSON object per input per line")
	fs.BoolVar(&o.logits, "logits", false, "include all logits in the output")
	fs.BoolVar(&o.tensor, "tensor", false, "inputs are raw float32 NCHW [1,3,S,S] tensors, already preprocessed")
	fs.IntVar(&o.size, "input-size", 0, "network input size S (default: the architecture's, 224)")
	fs.Float64Var(&o.cropPct, "crop-pct", 0, "centre-crop fraction: resize the shorter side to S/crop-pct (default 0.875)")
	fs.Var(&o.mean, "mean", "normalisation mean r,g,b (default 0.485,0.456,0.406)")
	fs.Var(&o.std, "std", "normalisation std r,g,b (default 0.229,0.224,0.225)")
	fs.IntVar(&o.classes, "classes", 1000, "classifier outputs of the weights")
	fs.StringVar(&o.labels, "labels", "", "file with one class name per line (default: the built-in ImageNet-1k names)")
	fs.Int64Var(&o.maxPixels, "max-pixels", defaultMaxPixels, "refuse a picture that decodes to more pixels (a JPEG at least twice the resize target in both directions decodes at 1/2, 1/4 or 1/8 of its size first)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if o.weights != "" && o.model != "" {
		fmt.Fprintln(stderr, "mixedge classify: give --model (a name, M.fw or W.safetensors) or --weights W.safetensors, not both")
		fs.Usage()
		return errUsage
	}
	if len(pos) == 0 {
		fmt.Fprintln(stderr, "mixedge classify: no input given")
		fs.Usage()
		return errUsage
	}
	if o.top < 1 {
		return fmt.Errorf("--top %d: want at least 1", o.top)
	}
	if o.maxPixels < 1 {
		return fmt.Errorf("--max-pixels %d: want at least 1", o.maxPixels)
	}
	if o.weights == "" && strings.HasSuffix(o.model, ".safetensors") {
		o.weights, o.model = o.model, "" // --model W.safetensors --arch A: float32
		o.modelIsWeights = true
	}
	if o.weights == "" {
		fw, err := resolveModel(o.model, stderr) // "" = mixnet_s; names are fetched and converted once
		if err != nil {
			return err
		}
		o.model = fw
	}
	m, err := loadClassifier(&o, set(fs))
	if err != nil {
		return err
	}
	defer m.close()
	pp, err := o.preprocess(m.pre)
	if err != nil {
		return err
	}
	inputs := expandInputList(pos, o.tensor)
	labels := m.labels
	net := m

	in := make([]float32, pp.Size*pp.Size*3)
	nchw := make([]float32, len(in))
	failed := 0
	for _, it := range inputs {
		path, err := it.path, it.err // err: a missing path or an empty directory
		switch {
		case err != nil:
		case o.tensor:
			err = readTensor(path, nchw, pp.Size)
			if err == nil {
				camera.NCHWToNHWC(in, nchw, pp.Size, pp.Size, 3)
			}
		default:
			var img *camera.RGB
			img, err = camera.DecodeFileWith(path, o.decodeOptions(pp))
			if err == nil {
				err = pp.Apply(in, img)
			}
			err = maxPixelsHint(err, o.maxPixels)
		}
		if err != nil {
			failed++
			reportInputError(stdout, stderr, o.asJSON, path, err)
			continue
		}
		printResult(stdout, o, path, net.run(in), labels)
	}
	if failed > 0 {
		if !o.asJSON {
			fmt.Fprintf(stderr, "mixedge classify: %d of %d inputs failed\n", failed, len(inputs))
		}
		return exitError{1}
	}
	return nil
}

var imageExts = map[string]bool{".png": true, ".jpg": true, ".jpeg": true}
var tensorExts = map[string]bool{".f32": true, ".bin": true, ".raw": true}

// expandInputs replaces each directory by the images (or tensors) in it,
// sorted; the first argument that is missing or an empty directory is an
// error.
func expandInputs(args []string, tensor bool) ([]string, error) {
	var out []string
	for _, it := range expandInputList(args, tensor) {
		if it.err != nil {
			return nil, it.err
		}
		out = append(out, it.path)
	}
	return out, nil
}

// inputItem is one input of a batch, or the error that stands in its place.
type inputItem struct {
	path string
	err  error
}

// expandInputList is expandInputs for a batch that goes on past a bad
// argument: a missing path or an empty directory becomes an item with its
// error, in the order given.
func expandInputList(args []string, tensor bool) []inputItem {
	exts := imageExts
	kind := "PNG/JPEG images"
	if tensor {
		exts, kind = tensorExts, "tensors (.f32, .bin, .raw)"
	}
	var out []inputItem
	for _, a := range args {
		st, err := os.Stat(a)
		if err != nil {
			out = append(out, inputItem{a, err})
			continue
		}
		if !st.IsDir() {
			out = append(out, inputItem{path: a})
			continue
		}
		ents, err := os.ReadDir(a)
		if err != nil {
			out = append(out, inputItem{a, err})
			continue
		}
		var found []string
		for _, e := range ents {
			if !e.IsDir() && exts[strings.ToLower(filepath.Ext(e.Name()))] {
				found = append(found, filepath.Join(a, e.Name()))
			}
		}
		if len(found) == 0 {
			out = append(out, inputItem{a, fmt.Errorf("directory %s has no %s", a, kind)})
			continue
		}
		sort.Strings(found)
		for _, f := range found {
			out = append(out, inputItem{path: f})
		}
	}
	return out
}

func loadLabels(path string, classes int) ([]string, error) {
	if path == "" {
		if classes == 1000 {
			return model.ImageNetLabels(), nil
		}
		l := make([]string, classes)
		for i := range l {
			l[i] = "class " + strconv.Itoa(i)
		}
		return l, nil
	}
	l, err := model.ReadLabels(path)
	if err != nil {
		return nil, err
	}
	if len(l) != classes {
		return nil, fmt.Errorf("labels file %s has %d lines, the classifier has %d classes (set --classes)", path, len(l), classes)
	}
	return l, nil
}

// readTensor reads a raw float32 NCHW [1,3,s,s] file into dst.
func readTensor(path string, dst []float32, s int) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if want := 4 * len(dst); len(b) != want {
		return fmt.Errorf("%s: %d bytes, want %d (float32 NCHW [1,3,%d,%d]); is --input-size right?", path, len(b), want, s, s)
	}
	for i := range dst {
		v := math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("%s: value %d is %v", path, i, v)
		}
		dst[i] = v
	}
	return nil
}

type scored struct {
	Index int     `json:"index"`
	Label string  `json:"label"`
	Score float32 `json:"score"` // float32: no digits beyond what the logits carry
}

type result struct {
	Input  string    `json:"input"`
	Top    []scored  `json:"top"`
	Logits []float32 `json:"logits,omitempty"`
}

// topK returns the k best classes with softmax probabilities (ties go to
// the lower index).
func topK(logits []float32, labels []string, k int) []scored {
	out := make([]scored, min(k, len(logits)))
	topKInto(out, logits, labels)
	return out
}

// preprocess applies --crop-pct, --mean and --std to a model's defaults.
func (o *classifyOpts) preprocess(pp camera.Preprocess) (camera.Preprocess, error) {
	if o.cropPct != 0 {
		pp.CropPct = o.cropPct
	}
	if o.mean.set {
		pp.Mean = o.mean.v
	}
	if o.std.set {
		pp.Std = o.std.v
	}
	return pp, pp.Validate()
}

func printResult(w io.Writer, o classifyOpts, path string, logits []float32, labels []string) {
	r := result{Input: path, Top: topK(logits, labels, o.top)}
	if o.asJSON {
		if o.logits {
			r.Logits = logits
		}
		b, _ := json.Marshal(r)
		fmt.Fprintf(w, "%s\n", b)
		return
	}
	fmt.Fprintln(w, path)
	for i, s := range r.Top {
		fmt.Fprintf(w, "  %d. %-4d %-40s %.4f\n", i+1, s.Index, truncate(s.Label, 40), s.Score)
	}
	if o.logits {
		parts := make([]string, len(logits))
		for i, v := range logits {
			parts[i] = strconv.FormatFloat(float64(v), 'g', 8, 32)
		}
		fmt.Fprintf(w, "  logits: %s\n", strings.Join(parts, " "))
	}
}

func reportInputError(stdout, stderr io.Writer, asJSON bool, path string, err error) {
	msg := err.Error()
	if !strings.Contains(msg, path) {
		msg = path + ": " + msg
	}
	if asJSON {
		b, _ := json.Marshal(map[string]string{"input": path, "error": msg})
		fmt.Fprintf(stdout, "%s\n", b)
		return
	}
	fmt.Fprintf(stderr, "mixedge classify: %s\n", msg)
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
