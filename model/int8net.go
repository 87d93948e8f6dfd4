package model

import (
	"fmt"
	"slices"
	"time"
	"unsafe"

	"github.com/mixedge/mixedge/kernels"
	"github.com/mixedge/mixedge/mixconv"
	"github.com/mixedge/mixedge/quant"
)

// ArenaAlign is the alignment of every buffer in the arena (a cache line,
// and what the SIMD kernels may assume).
const ArenaAlign = 64

// ArenaBuffers lists the buffers of q's graph with their lifetimes over the
// op order: every tensor (the input is live from op 0), each op's scratch,
// and the float32 logits. Index i < len(g.Tensors) is tensor i.
func (q *QModel) ArenaBuffers() []Buffer {
	g := q.G
	bufs := make([]Buffer, len(g.Tensors))
	for i, s := range g.Tensors {
		bufs[i] = Buffer{Name: fmt.Sprintf("t%d", i), Size: s.Elems(), First: -1, Last: -1}
	}
	bufs[g.Input].First = 0
	for i := range g.Ops {
		op := &g.Ops[i]
		for _, t := range []int{op.In, op.In2, op.Out} {
			if t < 0 {
				continue
			}
			if bufs[t].First < 0 {
				bufs[t].First = i
			}
			bufs[t].Last = max(bufs[t].Last, i)
		}
	}
	// Logits are float32; the classifier's int8 output tensor is unused.
	bufs[g.Output].Size = 4 * g.Tensors[g.Output].C
	bufs[g.Output].Last = len(g.Ops) // read after the last op
	for i := range g.Ops {
		if se := q.Ops[i].SE; se != nil {
			bufs = append(bufs, Buffer{Name: g.Ops[i].Name + ".scratch", Size: kernels.SEScratch(se), First: i, Last: i})
		}
	}
	// The stem runs as im2col + GEMM: one K·K·Cin patch per output pixel.
	for i := range g.Ops {
		if op := &g.Ops[i]; op.Kind == OpStem {
			is, os := g.Tensors[op.In], g.Tensors[op.Out]
			k := op.Kernels[0]
			bufs = append(bufs, Buffer{Name: op.Name + ".im2col", Size: os.H * os.W * k * k * is.C, First: i, Last: i})
		}
	}
	return bufs
}

// Int8Net runs a QModel inside one arena allocated by NewInt8Net.
// Run allocates nothing.
type Int8Net struct {
	Q      *QModel
	Plan   Plan
	K      *kernels.Table
	packed [][][]int8 // per op (and group): GEMM weights in K's layout
	sePack [][2][]int8
	// seParts, per squeeze-excite op whose FCs are split (seSplits): each
	// FC's output channels in parts. sePack then holds the whole FCs only
	// where the parts are slices of them (fcParts), else nil.
	seParts [][2][]fcPart
	// linearWhole, per linear op: its packed parts as one buffer, where
	// they are slices of it (fcParts), else nil.
	linearWhole [][]int8
	arena       []byte
	tensors     [][]int8 // views into the arena, per tensor
	scratch     [][]int8 // per op (SE only)
	// seSums holds, with more than one thread, a squeeze-excite pool's
	// int32 channel sums per chunk (seGateSplit): a row of seSumsStride
	// per chunk a job can have.
	seSums       []int32
	seSumsStride int
	// sePreSummed is the squeeze-excite op whose channel sums the
	// depthwise op before it left in seSums, in sePreChunks rows (-1: none).
	sePreSummed, sePreChunks int
	logits                   []float32
	mc                       []*mixconv.QS8    // per depthwise op
	mcHalf                   [][2]*mixconv.QS8 // per depthwise op on a small map: its channel halves (or nil)
	stem                     kernels.ConvShape

	// Worker pool (SetThreads; nil for one thread): the op's units are
	// claimed chunk by chunk by the caller and the workers (pool.go).
	// Started once; Run starts no goroutine.
	pool       *pool
	adapt      threadChoice
	probe      *loadProbe // threadChoice's room (nil off Linux)
	equalSplit bool       // SetEqualSplit
	// fixed: every frame runs on all threads (SetFixedThreads).
	fixed bool
	// OnOp, when set, is called after every op with its index (profiling).
	OnOp func(op int)
}

// rowTask is a unit range [y0, y1) of op's work: output rows or pixels
// (taskRows, runOp), channel-half × row-band units of a depthwise op
// (taskDWHalf, dwHalves), output pixels of its SiLU table (taskSiLU),
// input pixels of a squeeze-excite pool (taskSESum, seSum), output rows of
// a depthwise op and their sums for that pool (taskRowsSESum), or parts of
// a squeeze-excite FC (taskSEReduce, taskSEExpand). chunk is the task's
// index among the job's chunks.
type rowTask struct{ op, y0, y1, kind, chunk int }

const (
	taskRows = iota
	taskDWHalf
	taskSiLU
	taskSESum
	taskRowsSESum // rows of a depthwise op, then their channel sums for the SE op after it
	taskSEReduce  // parts [y0, y1) of a squeeze-excite op's first FC
	taskSEExpand  // and of its second (seFCParts)
)

