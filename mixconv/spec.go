package mixconv

import (
	"errors"
	"fmt"
)

// Padding selects how each group pads its input; see the package doc.
type Padding uint8

const (
	PadSymmetric Padding = iota // PyTorch static: pad = ((stride-1) + dilation*(k-1))/2 on every side (timm mixnet_*)
	PadSame                     // TensorFlow SAME: out=ceil(H/s); total=max((out-1)*s+(k-1)*d+1-H,0); before=total/2, after=total-before (timm tf_mixnet_*; at stride 1 with odd k identical to symmetric)
)

func (p Padding) String() string {
	switch p {
	case PadSymmetric:
		return "symmetric"
	case PadSame:
		return "same"
	}
	return fmt.Sprintf("Padding(%d)", uint8(p))
}

// EqualSplit is timm's and TF's _split_channels: every group gets
// channels/groups and group 0 also gets the remainder, e.g. 10 channels in 3
// groups is [4 3 3]. It returns nil for groups < 1 or channels < 0. With
// fewer channels than groups the trailing groups are 0, which Validate
// rejects.
func EqualSplit(channels, groups int) []int {
	if groups < 1 || channels < 0 {
		return nil
	}
	split := make([]int, groups)
	for i := range split {
		split[i] = channels / groups
	}
	split[0] += channels % groups
	return split
}

// ExponentialSplit is the exponential partition from the MixConv paper's
// ablation, which the released MixNets do not use. The rule:
//
//   - group i < groups-1 gets round(channels / 2^(i+1)), halves rounded up,
//     but at least 1 and at most what leaves 1 channel for each later group;
//   - the last group gets whatever is left, so the sum is exactly channels.
//
// So 32 channels in 4 groups is [16 8 4 4] (the paper's example), 7 in 3 is
// [4 2 1] and 4 in 4 is [1 1 1 1]. It is an error if groups < 1 or
// channels < groups.
func ExponentialSplit(channels, groups int) ([]int, error) {
	if groups < 1 {
		return nil, fmt.Errorf("mixconv: ExponentialSplit: groups = %d, want >= 1", groups)
	}
	if channels < groups {
		return nil, fmt.Errorf("mixconv: ExponentialSplit: %d channels cannot fill %d groups with at least 1 channel each", channels, groups)
	}
	split := make([]int, groups)
	left := channels
	for i := 0; i < groups-1; i++ {
		// channels>>(i+1) plus bit i is channels/2^(i+1) rounded half up;
		// Go defines shifts past the word size as 0, so huge i is safe.
		c := channels>>(i+1) + (channels>>i)&1
		c = min(max(c, 1), left-(groups-1-i))
		split[i] = c
		left -= c
	}
	split[groups-1] = left
	return split, nil
}

// Spec describes one MixConv layer.
type Spec struct {
	Kernels  []int // kernel size per group, group 0 first (lowest channel indices)
	Split    []int // channels per group; sum = total channels
	Stride   int
	Dilation int // 0 means 1
	Padding  Padding
}

func (s Spec) dilation() int {
	if s.Dilation == 0 {
		return 1
	}
	return s.Dilation
}

// Validate reports the first problem with s, naming the field, what was
// expected and what it holds.
func (s Spec) Validate() error {
	if len(s.Kernels) == 0 {
		return errors.New("mixconv: Spec.Kernels is empty, want one kernel size per group")
	}
	if len(s.Split) != len(s.Kernels) {
		return fmt.Errorf("mixconv: Spec.Split has %d entries, want one per kernel in Spec.Kernels (%d)", len(s.Split), len(s.Kernels))
	}
	for g, k := range s.Kernels {
		if k < 1 {
			return fmt.Errorf("mixconv: Spec.Kernels[%d] = %d, want >= 1", g, k)
		}
	}
	for g, c := range s.Split {
		if c < 1 {
			return fmt.Errorf("mixconv: Spec.Split[%d] = %d, want >= 1 channel per group", g, c)
		}
	}
	if s.Stride < 1 {
		return fmt.Errorf("mixconv: Spec.Stride = %d, want >= 1", s.Stride)
	}
	if s.Dilation < 0 {
		return fmt.Errorf("mixconv: Spec.Dilation = %d, want >= 1 (or 0, meaning 1)", s.Dilation)
	}
	switch s.Padding {
	case PadSymmetric:
		// Symmetric padding loses a row when stride-1+d(k-1) is odd, so
		// groups of different parity would disagree on the output size and
		// could not be concatenated (PyTorch would fail at torch.cat).
		d := s.dilation()
		odd0 := (s.Stride-1+d*(s.Kernels[0]-1))%2 != 0
		for g := 1; g < len(s.Kernels); g++ {
			if odd := (s.Stride-1+d*(s.Kernels[g]-1))%2 != 0; odd != odd0 {
				return fmt.Errorf("mixconv: Spec.Kernels[%d] = %d and Spec.Kernels[0] = %d give different output sizes with symmetric padding (stride %d, dilation %d); want kernels of one parity, or PadSame",
					g, s.Kernels[g], s.Kernels[0], s.Stride, d)
			}
		}
	case PadSame:
	default:
		return fmt.Errorf("mixconv: Spec.Padding = %v, want PadSymmetric or PadSame", s.Padding)
	}
	return nil
}

