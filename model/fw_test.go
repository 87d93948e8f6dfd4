package model

import (
	"bytes"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/mixedge/mixedge/firmware"
	"github.com/mixedge/mixedge/kernels"
	"github.com/mixedge/mixedge/mixconv"
	"github.com/mixedge/mixedge/quant"
)

// tinyQModel is the tiny MixNet with synthetic weights, calibrated on two
// synthetic images: a small, fast int8 model with every op kind.
var tinyQModel = sync.OnceValues(func() (*QModel, error) {
	g, err := Build(tinyArch(mixconv.PadSame), 33, 10)
	if err != nil {
		return nil, err
	}
	net, err := NewFloatNet(g, g.SyntheticWeights(9))
	if err != nil {
		return nil, err
	}
	newObs, _ := quant.NewObserver(quant.DefaultObserver)
	c := NewCalibrator(net, newObs)
	img := make([]float32, 33*33*3)
	for i := 0; i < 2; i++ {
		for j := range img {
			img[j] = float32(math.Sin(float64(j*(i+3)) * 0.01))
		}
		c.Observe(img)
	}
	c.EndPass()
	r, err := c.Ranges()
	if err != nil {
		return nil, err
	}
	labels := make([]string, 10)
	for i := range labels {
		labels[i] = "class " + string(rune('a'+i))
	}
	return Quantize(g, net.W, r, g.Arch.Preprocess, labels)
})

func tinyInput() []float32 {
	in := make([]float32, 33*33*3)
	for i := range in {
		in[i] = float32(math.Cos(float64(i) * 0.05))
	}
	return in
}

func TestFirmwareRoundTrip(t *testing.T) {
	q, err := tinyQModel()
	if err != nil {
		t.Fatal(err)
	}
	qn, err := NewInt8Net(q, kernels.Generic)
	if err != nil {
		t.Fatal(err)
	}
	want := append([]float32(nil), qn.Run(tinyInput())...)
	data, err := EncodeFirmware(q, qn.Plan)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "tiny.fw")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	fw, err := OpenFirmware(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fw.Close()
	if fw.Q.G.Arch.Name != "tf_tiny" && fw.Q.G.Arch.Name != q.G.Arch.Name {
		t.Fatalf("arch %q", fw.Q.G.Arch.Name)
	}
	n2, err := NewInt8NetWithPlan(fw.Q, kernels.Generic, fw.Bufs, fw.Plan)
	if err != nil {
		t.Fatal(err)
	}
	got := n2.Run(tinyInput())
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("logit %d: %v from the .fw, %v before", i, got[i], want[i])
		}
	}
	if len(fw.Q.Labels) != 10 || fw.Q.Labels[3] != "class d" {
		t.Errorf("labels %q", fw.Q.Labels)
	}
}

// Every single flipped byte and every truncation is caught, and the error
// names where.
func TestFirmwareCorruption(t *testing.T) {
	q, err := tinyQModel()
	if err != nil {
		t.Fatal(err)
	}
	qn, _ := NewInt8Net(q, kernels.Generic)
	data, err := EncodeFirmware(q, qn.Plan)
	if err != nil {
		t.Fatal(err)
	}
	f, err := firmware.Parse(data, "x.fw")
	if err != nil {
		t.Fatal(err)
	}
	secs := f.Sections()
	step := 1
	if testing.Short() {
		step = 7
	}
	for off := 0; off < len(data); off += step {
		bad := bytes.Clone(data)
		bad[off] ^= 0x5a
		_, err := ParseFirmware(bad, "x.fw")
		if err == nil {
			t.Fatalf("flip at %d accepted", off)
		}
		for _, s := range secs {
			if off >= s.Offset && off < s.Offset+s.Length && !strings.Contains(err.Error(), `"`+s.Name+`"`) {
				t.Fatalf("flip at %d in section %s: error does not name it: %v", off, s.Name, err)
			}
		}
	}
	for n := 0; n < len(data); n += max(1, len(data)/97) {
		if _, err := ParseFirmware(data[:n], "x.fw"); err == nil || !strings.Contains(err.Error(), "truncated") {
			t.Fatalf("truncated to %d: %v", n, err)
		}
	}
}