// dwHalfMaxH: depthwise ops with at most this many output rows have
// channel halves (mixconv.QS8.Halves) to split over threads by, and use
// them when a thread's band of rows would be under dwMinRowsPerThread:
// each thread converts its rows plus K-1 more (the overlap), so small
// bands mostly convert rows again. Otherwise rows are the better split
// since threads keep home rows (pool.go): a channel half reads every input
// row, half of them from the other core's cache, and the two halves of a
// pixel share cache lines that both threads write. Alternated in three
// rounds on a 2-vCPU EPYC, 2-thread speed-up 1.31-1.38x with rows on
// 14x14 (7 rows a thread), 1.27-1.28x with halves there; 7x7 maps stay on
// halves. On 4 threads (a Pi) 14x14 maps split by halves and 2 bands.
const (
	dwHalfMaxH         = 14
	dwMinRowsPerThread = 7
)

// NewInt8Net plans the arena and allocates it; k is the kernel tier (nil:
// the best this CPU has).
func NewInt8Net(q *QModel, k *kernels.Table) (*Int8Net, error) {
	bufs := q.ArenaBuffers()
	plan, err := PlanArena(bufs, ArenaAlign)
	if err != nil {
		return nil, err
	}
	return NewInt8NetWithPlan(q, k, bufs, plan)
}

// NewInt8NetWithPlan uses a given arena plan (e.g. the one a .fw carries).
func NewInt8NetWithPlan(q *QModel, k *kernels.Table, bufs []Buffer, plan Plan) (*Int8Net, error) {
	if err := plan.Check(bufs); err != nil {
		return nil, fmt.Errorf("arena plan: %w", err)
	}
	if k == nil {
		var err error
		if k, err = kernels.Select(""); err != nil {
			return nil, err
		}
	}
	// Weights only ever used on one pixel (the SE FCs, the classifier) take
	// the tier's GEMV layout when it has one (AVX2: int8 only).
	packGEMV := k.PackGEMM
	if k.PackGEMV != nil {
		packGEMV = k.PackGEMV
	}
	g := q.G
	n := &Int8Net{Q: q, Plan: plan, K: k, tensors: make([][]int8, len(g.Tensors)), scratch: make([][]int8, len(g.Ops)),
		packed: make([][][]int8, len(g.Ops)), sePack: make([][2][]int8, len(g.Ops)),
		seParts: make([][2][]fcPart, len(g.Ops)), linearWhole: make([][]int8, len(g.Ops)), sePreSummed: -1}
	for i := range g.Ops {
		op, qo := &g.Ops[i], &q.Ops[i]
		switch op.Kind {
		case OpStem:
			kk := op.Kernels[0] * op.Kernels[0] * op.InSplit[0]
			n.packed[i] = [][]int8{k.PackGEMM(qo.W, kk, op.OutSplit[0])}
		case OpPointwise:
			off := 0
			for gi := range op.Kernels {
				ci, co := op.InSplit[gi], op.OutSplit[gi]
				n.packed[i] = append(n.packed[i], k.PackGEMM(qo.W[off:off+ci*co], ci, co))
				off += ci * co
			}
		case OpLinear:
			// Four parts, so up to four threads can each stream one
			// (the classifier's weights come from L3 or DRAM every
			// frame; with two halves, two of four threads sat idle).
			ci, co := op.InSplit[0], op.OutSplit[0]
			parts, whole := fcParts(qo.W, ci, co, packGEMV)
			for _, p := range parts {
				n.packed[i] = append(n.packed[i], p.w)
			}
			n.linearWhole[i] = whole
		case OpSE:
			se := qo.SE
			if seSplits(se) {
				reduce, rw := fcParts(se.ReduceW, se.Channels, se.Reduced, packGEMV)
				expand, ew := fcParts(se.ExpandW, se.Reduced, se.Channels, packGEMV)
				n.seParts[i] = [2][]fcPart{reduce, expand}
				if rw != nil && ew != nil {
					n.sePack[i] = [2][]int8{rw, ew}
				}
				break
			}
			n.sePack[i] = [2][]int8{packGEMV(se.ReduceW, se.Channels, se.Reduced), packGEMV(se.ExpandW, se.Reduced, se.Channels)}
		}
	}
	// Over-allocate so the arena itself starts on an ArenaAlign boundary.
	raw := make([]byte, plan.Size+ArenaAlign)
	skip := (ArenaAlign - int(uintptr(unsafe.Pointer(&raw[0]))%ArenaAlign)) % ArenaAlign
	n.arena = raw[skip : skip+plan.Size : skip+plan.Size]
	view := func(b int) []int8 {
		off, size := plan.Offsets[b], bufs[b].Size
		if size == 0 {
			return nil
		}
		return unsafe.Slice((*int8)(unsafe.Pointer(&n.arena[off])), size)
	}
	for t := range g.Tensors {
		if t != g.Output {
			n.tensors[t] = view(t)
		}
	}
	lo := plan.Offsets[g.Output]
	n.logits = unsafe.Slice((*float32)(unsafe.Pointer(&n.arena[lo])), g.Tensors[g.Output].C)
	next := len(g.Tensors)
	for i := range g.Ops {
		if q.Ops[i].SE != nil {
			n.scratch[i] = view(next)
			next++
		}
	}
	for i := range g.Ops {
		if g.Ops[i].Kind == OpStem {
			n.scratch[i] = view(next)
			next++
		}
	}
	n.mc = make([]*mixconv.QS8, len(g.Ops))
	n.mcHalf = make([][2]*mixconv.QS8, len(g.Ops))
	for i := range g.Ops {
		op := &g.Ops[i]
		is, os := g.Tensors[op.In], g.Tensors[op.Out]
		switch op.Kind {
		case OpDepthwise:
			qo := &q.Ops[i]
			mc, err := mixconv.NewQS8(op.DWSpec(), is.H, is.W, qo.W, qo.Bias, qo.M)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", op.Name, err)
			}
			if os.H <= dwHalfMaxH {
				if h, ok := mc.Halves(); ok {
					h[0].Pack(k.PackDW)
					h[1].Pack(k.PackDW)
					n.mcHalf[i] = h
				}
			}
			mc.Pack(k.PackDW)
			n.mc[i] = mc
		case OpStem:
			spec := op.DWSpec()
			top, _, left, _ := spec.Pads(0, is.H, is.W)
			n.stem = kernels.ConvShape{H: is.H, W: is.W, Cin: is.C, InStride: is.C, Cout: os.C, OutStride: os.C,
				K: op.Kernels[0], Stride: op.Stride, PadTop: top, PadLeft: left, OH: os.H, OW: os.W}
			if err := n.stem.Validate(); err != nil {
				return nil, fmt.Errorf("%s: %w", op.Name, err)
			}
		}
	}
	return n, nil
}

