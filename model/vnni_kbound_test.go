package model

import (
	"testing"

	"github.com/mixedge/mixedge/kernels"
)

// TestVNNIKBound checks that every GEMM of MixNet-S/M/L (pointwise groups,
// the stem's im2col, the SE FCs, the classifier) has k <= kernels.VNNIKMax,
// so the vnni tier's unsigned partial sums never leave int32, at input
// sizes from 128 to 512 (k does not depend on the size; this shows it).
func TestVNNIKBound(t *testing.T) {
	for _, name := range []string{"mixnet_s", "mixnet_m", "mixnet_l"} {
		a, err := LookupArch(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, size := range []int{128, 224, 320, 512} {
			g, err := Build(a, size, 1000)
			if err != nil {
				t.Fatal(err)
			}
			kmax, at := 0, ""
			for i := range g.Ops {
				op := &g.Ops[i]
				var ks []int
				switch op.Kind {
				case OpStem:
					ks = []int{op.Kernels[0] * op.Kernels[0] * op.InSplit[0]}
				case OpPointwise, OpLinear:
					ks = op.InSplit
				case OpSE:
					ks = []int{g.Tensors[op.In].C, op.SEReduce}
				}
				for _, k := range ks {
					if k > kmax {
						kmax, at = k, op.Name
					}
				}
			}
			if kmax > kernels.VNNIKMax {
				t.Errorf("%s at %d: k = %d (%s) > VNNIKMax = %d", name, size, kmax, at, kernels.VNNIKMax)
			}
			if name == "mixnet_l" && size == 224 {
				t.Logf("mixnet_l: largest GEMM k = %d (%s); bound %d", kmax, at, kernels.VNNIKMax)
			}
		}
	}
}
