package mixconv

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// refPad is the padding rule of spec §5, written out independently of
// Spec.Pads.
func refPad(p Padding, n, k, stride, dil int) (before, after int) {
	if p == PadSymmetric {
		q := ((stride - 1) + dil*(k-1)) / 2
		return q, q
	}
	out := (n + stride - 1) / stride
	total := (out-1)*stride + (k-1)*dil + 1 - n
	if total < 0 {
		total = 0
	}
	return total / 2, total - total/2
}

// naiveResult is the reference output in NHWC order, in float64, with the
// sum of |terms| per element to scale the tolerance.
type naiveResult struct {
	oh, ow   int
	out, mag []float64
}

// naive is the obviously-correct MixConv: transpose to NCHW, copy each
// channel into an explicitly zero-padded plane, slide the dilated window
// over it with the stride. Weights are in PyTorch layout [Cg][k][k].
func naive(src []float32, h, w int, kernels, split []int, stride, dil int, pad Padding, torchW [][]float32, bias []float32) (naiveResult, error) {
	c := 0
	for _, n := range split {
		c += n
	}
	nchw := make([]float64, c*h*w)
	for y := range h {
		for x := range w {
			for ch := range c {
				nchw[(ch*h+y)*w+x] = float64(src[(y*w+x)*c+ch])
			}
		}
	}
	res := naiveResult{oh: -1}
	c0 := 0
	for g, k := range kernels {
		pt, pb := refPad(pad, h, k, stride, dil)
		pl, pr := refPad(pad, w, k, stride, dil)
		hp, wp := h+pt+pb, w+pl+pr
		extent := dil*(k-1) + 1
		oh, ow := 0, 0
		if hp >= extent {
			oh = (hp-extent)/stride + 1
		}
		if wp >= extent {
			ow = (wp-extent)/stride + 1
		}
		if res.oh < 0 {
			res.oh, res.ow = oh, ow
			res.out = make([]float64, oh*ow*c)
			res.mag = make([]float64, oh*ow*c)
		} else if oh != res.oh || ow != res.ow {
			return res, fmt.Errorf("group %d (k=%d) gives %dx%d, group 0 gives %dx%d", g, k, oh, ow, res.oh, res.ow)
		}
		for ch := c0; ch < c0+split[g]; ch++ {
			padded := make([]float64, hp*wp)
			for y := range h {
				for x := range w {
					padded[(y+pt)*wp+x+pl] = nchw[(ch*h+y)*w+x]
				}
			}
			kern := torchW[g][(ch-c0)*k*k : (ch-c0+1)*k*k]
			for oy := range oh {
				for ox := range ow {
					var sum, mag float64
					if bias != nil {
						sum, mag = float64(bias[ch]), math.Abs(float64(bias[ch]))
					}
					for ky := range k {
						for kx := range k {
							t := float64(kern[ky*k+kx]) * padded[(oy*stride+ky*dil)*wp+ox*stride+kx*dil]
							sum += t
							mag += math.Abs(t)
						}
					}
					res.out[(oy*ow+ox)*c+ch] = sum
					res.mag[(oy*ow+ox)*c+ch] = mag
				}
			}
		}
		c0 += split[g]
	}
	return res, nil
}

func randSlice(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = r.Float32()*2 - 1
	}
	return s
}

// randomSpec draws a valid Spec: 1..5 groups, kernels from {1..11} odd with
// some even ones, strides 1/2, dilation 0/1/2, both paddings.
func randomSpec(r *rand.Rand) Spec {
	s := Spec{
		Stride:   1 + r.IntN(2),
		Dilation: r.IntN(3),
		Padding:  Padding(r.IntN(2)),
	}
	groups := 1 + r.IntN(5)
	odd := []int{1, 3, 5, 7, 9, 11}
	even := []int{2, 4, 6}
	// Symmetric padding needs one kernel parity when dilation is odd.
	parity := r.IntN(2)
	for range groups {
		var k int
		switch {
		case s.Padding == PadSymmetric && s.Dilation != 2 && parity == 0:
			k = odd[r.IntN(len(odd))]
		case s.Padding == PadSymmetric && s.Dilation != 2:
			k = even[r.IntN(len(even))]
		case r.IntN(5) == 0:
			k = even[r.IntN(len(even))]
		default:
			k = odd[r.IntN(len(odd))]
		}
		s.Kernels = append(s.Kernels, k)
	}
	if r.IntN(2) == 0 {
		s.Split = EqualSplit(groups+r.IntN(24), groups)
	} else {
		for range groups {
			s.Split = append(s.Split, 1+r.IntN(9))
		}
	}
	return s
}