// ArenaBytes is the size of the arena.
func (n *Int8Net) ArenaBytes() int { return len(n.arena) }

// Input is the int8 input tensor, NHWC [S][S][3] at Q.In parameters, for
// callers that quantize straight into the arena.
func (n *Int8Net) Input() []int8 { return n.tensors[n.Q.G.Input] }

// Tensor is tensor id's int8 view (valid until the next Run; a later op may
// reuse its memory).
func (n *Int8Net) Tensor(id int) []int8 { return n.tensors[id] }

// Run quantizes a float NHWC image into the arena, runs every op and returns
// the dequantized logits (a view valid until the next Run).
func (n *Int8Net) Run(input []float32) []float32 {
	dst := n.Input()
	if len(input) != len(dst) {
		panic(fmt.Sprintf("model: input has %d floats, want %d", len(input), len(dst)))
	}
	if err := quant.QuantizeSlice(dst, input, n.Q.In); err != nil {
		panic(err) // lengths were checked; Params were validated at load
	}
	return n.RunQuantized()
}

// RunQuantized runs the network on the int8 input already in Input().
func (n *Int8Net) RunQuantized() []float32 {
	var t0 time.Time
	adapt := n.pool != nil && !n.fixed
	if adapt {
		n.adapt.begin()
		t0 = time.Now()
	}
	for i := range n.Q.G.Ops {
		n.step(i)
		if n.OnOp != nil {
			n.OnOp(i)
		}
	}
	if adapt {
		n.adapt.end(time.Since(t0))
	}
	return n.logits
}

// SetEqualSplit(true) gives every thread the same share of each op,
// whatever their measured speeds (pool.go, balance): for per-thread
// instruction counts under an emulator (cmd/qemu-icount), whose guest
// threads run at the host's varying speeds where a Pi's cores do not.
func (n *Int8Net) SetEqualSplit(equal bool) {
	n.equalSplit = equal
	if n.pool != nil {
		n.pool.equal = equal
	}
}

// SetFixedThreads(true) runs every frame on all threads, without the
// per-frame fallback to one thread (threadChoice): to measure the split
// itself (bench --fixed, the per-thread instruction counts of
// cmd/qemu-icount), or where the caller knows the cores are free.
func (n *Int8Net) SetFixedThreads(fixed bool) { n.fixed = fixed }

