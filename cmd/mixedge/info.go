package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/mixedge/mixedge/model"
)

type infoRow struct {
	Name    string `json:"name"`
	Op      string `json:"op"`
	Kernels []int  `json:"kernels,omitempty"`
	Split   []int  `json:"split,omitempty"`
	Stride  int    `json:"stride,omitempty"`
	Act     string `json:"act,omitempty"`
	In      []int  `json:"in"`  // C,H,W
	Out     []int  `json:"out"` // C,H,W
	Params  int64  `json:"params"`
	MACs    int64  `json:"macs"`
	// With --model: the int8 output's quantization.
	Scale float32 `json:"scale,omitempty"`
	Zero  *int32  `json:"zero,omitempty"`
}

type infoDoc struct {
	Arch      string    `json:"arch"`
	InputSize int       `json:"input_size"`
	Classes   int       `json:"classes"`
	Padding   string    `json:"padding"`
	BNEps     float64   `json:"bn_eps"`
	Layers    []infoRow `json:"layers"`
	Params    int64     `json:"params"`
	MACs      int64     `json:"macs"`
	// With --model.
	Model       string `json:"model,omitempty"`
	ArenaBytes  int    `json:"arena_bytes,omitempty"`
	ArenaBound  int    `json:"arena_lower_bound,omitempty"`
	WeightBytes int    `json:"weight_bytes,omitempty"`
	FileBytes   int    `json:"file_bytes,omitempty"`
	Calibration string `json:"calibration,omitempty"` // how convert chose the ranges
}

func runInfo(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("info", "(--arch ARCH [--input-size S] [--classes N] | --model M.fw) [--json]",
		`Print every layer of a MixNet: op, kernel sizes and channel split of each
MixConv, stride, input and output shape (C×H×W), learnable parameters and
multiply-accumulates. Totals count conv and classifier MACs, as timm does.
With --model, the layers of an int8 .fw image with each output's scale and
zero point, the arena size next to its lower bound (the largest sum of
tensors live at once) and the weight bytes.
Architectures: `+strings.Join(model.ArchNames(), ", ")+`.`,
		`  mixedge info --arch mixnet_s
  mixedge info --arch tf_mixnet_l --input-size 320 --json
  mixedge info --model mixnet_s.fw`, stderr)
	fwPath := fs.String("model", "", "int8 .fw image")
	arch := fs.String("arch", "mixnet_s", "architecture")
	size := fs.Int("input-size", 0, "input image size (default: the architecture's, 224)")
	classes := fs.Int("classes", 1000, "classifier outputs")
	asJSON := fs.Bool("json", false, "print one JSON document")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("unexpected argument %q (info takes only flags)", pos[0])
	}
	var g *model.Graph
	var fw *model.Firmware
	if *fwPath != "" {
		given := set(fs)
		for _, f := range []string{"arch", "input-size", "classes"} {
			if given[f] {
				return fmt.Errorf("--%s: the .fw image fixes it", f)
			}
		}
		if fw, err = model.OpenFirmware(*fwPath); err != nil {
			return notFirmware("--model", *fwPath, err)
		}
		defer fw.Close()
		g = fw.Q.G
	} else {
		a, err := model.LookupArch(*arch)
		if err != nil {
			return err
		}
		if *size == 0 {
			*size = a.Preprocess.InputSize
		}
		if g, err = model.Build(a, *size, *classes); err != nil {
			return err
		}
	}
	a := g.Arch
	doc := infoDoc{Arch: a.Name, InputSize: g.InputSize, Classes: g.Classes, Padding: a.Padding.String(), BNEps: a.BNEps,
		Params: g.TotalParams(), MACs: g.TotalMACs()}
	if fw != nil {
		doc.Model, doc.ArenaBytes, doc.ArenaBound = *fwPath, fw.Plan.Size, fw.Plan.LowerBound
		doc.WeightBytes, doc.FileBytes = fw.Q.WeightBytes(), fw.FileSize()
		doc.Calibration = fw.Q.Calib
		if doc.Calibration == "" {
			doc.Calibration = "not recorded (converted by a mixedge older than the calib section)"
		}
	}
	for i := range g.Ops {
		op := &g.Ops[i]
		is, os := g.Tensors[op.In], g.Tensors[op.Out]
		r := infoRow{Name: op.Name, Op: op.Kind.String(), In: []int{is.C, is.H, is.W}, Out: []int{os.C, os.H, os.W},
			Params: op.Params, MACs: op.MACs}
		switch op.Kind {
		case model.OpStem, model.OpDepthwise:
			r.Kernels, r.Split, r.Stride, r.Act = op.Kernels, op.OutSplit, op.Stride, op.Act.String()
		case model.OpPointwise:
			r.Kernels, r.Split, r.Stride, r.Act = op.Kernels, op.OutSplit, 1, op.Act.String()
		case model.OpSE:
			r.Split, r.Act = []int{op.SEReduce}, op.SEAct.String()
		}
		if fw != nil && op.Kind != model.OpLinear {
			p := fw.Q.Ops[i].Out
			r.Scale, r.Zero = p.Scale, &p.Zero
		}
		doc.Layers = append(doc.Layers, r)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(doc)
	}
	fmt.Fprintf(stdout, "%s  input %dx%dx3  %d classes  padding %s  BN eps %g\n", a.Name, doc.InputSize, doc.InputSize, doc.Classes, doc.Padding, a.BNEps)
	if fw != nil {
		fmt.Fprintf(stdout, "%s: int8, %s file, %s weights, arena %s (lower bound %s, %.3f×)\n", doc.Model, mib(doc.FileBytes),
			mib(doc.WeightBytes), mib(doc.ArenaBytes), mib(doc.ArenaBound), float64(doc.ArenaBytes)/float64(doc.ArenaBound))
		fmt.Fprintf(stdout, "calibration: %s\n", doc.Calibration)
	}
	fmt.Fprintln(stdout)
	// Text left-aligned by tabwriter, numbers right-aligned by padding.
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	q := ""
	if fw != nil {
		q = "\tscale\tzero"
	}
	fmt.Fprintf(tw, "layer\top\tkernels\tsplit\tstride\tact\tinput\toutput%s\t%11s\t%13s\n", q, "params", "MACs")
	for _, r := range doc.Layers {
		if fw != nil {
			q = "\tfloat32\t"
			if r.Zero != nil {
				q = fmt.Sprintf("\t%.5f\t%d", r.Scale, *r.Zero)
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s%s\t%11s\t%13s\n", r.Name, r.Op, joinInts(r.Kernels, "/"), splitText(r),
			strideText(r.Stride), r.Act, shapeText(r.In), shapeText(r.Out), q, group(r.Params), group(r.MACs))
	}
	if fw != nil {
		q = "\t\t"
	}
	fmt.Fprintf(tw, "total\t\t\t\t\t\t\t%s\t%11s\t%13s\n", q, group(doc.Params), group(doc.MACs))
	return tw.Flush()
}

func splitText(r infoRow) string {
	if r.Op == "se" {
		return "rd " + strconv.Itoa(r.Split[0])
	}
	if len(r.Split) < 2 {
		return ""
	}
	return joinInts(r.Split, "+")
}

func strideText(s int) string {
	if s == 0 {
		return ""
	}
	return strconv.Itoa(s)
}

func shapeText(s []int) string { return joinInts(s, "x") }

func joinInts(v []int, sep string) string {
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = strconv.Itoa(x)
	}
	return strings.Join(parts, sep)
}

// group writes n with thousands separators: 239,173,360.
func group(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