func torchWeights(r *rand.Rand, s Spec) (torch, packed [][]float32) {
	for g, k := range s.Kernels {
		t := randSlice(r, s.WeightLen(g))
		p := make([]float32, len(t))
		ConvertTorchWeight(p, t, s.Split[g], k)
		torch, packed = append(torch, t), append(packed, p)
	}
	return torch, packed
}

const guard = 64

var sentinel = float32(math.Float32frombits(0x7fc0beef)) // a NaN nobody computes

func TestForwardMatchesNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2019))
	cases := 1500
	if testing.Short() {
		cases = 300
	}
	for i := range cases {
		s := randomSpec(r)
		if err := s.Validate(); err != nil {
			t.Fatalf("case %d: randomSpec made an invalid spec %+v: %v", i, s, err)
		}
		h, w := 1+r.IntN(20), 1+r.IntN(20)
		c := s.Channels()
		src := randSlice(r, h*w*c)
		torch, packed := torchWeights(r, s)
		var bias []float32
		if r.IntN(2) == 0 {
			bias = randSlice(r, c)
		}
		want, err := naive(src, h, w, s.Kernels, s.Split, s.Stride, max(s.Dilation, 1), s.Padding, torch, bias)
		if err != nil {
			t.Fatalf("case %d %+v: reference: %v", i, s, err)
		}
		name := fmt.Sprintf("case %d: %dx%dx%d kernels %v split %v stride %d dilation %d %v bias %t",
			i, h, w, c, s.Kernels, s.Split, s.Stride, s.Dilation, s.Padding, bias != nil)
		if oh, ow := s.OutSize(h, w); oh != want.oh || ow != want.ow {
			t.Fatalf("%s: OutSize = %dx%d, reference %dx%d", name, oh, ow, want.oh, want.ow)
		}

		n := want.oh * want.ow * c
		buf := make([]float32, n+guard)
		for j := range buf {
			buf[j] = sentinel // Forward must overwrite, not accumulate into, dst
		}
		dst := buf[:n]
		srcCopy, biasCopy := slices.Clone(src), slices.Clone(bias)
		wCopy := make([][]float32, len(packed))
		for g := range packed {
			wCopy[g] = slices.Clone(packed[g])
		}

		Forward(dst, src, h, w, s, packed, bias)

		for j, got := range dst {
			if d := math.Abs(float64(got) - want.out[j]); !(d <= 1e-5*want.mag[j]) {
				oy, ox, ch := j/c/want.ow, j/c%want.ow, j%c
				t.Fatalf("%s: out[%d][%d][%d] = %v, want %v (|diff| %g, scale %g)", name, oy, ox, ch, got, want.out[j], d, want.mag[j])
			}
		}
		checkGuard(t, name, buf[n:])
		if !slices.Equal(src, srcCopy) || !slices.Equal(bias, biasCopy) {
			t.Fatalf("%s: Forward modified src or bias", name)
		}
		for g := range packed {
			if !slices.Equal(packed[g], wCopy[g]) {
				t.Fatalf("%s: Forward modified weights[%d]", name, g)
			}
		}
		if i%5 == 0 {
			checkRows(t, name, r, dst, src, h, w, s, packed, bias)
		}
	}
}

func checkGuard(t *testing.T, name string, band []float32) {
	t.Helper()
	for j, v := range band {
		if math.Float32bits(v) != math.Float32bits(sentinel) {
			t.Fatalf("%s: wrote %v at dst[len+%d], past the end of dst", name, v, j)
		}
	}
}