// threadChoice decides, frame by frame, whether a multi-threaded net runs
// the frame on all its threads or on the calling goroutine alone. When
// other programs hold the cores, a frame on two threads can take longer
// than on one (a worker that is descheduled in the middle of a chunk
// makes the caller wait for it), so the net keeps a moving average of the
// frame time of each mode, runs the faster one, and now and then runs the
// other one (two frames, the second timed) to keep its average fresh:
// after threadExplore frames, and, each time the other mode is confirmed
// slower by threadMargin, after twice as many, up to threadExploreMulti
// frames while all threads are preferred and threadExploreOne while one
// is. A mode that gets slower is seen at once (its own frames move its
// average); exploring only finds a mode that got faster, and all threads
// getting faster (a competitor gone) matters sooner than one thread
// getting faster. Exploring every 16th frame cost a quiet 2-vCPU VM 12.5%
// of its frames at one thread's speed, and beside a busy program moved the
// median 2-thread frame past the 1-thread one (its slow explorations).
// While one thread is preferred, an exploration that is due waits until
// the machine has a CPU for each thread (room, loadProbe), at most
// threadExploreBusy frames after the last one; each such blind
// exploration that confirms one thread doubles that wait, up to
// threadExploreBusyMax (the probe may miss room that is there: a
// competitor at a low priority).
type threadChoice struct {
	ns     [2]float64 // moving average frame time: one thread, all threads (0: not measured)
	frames uint64
	single uint64 // frames run on one thread
	one    bool   // the current frame runs on one thread
	// switched: the current frame runs in the other mode than the one
	// before it, so it is not timed: it pays for the switch (a parked
	// worker to wake, the other thread's rows in the other core's cache),
	// and timing it kept a 2-thread net on one thread: each 2-thread
	// exploration, right after one-thread frames, measured slower than
	// one thread although steady 2-thread frames were 1.3x faster.
	switched bool
	last     bool // the previous frame ran on one thread
	// exploring: the current frame runs the mode not preferred; its time
	// replaces that mode's estimate instead of moving it by threadAlpha.
	// An estimate refreshed once in 16 frames and averaged kept a net on
	// one thread for ~60 frames after a burst of slow 2-thread frames.
	exploring bool
	// next: the frame that starts the next exploration; interval: frames
	// from one exploration to the next (0: threadExplore).
	next, interval uint64
	// room reports whether other programs leave a CPU for each of the
	// net's threads (nil: assume they do); forced is the frame from which
	// all threads are explored without room, forcedIV the frames from
	// one such blind exploration to the next (0: threadExploreBusy), and
	// blind marks the current exploration as one.
	room     func() bool
	forced   uint64
	forcedIV uint64
	blind    bool
}

const (
	threadExplore        = 16   // frames between explorations, at first and after a close call
	threadExploreMulti   = 128  // at most, while all threads are the faster mode
	threadExploreOne     = 32   // at most, while one thread is
	threadExploreBusy    = 256  // at most, while one thread is and the machine has no room for all
	threadExploreBusyMax = 4096 // at most, after blind explorations that confirmed one thread
	threadMargin         = 0.10 // an explored mode this much slower confirms the choice
	threadAlpha          = 0.25 // weight of a new frame in the moving average
	threadClip           = 1.5  // a frame's weight is capped at this multiple of the average
)

func (c *threadChoice) begin() {
	f := c.frames
	c.frames++
	switch {
	case c.ns[1] == 0:
		c.one = false
	case c.ns[0] == 0:
		c.one = true
	default:
		c.one = c.ns[0] < c.ns[1]
		if f >= c.next {
			switch {
			case !c.one || c.room == nil:
				c.exploring = true
			case c.room():
				c.exploring, c.forcedIV = true, 0
			case f >= c.forced:
				c.exploring, c.blind = true, true
			}
		}
		if c.exploring {
			c.one = !c.one
		}
	}
	c.switched = f > 0 && c.one != c.last
}

func (c *threadChoice) end(d time.Duration) {
	i := 1
	if c.one {
		i = 0
		c.single++
	}
	switch {
	case c.ns[i] == 0:
		c.ns[i] = float64(d)
	case !c.switched:
		// A frame at most threadClip times the average counts in full: a
		// frame whose worker another program held for a few ms moves the
		// average of a mode as much as a slightly slow one, not 20x more
		// (2-thread frames have more such outliers, and their average,
		// not their typical time, then lost to one thread's).
		a := threadAlpha
		if c.exploring {
			a = 1
		}
		c.ns[i] += (min(float64(d), threadClip*c.ns[i]) - c.ns[i]) * a
		if c.exploring {
			c.explored(i)
		}
	}
	c.last, c.one, c.exploring, c.blind = c.one, false, false, false
}

// explored schedules the next exploration after a timed frame of mode i,
// the one not preferred.
func (c *threadChoice) explored(i int) {
	iv := max(c.interval, threadExplore)
	lost := c.ns[i] > (1+threadMargin)*c.ns[1-i]
	if c.blind {
		if lost {
			c.forcedIV = min(2*max(c.forcedIV, threadExploreBusy), threadExploreBusyMax)
		} else {
			c.forcedIV = 0
		}
	}
	if lost {
		limit := uint64(threadExploreMulti)
		if i == 1 { // all threads explored: one is preferred
			limit = threadExploreOne
		}
		iv = min(2*iv, limit)
	} else {
		iv = threadExplore
	}
	c.interval, c.next = iv, c.frames+iv-1
	c.forced = c.frames + max(c.forcedIV, threadExploreBusy) - 1
}

// ThreadFrames returns how many frames RunQuantized ran since SetThreads,
// and how many of them on the calling goroutine alone (threadChoice).
func (n *Int8Net) ThreadFrames() (frames, single uint64) { return n.adapt.frames, n.adapt.single }

