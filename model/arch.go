package model

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"github.com/mixedge/mixedge/mixconv"
)

// Arch describes one member of the MixNet family as timm builds it
// (timm/models/efficientnet.py, _gen_mixnet_s / _gen_mixnet_m).
type Arch struct {
	Name        string
	Stages      [][]string // timm block strings, one list per stage
	StemSize    int        // before the channel multiplier
	HeadSize    int        // conv_head width; timm passes it as a literal, never scaled
	ChannelMult float64
	DepthMult   float64
	DepthTrunc  string // "ceil" (default) or "round"
	BNEps       float64
	Padding     mixconv.Padding
	Preprocess  PreprocessDefaults
}

// PreprocessDefaults is the timm pretrained cfg (spec §8.1).
type PreprocessDefaults struct {
	InputSize     int
	CropPct       float64
	Interpolation string
	Mean, Std     [3]float32
}

var imagenetDefaults = PreprocessDefaults{
	InputSize:     224,
	CropPct:       0.875,
	Interpolation: "bicubic",
	Mean:          [3]float32{0.485, 0.456, 0.406},
	Std:           [3]float32{0.229, 0.224, 0.225},
}

var mixnetS = [][]string{
	{"ds_r1_k3_s1_e1_c16"},
	{"ir_r1_k3_a1.1_p1.1_s2_e6_c24", "ir_r1_k3_a1.1_p1.1_s1_e3_c24"},
	{"ir_r1_k3.5.7_s2_e6_c40_se0.5_nsw", "ir_r3_k3.5_a1.1_p1.1_s1_e6_c40_se0.5_nsw"},
	{"ir_r1_k3.5.7_p1.1_s2_e6_c80_se0.25_nsw", "ir_r2_k3.5_p1.1_s1_e6_c80_se0.25_nsw"},
	{"ir_r1_k3.5.7_a1.1_p1.1_s1_e6_c120_se0.5_nsw", "ir_r2_k3.5.7.9_a1.1_p1.1_s1_e3_c120_se0.5_nsw"},
	{"ir_r1_k3.5.7.9.11_s2_e6_c200_se0.5_nsw", "ir_r2_k3.5.7.9_p1.1_s1_e6_c200_se0.5_nsw"},
}

var mixnetM = [][]string{
	{"ds_r1_k3_s1_e1_c24"},
	{"ir_r1_k3.5.7_a1.1_p1.1_s2_e6_c32", "ir_r1_k3_a1.1_p1.1_s1_e3_c32"},
	{"ir_r1_k3.5.7.9_s2_e6_c40_se0.5_nsw", "ir_r3_k3.5_a1.1_p1.1_s1_e6_c40_se0.5_nsw"},
	{"ir_r1_k3.5.7_s2_e6_c80_se0.25_nsw", "ir_r3_k3.5.7.9_a1.1_p1.1_s1_e6_c80_se0.25_nsw"},
	{"ir_r1_k3_s1_e6_c120_se0.5_nsw", "ir_r3_k3.5.7.9_a1.1_p1.1_s1_e3_c120_se0.5_nsw"},
	{"ir_r1_k3.5.7.9_s2_e6_c200_se0.5_nsw", "ir_r3_k3.5.7.9_p1.1_s1_e6_c200_se0.5_nsw"},
}

func family(name string, stages [][]string, stem int, mult float64, trunc string) []Arch {
	base := Arch{
		Name: name, Stages: stages, StemSize: stem, HeadSize: 1536,
		ChannelMult: mult, DepthMult: 1.0, DepthTrunc: trunc,
		BNEps: 1e-5, Padding: mixconv.PadSymmetric, Preprocess: imagenetDefaults,
	}
	tf := base
	tf.Name = "tf_" + name
	tf.BNEps = 1e-3
	tf.Padding = mixconv.PadSame
	return []Arch{base, tf}
}

var archs = func() map[string]Arch {
	m := map[string]Arch{}
	var all []Arch
	all = append(all, family("mixnet_s", mixnetS, 16, 1.0, "ceil")...)
	all = append(all, family("mixnet_m", mixnetM, 24, 1.0, "round")...)
	all = append(all, family("mixnet_l", mixnetM, 24, 1.3, "round")...)
	for _, a := range all {
		m[a.Name] = a
	}
	return m
}()

