package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"image/jpeg"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mixedge/mixedge/camera"
	"github.com/mixedge/mixedge/model"
	"github.com/mixedge/mixedge/model/safetensors"
)

// liveClip is a tiny model and two pictures it labels differently, as raw
// I420 frames: the stream's content "changes" when the frames do.
type liveClip struct {
	fw     string
	f      camera.FrameFormat
	a, b   []byte // frames
	la, lb string // their top-1 labels
}

// liveModel is the tiny model the live tests share (converted once; TestMain
// removes it).
var liveModel struct {
	once    sync.Once
	dir, fw string
}

func liveTinyModel(t *testing.T) string {
	t.Helper()
	liveModel.once.Do(func() {
		dir, err := os.MkdirTemp("", "mixedge-live-")
		if err != nil {
			t.Fatal(err)
		}
		liveModel.dir = dir
		liveModel.fw = tinyModel(t, dir, 64)
	})
	if liveModel.fw == "" {
		t.Fatal("the tiny model could not be made (see the first test that tried)")
	}
	return liveModel.fw
}

// newLiveClip converts the synthetic tiny model and looks for two
// synthetic pictures whose top-1 classes differ.
func newLiveClip(t *testing.T) *liveClip {
	t.Helper()
	c := &liveClip{fw: liveTinyModel(t), f: camera.FrameFormat{Pix: camera.I420, W: 64, H: 48}}
	m, err := loadClassifier(&classifyOpts{model: c.fw, threads: 1}, map[string]bool{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.close()
	s, err := newStreamer(m.int8, m.pre, m.labels, 1, c.f)
	if err != nil {
		t.Fatal(err)
	}
	first := -1
	for seed := range 64 {
		fr := encodeFrames(t, c.f, 1, uint64(1000+seed))[0]
		if err := s.process(&camera.Frame{Format: c.f, Data: fr, Time: time.Now()}); err != nil {
			t.Fatal(err)
		}
		switch {
		case first < 0:
			first, c.a, c.la = s.top[0].Index, fr, s.top[0].Label
		case s.top[0].Index != first:
			c.b, c.lb = fr, s.top[0].Label
			return c
		}
	}
	t.Fatalf("the tiny model gives class %d to 64 different pictures", first)
	return nil
}

// y4mRuns writes a clip of runs of frames alternating a, b, a, ...
func (c *liveClip) y4mRuns(t *testing.T, runs ...int) string {
	var b bytes.Buffer
	camera.WriteY4MHeader(&b, c.f, 30, 1)
	for i, n := range runs {
		fr := c.a
		if i%2 == 1 {
			fr = c.b
		}
		for range n {
			b.WriteString("FRAME\n")
			b.Write(fr)
		}
	}
	p := filepath.Join(t.TempDir(), "clip.y4m")
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// liveRun is a stream running in this process (run, on a goroutine).
type liveRun struct {
	out, errs syncBuffer
	done      chan int
	lv        chan *live
	closing   func(*live) // called when the stream ends, before the server stops
}

// startLiveRun runs `mixedge args...` with stdin from stdin; it returns
// once the live parts started (or the command ended).
func startLiveRun(t *testing.T, stdin io.Reader, closing func(*live), args ...string) (*liveRun, *live) {
	t.Helper()
	r := &liveRun{done: make(chan int, 1), lv: make(chan *live, 1), closing: closing}
	liveStartedHook = func(lv *live) { r.lv <- lv }
	liveClosingHook = func(lv *live) {
		if r.closing != nil {
			r.closing(lv)
		}
	}
	streamStdin = stdin
	t.Cleanup(func() { liveStartedHook, liveClosingHook, streamStdin = nil, nil, os.Stdin })
	go func() { r.done <- run(args, &r.out, &r.errs) }()
	select {
	case lv := <-r.lv:
		return r, lv
	case code := <-r.done:
		r.done <- code
		return r, nil
	case <-time.After(60 * time.Second):
		t.Fatalf("%v: did not start", args)
	}
	return nil, nil
}

func (r *liveRun) wait(t *testing.T) int {
	t.Helper()
	select {
	case code := <-r.done:
		return code
	case <-time.After(120 * time.Second):
		t.Fatalf("stream did not end\n%s\n%s", r.out.String(), r.errs.String())
	}
	return -1
}

var summaryRE = regexp.MustCompile(`summary: (\d+) frames, (\d+) dropped, (\d+) corrupt`)

// httpGet fetches url with an optional bearer token.
func httpGet(t *testing.T, url, token string) (int, http.Header, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

// metricValue reads one sample from the Prometheus text format.
func metricValue(t *testing.T, text, name string) float64 {
	t.Helper()
	for _, line := range strings.Split(text, "\n") {
		if rest, ok := strings.CutPrefix(line, name+" "); ok {
			v, err := strconv.ParseFloat(rest, 64)
			if err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			return v
		}
	}
	t.Fatalf("no %s in /metrics:\n%s", name, text)
	return 0
}

// lookTool finds a program on PATH or in the sbin directories.
func lookTool(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, d := range []string{"/usr/sbin", "/sbin", "/usr/local/sbin"} {
		p := filepath.Join(d, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found on PATH or in /usr/sbin (Debian package: %s)", name, map[string]string{
		"mosquitto": "mosquitto", "promtool": "prometheus", "chromium": "chromium"}[name])
}

// The web side with a live pipe: the token, every endpoint, the stall
// seen by /healthz, a page that never reads its events while 300 frames go
// through, and /metrics (promtool-clean) agreeing with the summary.
func TestLiveHTTP(t *testing.T) {
	c := newLiveClip(t)
	const token = "s3cret-token"
	pr, pw := io.Pipe()
	var metricsAtEnd string
	var base string
	r, lv := startLiveRun(t, pr, func(lv *live) {
		_, _, b := httpGet(t, base+"/metrics", token)
		metricsAtEnd = string(b)
	}, "stream", "--model", c.fw, "--source", "pipe:-", "--format", "i420", "--size", "64x48", "--threads", "1",
		"--top", "3", "--drop", "off", "--http", "127.0.0.1:0", "--http-token", token, "--frame-timeout", "1s")
	if lv == nil || lv.web == nil {
		t.Fatalf("no server: %s", r.errs.String())
	}
	defer pw.Close()
	base = "http://" + lv.web.Addr()
	slowFrames := int64(300)
	if testing.Short() {
		slowFrames = 60 // qemu
	}

	if code, _, b := httpGet(t, base+"/healthz", ""); code != 200 {
		t.Errorf("/healthz before the first frame (within --frame-timeout): %d %s", code, b)
	}
	if code, _, _ := httpGet(t, base+"/api/latest", token); code != 503 {
		t.Errorf("/api/latest before the first frame: %d, want 503", code)
	}
	writeFrames := func(fr []byte, n int) {
		for range n {
			if _, err := pw.Write(fr); err != nil {
				t.Fatal(err)
			}
		}
	}
	waitFrames := func(n int64) liveLatest {
		deadline := time.Now().Add(60 * time.Second)
		for time.Now().Before(deadline) {
			if l := lv.state.latest(); l.Frames >= n {
				return l
			}
			time.Sleep(5 * time.Millisecond)
		}
		t.Fatalf("stream stuck at %d frames, want %d", lv.state.latest().Frames, n)
		return liveLatest{}
	}
	writeFrames(c.a, 5)
	waitFrames(5)

	t.Run("Token", func(t *testing.T) {
		for _, tc := range []struct {
			path, tok string
			want      int
		}{
			{"/api/latest", "", 401}, {"/api/latest", "wrong", 401}, {"/api/latest", token, 200},
			{"/api/latest?token=" + token, "", 200}, {"/api/latest?token=nope", "", 401},
			{"/metrics", "", 401}, {"/events?token=x", "", 401}, {"/snapshot.jpg", "", 401}, {"/", "", 401},
			{"/healthz", "", 200}, {"/nothing-here", token, 404}, {"/../etc/passwd", token, 404}, {"/web/index.html", token, 404},
		} {
			code, h, b := httpGet(t, base+tc.path, tc.tok)
			if code != tc.want {
				t.Errorf("GET %s (token %q): %d, want %d: %s", tc.path, tc.tok, code, tc.want, b)
			}
			if code == 401 && !strings.HasPrefix(h.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("401 without WWW-Authenticate: %v", h)
			}
		}
	})

	t.Run("Endpoints", func(t *testing.T) {
		code, h, b := httpGet(t, base+"/", token)
		if code != 200 || !strings.Contains(string(b), `<script src="app.js?token=`+token+`">`) || !strings.Contains(h.Get("Content-Security-Policy"), "default-src 'none'") ||
			h.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("page: %d %v", code, h)
		}
		for _, p := range []string{"/app.js", "/style.css"} {
			if code, _, _ := httpGet(t, base+p, token); code != 200 {
				t.Errorf("%s: %d", p, code)
			}
		}
		code, _, b = httpGet(t, base+"/api/latest", token)
		var line streamLine
		if err := json.Unmarshal(b, &line); err != nil || code != 200 {
			t.Fatalf("/api/latest: %d %v: %s", code, err, b)
		}
		if line.Frame != 4 || len(line.Top) != 3 || line.Top[0].Label != c.la || line.Latency.Infer == nil {
			t.Errorf("/api/latest: %s (want frame 4, top-1 %q)", b, c.la)
		}
		for view, size := range map[string][2]int{"source": {64, 48}, "crop": {64, 64}} {
			code, h, b := httpGet(t, base+"/snapshot.jpg?view="+view, token)
			if code != 200 || h.Get("Content-Type") != "image/jpeg" || !strings.Contains(h.Get("Cache-Control"), "no-store") {
				t.Fatalf("snapshot %s: %d %v", view, code, h)
			}
			img, err := jpeg.Decode(bytes.NewReader(b))
			if err != nil {
				t.Fatalf("snapshot %s: %v", view, err)
			}
			if r := img.Bounds(); r.Dx() != size[0] || r.Dy() != size[1] {
				t.Errorf("snapshot %s is %v, want %dx%d", view, r, size[0], size[1])
			}
		}
		if code, _, _ := httpGet(t, base+"/snapshot.jpg?view=../x", token); code != 400 {
			t.Errorf("bad view: %d", code)
		}
		// The events: an info event, then frames with the label.
		resp, err := http.Get(base + "/events?token=" + token)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
			t.Errorf("/events Content-Type %q", ct)
		}
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(nil, 1<<20)
		var events []string
		for sc.Scan() && len(events) < 2 {
			if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				events = append(events, d)
			}
		}
		var info liveInfo
		var u liveUpdate
		if len(events) < 2 || json.Unmarshal([]byte(events[0]), &info) != nil || json.Unmarshal([]byte(events[1]), &u) != nil {
			t.Fatalf("events: %q", events)
		}
		if info.Threads != 1 || info.Input != 64 || info.Kernels == "" || u.Frames != 5 || u.Top[0].Label != c.la {
			t.Errorf("events: info %+v, update %+v", info, u)
		}
	})

	t.Run("SlowClient", func(t *testing.T) {
		// A page that never reads its events, and a client that pipelines
		// 200 snapshot requests without reading the answers: their
		// handlers block in writes; the frame loop and other clients go on.
		dial := func(req string, n int) net.Conn {
			conn, err := net.Dial("tcp", lv.web.Addr())
			if err != nil {
				t.Fatal(err)
			}
			conn.(*net.TCPConn).SetReadBuffer(1024)
			go func() {
				for range n {
					if _, err := io.WriteString(conn, req); err != nil {
						return
					}
				}
			}()
			return conn
		}
		defer dial(fmt.Sprintf("GET /events?token=%s HTTP/1.1\r\nHost: x\r\n\r\n", token), 1).Close()
		defer dial(fmt.Sprintf("GET /snapshot.jpg?view=crop&token=%s HTTP/1.1\r\nHost: x\r\n\r\n", token), 200).Close()
		start := time.Now()
		writeFrames(c.b, int(slowFrames))
		l := waitFrames(5 + slowFrames)
		if l.Seq != 4+slowFrames || l.Top[0].Label != c.lb {
			t.Errorf("after %d frames of b: frame %d, %v", slowFrames, l.Seq, l.Top)
		}
		if code, _, _ := httpGet(t, base+"/healthz", ""); code != 200 {
			t.Errorf("/healthz beside the stuck clients: %d", code)
		}
		t.Logf("%d frames beside two stuck clients in %v", slowFrames, time.Since(start))
	})

	t.Run("Stalled", func(t *testing.T) {
		time.Sleep(1500 * time.Millisecond) // > --frame-timeout without a frame
		code, _, b := httpGet(t, base+"/healthz", "")
		if code != 503 || !strings.Contains(string(b), "stalled") {
			t.Errorf("/healthz of a stalled stream: %d %s", code, b)
		}
		writeFrames(c.a, 1)
		waitFrames(6 + slowFrames)
		if code, _, b := httpGet(t, base+"/healthz", ""); code != 200 {
			t.Errorf("/healthz after a new frame: %d %s", code, b)
		}
	})

	pw.Close()
	if code := r.wait(t); code != 0 {
		t.Fatalf("exit %d: %s", code, r.errs.String())
	}
	m := summaryRE.FindStringSubmatch(r.out.String())
	if m == nil {
		t.Fatalf("no summary: %s", r.out.String())
	}
	for i, name := range []string{"mixedge_frames_total", "mixedge_frames_dropped_total", "mixedge_frames_corrupt_total"} {
		if got := metricValue(t, metricsAtEnd, name); strconv.FormatFloat(got, 'f', -1, 64) != m[i+1] {
			t.Errorf("%s %v, summary says %s", name, got, m[i+1])
		}
	}
	if !strings.Contains(metricsAtEnd, `mixedge_top1_score{index=`) || !strings.Contains(metricsAtEnd, fmt.Sprintf(`mixedge_stage_duration_seconds_count{stage="infer"} %d`, 6+slowFrames)) ||
		!strings.Contains(metricsAtEnd, "mixedge_build_info{") {
		t.Errorf("/metrics lacks the top-1 gauge, the stage histograms or build info:\n%s", metricsAtEnd)
	}
	t.Run("Promtool", func(t *testing.T) {
		promtool, err := lookTool("promtool")
		if err != nil {
			t.Skipf("promtool check metrics: %v", err)
		}
		cmd := exec.Command(promtool, "check", "metrics")
		cmd.Stdin = strings.NewReader(metricsAtEnd)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool check metrics: %v\n%s", err, out)
		}
	})
}