// maxThreads bounds SetThreads.
const maxThreads = 256

// MaxThreads is the most goroutines a network runs on; SetThreads caps at it.
const MaxThreads = maxThreads

// SetThreads starts t-1 workers (1 ≤ t ≤ 256) that share each op's output
// rows with the calling goroutine. Call Close to stop them. RunQuantized
// may run a frame on the caller alone when that measures faster
// (threadChoice; ThreadFrames counts such frames).
func (n *Int8Net) SetThreads(t int) {
	n.Close()
	n.adapt = threadChoice{}
	t = min(max(t, 1), maxThreads)
	n.seSums, n.seSumsStride = nil, 0
	if t > 1 {
		n.pool = newPool(t, func(task rowTask) { n.runTask(task) })
		if n.probe = openLoadProbe(t); n.probe != nil {
			n.adapt.room = n.probe.room
		}
		n.pool.equal = n.equalSplit
		for i := range n.Q.Ops {
			if se := n.Q.Ops[i].SE; se != nil {
				n.seSumsStride = max(n.seSumsStride, se.Channels)
			}
		}
		// a row per chunk of a job: a pool-sum job has one per thread,
		// a depthwise job that sums for its SE op (taskRowsSESum) up to
		// chunksPerThreadRows per thread
		n.seSums = make([]int32, t*max(1, chunksPerThreadRows)*n.seSumsStride)
	}
}

// Threads is the number of goroutines a Run uses.
func (n *Int8Net) Threads() int {
	if n.pool == nil {
		return 1
	}
	return len(n.pool.workers) + 1
}

// Close stops the workers.
func (n *Int8Net) Close() {
	if n.pool != nil {
		n.pool.stop()
	}
	if n.probe != nil {
		n.probe.close()
	}
	n.pool, n.probe = nil, nil
}

// unitPixels is how many output pixels one unit of work of op covers: one
// for the pixel-wise ops (a 7×7 map then splits 25/24 over two threads,
// not 4/3 rows), a whole row for the convolutions with a spatial window.
func unitPixels(op *Op, out Shape) int {
	switch op.Kind {
	case OpPointwise, OpSE, OpAdd:
		return 1
	}
	return out.W
}

// linearPart is how many output channels of an n-channel linear op one
// packed part holds: a quarter, rounded up to the 16-channel blocks of the
// GEMM layouts.
func linearPart(n int) int { return max(16, (n/4+15)&^15) }

// units is how many units of work op i splits into: rows, pixels
// (unitPixels), or the linear op's packed parts.
func (n *Int8Net) units(i int) int {
	op := &n.Q.G.Ops[i]
	if op.Kind == OpLinear {
		return len(n.packed[i])
	}
	os := n.Q.G.Tensors[op.Out]
	return os.H * os.W / unitPixels(op, os)
}

// step runs op i, split by output rows (or pixels) over the workers when it
// can be.
func (n *Int8Net) step(i int) {
	op := &n.Q.G.Ops[i]
	rows := n.units(i)
	t := min(n.Threads(), rows)
	if n.adapt.one {
		t = 1
	}
	switch op.Kind {
	case OpSE:
		// The reduction first, then the gating splits by rows. Where the
		// tier has fast pool sums each thread sums the rows that are in
		// its cache (on a 2-vCPU EPYC the caller reading the other half
		// of a 28x28x240 map took longer than the whole op on one thread).
		if t > 1 && n.K.Ops["pool_sums"] != "generic" {
			n.seGateSplit(i, t)
		} else {
			n.seGate(i)
		}
	case OpPool:
		t = 1 // a whole-tensor reduction, and small
	}
	if t <= 1 {
		n.runOp(i, 0, -1)
		return
	}
	if op.Kind == OpDepthwise && n.mcHalf[i][0] != nil && rows < dwMinRowsPerThread*t {
		n.parallel(i, taskDWHalf, 2*n.dwBands(i), t)
		if n.Q.Ops[i].SiLU {
			os := n.Q.G.Tensors[op.Out]
			n.parallel(i, taskSiLU, os.H*os.W, t)
		}
		return
	}
	if op.Kind == OpDepthwise && n.sumsForSE(i) {
		// The squeeze-excite op that follows needs its input's channel
		// sums: each chunk adds up the rows it just wrote, while they are
		// in its core's cache, and the SE op skips its own pass.
		n.sePreSummed, n.sePreChunks = i+1, n.parallel(i, taskRowsSESum, rows, t)
		return
	}
	n.parallel(i, taskRows, rows, t)
}

// sumsForSE reports whether depthwise op i, split by rows, also sums its
// output for the squeeze-excite op after it (seGateSplit).
func (n *Int8Net) sumsForSE(i int) bool {
	g := n.Q.G
	return i+1 < len(g.Ops) && g.Ops[i+1].Kind == OpSE && g.Ops[i+1].In == g.Ops[i].Out &&
		n.K.Ops["pool_sums"] != "generic"
}

