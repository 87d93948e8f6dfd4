package main

import (
	"errors"
	"flag"
	"io"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mixedge/mixedge/camera"
)

// liveOpts are stream's deployment flags: the web page and metrics
// (--http) and MQTT events (--mqtt).
type liveOpts struct {
	http, httpToken string
	mqtt            mqttOpts
}

func addLiveFlags(fs *flag.FlagSet, o *liveOpts) {
	fs.StringVar(&o.http, "http", "", "serve a live page, /metrics, /api/latest, /snapshot.jpg, /events, /healthz on `ADDR` (':8080' is loopback only; '0.0.0.0:8080' serves the network)")
	fs.StringVar(&o.httpToken, "http-token", "", "require this bearer token (or ?token=) on every endpoint but /healthz (default $MIXEDGE_HTTP_TOKEN)")
	addMQTTFlags(fs, &o.mqtt)
}

// streamSink sees every classified frame, on the frame loop: it must
// neither block nor allocate, and f is valid only during the call.
type streamSink interface {
	frame(s *streamer, f *camera.Frame)
}

// maxTopLive bounds the classes the live state keeps per frame.
const maxTopLive = 10

// historySecs is how much latency history the page gets when it opens.
const historySecs = 300

// histSec is one second of the latency chart: frames and the mean stage
// times of the frames classified in that second.
type histSec struct {
	Unix                       int64
	N                          int64
	Capture, Preprocess, Infer time.Duration // sums
}

// liveState is what the frame loop publishes for the page, the metrics and
// MQTT: the newest frame's result, counters, a latency history, and (on
// request) a copy of the newest frame. The loop only takes mutexes that
// readers hold for a copy, never across I/O, and allocates nothing.
type liveState struct {
	g                          *camera.Grabber
	s                          *streamer
	start                      time.Time
	info                       liveInfo
	mu                         sync.Mutex
	frames                     int64
	seq                        int64
	ts                         time.Time
	top                        [maxTopLive]scored
	ntop                       int
	capture, preprocess, infer time.Duration
	line                       []byte // the --json line of the newest frame
	hist                       [historySecs]histSec
	hcur                       int     // index of the current second in hist
	window                     latHist // frame latencies since the last MQTT stats

	lastFrame atomic.Int64 // unix ns of the newest frame
	failed    atomic.Int64 // s.failed, mirrored for other goroutines
	recon     func() int64 // source reconnections (nil: none possible)

	// Snapshots: a reader sets want; the loop copies the next frame into
	// snap (skipping the copy if a reader holds snapMu) and bumps snapGen.
	// (The network's input is not copied: the arena reuses it during the
	// run. Readers recompute it from the frame, bit for bit.)
	want    atomic.Bool
	snapMu  sync.Mutex
	snap    liveSnap
	snapGen atomic.Int64
	snapped chan struct{} // a snapshot was taken (cap 1)
	snapAt  time.Time     // the loop's last copy

	sinks []func(s *streamer, f *camera.Frame) // metrics, MQTT
	mqtt  *mqttSink
}

type liveSnap struct {
	format camera.FrameFormat
	data   []byte
	seq    int64
	at     time.Time
}

// liveInfo describes the running stream (the page's header, build_info).
type liveInfo struct {
	Version string `json:"version"`
	Model   string `json:"model"`
	Arch    string `json:"arch"`
	Kernels string `json:"kernels"`
	Threads int    `json:"threads"`
	Source  string `json:"source"`
	Input   int    `json:"input"`
	Arena   int    `json:"arena_bytes"`
	Top     int    `json:"top"`
}

func newLiveState(s *streamer, g *camera.Grabber, info liveInfo, frameSize int) *liveState {
	l := &liveState{g: g, s: s, start: time.Now(), info: info, line: make([]byte, 0, 1024), snapped: make(chan struct{}, 1)}
	l.snap.data = make([]byte, 0, frameSize)
	return l
}

// frame is the loop's hook (streamSink).
func (l *liveState) frame(s *streamer, f *camera.Frame) {
	now := time.Now()
	total := s.preprocess + s.infer
	l.mu.Lock()
	l.frames++
	l.seq, l.ts = f.Seq, f.Time
	l.ntop = copy(l.top[:], s.top)
	l.capture, l.preprocess, l.infer = s.capture, s.preprocess, s.infer
	l.line = s.appendResult(l.line[:0], f.Seq, f.Time, true)
	sec := now.Unix()
	if h := &l.hist[l.hcur]; h.Unix != sec {
		l.hcur = (l.hcur + 1) % historySecs
		l.hist[l.hcur] = histSec{Unix: sec}
	}
	h := &l.hist[l.hcur]
	h.N++
	h.Capture += s.capture
	h.Preprocess += s.preprocess
	h.Infer += s.infer
	l.window.add(total)
	l.mu.Unlock()
	l.lastFrame.Store(now.UnixNano())
	l.failed.Store(s.failed)
	// A copy on request, and one a second regardless: a stalled stream
	// still has a picture of its last moments.
	if (l.want.Load() || now.Sub(l.snapAt) >= time.Second) && l.snapMu.TryLock() {
		l.snapAt = now
		l.snap.format = f.Format
		l.snap.data = append(l.snap.data[:0], f.Data...) // grows only when the format does
		l.snap.seq, l.snap.at = f.Seq, now
		l.snapMu.Unlock()
		l.want.Store(false)
		l.snapGen.Add(1)
		select {
		case l.snapped <- struct{}{}:
		default:
		}
	}
	for _, k := range l.sinks {
		k(s, f)
	}
}

// corrupt counts frames the source skipped plus frames that failed.
func (l *liveState) corrupt() int64 { return l.g.Corrupt() + l.failed.Load() }

