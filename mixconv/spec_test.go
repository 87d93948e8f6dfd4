package mixconv

import (
	"slices"
	"strings"
	"testing"
)

func TestPaddingString(t *testing.T) {
	for p, want := range map[Padding]string{PadSymmetric: "symmetric", PadSame: "same", 7: "Padding(7)"} {
		if got := p.String(); got != want {
			t.Errorf("Padding(%d).String() = %q, want %q", uint8(p), got, want)
		}
	}
}

func TestEqualSplit(t *testing.T) {
	for _, tc := range []struct {
		c, g int
		want []int
	}{
		{10, 3, []int{4, 3, 3}},
		{720, 5, []int{144, 144, 144, 144, 144}}, // mixnet_s blocks.5.0.conv_dw
		{360, 4, []int{90, 90, 90, 90}},
		{11, 4, []int{5, 2, 2, 2}},
		{7, 1, []int{7}},
		{2, 3, []int{2, 0, 0}},
		{5, 0, nil},
		{-1, 2, nil},
	} {
		if got := EqualSplit(tc.c, tc.g); !slices.Equal(got, tc.want) {
			t.Errorf("EqualSplit(%d, %d) = %v, want %v", tc.c, tc.g, got, tc.want)
		}
	}
}

func TestExponentialSplit(t *testing.T) {
	for _, tc := range []struct {
		c, g int
		want []int
	}{
		{32, 4, []int{16, 8, 4, 4}}, // the paper's example
		{7, 3, []int{4, 2, 1}},
		{10, 3, []int{5, 3, 2}},
		{4, 4, []int{1, 1, 1, 1}},
		{5, 4, []int{2, 1, 1, 1}},
		{9, 1, []int{9}},
		{720, 5, []int{360, 180, 90, 45, 45}},
	} {
		got, err := ExponentialSplit(tc.c, tc.g)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("ExponentialSplit(%d, %d) = %v, %v; want %v", tc.c, tc.g, got, err, tc.want)
		}
	}
	for g := 1; g <= 9; g++ {
		for c := g; c <= 300; c++ {
			split, err := ExponentialSplit(c, g)
			if err != nil {
				t.Fatalf("ExponentialSplit(%d, %d): %v", c, g, err)
			}
			sum := 0
			for i, n := range split {
				if n < 1 {
					t.Fatalf("ExponentialSplit(%d, %d) = %v: group %d is empty", c, g, split, i)
				}
				sum += n
			}
			if sum != c {
				t.Fatalf("ExponentialSplit(%d, %d) = %v sums to %d", c, g, split, sum)
			}
			// Group 0 gets half, rounded up, unless the others would starve.
			if want := min((c+1)/2, c-(g-1)); g > 1 && split[0] != want {
				t.Fatalf("ExponentialSplit(%d, %d) = %v, want group 0 = %d", c, g, split, want)
			}
		}
	}
	for _, tc := range []struct {
		c, g int
		msg  string
	}{
		{3, 4, "3 channels cannot fill 4 groups"},
		{3, 0, "groups = 0"},
	} {
		if _, err := ExponentialSplit(tc.c, tc.g); err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("ExponentialSplit(%d, %d) error = %v, want one mentioning %q", tc.c, tc.g, err, tc.msg)
		}
	}
}