// Validate checks an architecture that did not come from the built-in
// list (e.g. one read from a .fw file).
func (a Arch) Validate() error {
	if len(a.Stages) == 0 {
		return fmt.Errorf("architecture %q has no stages", a.Name)
	}
	for si, st := range a.Stages {
		for _, s := range st {
			if _, err := DecodeBlock(s); err != nil {
				return fmt.Errorf("architecture %q stage %d: %w", a.Name, si, err)
			}
		}
	}
	switch {
	case a.StemSize < 1 || a.StemSize > 4096 || a.HeadSize < 1 || a.HeadSize > 1<<16:
		return fmt.Errorf("architecture %q: stem %d, head %d", a.Name, a.StemSize, a.HeadSize)
	case !(a.ChannelMult > 0 && a.ChannelMult <= 8) || !(a.DepthMult > 0 && a.DepthMult <= 8):
		return fmt.Errorf("architecture %q: channel multiplier %g, depth multiplier %g", a.Name, a.ChannelMult, a.DepthMult)
	case a.DepthTrunc != "ceil" && a.DepthTrunc != "round":
		return fmt.Errorf("architecture %q: depth truncation %q (want ceil or round)", a.Name, a.DepthTrunc)
	case !(a.BNEps > 0 && a.BNEps < 1):
		return fmt.Errorf("architecture %q: BN eps %g", a.Name, a.BNEps)
	case a.Padding != mixconv.PadSymmetric && a.Padding != mixconv.PadSame:
		return fmt.Errorf("architecture %q: padding %d", a.Name, a.Padding)
	}
	return nil
}