// rebuild re-packs the sections of a parsed file after edit, so CRCs are
// valid and only the model-level checks stand between it and use.
func rebuild(t testing.TB, data []byte, edit func(name string, b []byte) []byte) []byte {
	f, err := firmware.Parse(data, "x.fw")
	if err != nil {
		t.Fatal(err)
	}
	w := firmware.NewWriter()
	for _, s := range f.Sections() {
		b, _ := f.Section(s.Name)
		if err := w.Add(s.Name, edit(s.Name, bytes.Clone(b))); err != nil {
			t.Fatal(err)
		}
	}
	out, err := w.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Content that passes the CRCs but lies (a crafted file) is still refused.
func TestFirmwareSemanticChecks(t *testing.T) {
	q, _ := tinyQModel()
	qn, _ := NewInt8Net(q, kernels.Generic)
	data, _ := EncodeFirmware(q, qn.Plan)
	cases := []struct {
		sec  string
		edit func(b []byte) []byte
		want string
	}{
		{SecMeta, func(b []byte) []byte { b[0] = 9; return b }, "model format 9"},
		{SecPlan, func(b []byte) []byte { b[12] = 1; return b }, "aligned"},
		{SecPlan, func(b []byte) []byte { b[0], b[1], b[2] = 0, 0, 0; return b }, "plan"},
		{SecOps, func(b []byte) []byte { return b[:len(b)-1] }, "ops"},
		{SecWeights, func(b []byte) []byte { return append(b, 0) }, "weights"},
		{SecLabels, func(b []byte) []byte { b[0] = 3; return b }, "3 labels for 10 classes"},
	}
	for _, c := range cases {
		bad := rebuild(t, data, func(name string, b []byte) []byte {
			if name == c.sec {
				return c.edit(b)
			}
			return b
		})
		_, err := ParseFirmware(bad, "x.fw")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s edit: want an error with %q, got %v", c.sec, c.want, err)
		}
	}
}

func FuzzFirmwareSections(f *testing.F) {
	q, err := tinyQModel()
	if err != nil {
		f.Fatal(err)
	}
	qn, _ := NewInt8Net(q, kernels.Generic)
	data, _ := EncodeFirmware(q, qn.Plan)
	f.Add(uint8(0), uint32(0), uint8(1))
	f.Add(uint8(3), uint32(100), uint8(0xff))
	f.Add(uint8(5), uint32(8), uint8(0x80))
	f.Fuzz(func(t *testing.T, sec uint8, off uint32, x uint8) {
		names := []string{SecMeta, SecLabels, SecOps, SecParams, SecWeights, SecPlan}
		target := names[int(sec)%len(names)]
		bad := rebuild(t, data, func(name string, b []byte) []byte {
			if name == target && len(b) > 0 {
				b[int(off)%len(b)] ^= x
			}
			return b
		})
		fw, err := ParseFirmware(bad, "x.fw")
		if err != nil {
			return
		}
		// Accepted: it must be runnable without panics. (A mutated meta can
		// describe a legitimately huge network; running it proves nothing.)
		if fw.Plan.Size > 64<<20 {
			return
		}
		n, err := NewInt8NetWithPlan(fw.Q, kernels.Generic, fw.Bufs, fw.Plan)
		if err != nil {
			return
		}
		n.Run(tinyInput())
	})
}

func TestInt8RunAllocatesNothing(t *testing.T) {
	q, err := tinyQModel()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range kernels.Tiers() {
		qn, err := NewInt8Net(q, k)
		if err != nil {
			t.Fatal(err)
		}
		in := tinyInput()
		if a := testing.AllocsPerRun(5, func() { qn.Run(in) }); a != 0 {
			t.Errorf("%s: %v allocations per Run", k.Name, a)
		}
	}
}

// Every tier available here gives the generic tier's logits bit for bit.
func TestInt8TiersAgree(t *testing.T) {
	q, err := tinyQModel()
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := NewInt8Net(q, kernels.Generic)
	want := append([]float32(nil), ref.Run(tinyInput())...)
	for _, k := range kernels.Tiers() {
		qn, err := NewInt8Net(q, k)
		if err != nil {
			t.Fatal(err)
		}
		got := qn.Run(tinyInput())
		for i := range want {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("%s: logit %d is %v, generic %v", k.Name, i, got[i], want[i])
			}
		}
	}
}

// Any thread count gives the single-thread logits bit for bit, without
// allocating (run with -race too).
func TestInt8Threads(t *testing.T) {
	q, err := tinyQModel()
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := NewInt8Net(q, kernels.Generic)
	want := append([]float32(nil), ref.Run(tinyInput())...)
	for _, threads := range []int{2, 3, 5, 64} {
		qn, err := NewInt8Net(q, nil)
		if err != nil {
			t.Fatal(err)
		}
		checkThreads(t, qn, threads, tinyInput(), want, 3)
		qn.Close()
	}
	// Beside CPU-bound goroutines (the workers are then often not
	// scheduled, and the caller claims their chunks), and with fewer Ps
	// than goroutines.
	var stop atomic.Bool
	defer stop.Store(true)
	var spins atomic.Uint64
	for range 2 {
		go func() {
			for n := uint64(0); !stop.Load(); n++ {
				spins.Store(n)
			}
		}()
	}
	for _, threads := range []int{2, 3} {
		qn, err := NewInt8Net(q, nil)
		if err != nil {
			t.Fatal(err)
		}
		checkThreads(t, qn, threads, tinyInput(), want, 20)
		qn.Close()
	}
}