// Start-up errors are clear and leave nothing running.
func TestLiveStartErrors(t *testing.T) {
	c := newLiveClip(t)
	clip := c.y4mRuns(t, 2)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	closed, _ := net.Listen("tcp", "127.0.0.1:0")
	deadAddr := closed.Addr().String()
	closed.Close()
	base := []string{"stream", "--model", c.fw, "--source", "y4m:" + clip, "--threads", "1"}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--http", ln.Addr().String()}, "address already in use"},
		{[]string{"--http", "nonsense"}, "want [HOST]:PORT"},
		{[]string{"--http", "127.0.0.1:0", "--frame-timeout", "0s"}, "/healthz uses it"},
		{[]string{"--http-token", "x"}, "--http-token needs --http"},
		{[]string{"--mqtt-user", "u"}, "need --mqtt URL"},
		{[]string{"--mqtt", "http://" + deadAddr}, "scheme"},
		{[]string{"--mqtt", "tcp://" + deadAddr}, "is the broker running?"},
		{[]string{"--mqtt", "tcp://" + deadAddr, "--stable-frames", "0"}, "--stable-frames 0"},
		{[]string{"--mqtt", "tcp://" + deadAddr, "--mqtt-ca", "/nonexistent/ca.pem"}, "--mqtt-ca"},
	} {
		code, _, errs := runCLI(t, append(base, tc.args...)...)
		if code == 0 || !strings.Contains(errs, tc.want) || strings.Contains(errs, "panic") {
			t.Errorf("%v: exit %d, want an error with %q: %s", tc.args, code, tc.want, errs)
		}
	}
}

