//go:build !purego

package kernels

import (
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"
)

// TestArmSoak runs the randomized comparisons of every family for
// MIXEDGE_SOAK_SECONDS with a fresh seed: the fuzz targets' bodies, for
// hosts where the fuzzing engine cannot run (qemu-user without binfmt
// cannot fork the test binary).
func TestArmSoak(t *testing.T) {
	secs, _ := strconv.Atoi(os.Getenv("MIXEDGE_SOAK_SECONDS"))
	if secs <= 0 {
		t.Skip("MIXEDGE_SOAK_SECONDS is not set")
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	deadline := time.Now().Add(time.Duration(secs) * time.Second)
	n := 0
	for time.Now().Before(deadline) {
		for _, tab := range asmTiers() {
			runArmGEMM(t, rng, tab, randArmGEMMCase(rng, false))
			k := dwKernels[rng.IntN(len(dwKernels))]
			runArmDW(t, rng, tab, randArmDWCase(rng, k, 1+rng.IntN(2), rng.IntN(2) == 0), rng.IntN(3))
			runArmElementwise(t, rng, tab, 1+rng.IntN(40), 1+rng.IntN(300), rng.IntN(2) == 0)
			runArmStem(t, rng, tab, randStemCase(rng), rng.IntN(3))
		}
		n++
	}
	t.Logf("%d rounds", n)
}
