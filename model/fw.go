package model

import (
	"bytes"
	"fmt"
	"math"
	"strings"
	"unsafe"

	"github.com/mixedge/mixedge/firmware"
	"github.com/mixedge/mixedge/mixconv"
	"github.com/mixedge/mixedge/quant"
)

// The sections mixedge writes into a .fw container (docs/FIRMWARE.md §2).
const (
	SecMeta    = "meta"
	SecLabels  = "labels"
	SecOps     = "ops"
	SecParams  = "params"
	SecWeights = "weights"
	SecPlan    = "plan"
	SecCalib   = "calib" // optional: how the ranges were chosen, as text

	// ModelFormat versions the content of the sections above.
	ModelFormat = 1
)

// EncodeFirmware serializes q and its arena plan into a .fw image.
func EncodeFirmware(q *QModel, plan Plan) ([]byte, error) {
	g := q.G
	w := firmware.NewWriter()
	var e firmware.Encoder

	e.U32(ModelFormat)
	a := g.Arch
	e.Str(a.Name)
	e.U32(uint32(len(a.Stages)))
	for _, st := range a.Stages {
		e.U32(uint32(len(st)))
		for _, b := range st {
			e.Str(b)
		}
	}
	e.U32(uint32(a.StemSize))
	e.U32(uint32(a.HeadSize))
	e.U64(math.Float64bits(a.ChannelMult))
	e.U64(math.Float64bits(a.DepthMult))
	e.Str(a.DepthTrunc)
	e.U64(math.Float64bits(a.BNEps))
	e.U8(uint8(a.Padding))
	e.U32(uint32(g.InputSize))
	e.U32(uint32(g.Classes))
	e.U64(math.Float64bits(q.Pre.CropPct))
	e.Str(q.Pre.Interpolation)
	e.Float32s(q.Pre.Mean[:])
	e.Float32s(q.Pre.Std[:])
	putParams(&e, q.In)
	if err := addSection(w, SecMeta, &e); err != nil {
		return nil, err
	}

	e = firmware.Encoder{}
	e.U32(uint32(len(q.Labels)))
	for _, l := range q.Labels {
		e.Str(l)
	}
	if err := addSection(w, SecLabels, &e); err != nil {
		return nil, err
	}

	e = firmware.Encoder{}
	e.U32(uint32(len(g.Ops)))
	for i := range g.Ops {
		op := &g.Ops[i]
		s := g.Tensors[op.Out]
		e.Str(op.Name)
		e.U8(uint8(op.Kind))
		e.I32(int32(op.In))
		e.I32(int32(op.In2))
		e.I32(int32(op.Out))
		e.U32(uint32(s.H))
		e.U32(uint32(s.W))
		e.U32(uint32(s.C))
	}
	if err := addSection(w, SecOps, &e); err != nil {
		return nil, err
	}

	// Small per-op parameters, then the weights on their own so they can be
	// used in place from the mapped file.
	e = firmware.Encoder{}
	var we firmware.Encoder
	for i := range q.Ops {
		o := &q.Ops[i]
		putParams(&e, o.Out)
		e.I32(o.ZIn)
		putParams(&e, o.Pre)
		e.U8(b2u(o.SiLU))
		if o.SiLU {
			e.Raw(int8Bytes(o.Table[:]))
		}
		e.I32(o.QMin)
		e.I32(o.QMax)
		putMults(&e, o.M)
		e.Float32s(o.WScale)
		e.Float32s(o.Scale)
		e.I32(o.Add.ZA)
		e.I32(o.Add.ZB)
		e.I32(o.Add.MA)
		e.I32(o.Add.MB)
		e.I32(o.Add.Shift)
		e.I32(o.Add.ZOut)
		putMults(&e, []quant.Multiplier{o.PoolM})
		e.U8(b2u(o.SE != nil))
		if se := o.SE; se != nil {
			for _, v := range []int32{int32(se.Channels), int32(se.Reduced), int32(se.Pixels), se.XZero, se.MeanZero, se.ReduceZero, se.ExpandZero, se.GateZero, se.OutZero} {
				e.I32(v)
			}
			putMults(&e, []quant.Multiplier{se.Pool, se.Gate})
			putMults(&e, se.ReduceM)
			putMults(&e, se.ExpandM)
			e.Raw(int8Bytes(se.SiLU[:]))
			e.Raw(int8Bytes(se.Sigmoid[:]))
			we.Align(64)
			we.Int8s(se.ReduceW)
			we.Int32s(se.ReduceBias)
			we.Align(64)
			we.Int8s(se.ExpandW)
			we.Int32s(se.ExpandBias)
		}
		we.Align(64)
		we.Int8s(o.W)
		we.Int32s(o.Bias)
	}
	if err := addSection(w, SecParams, &e); err != nil {
		return nil, err
	}
	if err := addSection(w, SecWeights, &we); err != nil {
		return nil, err
	}

	e = firmware.Encoder{}
	e.U32(uint32(plan.Size))
	e.U32(uint32(plan.LowerBound))
	e.U32(uint32(len(plan.Offsets)))
	for _, off := range plan.Offsets {
		e.U32(uint32(off))
	}
	if err := addSection(w, SecPlan, &e); err != nil {
		return nil, err
	}
	if q.Calib != "" {
		e = firmware.Encoder{}
		e.Str(q.Calib)
		if err := addSection(w, SecCalib, &e); err != nil {
			return nil, err
		}
	}
	return w.Bytes()
}