// The frame loop allocates nothing with the live parts on: the state the
// page reads, the metrics' histograms, a snapshot copy on every frame, and
// the MQTT hysteresis queueing a state change on every frame.
func TestLiveAllocs(t *testing.T) {
	c := newLiveClip(t)
	m, err := loadClassifier(&classifyOpts{model: c.fw, threads: 1}, map[string]bool{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.close()
	s, err := newStreamer(m.int8, m.pre, m.labels, 3, c.f)
	if err != nil {
		t.Fatal(err)
	}
	g, err := camera.NewGrabber(loopSource(t, "pipe", c.f, -1), 3, true)
	if err != nil {
		t.Fatal(err)
	}
	st := newLiveState(s, g, liveInfo{}, c.f.FrameSize())
	mq := newMQTTSink(&mqttOpts{stableFrames: 1, queue: 8}, st, "test")
	st.mqtt = mq
	st.sinks = append(st.sinks, mq.frame)
	web, err := startWeb(&liveOpts{http: "127.0.0.1:0"}, st, time.Second, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer web.close()
	s.sink = st
	frames := [2]camera.Frame{{Format: c.f, Data: c.a}, {Format: c.f, Data: c.b}}
	i := 0
	step := func() {
		f := &frames[i%2]
		i++
		f.Seq, f.Time = int64(i), time.Now()
		if err := s.process(f); err != nil {
			t.Fatal(err)
		}
		st.want.Store(true)
		s.sink.frame(s, f)
	}
	step()
	step()
	if n := testing.AllocsPerRun(50, step); n != 0 {
		t.Errorf("%v allocations per frame with --http and --mqtt", n)
	}
	if st.snapGen.Load() < 50 || mq.changes.Load() < 50 || mq.dropped.Load() == 0 {
		t.Errorf("the sinks did not run: %d snapshots, %d state changes, %d dropped from the full queue",
			st.snapGen.Load(), mq.changes.Load(), mq.dropped.Load())
	}
	// Through the real loop too (the grabber, the line, the sink call).
	g.Start()
	ring := func() {
		f := g.Next()
		if err := s.process(f); err != nil {
			t.Fatal(err)
		}
		s.sink.frame(s, f)
		s.out = s.appendResult(s.out[:0], f.Seq, f.Time, true)
		g.Release(f)
	}
	ring()
	if n := testing.AllocsPerRun(50, ring); n != 0 {
		t.Errorf("through the ring: %v allocations per frame", n)
	}
	g.Stop()
}

// BenchmarkLiveSink is what --http and --mqtt add to each frame: the live
// state, the metrics, the MQTT hysteresis ("idle": nobody watching), and a
// 640x480 frame copied for the pictures ("snapshot": what a page costs
// the loop, at most about twice a second).
func BenchmarkLiveSink(b *testing.B) {
	fw := tinyModelB(b)
	m, err := loadClassifier(&classifyOpts{model: fw, threads: 1}, map[string]bool{})
	if err != nil {
		b.Fatal(err)
	}
	defer m.close()
	f := camera.FrameFormat{Pix: camera.I420, W: 640, H: 480}
	s, err := newStreamer(m.int8, m.pre, m.labels, 5, f)
	if err != nil {
		b.Fatal(err)
	}
	fr := &camera.Frame{Format: f, Data: encodeFrames(b, f, 1, 3)[0], Time: time.Now()}
	if err := s.process(fr); err != nil {
		b.Fatal(err)
	}
	g, _ := camera.NewGrabber(loopSource(b, "pipe", f, -1), 3, true)
	st := newLiveState(s, g, liveInfo{}, f.FrameSize())
	mq := newMQTTSink(&mqttOpts{stableFrames: 5, queue: 64}, st, "bench")
	st.mqtt = mq
	st.sinks = append(st.sinks, mq.frame)
	web, err := startWeb(&liveOpts{http: "127.0.0.1:0"}, st, time.Second, io.Discard)
	if err != nil {
		b.Fatal(err)
	}
	defer web.close()
	st.frame(s, fr)
	b.Run("idle", func(b *testing.B) {
		for b.Loop() {
			st.frame(s, fr)
		}
	})
	b.Run("snapshot", func(b *testing.B) {
		for b.Loop() {
			st.want.Store(true)
			st.frame(s, fr)
		}
	})
}

// tinyModelB is tinyModel for benchmarks.
func tinyModelB(b *testing.B) string {
	a, _ := model.LookupArch("mixnet_s")
	g, err := model.Build(a, 224, 1000)
	if err != nil {
		b.Fatal(err)
	}
	sd := g.SyntheticStateDict(5)
	var ts []safetensors.Tensor
	for _, e := range g.ExpectedTensors() {
		ts = append(ts, safetensors.F32Tensor(e.Key, e.Shape, sd[e.Key]))
	}
	dir := b.TempDir()
	w, fw := filepath.Join(dir, "synthetic.safetensors"), filepath.Join(dir, "s64.fw")
	if err := safetensors.WriteFile(w, ts, nil); err != nil {
		b.Fatal(err)
	}
	var out, errs bytes.Buffer
	if run([]string{"convert", "--weights", w, "--arch", "mixnet_s", "--input-size", "64", "--calib-synthetic", "1", "-o", fw}, &out, &errs) != 0 {
		b.Fatal(errs.String())
	}
	return fw
}