// checkRows runs ForwardRows on one random row range, which must reproduce
// those rows of full (bit for bit) and leave every other row alone.
func checkRows(t *testing.T, name string, r *rand.Rand, full, src []float32, h, w int, s Spec, weights [][]float32, bias []float32) {
	t.Helper()
	oh, ow := s.OutSize(h, w)
	oy0 := r.IntN(oh + 1)
	oy1 := oy0 + r.IntN(oh-oy0+1)
	rowLen := ow * s.Channels()
	buf := make([]float32, len(full)+guard)
	for j := range buf {
		buf[j] = sentinel
	}
	dst := buf[:len(full)]
	ForwardRows(dst, src, h, w, s, weights, bias, oy0, oy1)
	for j, got := range dst {
		oy := j / rowLen
		if oy >= oy0 && oy < oy1 {
			if math.Float32bits(got) != math.Float32bits(full[j]) {
				t.Fatalf("%s: ForwardRows [%d,%d) dst[%d] = %v, Forward gave %v", name, oy0, oy1, j, got, full[j])
			}
		} else if math.Float32bits(got) != math.Float32bits(sentinel) {
			t.Fatalf("%s: ForwardRows [%d,%d) wrote row %d", name, oy0, oy1, oy)
		}
	}
	checkGuard(t, name, buf[len(full):])
}

// TestForwardMixNetLayers runs full-width MixNet-S layers, whose groups
// span many 8-channel blocks (and a 2-channel tail for 90), against naive.
func TestForwardMixNetLayers(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, l := range []struct {
		name    string
		h, c    int
		kernels []int
		stride  int
	}{
		{"blocks.5.0.conv_dw", 14, 720, []int{3, 5, 7, 9, 11}, 2},
		{"blocks.4.1.conv_dw", 14, 360, []int{3, 5, 7, 9}, 1},
		{"blocks.2.0.conv_dw@225", 29, 144, []int{3, 5, 7}, 2}, // odd input: SAME is symmetric
	} {
		for _, pad := range []Padding{PadSymmetric, PadSame} {
			s := Spec{Kernels: l.kernels, Split: EqualSplit(l.c, len(l.kernels)), Stride: l.stride, Padding: pad}
			src := randSlice(r, l.h*l.h*l.c)
			torch, packed := torchWeights(r, s)
			bias := randSlice(r, l.c)
			want, err := naive(src, l.h, l.h, s.Kernels, s.Split, s.Stride, 1, pad, torch, bias)
			if err != nil {
				t.Fatalf("%s %v: reference: %v", l.name, pad, err)
			}
			dst := make([]float32, want.oh*want.ow*l.c)
			Forward(dst, src, l.h, l.h, s, packed, bias)
			for j, got := range dst {
				if d := math.Abs(float64(got) - want.out[j]); !(d <= 1e-5*want.mag[j]) {
					t.Fatalf("%s %v: dst[%d] = %v, want %v", l.name, pad, j, got, want.out[j])
				}
			}
		}
	}
}

// TestForwardByHand checks values computed on paper, so the naive reference
// is not the only witness.
func TestForwardByHand(t *testing.T) {
	// 3x3 image 1..9, one channel, 3x3 kernel of ones.
	src := []float32{1, 2, 3, 4, 5, 6, 7, 8, 9}
	ones := []float32{1, 1, 1, 1, 1, 1, 1, 1, 1}
	s := Spec{Kernels: []int{3}, Split: []int{1}, Stride: 1, Padding: PadSymmetric}
	dst := make([]float32, 9)
	Forward(dst, src, 3, 3, s, [][]float32{ones}, []float32{0.5})
	want := []float32{12, 21, 16, 27, 45, 33, 24, 39, 28}
	for i := range want {
		want[i] += 0.5
	}
	if !slices.Equal(dst, want) {
		t.Errorf("3x3 ones, symmetric: got %v, want %v", dst, want)
	}

	// 4x4 image 0..15, stride 2: TF SAME pads (0,1) and centres output j on
	// input 2j+1; symmetric pads (1,1) and centres it on 2j.
	src = make([]float32, 16)
	for i := range src {
		src[i] = float32(i)
	}
	dst = make([]float32, 4)
	s = Spec{Kernels: []int{3}, Split: []int{1}, Stride: 2, Padding: PadSame}
	Forward(dst, src, 4, 4, s, [][]float32{ones}, nil)
	// Window rows/cols {0,1,2} and {2,3} (row/col 4 is padding).
	if want := []float32{45, 39, 66, 50}; !slices.Equal(dst, want) {
		t.Errorf("4x4 stride 2 SAME: got %v, want %v", dst, want)
	}
	s.Padding = PadSymmetric
	Forward(dst, src, 4, 4, s, [][]float32{ones}, nil)
	// Window rows/cols {0,1} and {1,2,3}.
	if want := []float32{10, 24, 51, 90}; !slices.Equal(dst, want) {
		t.Errorf("4x4 stride 2 symmetric: got %v, want %v", dst, want)
	}

	// Two groups on 2 channels of a 1x1 image: only the centre tap of each
	// kernel sees the pixel, and each group writes its own channel.
	k3 := []float32{0, 0, 0, 0, 2, 0, 0, 0, 0}
	k5 := make([]float32, 25)
	k5[12] = 3
	s = Spec{Kernels: []int{3, 5}, Split: []int{1, 1}, Stride: 1, Padding: PadSame}
	dst = make([]float32, 2)
	Forward(dst, []float32{10, 100}, 1, 1, s, [][]float32{k3, k5}, []float32{1, 2})
	if want := []float32{21, 302}; !slices.Equal(dst, want) {
		t.Errorf("1x1 image, kernels 3/5: got %v, want %v", dst, want)
	}
}