func (l *liveState) reconnects() int64 {
	if l.recon == nil {
		return 0
	}
	return l.recon()
}

// latest is a copy of the newest frame's state, for readers.
type liveLatest struct {
	Frames                     int64
	Seq                        int64
	TS                         time.Time
	Top                        []scored
	Capture, Preprocess, Infer time.Duration
	Line                       []byte
}

func (l *liveState) latest() liveLatest {
	l.mu.Lock()
	defer l.mu.Unlock()
	return liveLatest{Frames: l.frames, Seq: l.seq, TS: l.ts, Top: append([]scored(nil), l.top[:l.ntop]...),
		Capture: l.capture, Preprocess: l.preprocess, Infer: l.infer, Line: append([]byte(nil), l.line...)}
}

// history returns the completed seconds after unix second since, oldest
// first, and the seconds' frame rate over the last 5 complete ones.
func (l *liveState) history(since int64) (out []histSec, fps float64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now().Unix()
	var n, secs int64
	for i := 1; i <= historySecs; i++ {
		h := l.hist[(l.hcur+i)%historySecs]
		if h.Unix == 0 || h.Unix >= now {
			continue // unused or still filling
		}
		if h.Unix > since {
			out = append(out, h)
		}
		if h.Unix >= now-5 {
			n += h.N
		}
	}
	if now > l.start.Unix() {
		secs = min(5, now-l.start.Unix())
		fps = float64(n) / float64(secs)
	}
	return out, fps
}

// takeWindow returns the latency quantiles of the frames since the last
// call and starts a new window.
func (l *liveState) takeWindow() (n int64, p50, p90, p99 time.Duration) {
	w := new(latHist)
	l.mu.Lock()
	*w, l.window = l.window, latHist{} // the quantiles outside the loop's lock
	l.mu.Unlock()
	return w.n, w.quantile(0.5), w.quantile(0.9), w.quantile(0.99)
}

// snapshot asks the loop for a copy of the next frame unless the current
// copy is younger than fresh, waits for it up to wait, and calls fn with the
// copy (under snapMu: fn must be quick). It reports false when no frame
// was ever copied.
func (l *liveState) snapshot(fresh, wait time.Duration, fn func(sn *liveSnap, gen int64)) bool {
	l.snapMu.Lock()
	old := l.snap.at
	l.snapMu.Unlock()
	if old.IsZero() || time.Since(old) > fresh {
		gen := l.snapGen.Load()
		l.want.Store(true)
		deadline := time.NewTimer(wait)
		defer deadline.Stop()
		for l.snapGen.Load() == gen {
			select {
			case <-l.snapped:
			case <-deadline.C:
				goto done
			}
		}
	}
done:
	l.snapMu.Lock()
	defer l.snapMu.Unlock()
	if l.snap.at.IsZero() {
		return false
	}
	fn(&l.snap, l.snapGen.Load())
	return true
}

// live runs the --http and --mqtt parts of a stream.
type live struct {
	state *liveState
	web   *liveWeb
	mq    *mqttSink
}

// Tests watch a running stream through these (nil in the program).
var liveStartedHook, liveClosingHook func(*live)

// startLive starts what o asks for; nil when neither --http nor --mqtt.
func startLive(o *liveOpts, st *streamer, g *camera.Grabber, src camera.Source, info liveInfo, frameTimeout time.Duration, stderr io.Writer) (*live, error) {
	if o.http == "" && o.mqtt.url == "" {
		if o.httpToken != "" {
			return nil, errors.New("--http-token needs --http")
		}
		return nil, o.mqtt.checkUnused()
	}
	lv := &live{state: newLiveState(st, g, info, src.Format().FrameSize())}
	if r, ok := src.(interface{ Reconnects() int64 }); ok {
		lv.state.recon = r.Reconnects
	}
	if o.http == "" && o.httpToken != "" {
		return nil, errors.New("--http-token needs --http")
	}
	if o.mqtt.url == "" {
		if err := o.mqtt.checkUnused(); err != nil {
			return nil, err
		}
	} else {
		mq, err := startMQTT(&o.mqtt, lv.state, stderr)
		if err != nil {
			return nil, err
		}
		lv.mq = mq
	}
	if o.http != "" { // after MQTT: /metrics counts its messages
		w, err := startWeb(o, lv.state, frameTimeout, stderr)
		if err != nil {
			lv.close(io.Discard)
			return nil, err
		}
		lv.web = w
	}
	st.sink = lv.state
	if liveStartedHook != nil {
		liveStartedHook(lv)
	}
	return lv, nil
}

// close stops the server and says goodbye to the broker; w gets the MQTT
// summary.
func (lv *live) close(w io.Writer) {
	if lv == nil {
		return
	}
	if liveClosingHook != nil {
		liveClosingHook(lv)
	}
	lv.state.failed.Store(lv.state.s.failed)
	if lv.mq != nil {
		lv.mq.close(w)
	}
	if lv.web != nil {
		lv.web.close()
	}
}

// buildVersion is the version `mixedge version` prints.
func buildVersion() string {
	v := version
	if info, ok := debug.ReadBuildInfo(); v == "" && ok {
		v = info.Main.Version
	}
	if v == "" || v == "(devel)" {
		v = "devel"
	}
	return v
}

func hostname() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "mixedge"
	}
	return h
}

func newLiveInfo(o *streamOpts, m *classifier) liveInfo {
	n := m.int8
	return liveInfo{Version: buildVersion(), Model: o.model, Arch: n.Q.G.Arch.Name, Kernels: n.K.Name, Threads: n.Threads(),
		Source: o.source, Input: n.Q.G.InputSize, Arena: n.ArenaBytes(), Top: o.top}
}