// parallel runs units [0, units) of op i's work of the given kind over t
// goroutines (this one and the workers), in up to chunksPerThread (or,
// for row-window convolutions, chunksPerThreadRows) contiguous chunks per
// thread that whoever is running claims (pool.go).
// It returns the number of chunks.
func (n *Int8Net) parallel(i, kind, units, t int) int {
	per := chunksPerThread
	if kind == taskRows && unitPixels(&n.Q.G.Ops[i], n.Q.G.Tensors[n.Q.G.Ops[i].Out]) > 1 {
		per = chunksPerThreadRows
	}
	if kind == taskRowsSESum {
		per = chunksPerThreadRows
	}
	chunks := min(units, t*per)
	n.pool.do(i, kind, units, chunks)
	return chunks
}

func (n *Int8Net) runTask(t rowTask) {
	switch t.kind {
	case taskDWHalf:
		n.dwHalves(t.op, t.y0, t.y1)
	case taskSiLU:
		n.silu(t.op, t.y0, t.y1)
	case taskSESum:
		n.seSum(t.op, t.chunk, t.y0, t.y1)
	case taskRowsSESum:
		n.runOp(t.op, t.y0, t.y1)
		ow := n.Q.G.Tensors[n.Q.G.Ops[t.op].Out].W
		n.seSum(t.op+1, t.chunk, t.y0*ow, t.y1*ow)
	case taskSEReduce, taskSEExpand:
		n.seFCParts(t.op, t.kind-taskSEReduce, t.y0, t.y1)
	default:
		n.runOp(t.op, t.y0, t.y1)
	}
}

// dwBands is how many row bands each channel half of depthwise op i is cut
// into: half the threads (two threads: one half each, all rows).
func (n *Int8Net) dwBands(i int) int {
	oh := n.Q.G.Tensors[n.Q.G.Ops[i].Out].H
	return max(1, min(n.Threads()/2, oh))
}

// dwHalves runs units [u0, u1) of depthwise op i: unit u is channel half
// u%2 over row band u/2, without the SiLU table (step applies it after).
func (n *Int8Net) dwHalves(i, u0, u1 int) {
	op := &n.Q.G.Ops[i]
	q := &n.Q.Ops[i]
	oh := n.Q.G.Tensors[op.Out].H
	bands := n.dwBands(i)
	for u := u0; u < u1; u++ {
		b := u / 2
		y0, y1 := b*oh/bands, (b+1)*oh/bands
		n.mcHalf[i][u%2].Forward(n.K.DWConv, n.tensors[op.Out], n.tensors[op.In], q.ZIn, q.kernelZOut(), q.QMin, q.QMax, y0, y1)
	}
}

// silu applies op i's SiLU table to its output pixels [p0, p1).
func (n *Int8Net) silu(i, p0, p1 int) {
	out := n.Q.G.Ops[i].Out
	c := n.Q.G.Tensors[out].C
	part := n.tensors[out][p0*c : p1*c]
	n.K.Lookup(part, part, &n.Q.Ops[i].Table)
}

// kernelZOut is the zero point the op's kernel requantizes to: the
// pre-activation one when a SiLU table follows.
func (q *QOp) kernelZOut() int32 {
	if q.SiLU {
		return q.Pre.Zero
	}
	return q.Out.Zero
}

// RunObserve is RunQuantized with a callback after every op.
func (n *Int8Net) RunObserve(observe func(op int, out []int8)) []float32 {
	g := n.Q.G
	for i := range g.Ops {
		n.step(i)
		if observe != nil && g.Ops[i].Kind != OpLinear {
			observe(i, n.tensors[g.Ops[i].Out])
		}
	}
	return n.logits
}