func TestForwardDoesNotAllocate(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	s := Spec{Kernels: []int{3, 5, 7, 9, 11}, Split: EqualSplit(720, 5), Stride: 2, Padding: PadSame}
	h, w := 14, 14
	oh, ow := s.OutSize(h, w)
	src := randSlice(r, h*w*s.Channels())
	dst := make([]float32, oh*ow*s.Channels())
	bias := randSlice(r, s.Channels())
	_, weights := torchWeights(r, s)
	if n := testing.AllocsPerRun(20, func() { Forward(dst, src, h, w, s, weights, bias) }); n != 0 {
		t.Errorf("Forward: %v allocations per run, want 0", n)
	}
	if n := testing.AllocsPerRun(20, func() { ForwardRows(dst, src, h, w, s, weights, nil, 2, 5) }); n != 0 {
		t.Errorf("ForwardRows: %v allocations per run, want 0", n)
	}
}

func TestConvertTorchWeight(t *testing.T) {
	// torch [2,1,2,2]: channel 0 = 1 2 3 4, channel 1 = 5 6 7 8.
	torch := []float32{1, 2, 3, 4, 5, 6, 7, 8}
	dst := make([]float32, 8)
	ConvertTorchWeight(dst, torch, 2, 2)
	if want := []float32{1, 5, 2, 6, 3, 7, 4, 8}; !slices.Equal(dst, want) {
		t.Errorf("ConvertTorchWeight = %v, want %v", dst, want)
	}
	expectPanic(t, "len(dst) = 7", func() { ConvertTorchWeight(dst[:7], torch, 2, 2) })
}

func expectPanic(t *testing.T, substr string, f func()) {
	t.Helper()
	defer func() {
		t.Helper()
		v := recover()
		if v == nil {
			t.Errorf("no panic, want one mentioning %q", substr)
			return
		}
		if msg := fmt.Sprint(v); !strings.Contains(msg, substr) {
			t.Errorf("panic %q, want it to mention %q", msg, substr)
		}
	}()
	f()
}

func TestForwardPanicsOnBadArguments(t *testing.T) {
	s := Spec{Kernels: []int{3, 5}, Split: []int{2, 2}, Stride: 2, Padding: PadSame}
	src := make([]float32, 5*5*4)
	dst := make([]float32, 3*3*4)
	weights := [][]float32{make([]float32, 9*2), make([]float32, 25*2)}
	expectPanic(t, "len(dst) = 35, want oh*ow*C = 3*3*4 = 36", func() { Forward(dst[:35], src, 5, 5, s, weights, nil) })
	expectPanic(t, "len(src) = 99", func() { Forward(dst, src[:99], 5, 5, s, weights, nil) })
	expectPanic(t, "len(weights[1]) = 49", func() { Forward(dst, src, 5, 5, s, [][]float32{weights[0], weights[1][:49]}, nil) })
	expectPanic(t, "Spec.Stride = 0", func() { Forward(dst, src, 5, 5, Spec{Kernels: s.Kernels, Split: s.Split}, weights, nil) })
	expectPanic(t, "rows [2,4)", func() { ForwardRows(dst, src, 5, 5, s, weights, nil, 2, 4) })
	expectPanic(t, "rows [2,1)", func() { ForwardRows(dst, src, 5, 5, s, weights, nil, 2, 1) })
}
