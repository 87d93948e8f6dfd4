package model

import (
	"reflect"
	"strings"
	"testing"

	"github.com/mixedge/mixedge/mixconv"
)

// Totals from spec §1 / §4.3 / §6 (timm's own counts at 224).
func TestTotalsMatchSpec(t *testing.T) {
	cases := []struct {
		arch   string
		params int64
		macs   int64
		blocks int
	}{
		{"mixnet_s", 4_134_606, 239_173_360, 16},
		{"mixnet_m", 5_014_382, 339_172_672, 19},
		{"mixnet_l", 7_329_252, 555_251_792, 19},
		{"tf_mixnet_s", 4_134_606, 239_173_360, 16},
		{"tf_mixnet_m", 5_014_382, 339_172_672, 19},
		{"tf_mixnet_l", 7_329_252, 555_251_792, 19},
	}
	for _, c := range cases {
		a, err := LookupArch(c.arch)
		if err != nil {
			t.Fatal(err)
		}
		g, err := Build(a, 224, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if got := g.TotalParams(); got != c.params {
			t.Errorf("%s: params %d, want %d", c.arch, got, c.params)
		}
		if got := g.TotalMACs(); got != c.macs {
			t.Errorf("%s: MACs %d, want %d", c.arch, got, c.macs)
		}
		blocks := map[string]bool{}
		for _, op := range g.Ops {
			if strings.HasPrefix(op.Block, "blocks.") {
				blocks[op.Block] = true
			}
		}
		if len(blocks) != c.blocks {
			t.Errorf("%s: %d blocks, want %d", c.arch, len(blocks), c.blocks)
		}
		if s := g.Tensors[g.Output]; s != (Shape{1, 1, 1000}) {
			t.Errorf("%s: output shape %v", c.arch, s)
		}
	}
}

// Per-op details from spec §4.2 for mixnet_s.
func TestMixnetSLayerTable(t *testing.T) {
	a, _ := LookupArch("mixnet_s")
	g, err := Build(a, 224, 1000)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*Op{}
	for i := range g.Ops {
		byName[g.Ops[i].Name] = &g.Ops[i]
	}
	check := func(name string, kernels, split []int, stride int, out Shape, macs int64) {
		t.Helper()
		op := byName[name]
		if op == nil {
			t.Fatalf("no op %s", name)
		}
		if !reflect.DeepEqual(op.Kernels, kernels) || !reflect.DeepEqual(op.OutSplit, split) || op.Stride != stride {
			t.Errorf("%s: kernels %v split %v stride %d; want %v %v %d", name, op.Kernels, op.OutSplit, op.Stride, kernels, split, stride)
		}
		if g.Tensors[op.Out] != out {
			t.Errorf("%s: out %v, want %v", name, g.Tensors[op.Out], out)
		}
		if op.MACs != macs {
			t.Errorf("%s: MACs %d, want %d", name, op.MACs, macs)
		}
	}
	check("conv_stem", []int{3}, []int{16}, 2, Shape{112, 112, 16}, 5_419_008)
	check("blocks.1.0.conv_pw", []int{1, 1}, []int{48, 48}, 1, Shape{112, 112, 96}, 2*4_816_896)
	check("blocks.2.0.conv_dw", []int{3, 5, 7}, []int{48, 48, 48}, 2, Shape{28, 28, 144}, 338_688+940_800+1_843_968)
	check("blocks.4.0.conv_dw", []int{3, 5, 7}, []int{160, 160, 160}, 1, Shape{14, 14, 480}, 282_240+784_000+1_536_640)
	check("blocks.5.0.conv_dw", []int{3, 5, 7, 9, 11}, []int{144, 144, 144, 144, 144}, 2, Shape{7, 7, 720},
		63_504+176_400+345_744+571_536+853_776)
	check("blocks.5.2.conv_pwl", []int{1, 1}, []int{100, 100}, 1, Shape{7, 7, 200}, 2*2_940_000)
	check("conv_head", []int{1}, []int{1536}, 1, Shape{7, 7, 1536}, 15_052_800)
	se := byName["blocks.5.1.se"]
	if se == nil || se.SEReduce != 100 || se.SEAct != ActSiLU {
		t.Errorf("blocks.5.1.se: %+v, want reduce 100 silu", se)
	}
	if se := byName["blocks.3.0.se"]; se == nil || se.SEReduce != 10 {
		t.Errorf("blocks.3.0.se: %+v, want reduce 10", se)
	}
	// Residuals: DS block yes, stage-4 first block (80→120, stride 1) no.
	if byName["blocks.0.0.add"] == nil || byName["blocks.4.0.add"] != nil || byName["blocks.4.1.add"] == nil {
		t.Error("residual adds wrong around blocks.0.0 / blocks.4.0 / blocks.4.1")
	}
	if got := len(g.ExpectedTensors()); got != 396-49 {
		t.Errorf("expected tensors %d, want %d (396 minus 49 num_batches_tracked)", got, 396-49)
	}
	if op := byName["blocks.1.0.conv_dw"]; op.Act != ActReLU || op.Mixed {
		t.Errorf("blocks.1.0.conv_dw: act %v mixed %v", op.Act, op.Mixed)
	}
	if op := byName["blocks.2.1.conv_dw"]; op.Act != ActSiLU || !op.Mixed {
		t.Errorf("blocks.2.1.conv_dw: act %v mixed %v", op.Act, op.Mixed)
	}
}

func TestPaddingAndEpsPerVariant(t *testing.T) {
	for _, name := range ArchNames() {
		a, _ := LookupArch(name)
		tf := strings.HasPrefix(name, "tf_")
		if tf != (a.Padding == mixconv.PadSame) || tf != (a.BNEps == 1e-3) || !tf != (a.BNEps == 1e-5) {
			t.Errorf("%s: padding %v eps %g", name, a.Padding, a.BNEps)
		}
	}
	if _, err := LookupArch("mixnet_s.ft_in1k"); err != nil {
		t.Errorf("hub tag: %v", err)
	}
	if _, err := LookupArch("mixnet_xs"); err == nil || !strings.Contains(err.Error(), "mixnet_s") {
		t.Errorf("unknown arch error should list the known ones: %v", err)
	}
}

func TestMakeDivisible(t *testing.T) {
	// spec §2.4
	cases := []struct {
		v    float64
		want int
	}{{16, 16}, {24, 24}, {24 * 1.3, 32}, {32 * 1.3, 40}, {40 * 1.3, 56}, {80 * 1.3, 104}, {120 * 1.3, 160}, {200 * 1.3, 264}, {3, 8}, {12, 16}}
	for _, c := range cases {
		if got := MakeDivisible(c.v, 8); got != c.want {
			t.Errorf("MakeDivisible(%g) = %d, want %d", c.v, got, c.want)
		}
	}
}

func TestScaleStageDepth(t *testing.T) {
	// mixnet_xl (_gen_mixnet_m: d=1.2, round): 1,2,5,5,5,5 from M's repeats (spec §2.3).
	want := []int{1, 2, 5, 5, 5, 5}
	reps := [][]int{{1}, {1, 1}, {1, 3}, {1, 3}, {1, 3}, {1, 3}}
	for i, r := range reps {
		got := 0
		for _, n := range scaleStageDepth(r, 1.2, "round") {
			got += n
		}
		if got != want[i] {
			t.Errorf("stage %d: %d blocks, want %d", i, got, want[i])
		}
	}
	if got := scaleStageDepth([]int{1, 1}, 1.2, "ceil"); !reflect.DeepEqual(got, []int{1, 2}) {
		t.Errorf("ceil(2*1.2)=3 blocks, handed out from the last string: %v", got)
	}
	if got := scaleStageDepth([]int{1, 3}, 1.0, "round"); !reflect.DeepEqual(got, []int{1, 3}) {
		t.Errorf("identity scaling: %v", got)
	}
}

func TestDecodeBlock(t *testing.T) {
	b, err := DecodeBlock("ir_r2_k3.5.7.9_a1.1_p1.1_s1_e3_c120_se0.5_nsw")
	if err != nil {
		t.Fatal(err)
	}
	want := BlockArgs{Type: "ir", Repeat: 2, DWKernel: []int{3, 5, 7, 9}, DWMixed: true, ExpKern: []int{1, 1}, ExpMixed: true,
		PwlKern: []int{1, 1}, PwlMixed: true, Stride: 1, Exp: 3, Out: 120, SE: 0.5, Act: ActSiLU}
	if !reflect.DeepEqual(b, want) {
		t.Errorf("got %+v\nwant %+v", b, want)
	}
	b, err = DecodeBlock("ds_r1_k3_s1_e1_c16")
	if err != nil || b.DWMixed || !reflect.DeepEqual(b.DWKernel, []int{3}) || b.Out != 16 || b.Act != ActNone {
		t.Errorf("ds block: %+v %v", b, err)
	}
	for _, bad := range []string{"", "xx_c16", "ir_k3", "ir_c16_c8", "ir_c16_q3", "ir_c16_k3.x", "ir_c16_a3", "ir_c16_nzz", "ir_c16_s0", "ir_c16_e0"} {
		if _, err := DecodeBlock(bad); err == nil {
			t.Errorf("DecodeBlock(%q) accepted", bad)
		} else if bad != "" && !strings.Contains(err.Error(), bad) {
			t.Errorf("error for %q does not name the string: %v", bad, err)
		}
	}
}

// Every size builds, and output sizes follow ceil(H/s) for odd and even inputs.
func TestBuildSizes(t *testing.T) {
	a, _ := LookupArch("tf_mixnet_s")
	for _, s := range []int{1, 7, 32, 33, 193, 224, 225} {
		g, err := Build(a, s, 10)
		if err != nil {
			t.Fatal(err)
		}
		h := s
		for _, op := range g.Ops {
			if op.Stride == 2 {
				h = (h + 1) / 2
			}
			if op.Kind != OpPool && op.Kind != OpLinear && g.Tensors[op.Out].H != h {
				t.Fatalf("size %d: %s output %v, want H=%d", s, op.Name, g.Tensors[op.Out], h)
			}
		}
	}
	if _, err := Build(a, 0, 10); err == nil {
		t.Error("input size 0 accepted")
	}
	if _, err := Build(a, 224, 0); err == nil {
		t.Error("0 classes accepted")
	}
}

func TestLabels(t *testing.T) {
	l := ImageNetLabels()
	if len(l) != 1000 || !strings.HasPrefix(l[0], "tench") || !strings.HasPrefix(l[999], "toilet tissue") {
		t.Fatalf("labels: %d, first %q, last %q", len(l), l[0], l[len(l)-1])
	}
	for i, s := range l {
		if strings.TrimSpace(s) == "" {
			t.Errorf("label %d empty", i)
		}
	}
}