// Channels is the total channel count, the sum of Split.
func (s Spec) Channels() int {
	n := 0
	for _, c := range s.Split {
		n += c
	}
	return n
}

// ChannelOffset is the first channel owned by group.
func (s Spec) ChannelOffset(group int) int {
	n := 0
	for _, c := range s.Split[:group] {
		n += c
	}
	return n
}

// OutSize is the output size of every group for an h×w input; s must be
// valid. It can be 0 for a symmetric even kernel on a 1-pixel input.
func (s Spec) OutSize(h, w int) (oh, ow int) {
	k := s.Kernels[0] // Validate guarantees all groups agree
	return s.outDim(h, k), s.outDim(w, k)
}

func (s Spec) outDim(n, k int) int {
	if s.Padding == PadSame {
		return ceilDiv(n, s.Stride)
	}
	before, after := s.pads(n, k)
	return max(floorDiv(n+before+after-s.dilation()*(k-1)-1, s.Stride)+1, 0)
}

// Pads is the padding of group for an h×w input; s must be valid. For
// PadSymmetric bottom/right is PyTorch's nominal pad: when the stride does
// not divide the padded extent, its last rows are never read.
func (s Spec) Pads(group, h, w int) (top, bottom, left, right int) {
	k := s.Kernels[group]
	top, bottom = s.pads(h, k)
	left, right = s.pads(w, k)
	return top, bottom, left, right
}

func (s Spec) pads(n, k int) (before, after int) {
	d := s.dilation()
	if s.Padding == PadSame {
		out := ceilDiv(n, s.Stride)
		total := max((out-1)*s.Stride+(k-1)*d+1-n, 0)
		return total / 2, total - total/2
	}
	p := (s.Stride - 1 + d*(k-1)) / 2
	return p, p
}

// MACs counts multiply-accumulates for an h×w input the usual way: every
// tap of every kernel, padding included.
func (s Spec) MACs(h, w int) int64 {
	oh, ow := s.OutSize(h, w)
	var n int64
	for g, k := range s.Kernels {
		n += int64(s.Split[g]) * int64(k*k) * int64(oh*ow)
	}
	return n
}

// WeightLen is the number of weights of group: k*k*Split[group].
func (s Spec) WeightLen(group int) int {
	k := s.Kernels[group]
	return k * k * s.Split[group]
}

// CheckBuffers validates s and the slice lengths Forward expects; Forward
// panics with this error.
func (s Spec) CheckBuffers(dst, src []float32, h, w int, weights [][]float32, bias []float32) error {
	if err := s.Validate(); err != nil {
		return err
	}
	if h < 1 || w < 1 {
		return fmt.Errorf("mixconv: input is %d×%d, want at least 1×1", h, w)
	}
	c := s.Channels()
	if len(src) != h*w*c {
		return fmt.Errorf("mixconv: len(src) = %d, want h*w*C = %d*%d*%d = %d", len(src), h, w, c, h*w*c)
	}
	oh, ow := s.OutSize(h, w)
	if len(dst) != oh*ow*c {
		return fmt.Errorf("mixconv: len(dst) = %d, want oh*ow*C = %d*%d*%d = %d", len(dst), oh, ow, c, oh*ow*c)
	}
	if len(weights) != len(s.Kernels) {
		return fmt.Errorf("mixconv: len(weights) = %d, want one slice per group (%d)", len(weights), len(s.Kernels))
	}
	for g, wg := range weights {
		if want := s.WeightLen(g); len(wg) != want {
			k := s.Kernels[g]
			return fmt.Errorf("mixconv: len(weights[%d]) = %d, want k*k*Split[%d] = %d*%d*%d = %d", g, len(wg), g, k, k, s.Split[g], want)
		}
	}
	if bias != nil && len(bias) != c {
		return fmt.Errorf("mixconv: len(bias) = %d, want C = %d or a nil bias", len(bias), c)
	}
	return nil
}

// floorDiv and ceilDiv round toward -inf and +inf; b > 0.
func floorDiv(a, b int) int {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

func ceilDiv(a, b int) int {
	return -floorDiv(-a, b)
}