// TestPadsSame follows spec §5.2: at stride 2 an even input pads k/2-1
// before and k/2 after, an odd input pads k/2 on both sides, and stride 1
// with odd k is symmetric k/2.
func TestPadsSame(t *testing.T) {
	kernels := []int{3, 5, 7, 9, 11}
	s := Spec{Kernels: kernels, Split: EqualSplit(720, 5), Stride: 2, Padding: PadSame}
	for _, tc := range []struct {
		h, g          int
		before, after int
	}{
		{224, 0, 0, 1}, // conv_stem
		{14, 0, 0, 1},  // blocks.5.0.conv_dw.0
		{14, 1, 1, 2},
		{14, 2, 2, 3},
		{14, 3, 3, 4},
		{14, 4, 4, 5},
		{56, 2, 2, 3}, // blocks.2.0.conv_dw.2
		{225, 0, 1, 1},
		{15, 4, 5, 5},
	} {
		// Height and width are padded independently: pass an odd width
		// alongside the table's height and vice versa.
		top, bottom, left, right := s.Pads(tc.g, tc.h, 9)
		if top != tc.before || bottom != tc.after {
			t.Errorf("Pads(k=%d, h=%d): top, bottom = %d, %d, want %d, %d", kernels[tc.g], tc.h, top, bottom, tc.before, tc.after)
		}
		if k := kernels[tc.g]; left != k/2 || right != k/2 {
			t.Errorf("Pads(k=%d, w=9): left, right = %d, %d, want %d, %d", k, left, right, k/2, k/2)
		}
		_, _, left, right = s.Pads(tc.g, 9, tc.h)
		if left != tc.before || right != tc.after {
			t.Errorf("Pads(k=%d, w=%d): left, right = %d, %d, want %d, %d", kernels[tc.g], tc.h, left, right, tc.before, tc.after)
		}
	}
	for _, h := range []int{224, 112, 56, 28, 14, 225, 113, 7} {
		for g, k := range kernels {
			if top, bottom, _, _ := s.Pads(g, h, h); h%2 == 0 && (top != k/2-1 || bottom != k/2) ||
				h%2 == 1 && (top != k/2 || bottom != k/2) {
				t.Errorf("stride 2, k=%d, h=%d: pads %d, %d do not follow the §5.2 table", k, h, top, bottom)
			}
		}
	}
	s.Stride = 1
	for g, k := range kernels {
		for _, h := range []int{1, 7, 14, 224} {
			if top, bottom, left, right := s.Pads(g, h, h); top != k/2 || bottom != k/2 || left != k/2 || right != k/2 {
				t.Errorf("stride 1 SAME, k=%d, h=%d: pads %d,%d,%d,%d, want all %d", k, h, top, bottom, left, right, k/2)
			}
		}
	}
	// Even kernel at stride 1: TF puts the odd pixel after.
	even := Spec{Kernels: []int{4}, Split: []int{1}, Stride: 1, Padding: PadSame}
	if top, bottom, _, _ := even.Pads(0, 10, 10); top != 1 || bottom != 2 {
		t.Errorf("SAME k=4 stride 1: top, bottom = %d, %d, want 1, 2", top, bottom)
	}
}

func TestPadsSymmetric(t *testing.T) {
	for _, tc := range []struct {
		k, stride, dil, want int
	}{
		{1, 1, 1, 0}, {3, 1, 1, 1}, {5, 2, 1, 2}, {11, 2, 1, 5}, {3, 1, 2, 2}, {3, 2, 2, 2}, {4, 1, 1, 1}, {2, 2, 1, 1},
	} {
		s := Spec{Kernels: []int{tc.k}, Split: []int{1}, Stride: tc.stride, Dilation: tc.dil, Padding: PadSymmetric}
		for _, h := range []int{7, 224} {
			if top, bottom, left, right := s.Pads(0, h, h+1); top != tc.want || bottom != tc.want || left != tc.want || right != tc.want {
				t.Errorf("symmetric k=%d s=%d d=%d: pads %d,%d,%d,%d, want all %d", tc.k, tc.stride, tc.dil, top, bottom, left, right, tc.want)
			}
		}
	}
}

// TestOutSizeMixNet: with odd kernels and dilation 1, as in every MixNet,
// both paddings give ceil(H/s).
func TestOutSizeMixNet(t *testing.T) {
	for _, pad := range []Padding{PadSymmetric, PadSame} {
		for _, stride := range []int{1, 2} {
			s := Spec{Kernels: []int{3, 5, 7, 9, 11}, Split: EqualSplit(10, 5), Stride: stride, Padding: pad}
			for h := 1; h <= 300; h++ {
				want := (h + stride - 1) / stride
				if oh, ow := s.OutSize(h, h+1); oh != want || ow != (h+stride)/stride {
					t.Fatalf("%v stride %d: OutSize(%d, %d) = %d, %d, want %d, %d", pad, stride, h, h+1, oh, ow, want, (h+stride)/stride)
				}
			}
		}
	}
	// PyTorch symmetric padding drops a row for even kernels at stride 1.
	s := Spec{Kernels: []int{2, 4}, Split: []int{1, 1}, Stride: 1, Padding: PadSymmetric}
	if oh, ow := s.OutSize(10, 1); oh != 9 || ow != 0 {
		t.Errorf("symmetric even kernels: OutSize(10, 1) = %d, %d, want 9, 0", oh, ow)
	}
}

