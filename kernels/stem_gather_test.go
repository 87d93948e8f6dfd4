package kernels

import (
	"math/rand/v2"
	"testing"
)

// TestGather3x9 checks the stem's interior gather (asm on arm64) against
// its Go twin on random runs, with guard bytes around every patch and
// after the source (nothing else read or written).
func TestGather3x9(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 9))
	for range 200 {
		n := 1 + rng.IntN(70)
		step := 3 * (1 + rng.IntN(2))
		line := (n-1)*step + 9 + rng.IntN(20)
		stride := 27 + rng.IntN(8)
		src := make([]int8, 2*line+(n-1)*step+9)
		for i := range src {
			src[i] = int8(rng.Uint32())
		}
		got := make([]int8, (n-1)*stride+27+16)
		want := make([]int8, len(got))
		for i := range got {
			got[i] = int8(rng.Uint32())
			want[i] = got[i]
		}
		gather3x9(&got[0], stride, &src[0], step, line, n)
		gather3x9Go(&want[0], stride, &src[0], step, line, n)
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("n=%d step=%d line=%d stride=%d: byte %d = %d, want %d", n, step, line, stride, i, got[i], want[i])
			}
		}
		for i := range n {
			p := want[i*stride:]
			for ky := range 3 {
				for j := range 9 {
					if p[9*ky+j] != src[ky*line+i*step+j] {
						t.Fatalf("patch %d row %d byte %d: %d, want %d", i, ky, j, p[9*ky+j], src[ky*line+i*step+j])
					}
				}
			}
		}
	}
}
