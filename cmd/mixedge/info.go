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
}

func runInfo(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("info", "--arch ARCH [--input-size S] [--classes N] [--json]",
		`Print every layer of a MixNet: op, kernel sizes and channel split of each
MixConv, stride, input and output shape (C×H×W), learnable parameters and
multiply-accumulates. Totals count conv and classifier MACs, as timm does.
Architectures: `+strings.Join(model.ArchNames(), ", ")+`.`,
		`  mixedge info --arch mixnet_s
  mixedge info --arch tf_mixnet_l --input-size 320 --json`, stderr)
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
	a, err := model.LookupArch(*arch)
	if err != nil {
		return err
	}
	if *size == 0 {
		*size = a.Preprocess.InputSize
	}
	g, err := model.Build(a, *size, *classes)
	if err != nil {
		return err
	}
	doc := infoDoc{Arch: a.Name, InputSize: *size, Classes: *classes, Padding: a.Padding.String(), BNEps: a.BNEps,
		Params: g.TotalParams(), MACs: g.TotalMACs()}
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
		doc.Layers = append(doc.Layers, r)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(doc)
	}
	fmt.Fprintf(stdout, "%s  input %dx%dx3  %d classes  padding %s  BN eps %g\n\n", a.Name, *size, *size, *classes, doc.Padding, a.BNEps)
	// Text left-aligned by tabwriter, numbers right-aligned by padding.
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "layer\top\tkernels\tsplit\tstride\tact\tinput\toutput\t%11s\t%13s\n", "params", "MACs")
	for _, r := range doc.Layers {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%11s\t%13s\n", r.Name, r.Op, joinInts(r.Kernels, "/"), splitText(r),
			strideText(r.Stride), r.Act, shapeText(r.In), shapeText(r.Out), group(r.Params), group(r.MACs))
	}
	fmt.Fprintf(tw, "total\t\t\t\t\t\t\t\t%11s\t%13s\n", group(doc.Params), group(doc.MACs))
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