// TestMACsMixNetS adds up every depthwise conv of mixnet_s at 224 (spec §4.2)
// from EqualSplit and OutSize, against the spec's 38,989,104 total.
func TestMACsMixNetS(t *testing.T) {
	layers := []struct {
		name     string
		c, h     int
		kernels  []int
		stride   int
		wantMACs int64
	}{
		{"blocks.0.0", 16, 112, []int{3}, 1, 1806336},
		{"blocks.1.0", 96, 112, []int{3}, 2, 2709504},
		{"blocks.1.1", 72, 56, []int{3}, 1, 2032128},
		{"blocks.2.0", 144, 56, []int{3, 5, 7}, 2, 338688 + 940800 + 1843968},
		{"blocks.2.1", 240, 28, []int{3, 5}, 1, 846720 + 2352000},
		{"blocks.2.2", 240, 28, []int{3, 5}, 1, 846720 + 2352000},
		{"blocks.2.3", 240, 28, []int{3, 5}, 1, 846720 + 2352000},
		{"blocks.3.0", 240, 28, []int{3, 5, 7}, 2, 141120 + 392000 + 768320},
		{"blocks.3.1", 480, 14, []int{3, 5}, 1, 423360 + 1176000},
		{"blocks.3.2", 480, 14, []int{3, 5}, 1, 423360 + 1176000},
		{"blocks.4.0", 480, 14, []int{3, 5, 7}, 1, 282240 + 784000 + 1536640},
		{"blocks.4.1", 360, 14, []int{3, 5, 7, 9}, 1, 158760 + 441000 + 864360 + 1428840},
		{"blocks.4.2", 360, 14, []int{3, 5, 7, 9}, 1, 158760 + 441000 + 864360 + 1428840},
		{"blocks.5.0", 720, 14, []int{3, 5, 7, 9, 11}, 2, 2010960},
		{"blocks.5.1", 1200, 7, []int{3, 5, 7, 9}, 1, 132300 + 367500 + 720300 + 1190700},
		{"blocks.5.2", 1200, 7, []int{3, 5, 7, 9}, 1, 132300 + 367500 + 720300 + 1190700},
	}
	var total int64
	for _, l := range layers {
		for _, pad := range []Padding{PadSymmetric, PadSame} {
			s := Spec{Kernels: l.kernels, Split: EqualSplit(l.c, len(l.kernels)), Stride: l.stride, Padding: pad}
			if err := s.Validate(); err != nil {
				t.Fatalf("%s: %v", l.name, err)
			}
			if got := s.MACs(l.h, l.h); got != l.wantMACs {
				t.Errorf("%s %v: MACs = %d, want %d", l.name, pad, got, l.wantMACs)
			}
		}
		total += l.wantMACs
	}
	if total != 38989104 {
		t.Errorf("mixnet_s depthwise MACs sum to %d, spec §1 says 38,989,104", total)
	}
}

func TestWeightLenAndOffsets(t *testing.T) {
	s := Spec{Kernels: []int{3, 5, 2}, Split: []int{4, 3, 2}, Stride: 1, Padding: PadSame}
	for g, want := range []int{36, 75, 8} {
		if got := s.WeightLen(g); got != want {
			t.Errorf("WeightLen(%d) = %d, want %d", g, got, want)
		}
	}
	for g, want := range []int{0, 4, 7} {
		if got := s.ChannelOffset(g); got != want {
			t.Errorf("ChannelOffset(%d) = %d, want %d", g, got, want)
		}
	}
	if got := s.Channels(); got != 9 {
		t.Errorf("Channels() = %d, want 9", got)
	}
}