func addSection(w *firmware.Writer, name string, e *firmware.Encoder) error {
	b, err := e.Bytes()
	if err != nil {
		return fmt.Errorf("encode section %q: %w", name, err)
	}
	return w.Add(name, b)
}

func b2u(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

func int8Bytes(v []int8) []byte {
	b := make([]byte, len(v))
	for i, x := range v {
		b[i] = byte(x)
	}
	return b
}

func putParams(e *firmware.Encoder, p quant.Params) {
	e.F32(p.Scale)
	e.I32(p.Zero)
}

func putMults(e *firmware.Encoder, m []quant.Multiplier) {
	v := make([]int32, 0, 2*len(m))
	for _, x := range m {
		v = append(v, x.M, x.Shift)
	}
	e.Int32s(v)
}

// Firmware is a loaded .fw image: the int8 model (weights in place in the
// file's memory) and its arena plan.
type Firmware struct {
	Q    *QModel
	Plan Plan
	Bufs []Buffer
	file *firmware.File
}

// Close releases the file (the model must not be used afterwards).
func (f *Firmware) Close() error { return f.file.Close() }

// OpenFirmware maps a .fw file and checks every section before use.
func OpenFirmware(path string) (*Firmware, error) {
	f, err := firmware.Open(path)
	if err != nil {
		return nil, err
	}
	fw, err := decodeFirmware(f)
	if err != nil {
		f.Close()
		return nil, withName(path, err)
	}
	return fw, nil
}

// ParseFirmware is OpenFirmware on bytes in memory.
func ParseFirmware(data []byte, name string) (*Firmware, error) {
	f, err := firmware.Parse(data, name)
	if err != nil {
		return nil, err
	}
	fw, err := decodeFirmware(f)
	if err != nil {
		return nil, withName(name, err)
	}
	return fw, nil
}

// withName prefixes the file name unless the error already carries it.
func withName(name string, err error) error {
	if strings.Contains(err.Error(), name) {
		return err
	}
	return fmt.Errorf("%s: %w", name, err)
}

func section(f *firmware.File, name string) (*firmware.Decoder, error) {
	return f.Decoder(name)
}

func decodeFirmware(f *firmware.File) (*Firmware, error) {
	for _, s := range []string{SecMeta, SecLabels, SecOps, SecParams, SecWeights, SecPlan} {
		if !f.Has(s) {
			return nil, fmt.Errorf("section %q is missing", s)
		}
	}
	d, err := section(f, SecMeta)
	if err != nil {
		return nil, err
	}
	if v := d.U32(); d.Err() == nil && v != ModelFormat {
		return nil, d.Errorf("model format %d, this mixedge reads %d", v, ModelFormat)
	}
	var a Arch
	a.Name = d.Str()
	nst := int(d.U32())
	if d.Err() == nil && (nst < 1 || nst > 64) {
		return nil, d.Errorf("%d stages", nst)
	}
	for i := 0; i < nst && d.Err() == nil; i++ {
		nb := int(d.U32())
		if d.Err() == nil && (nb < 1 || nb > 64) {
			return nil, d.Errorf("stage %d has %d block strings", i, nb)
		}
		var st []string
		for j := 0; j < nb && d.Err() == nil; j++ {
			st = append(st, d.Str())
		}
		a.Stages = append(a.Stages, st)
	}
	a.StemSize, a.HeadSize = int(d.U32()), int(d.U32())
	a.ChannelMult, a.DepthMult = math.Float64frombits(d.U64()), math.Float64frombits(d.U64())
	a.DepthTrunc = d.Str()
	a.BNEps = math.Float64frombits(d.U64())
	a.Padding = mixconv.Padding(d.U8())
	archName := a.Name
	size, classes := int(d.U32()), int(d.U32())
	var pre PreprocessDefaults
	pre.CropPct = math.Float64frombits(d.U64())
	pre.Interpolation = d.Str()
	mean, std := d.Float32s(), d.Float32s()
	in := getParams(d)
	if err := d.Finish(); err != nil {
		return nil, err
	}
	if len(mean) != 3 || len(std) != 3 {
		return nil, d.Errorf("mean and std have %d and %d values, want 3", len(mean), len(std))
	}
	copy(pre.Mean[:], mean)
	copy(pre.Std[:], std)
	pre.InputSize = size
	if err := a.Validate(); err != nil {
		return nil, d.Errorf("%v", err)
	}
	a.Preprocess = pre
	if !(pre.CropPct > 0 && pre.CropPct <= 1) {
		return nil, d.Errorf("crop_pct %g outside (0, 1]", pre.CropPct)
	}
	for c := 0; c < 3; c++ {
		if !(std[c] > 0) || math.IsInf(float64(std[c]), 0) || math.IsNaN(float64(mean[c])) {
			return nil, d.Errorf("mean/std %v/%v not usable", mean, std)
		}
	}
	if err := in.Validate(); err != nil {
		return nil, d.Errorf("input parameters: %v", err)
	}
	g, err := Build(a, size, classes)
	if err != nil {
		return nil, d.Errorf("%v", err)
	}
	q := &QModel{G: g, In: in, Ops: make([]QOp, len(g.Ops)), Pre: pre}

	if d, err = section(f, SecLabels); err != nil {
		return nil, err
	}
	n := int(d.U32())
	if d.Err() == nil && n != classes {
		return nil, d.Errorf("%d labels for %d classes", n, classes)
	}
	q.Labels = make([]string, 0, min(n, d.Remaining()/4))
	for i := 0; i < n && d.Err() == nil; i++ {
		q.Labels = append(q.Labels, d.Str())
	}
	if err := d.Finish(); err != nil {
		return nil, err
	}

	if d, err = section(f, SecOps); err != nil {
		return nil, err
	}
	if n := int(d.U32()); d.Err() == nil && n != len(g.Ops) {
		return nil, d.Errorf("%d ops, %s at %d has %d", n, archName, size, len(g.Ops))
	}
	for i := 0; i < len(g.Ops) && d.Err() == nil; i++ {
		op := &g.Ops[i]
		name, kind := d.Str(), OpKind(d.U8())
		t := [3]int{int(d.I32()), int(d.I32()), int(d.I32())}
		s := Shape{int(d.U32()), int(d.U32()), int(d.U32())}
		if d.Err() == nil && (name != op.Name || kind != op.Kind || t != [3]int{op.In, op.In2, op.Out} || s != g.Tensors[op.Out]) {
			return nil, d.Errorf("op %d is %s %s %v -> %v, %s expects %s %s %v -> %v",
				i, name, kind, t, s, archName, op.Name, op.Kind, [3]int{op.In, op.In2, op.Out}, g.Tensors[op.Out])
		}
	}
	if err := d.Finish(); err != nil {
		return nil, err
	}

	pd, err := section(f, SecParams)
	if err != nil {
		return nil, err
	}
	wd, err := section(f, SecWeights)
	if err != nil {
		return nil, err
	}
	for i := range g.Ops {
		if err := decodeOp(g, i, &q.Ops[i], pd, wd); err != nil {
			return nil, fmt.Errorf("op %s: %w", g.Ops[i].Name, err)
		}
	}
	if err := pd.Finish(); err != nil {
		return nil, err
	}
	if err := wd.Finish(); err != nil {
		return nil, err
	}

	if d, err = section(f, SecPlan); err != nil {
		return nil, err
	}
	bufs := q.ArenaBuffers()
	plan := Plan{Size: int(d.U32()), LowerBound: int(d.U32())}
	if n := int(d.U32()); d.Err() == nil && n != len(bufs) {
		return nil, d.Errorf("plan has %d buffers, the model needs %d", n, len(bufs))
	}
	plan.Offsets = make([]int, 0, len(bufs))
	for i := 0; i < len(bufs) && d.Err() == nil; i++ {
		off := int(d.U32())
		if d.Err() == nil && off%ArenaAlign != 0 {
			return nil, d.Errorf("buffer %d at offset %d is not %d-byte aligned", i, off, ArenaAlign)
		}
		plan.Offsets = append(plan.Offsets, off)
	}
	if err := d.Finish(); err != nil {
		return nil, err
	}
	// The arena is exactly as large as its last buffer needs, so a file
	// cannot make the loader allocate more than the graph implies.
	need, bound := 0, 0
	if d.Err() == nil {
		if ref, err := PlanArena(bufs, ArenaAlign); err == nil {
			bound = ref.LowerBound
		}
		for i, b := range bufs {
			need = max(need, plan.Offsets[i]+(b.Size+ArenaAlign-1)&^(ArenaAlign-1))
		}
	}
	if plan.Size != need || plan.LowerBound != bound {
		return nil, d.Errorf("arena of %d bytes (bound %d): the buffers need %d (bound %d)", plan.Size, plan.LowerBound, need, bound)
	}
	if err := plan.Check(bufs); err != nil {
		return nil, d.Errorf("%v", err)
	}
	if f.Has(SecCalib) {
		if d, err = section(f, SecCalib); err != nil {
			return nil, err
		}
		q.Calib = d.Str()
		if err := d.Finish(); err != nil {
			return nil, err
		}
	}
	return &Firmware{Q: q, Plan: plan, Bufs: bufs, file: f}, nil
}

func getParams(d *firmware.Decoder) quant.Params {
	return quant.Params{Scale: d.F32(), Zero: d.I32()}
}

func getMults(d *firmware.Decoder, want int, what string) []quant.Multiplier {
	v := d.Int32s()
	if d.Err() != nil {
		return nil
	}
	if len(v) != 2*want {
		d.Errorf("%s: %d multipliers, want %d", what, len(v)/2, want)
		return nil
	}
	m := make([]quant.Multiplier, want)
	for i := range m {
		m[i] = quant.Multiplier{M: v[2*i], Shift: v[2*i+1]}
		if err := m[i].Validate(); err != nil {
			d.Errorf("%s %d: %v", what, i, err)
			return nil
		}
	}
	return m
}

func getTable(d *firmware.Decoder, t *[256]int8) {
	b := d.Raw(256)
	for i := range b {
		t[i] = int8(b[i])
	}
}

// decodeOp reads op i's parameters and weights and checks every length
// against what the graph implies.
func decodeOp(g *Graph, i int, o *QOp, pd, wd *firmware.Decoder) error {
	op := &g.Ops[i]
	o.Out = getParams(pd)
	o.ZIn = pd.I32()
	o.Pre = getParams(pd)
	o.SiLU = pd.U8() != 0
	if o.SiLU {
		getTable(pd, &o.Table)
	}
	o.QMin, o.QMax = pd.I32(), pd.I32()
	var nM, nScale int
	cout := g.Tensors[op.Out].C
	switch op.Kind {
	case OpStem, OpPointwise, OpDepthwise:
		nM = cout
	case OpLinear:
		nScale = cout
	}
	o.M = getMults(pd, nM, "requantization")
	o.WScale = pd.Float32s()
	o.Scale = pd.Float32s()
	o.Add = quant.AddParams{ZA: pd.I32(), ZB: pd.I32(), MA: pd.I32(), MB: pd.I32(), Shift: pd.I32(), ZOut: pd.I32()}
	pm := getMults(pd, 1, "pool multiplier")
	hasSE := pd.U8() != 0
	if err := pd.Err(); err != nil {
		return err
	}
	o.PoolM = pm[0]
	if len(o.Scale) != nScale {
		return pd.Errorf("%d classifier scales, want %d", len(o.Scale), nScale)
	}
	for _, p := range []quant.Params{o.Out, o.Pre} {
		if p != (quant.Params{}) {
			if err := p.Validate(); err != nil {
				return pd.Errorf("%v", err)
			}
		}
	}
	zs := []int32{o.ZIn, o.Out.Zero, o.Pre.Zero, o.QMin, o.QMax, o.Add.ZA, o.Add.ZB, o.Add.ZOut}
	if hasSE != (op.Kind == OpSE) {
		return pd.Errorf("squeeze-excite flag %v on a %s op", hasSE, op.Kind)
	}
	if hasSE {
		se := &quant.SE{}
		v := make([]int32, 9)
		for j := range v {
			v[j] = pd.I32()
		}
		se.Channels, se.Reduced, se.Pixels = int(v[0]), int(v[1]), int(v[2])
		se.XZero, se.MeanZero, se.ReduceZero, se.ExpandZero, se.GateZero, se.OutZero = v[3], v[4], v[5], v[6], v[7], v[8]
		s := g.Tensors[op.In]
		if pd.Err() == nil && (se.Channels != s.C || se.Reduced != op.SEReduce || se.Pixels != s.H*s.W) {
			return pd.Errorf("squeeze-excite %dx%d over %d pixels, want %dx%d over %d", se.Channels, se.Reduced, se.Pixels, s.C, op.SEReduce, s.H*s.W)
		}
		pg := getMults(pd, 2, "squeeze-excite multipliers")
		se.ReduceM = getMults(pd, op.SEReduce, "reduce multipliers")
		se.ExpandM = getMults(pd, s.C, "expand multipliers")
		getTable(pd, &se.SiLU)
		getTable(pd, &se.Sigmoid)
		if err := pd.Err(); err != nil {
			return err
		}
		se.Pool, se.Gate = pg[0], pg[1]
		wd.Align(64)
		se.ReduceW, se.ReduceBias = wd.Int8s(), wd.Int32s()
		wd.Align(64)
		se.ExpandW, se.ExpandBias = wd.Int8s(), wd.Int32s()
		if err := wd.Err(); err != nil {
			return err
		}
		if len(se.ReduceW) != s.C*op.SEReduce || len(se.ReduceBias) != op.SEReduce ||
			len(se.ExpandW) != s.C*op.SEReduce || len(se.ExpandBias) != s.C {
			return wd.Errorf("squeeze-excite weights %d/%d/%d/%d, want %d/%d/%d/%d", len(se.ReduceW), len(se.ReduceBias),
				len(se.ExpandW), len(se.ExpandBias), s.C*op.SEReduce, op.SEReduce, s.C*op.SEReduce, s.C)
		}
		zs = append(zs, se.XZero, se.MeanZero, se.ReduceZero, se.ExpandZero, se.GateZero, se.OutZero)
		o.SE = se
	}
	for _, z := range zs {
		if z < quant.QMin || z > quant.QMax {
			return pd.Errorf("zero point or bound %d outside int8", z)
		}
	}
	if o.QMin > o.QMax {
		return pd.Errorf("clamp [%d, %d] is empty", o.QMin, o.QMax)
	}
	if a := o.Add; op.Kind == OpAdd && (a.Shift < 1 || a.Shift > 31 || a.MA < 0 || a.MA > 32767 || a.MB < 0 || a.MB > 32767) {
		return pd.Errorf("add multipliers %d, %d with shift %d outside [0, 32767] and [1, 31]", a.MA, a.MB, a.Shift)
	}
	wd.Align(64)
	o.W, o.Bias = wd.Int8s(), wd.Int32s()
	if err := wd.Err(); err != nil {
		return err
	}
	wantW, wantB := 0, 0
	switch op.Kind {
	case OpStem, OpPointwise, OpDepthwise:
		for gi, k := range op.Kernels {
			if op.Kind == OpDepthwise {
				wantW += k * k * op.OutSplit[gi]
			} else {
				wantW += k * k * op.InSplit[gi] * op.OutSplit[gi]
			}
		}
		wantB = cout
	case OpLinear:
		wantW, wantB = op.InSplit[0]*cout, cout
	}
	if len(o.W) != wantW || len(o.Bias) != wantB {
		return wd.Errorf("%d weights and %d biases, want %d and %d", len(o.W), len(o.Bias), wantW, wantB)
	}
	// SIMD kernels pair products in int16, which only -128 could overflow.
	for _, w := range [][]int8{o.W, seWeights(o.SE, 0), seWeights(o.SE, 1)} {
		if j := indexInt8(w, -128); j >= 0 {
			return wd.Errorf("weight %d is -128; weights must lie in [-127, 127]", j)
		}
	}
	return nil
}

// indexInt8 is the index of the first v in w, or -1: bytes.IndexByte's
// SIMD search (a byte loop over MixNet-S's 4 MB of weights cost ~16 M
// instructions at every load).
func indexInt8(w []int8, v int8) int {
	if len(w) == 0 {
		return -1
	}
	return bytes.IndexByte(unsafe.Slice((*byte)(unsafe.Pointer(&w[0])), len(w)), byte(v))
}

func seWeights(se *quant.SE, which int) []int8 {
	switch {
	case se == nil:
		return nil
	case which == 0:
		return se.ReduceW
	}
	return se.ExpandW
}

// FileSize is the size of the .fw file.
func (f *Firmware) FileSize() int { return f.file.Size() }

// WeightBytes counts the int8 weights and int32 biases of every op.
func (q *QModel) WeightBytes() int {
	n := 0
	for i := range q.Ops {
		o := &q.Ops[i]
		n += len(o.W) + 4*len(o.Bias)
		if se := o.SE; se != nil {
			n += len(se.ReduceW) + len(se.ExpandW) + 4*(len(se.ReduceBias)+len(se.ExpandBias))
		}
	}
	return n
}