// ArchNames lists the supported architectures, sorted.
func ArchNames() []string {
	names := make([]string, 0, len(archs))
	for n := range archs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// LookupArch returns the named architecture. Hub tags such as
// "mixnet_s.ft_in1k" are accepted and reduced to the architecture name.
func LookupArch(name string) (Arch, error) {
	base, _, _ := strings.Cut(name, ".")
	a, ok := archs[base]
	if !ok {
		return Arch{}, fmt.Errorf("unknown architecture %q (known: %s)", name, strings.Join(ArchNames(), ", "))
	}
	return a, nil
}

// Act is an activation function.
type Act uint8

const (
	ActNone Act = iota
	ActReLU
	ActSiLU
)

func (a Act) String() string {
	switch a {
	case ActReLU:
		return "relu"
	case ActSiLU:
		return "silu"
	}
	return "none"
}

// BlockArgs is one decoded timm block string.
type BlockArgs struct {
	Type     string // "ds" or "ir"
	Repeat   int
	DWKernel []int // depthwise kernel per group
	DWMixed  bool  // list form (MixedConv2d, keys conv_dw.<g>.weight)
	ExpKern  []int
	ExpMixed bool
	PwlKern  []int
	PwlMixed bool
	Stride   int
	Exp      float64
	Out      int
	SE       float64
	Act      Act // ActNone means the model default (ReLU)
	NoSkip   bool
}

// DecodeBlock parses a timm block string such as "ir_r1_k3.5.7_s2_e6_c40_se0.5_nsw"
// with the rules of timm's _decode_block_str.
func DecodeBlock(s string) (BlockArgs, error) {
	toks := strings.Split(s, "_")
	if len(toks) == 0 || toks[0] == "" {
		return BlockArgs{}, fmt.Errorf("block string %q: empty", s)
	}
	b := BlockArgs{Type: toks[0], Repeat: 1, DWKernel: []int{3}, ExpKern: []int{1}, PwlKern: []int{1}, Stride: 1, Exp: 1}
	if b.Type != "ds" && b.Type != "ir" {
		return b, fmt.Errorf("block string %q: block type %q is not supported (want ds or ir)", s, b.Type)
	}
	seen := map[string]bool{}
	for _, t := range toks[1:] {
		switch {
		case t == "noskip":
			b.NoSkip = true
			continue
		case t == "skip":
			continue
		case strings.HasPrefix(t, "n"):
			switch t[1:] {
			case "re":
				b.Act = ActReLU
			case "sw":
				b.Act = ActSiLU
			default:
				return b, fmt.Errorf("block string %q: activation %q is not supported (want nre or nsw)", s, t)
			}
			continue
		}
		i := strings.IndexFunc(t, unicode.IsDigit)
		if i <= 0 {
			return b, fmt.Errorf("block string %q: token %q has no key and value", s, t)
		}
		key, val := t[:i], t[i:]
		if seen[key] {
			return b, fmt.Errorf("block string %q: option %q given twice", s, key)
		}
		seen[key] = true
		var err error
		switch key {
		case "r":
			b.Repeat, err = positiveInt(val)
		case "k":
			b.DWKernel, b.DWMixed, err = kernelList(val)
		case "a":
			b.ExpKern, b.ExpMixed, err = kernelList(val)
		case "p":
			b.PwlKern, b.PwlMixed, err = kernelList(val)
		case "s":
			b.Stride, err = positiveInt(val)
		case "e":
			b.Exp, err = strconv.ParseFloat(val, 64)
			if err == nil && b.Exp <= 0 {
				err = fmt.Errorf("must be > 0")
			}
		case "c":
			b.Out, err = positiveInt(val)
		case "se":
			b.SE, err = strconv.ParseFloat(val, 64)
			if err == nil && (b.SE < 0 || b.SE > 1) {
				err = fmt.Errorf("must be in [0, 1]")
			}
		default:
			err = fmt.Errorf("unknown option")
		}
		if err != nil {
			return b, fmt.Errorf("block string %q: option %q: %v", s, t, err)
		}
	}
	if !seen["c"] {
		return b, fmt.Errorf("block string %q: no output channels (c<N>)", s)
	}
	for _, k := range b.ExpKern {
		if k != 1 {
			return b, fmt.Errorf("block string %q: expansion kernels must be 1, got %v", s, b.ExpKern)
		}
	}
	for _, k := range b.PwlKern {
		if k != 1 {
			return b, fmt.Errorf("block string %q: projection kernels must be 1, got %v", s, b.PwlKern)
		}
	}
	return b, nil
}

func positiveInt(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 || n > 1<<20 {
		return 0, fmt.Errorf("want a positive integer, got %q", s)
	}
	return n, nil
}

// kernelList follows timm: an all-digit value is a plain conv, anything
// else is split on '.' into the kernels of a MixedConv2d.
func kernelList(s string) ([]int, bool, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n <= 0 || n > 63 {
			return nil, false, fmt.Errorf("kernel size %d out of range 1..63", n)
		}
		return []int{n}, false, nil
	}
	parts := strings.Split(s, ".")
	ks := make([]int, 0, len(parts))
	for _, p := range parts {
		if p == "" {
			continue
		}
		n, err := strconv.Atoi(p)
		if err != nil || n <= 0 || n > 63 {
			return nil, false, fmt.Errorf("bad kernel size %q", p)
		}
		ks = append(ks, n)
	}
	if len(ks) == 0 {
		return nil, false, fmt.Errorf("empty kernel list")
	}
	return ks, true, nil
}

// MakeDivisible is timm's make_divisible(v, 8): round to the nearest
// multiple of 8 (halves up), at least 8, never more than 10% down.
func MakeDivisible(v float64, divisor int) int {
	d := float64(divisor)
	n := int(math.Floor(v+d/2)) / divisor * divisor
	if n < divisor {
		n = divisor
	}
	if float64(n) < 0.9*v {
		n += divisor
	}
	return n
}

// scaleStageDepth is timm's _scale_stage_depth: repeats for one stage,
// handed out from the last string backwards.
func scaleStageDepth(repeats []int, mult float64, trunc string) []int {
	total := 0
	for _, r := range repeats {
		total += r
	}
	var scaled int
	if trunc == "round" {
		scaled = max(1, int(math.RoundToEven(float64(total)*mult)))
	} else {
		scaled = int(math.Ceil(float64(total) * mult))
	}
	out := make([]int, len(repeats))
	left, sleft := total, scaled
	for i := len(repeats) - 1; i >= 0; i-- {
		r := float64(repeats[i]) / float64(left) * float64(sleft)
		n := max(1, int(math.RoundToEven(r)))
		out[i] = n
		left -= repeats[i]
		sleft -= n
	}
	return out
}