func TestValidate(t *testing.T) {
	good := Spec{Kernels: []int{3, 5}, Split: []int{4, 4}, Stride: 2, Padding: PadSymmetric}
	if err := good.Validate(); err != nil {
		t.Fatalf("valid spec: %v", err)
	}
	for _, tc := range []struct {
		name string
		edit func(*Spec)
		msg  string
	}{
		{"no kernels", func(s *Spec) { s.Kernels, s.Split = nil, nil }, "Spec.Kernels is empty"},
		{"split too short", func(s *Spec) { s.Split = []int{8} }, "Spec.Split has 1 entries, want one per kernel in Spec.Kernels (2)"},
		{"split too long", func(s *Spec) { s.Split = []int{3, 3, 2} }, "Spec.Split has 3 entries"},
		{"zero kernel", func(s *Spec) { s.Kernels = []int{3, 0} }, "Spec.Kernels[1] = 0, want >= 1"},
		{"empty group", func(s *Spec) { s.Split = []int{8, 0} }, "Spec.Split[1] = 0, want >= 1"},
		{"stride 0", func(s *Spec) { s.Stride = 0 }, "Spec.Stride = 0, want >= 1"},
		{"negative dilation", func(s *Spec) { s.Dilation = -1 }, "Spec.Dilation = -1"},
		{"unknown padding", func(s *Spec) { s.Padding = 9 }, "Spec.Padding = Padding(9), want PadSymmetric or PadSame"},
		{"mixed parity", func(s *Spec) { s.Kernels = []int{3, 4} }, "Spec.Kernels[1] = 4 and Spec.Kernels[0] = 3 give different output sizes"},
	} {
		s := good
		s.Kernels, s.Split = slices.Clone(good.Kernels), slices.Clone(good.Split)
		tc.edit(&s)
		if err := s.Validate(); err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: Validate() = %v, want an error mentioning %q", tc.name, err, tc.msg)
		}
	}
	// Mixed parity is fine where it cannot change the output size.
	for _, s := range []Spec{
		{Kernels: []int{3, 4}, Split: []int{1, 1}, Stride: 1, Padding: PadSame},
		{Kernels: []int{3, 4}, Split: []int{1, 1}, Stride: 1, Dilation: 2, Padding: PadSymmetric},
	} {
		if err := s.Validate(); err != nil {
			t.Errorf("%+v: %v", s, err)
		}
	}
}

func TestCheckBuffers(t *testing.T) {
	s := Spec{Kernels: []int{3, 5}, Split: []int{3, 2}, Stride: 2, Padding: PadSame}
	h, w := 6, 5 // output 3x3, C = 5
	src, dst := make([]float32, h*w*5), make([]float32, 3*3*5)
	weights := [][]float32{make([]float32, 27), make([]float32, 50)}
	if err := s.CheckBuffers(dst, src, h, w, weights, nil); err != nil {
		t.Fatalf("valid buffers: %v", err)
	}
	if err := s.CheckBuffers(dst, src, h, w, weights, make([]float32, 5)); err != nil {
		t.Fatalf("valid buffers with bias: %v", err)
	}
	for _, tc := range []struct {
		name string
		err  error
		msg  string
	}{
		{"bad spec", Spec{Kernels: []int{3}, Split: []int{1, 2}, Stride: 1}.CheckBuffers(dst, src, h, w, weights, nil), "Spec.Split has 2 entries"},
		{"empty image", s.CheckBuffers(dst, src, 0, w, weights, nil), "input is 0×5"},
		{"short src", s.CheckBuffers(dst, src[1:], h, w, weights, nil), "len(src) = 149, want h*w*C = 6*5*5 = 150"},
		{"long dst", s.CheckBuffers(append(dst, 0), src, h, w, weights, nil), "len(dst) = 46, want oh*ow*C = 3*3*5 = 45"},
		{"missing group", s.CheckBuffers(dst, src, h, w, weights[:1], nil), "len(weights) = 1, want one slice per group (2)"},
		// The split says 2 channels for group 1, the weights hold 3.
		{"split vs weights", s.CheckBuffers(dst, src, h, w, [][]float32{weights[0], make([]float32, 75)}, nil), "len(weights[1]) = 75, want k*k*Split[1] = 5*5*2 = 50"},
		{"bias", s.CheckBuffers(dst, src, h, w, weights, make([]float32, 4)), "len(bias) = 4, want C = 5"},
	} {
		if tc.err == nil || !strings.Contains(tc.err.Error(), tc.msg) {
			t.Errorf("%s: CheckBuffers = %v, want an error mentioning %q", tc.name, tc.err, tc.msg)
		}
	}
}