// checkThreads runs qn on threads goroutines reps times: every logit must
// equal want bit for bit, and a Run must not allocate.
func checkThreads(t *testing.T, qn *Int8Net, threads int, in, want []float32, reps int) {
	t.Helper()
	qn.SetThreads(threads)
	for range reps {
		got := qn.Run(in)
		for i := range want {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("%d threads: logit %d is %v, want %v", threads, i, got[i], want[i])
			}
		}
	}
	if a := testing.AllocsPerRun(3, func() { qn.Run(in) }); a != 0 {
		t.Errorf("%d threads: %v allocations per Run", threads, a)
	}
}

// The stem runs as im2col + GEMM; it must equal the stem kernel, the
// specification, bit for bit (both paddings, odd and even sizes).
func TestStemIm2colMatchesKernel(t *testing.T) {
	for _, pad := range []mixconv.Padding{mixconv.PadSymmetric, mixconv.PadSame} {
		for _, size := range []int{32, 33} {
			g, _ := Build(tinyArch(pad), size, 10)
			net, _ := NewFloatNet(g, g.SyntheticWeights(3))
			newObs, _ := quant.NewObserver("minmax")
			c := NewCalibrator(net, newObs)
			img := make([]float32, size*size*3)
			for j := range img {
				img[j] = float32(math.Sin(float64(j) * 0.37))
			}
			c.Observe(img)
			c.EndPass()
			r, _ := c.Ranges()
			q, err := Quantize(g, net.W, r, g.Arch.Preprocess, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range kernels.Tiers() {
				qn, err := NewInt8Net(q, k)
				if err != nil {
					t.Fatal(err)
				}
				var got []int8
				quant.QuantizeSlice(qn.Input(), img, q.In)
				in := append([]int8(nil), qn.Input()...)
				qn.RunObserve(func(op int, out []int8) {
					if op == 0 {
						got = append([]int8(nil), out...)
					}
				})
				qo := &q.Ops[0]
				want := make([]int8, len(got))
				kernels.StemConvQS8(want, in, qo.W, qo.Bias, qo.M, &qn.stem, qo.ZIn, qo.Out.Zero, qo.QMin, qo.QMax, 0, qn.stem.OH)
				if !bytes.Equal(int8Bytes(got), int8Bytes(want)) {
					t.Fatalf("%v %d %s: im2col stem differs from StemConvQS8", pad, size, k.Name)
				}
			}
		}
	}
}

// A weight of -128 (which the SIMD kernels' int16 pairing cannot take) is
// refused at load, with its index.
func TestFirmwareRefusesMinus128(t *testing.T) {
	q, _ := tinyQModel()
	qn, _ := NewInt8Net(q, kernels.Generic)
	for i := range q.Ops {
		if w := q.Ops[i].W; len(w) > 5 {
			w[5] = -128
			break
		}
	}
	data, err := EncodeFirmware(q, qn.Plan)
	if err != nil {
		t.Fatal(err)
	}
	_, err = ParseFirmware(data, "x.fw")
	if err == nil || !strings.Contains(err.Error(), "weight 5 is -128") {
		t.Fatalf("want the -128 weight refused, got %v", err)
	}
	for _, c := range []struct {
		w    []int8
		want int
	}{{nil, -1}, {[]int8{1, 2}, -1}, {[]int8{-128}, 0}, {[]int8{127, -127, 0, 3, -128, -128}, 4}} {
		if got := indexInt8(c.w, -128); got != c.want {
			t.Errorf("indexInt8(%v) = %d, want %d", c.w, got, c.want)
		}
	}
}

// TestInt8ThreadsChannelHalves runs mixnet_s at 96x96 (the last stages'
// maps have at most dwHalfMaxH rows and their groups 32 or more channels,
// so those depthwise ops split by channel halves, the others by rows; the
// squeeze-excite pools split by pixels where the tier has pool sums) on 2
// to 5 threads: the logits must be those of generic on one thread.
func TestInt8ThreadsChannelHalves(t *testing.T) {
	q, in := synthMixnetS(t, 96, 20, 4, 1)
	ref, err := NewInt8Net(q, kernels.Generic)
	if err != nil {
		t.Fatal(err)
	}
	want := append([]float32(nil), ref.Run(in)...)
	qn, err := NewInt8Net(q, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer qn.Close()
	halves := 0
	for i := range qn.mcHalf {
		if qn.mcHalf[i][0] != nil {
			halves++
		}
	}
	if halves < 8 {
		t.Fatalf("only %d depthwise ops have channel halves", halves)
	}
	for _, threads := range []int{2, 3, 4, 5} {
		checkThreads(t, qn, threads, in, want, 1)
	}
}

// The squeeze-excite FCs split into parts by output channels (seSplits)
// give the hidden values and gates of the whole FCs, on every tier; where
// the tier's layout lets the parts be slices of the whole FC (fcParts),
// they are, and one thread runs the whole FC in one call.
func TestSEFCPartsMatchWhole(t *testing.T) {
	q, _ := synthMixnetS(t, 96, 20, 4, 1)
	rng := rand.New(rand.NewPCG(7, 8))
	for _, k := range kernels.Tiers() {
		n, err := NewInt8Net(q, k)
		if err != nil {
			t.Fatal(err)
		}
		pack := k.PackGEMM // as NewInt8Net packs one-pixel FCs
		if k.PackGEMV != nil {
			pack = k.PackGEMV
		}
		split, sliced := 0, 0
		for i := range q.Ops {
			se := q.Ops[i].SE
			if se == nil || n.seParts[i][0] == nil {
				continue
			}
			split++
			if len(n.seParts[i][0]) < 2 || len(n.seParts[i][1]) < 2 {
				t.Fatalf("%s: op %d: SE FCs in %d and %d parts", k.Name, i, len(n.seParts[i][0]), len(n.seParts[i][1]))
			}
			c, r := se.Channels, se.Reduced
			whole := [2][]int8{pack(se.ReduceW, c, r), pack(se.ExpandW, r, c)}
			if w := n.sePack[i]; w[0] != nil {
				sliced++
				for fc := range 2 {
					if !slices.Equal(w[fc], whole[fc]) {
						t.Fatalf("%s: op %d: FC %d's whole buffer is not the FC packed whole", k.Name, i, fc)
					}
					off := 0
					for _, p := range n.seParts[i][fc] {
						if &p.w[0] != &w[fc][off] {
							t.Fatalf("%s: op %d: FC %d part [%d, %d) is not a slice of the whole buffer", k.Name, i, fc, p.c0, p.c1)
						}
						off += len(p.w)
					}
				}
			}
			sc := n.scratch[i]
			for j := range sc[:c] {
				sc[j] = int8(rng.IntN(256) - 128)
			}
			mean := append([]int8(nil), sc[:c]...)
			n.seFCParts(i, 0, 0, len(n.seParts[i][0]))
			n.seFCParts(i, 1, 0, len(n.seParts[i][1]))
			got := append([]int8(nil), sc[c:2*c+r]...)
			parts, packs := n.seParts[i], n.sePack[i]
			n.seParts[i], n.sePack[i] = [2][]fcPart{}, whole
			copy(sc, mean)
			n.seFCs(i)
			if !slices.Equal(got, sc[c:2*c+r]) {
				t.Errorf("%s: op %d (%d channels, %d reduced): FCs in parts differ from the whole FCs", k.Name, i, c, r)
			}
			n.seParts[i], n.sePack[i] = parts, packs
		}
		if split == 0 {
			t.Fatalf("%s: no squeeze-excite op of mixnet_s splits its FCs", k.Name)
		}
		t.Logf("%s: %d of %d split squeeze-excite ops run whole on one thread", k.Name, sliced, split)
	}
}

// Depthwise ops split by rows sum their output for the squeeze-excite op
// after them (taskRowsSESum); the logits stay those of generic on one
// thread.
func TestInt8ThreadsDWSumsForSE(t *testing.T) {
	q, in := synthMixnetS(t, 160, 20, 5, 1)
	ref, err := NewInt8Net(q, kernels.Generic)
	if err != nil {
		t.Fatal(err)
	}
	want := append([]float32(nil), ref.Run(in)...)
	for _, k := range kernels.Tiers() {
		if k.Ops["pool_sums"] == "generic" {
			continue
		}
		qn, err := NewInt8Net(q, k)
		if err != nil {
			t.Fatal(err)
		}
		qn.SetThreads(2)
		qn.SetFixedThreads(true)
		copy(qn.Input(), ref.Input())
		fused := 0
		for i := range q.G.Ops {
			qn.step(i)
			if qn.sePreSummed == i+1 {
				fused++
			}
		}
		if fused < 3 {
			t.Fatalf("%s: %d depthwise ops summed for their SE op, want the 28x28-stage ones (3 or more)", k.Name, fused)
		}
		checkThreads(t, qn, 2, in, want, 2)
		qn.Close()
	}
}