// runOp runs op i on the output units [y0, y1) (y1 < 0: all): rows, or
// pixels for the pixel-wise ops (unitPixels).
func (n *Int8Net) runOp(i, y0, y1 int) {
	g := n.Q.G
	k := n.K
	op := &g.Ops[i]
	q := &n.Q.Ops[i]
	is, os := g.Tensors[op.In], g.Tensors[op.Out]
	src, dst := n.tensors[op.In], n.tensors[op.Out]
	up := unitPixels(op, os)
	if y1 < 0 {
		y1 = n.units(i)
	}
	zOut := q.kernelZOut()
	switch op.Kind {
	case OpStem:
		if k.Ops["stem"] == "avx2" {
			k.Stem(dst, src, q.W, q.Bias, q.M, &n.stem, q.ZIn, zOut, q.QMin, q.QMax, y0, y1)
			break
		}
		// Elsewhere im2col + the tier's GEMM is faster (under qemu the arm64
		// stem entry ran 14.3 M instructions a frame, this 8.5 M; generic Go
		// is slower still). Same sums: weights [Cout][K][K][Cin], padding
		// taps read zIn.
		st := &n.stem
		kk := st.K * st.K * st.Cin
		patches := n.scratch[i][y0*st.OW*kk : y1*st.OW*kk]
		im2col(patches, src, st, int8(q.ZIn), y0, y1)
		k.GEMM(dst[y0*st.OW*st.OutStride:], st.OutStride, patches, kk, (y1-y0)*st.OW, kk, st.Cout,
			n.packed[i][0], q.Bias, q.M, zOut, q.QMin, q.QMax)
	case OpPointwise:
		inOff, outOff := 0, 0
		pix0, pix1 := y0, y1
		for gi, w := range n.packed[i] {
			ci, co := op.InSplit[gi], op.OutSplit[gi]
			k.GEMM(dst[pix0*os.C+outOff:], os.C, src[pix0*is.C+inOff:], is.C, pix1-pix0, ci, co,
				w, q.Bias[outOff:outOff+co], q.M[outOff:outOff+co], zOut, q.QMin, q.QMax)
			inOff += ci
			outOff += co
		}
	case OpDepthwise:
		n.mc[i].Forward(k.DWConv, dst, src, q.ZIn, zOut, q.QMin, q.QMax, y0, y1)
	case OpSE:
		se := q.SE
		c := se.Channels
		gate := n.scratch[i][c+se.Reduced : 2*c+se.Reduced]
		r0, r1 := y0*c, y1*c
		k.ChannelMul(dst[r0:r1], c, src[r0:r1], c, y1-y0, c, gate, se.XZero, se.GateZero, se.Gate, se.OutZero, quant.QMin, quant.QMax)
	case OpAdd:
		a, b := dst[y0*os.C:y1*os.C], n.tensors[op.In2]
		k.Add(a, src[y0*os.C:], b[y0*os.C:], q.Add, quant.QMin, quant.QMax)
	case OpPool:
		k.Pool(dst, src, is.H*is.W, is.C, is.C, q.ZIn, q.PoolM, q.Out.Zero, quant.QMin, quant.QMax)
	case OpLinear:
		if w := n.linearWhole[i]; w != nil && y0 == 0 && y1 == len(n.packed[i]) {
			k.GEMMF32(n.logits, src, is.C, 1, is.C, os.C, w, q.Bias, q.Scale)
			break
		}
		part := linearPart(os.C)
		for p := y0; p < y1; p++ {
			c0, c1 := p*part, min(os.C, (p+1)*part)
			k.GEMMF32(n.logits[c0:c1], src, is.C, 1, is.C, c1-c0, n.packed[i][p], q.Bias[c0:c1], q.Scale[c0:c1])
		}
	}
	if q.SiLU {
		n.silu(i, y0*up, y1*up)
	}
}

// im2col writes, for output rows [y0, y1), each output pixel's K×K×Cin
// input patch (ky, kx, ci order; z outside the image) to dst.
func im2col(dst, src []int8, s *kernels.ConvShape, z int8, y0, y1 int) {
	kk := s.K * s.K * s.Cin
	for oy := y0; oy < y1; oy++ {
		kernels.GatherPatches(dst[(oy-y0)*s.OW*kk:], kk, src, s, z, oy, 0, s.OW)
	}
}

// seGate computes op i's squeeze-excite gates into its scratch: the first
// half of kernels.SqueezeExciteQS8, built from this tier's kernels. The
// channel multiply (runOp) is the second.
func (n *Int8Net) seGate(i int) {
	n.sePreSummed = -1
	se := n.Q.Ops[i].SE
	src := n.tensors[n.Q.G.Ops[i].In]
	c := se.Channels
	n.K.Pool(n.scratch[i][:c], src, se.Pixels, c, c, se.XZero, se.Pool, se.MeanZero, quant.QMin, quant.QMax)
	n.seFCs(i)
}

// seGateSplit is seGate with the pool's channel sums split over t threads
// by pixels (each thread's home range: the rows it wrote), one chunk per
// thread; the caller adds the chunks' sums and runs the rest.
func (n *Int8Net) seGateSplit(i, t int) {
	se := n.Q.Ops[i].SE
	c := se.Channels
	chunks := min(se.Pixels, t)
	if n.sePreSummed == i {
		chunks = n.sePreChunks // the depthwise op before summed its rows
		n.sePreSummed = -1
	} else {
		n.pool.do(i, taskSESum, se.Pixels, chunks)
	}
	total := n.seSums[:c]
	for ch := 1; ch < chunks; ch++ {
		for j, v := range n.seSums[ch*n.seSumsStride:][:c] {
			total[j] += v
		}
	}
	n.K.PoolFinish(n.scratch[i][:c], total, se.Pixels, se.XZero, se.Pool, se.MeanZero, quant.QMin, quant.QMax)
	if parts := n.seParts[i]; parts[0] != nil {
		n.pool.do(i, taskSEReduce, len(parts[0]), min(len(parts[0]), t))
		n.pool.do(i, taskSEExpand, len(parts[1]), min(len(parts[1]), t))
		return
	}
	n.seFCs(i)
}

