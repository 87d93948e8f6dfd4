package quant

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestQuantizeWeights(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, shape := range [][3]int{{1, 7, 27}, {9, 13, 1}, {25, 5, 1}, {3, 4, 5}, {1, 1, 1}, {121, 3, 1}} {
		outer, ch, inner := shape[0], shape[1], shape[2]
		w := make([]float32, outer*ch*inner)
		for i := range w {
			w[i] = float32(rng.NormFloat64()) * 0.1
		}
		zeroCh := ch / 2
		for o := range outer {
			for i := range inner {
				w[(o*ch+zeroCh)*inner+i] = 0
			}
		}
		q := make([]int8, len(w))
		scales := make([]float32, ch)
		if err := QuantizeWeights(q, scales, w, ch, inner); err != nil {
			t.Fatalf("%v: %v", shape, err)
		}
		peak := make([]int, ch)
		for i, x := range w {
			c := (i / inner) % ch
			if q[i] < -WeightMax {
				t.Fatalf("%v: weight %d quantized to -128", shape, i)
			}
			peak[c] = max(peak[c], int(math.Abs(float64(q[i]))))
			if d := math.Abs(float64(x) - float64(q[i])*float64(scales[c])); d > float64(scales[c])/2*(1+1e-6) {
				t.Errorf("%v: weight %d = %g quantized to %d*%g, off by more than half a step", shape, i, x, q[i], scales[c])
			}
		}
		for c := range ch {
			if c == zeroCh {
				if scales[c] != 1 || peak[c] != 0 {
					t.Errorf("%v: zero channel got scale %g, peak %d", shape, scales[c], peak[c])
				}
			} else if peak[c] != WeightMax {
				t.Errorf("%v: channel %d peaks at %d, want 127 (full range)", shape, c, peak[c])
			}
		}
	}
	if err := QuantizeWeights(make([]int8, 6), make([]float32, 4), make([]float32, 6), 4, 1); err == nil {
		t.Error("6 weights accepted as [outer][4][1]")
	}
	bad := []float32{1, float32(math.NaN())}
	if err := QuantizeWeights(make([]int8, 2), make([]float32, 2), bad, 2, 1); err == nil {
		t.Error("NaN weight accepted")
	}
}

func TestQuantizeBias(t *testing.T) {
	dst := make([]int32, 4)
	b := []float32{0.25, -0.25, 0.75, 1}
	sW := []float32{0.5, 0.5, 0.5, 0.25}
	if err := QuantizeBias(dst, b, 1, sW); err != nil {
		t.Fatal(err)
	}
	// 0.5 -> 0 and -0.5 -> 0 (half to even), 1.5 -> 2, 4 -> 4.
	if want := []int32{0, 0, 2, 4}; [4]int32(dst) != [4]int32(want) {
		t.Errorf("QuantizeBias = %v, want %v", dst, want)
	}
	if err := QuantizeBias(dst[:1], []float32{1e9}, 1e-3, []float32{1e-3}); err == nil {
		t.Error("bias beyond int32 accepted")
	}
	if err := QuantizeBias(dst[:1], []float32{1}, 1, []float32{0}); err == nil {
		t.Error("zero weight scale accepted")
	}
}

func TestFoldZeroPoint(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	const outer, ch, inner = 9, 5, 3
	w := make([]int8, outer*ch*inner)
	for i := range w {
		w[i] = int8(rng.IntN(255) - 127)
	}
	bias := []int32{1, -2, 1000, 0, 1 << 30}
	zIn := int32(-77)
	got := make([]int32, ch)
	if err := FoldZeroPoint(got, bias, w, ch, inner, zIn); err != nil {
		t.Fatal(err)
	}
	for c := range ch {
		want := int64(bias[c])
		for o := range outer {
			for i := range inner {
				want -= int64(zIn) * int64(w[(o*ch+c)*inner+i])
			}
		}
		if int64(got[c]) != want {
			t.Errorf("channel %d: folded bias %d, want %d", c, got[c], want)
		}
	}
	// In place, the way NewSE uses it.
	inPlace := append([]int32(nil), bias...)
	if err := FoldZeroPoint(inPlace, inPlace, w, ch, inner, zIn); err != nil || [5]int32(inPlace) != [5]int32(got) {
		t.Errorf("in-place fold = %v (%v), want %v", inPlace, err, got)
	}
	big := []int32{math.MaxInt32}
	if err := FoldZeroPoint(big, big, []int8{-127}, 1, 1, 127); err == nil {
		t.Error("int32 overflow in the folded bias not reported")
	}
}