// seSum writes the channel sums of squeeze-excite op i's input pixels
// [p0, p1) to chunk's row of seSums.
func (n *Int8Net) seSum(i, chunk, p0, p1 int) {
	c := n.Q.Ops[i].SE.Channels
	src := n.tensors[n.Q.G.Ops[i].In]
	n.K.PoolSums(n.seSums[chunk*n.seSumsStride:][:c], src[p0*c:], p1-p0, c, c)
}

// seFCs runs the gate's two 1-pixel FCs and their tables on the pooled
// means in op i's scratch.
func (n *Int8Net) seFCs(i int) {
	if n.sePack[i][0] == nil { // split, and the parts are not slices of the whole
		parts := n.seParts[i]
		n.seFCParts(i, 0, 0, len(parts[0]))
		n.seFCParts(i, 1, 0, len(parts[1]))
		return
	}
	k := n.K
	se := n.Q.Ops[i].SE
	c, r := se.Channels, se.Reduced
	sc := n.scratch[i]
	mean, hidden, gate := sc[:c], sc[c:c+r], sc[c+r:2*c+r]
	k.GEMM(hidden, r, mean, c, 1, c, r, n.sePack[i][0], se.ReduceBias, se.ReduceM, se.ReduceZero, quant.QMin, quant.QMax)
	k.Lookup(hidden, hidden, &se.SiLU)
	k.GEMM(gate, c, hidden, r, 1, r, c, n.sePack[i][1], se.ExpandBias, se.ExpandM, se.ExpandZero, quant.QMin, quant.QMax)
	k.Lookup(gate, gate, &se.Sigmoid)
}

// fcPart is output channels [c0, c1) of a one-pixel FC, with its weights
// packed apart.
type fcPart struct {
	c0, c1 int
	w      []int8
}

// seSplitBytes: squeeze-excite ops whose FC weights (each) reach this many
// bytes split each FC by output channels over the threads (seSplits).
// The FCs come between the pool and the gating, so one thread ran them
// while the others waited: on a 2-vCPU Zen 4 in a 2-thread frame, 28 us
// for the two 1200x100 FCs of MixNet-S's last stage (their 240 KB come
// from L3 or DRAM; 7.6 us warm), 14 us for 720x60, 8 us or less below.
const seSplitBytes = 32 << 10

func seSplits(se *quant.SE) bool { return se.Channels*se.Reduced >= seSplitBytes }

// fcParts cuts the n output channels of a one-pixel FC with k inputs
// (weights w: [n][k]) into up to four parts on the GEMM layouts'
// 16-channel blocks, each packed by pack. Where the parts' packings laid
// end to end are the whole FC's packing (a layout of whole blocks), it
// returns that too, the parts slices of it: a thread that runs every
// part then makes one call (in four, each part took the call's setup
// and converted the input again: 40 k guest instructions a MixNet-S
// frame on AVX2). Else whole is nil.
func fcParts(w []int8, k, n int, pack func(w []int8, k, n int) []int8) (parts []fcPart, whole []int8) {
	for c0 := 0; c0 < n; c0 += linearPart(n) {
		c1 := min(n, c0+linearPart(n))
		parts = append(parts, fcPart{c0, c1, pack(w[c0*k:c1*k], k, c1-c0)})
	}
	whole = pack(w[:n*k], k, n)
	off := 0
	for _, p := range parts {
		if off+len(p.w) > len(whole) || !slices.Equal(whole[off:off+len(p.w)], p.w) {
			return parts, nil
		}
		off += len(p.w)
	}
	if off != len(whole) {
		return parts, nil
	}
	off = 0
	for j := range parts {
		l := len(parts[j].w)
		parts[j].w = whole[off : off+l : off+l]
		off += l
	}
	return parts, whole
}

// seFCParts runs parts [u0, u1) of squeeze-excite op i's first FC and its
// SiLU table (fc 0: pooled means to hidden) or of its second and its
// sigmoid table (fc 1: hidden to gates), in the op's scratch.
func (n *Int8Net) seFCParts(i, fc, u0, u1 int) {
	k := n.K
	se := n.Q.Ops[i].SE
	c, r := se.Channels, se.Reduced
	sc := n.scratch[i]
	mean, hidden, gate := sc[:c], sc[c:c+r], sc[c+r:2*c+r]
	for _, p := range n.seParts[i][fc][u0:u1] {
		if fc == 0 {
			k.GEMM(hidden[p.c0:], r, mean, c, 1, c, p.c1-p.c0, p.w, se.ReduceBias[p.c0:p.c1], se.ReduceM[p.c0:p.c1],
				se.ReduceZero, quant.QMin, quant.QMax)
			k.Lookup(hidden[p.c0:p.c1], hidden[p.c0:p.c1], &se.SiLU)
			continue
		}
		k.GEMM(gate[p.c0:], c, hidden, r, 1, r, p.c1-p.c0, p.w, se.ExpandBias[p.c0:p.c1], se.ExpandM[p.c0:p.c1],
			se.ExpandZero, quant.QMin, quant.QMax)
		k.Lookup(gate[p.c0:p.c1], gate[p.c0:p.c1], &se.Sigmoid)
	}
}
