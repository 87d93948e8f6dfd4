package main

import (
	"bytes"
	"context"
	"crypto/subtle"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"image"
	"image/jpeg"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/mixedge/mixedge/camera"
)

//go:embed web/index.html web/app.js web/style.css web/favicon.svg
var webFiles embed.FS

// webPeriod is how often a page gets an update (and at most how often a
// frame is copied for its pictures): 2 per second.
const webPeriod = 500 * time.Millisecond

// liveWeb is the --http server.
type liveWeb struct {
	st           *liveState
	token        []byte
	frameTimeout time.Duration
	srv          *http.Server
	ln           net.Listener
	done         chan struct{}
	reg          *prometheus.Registry
	stage        [3]prometheus.Observer // capture, preprocess, infer

	fusedMu sync.Mutex // the page's own fused transform (networkView)
	fused   *camera.Fused
	fusedIn []int8

	jpegMu  sync.Mutex
	jpegGen int64
	jpegs   map[string][]byte // view → JPEG of snapshot jpegGen
}

// listenAddr makes an address without a host loopback-only.
func listenAddr(a string) (string, error) {
	if _, err := strconv.Atoi(a); err == nil {
		a = ":" + a
	}
	host, port, err := net.SplitHostPort(a)
	if err != nil {
		return "", fmt.Errorf("--http %q: want [HOST]:PORT, e.g. :8080 or 0.0.0.0:8080 (%v)", a, err)
	}
	if host == "" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port), nil
}

func startWeb(o *liveOpts, st *liveState, frameTimeout time.Duration, stderr io.Writer) (*liveWeb, error) {
	if frameTimeout <= 0 {
		return nil, fmt.Errorf("--frame-timeout %v: want a positive duration (/healthz uses it)", frameTimeout)
	}
	addr, err := listenAddr(o.http)
	if err != nil {
		return nil, err
	}
	token := o.httpToken
	if token == "" {
		token = os.Getenv("MIXEDGE_HTTP_TOKEN")
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--http %s: %w", o.http, err)
	}
	w := &liveWeb{st: st, frameTimeout: frameTimeout, ln: ln, done: make(chan struct{}), jpegs: map[string][]byte{}}
	if token != "" {
		w.token = []byte(token)
	}
	w.registerMetrics()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", w.index)
	mux.HandleFunc("GET /favicon.svg", w.page("web/favicon.svg", "image/svg+xml"))
	mux.HandleFunc("GET /app.js", w.page("web/app.js", "text/javascript; charset=utf-8"))
	mux.HandleFunc("GET /style.css", w.page("web/style.css", "text/css; charset=utf-8"))
	mux.HandleFunc("GET /api/latest", w.apiLatest)
	mux.HandleFunc("GET /api/info", w.apiInfo)
	mux.HandleFunc("GET /snapshot.jpg", w.snapshotJPEG)
	mux.HandleFunc("GET /events", w.events)
	mux.HandleFunc("GET /healthz", w.healthz)
	mux.Handle("GET /metrics", promhttp.HandlerFor(w.reg, promhttp.HandlerOpts{}))
	w.srv = &http.Server{Handler: w.guard(mux), ReadHeaderTimeout: 5 * time.Second, ErrorLog: nil}
	go w.srv.Serve(ln)
	host, _, _ := net.SplitHostPort(ln.Addr().String())
	if ip := net.ParseIP(host); (ip == nil || !ip.IsLoopback()) && w.token == nil {
		fmt.Fprintf(stderr, "mixedge stream: serving http://%s/ to the network without --http-token: anyone who can reach it sees the camera\n", ln.Addr())
	} else {
		fmt.Fprintf(stderr, "mixedge stream: serving http://%s/\n", ln.Addr())
	}
	return w, nil
}

// Addr is the address the server listens on.
func (w *liveWeb) Addr() string { return w.ln.Addr().String() }

func (w *liveWeb) close() {
	close(w.done) // ends the event streams
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if w.srv.Shutdown(ctx) != nil {
		w.srv.Close()
	}
}

// guard sets the security headers and checks the token (all but /healthz).
func (w *liveWeb) guard(h http.Handler) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		hd := rw.Header()
		hd.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "no-referrer") // the token may be in the URL
		hd.Set("X-Frame-Options", "DENY")
		if w.token != nil && r.URL.Path != "/healthz" {
			got := r.URL.Query().Get("token")
			if a := r.Header.Get("Authorization"); strings.HasPrefix(a, "Bearer ") {
				got = strings.TrimPrefix(a, "Bearer ")
			}
			if subtle.ConstantTimeCompare([]byte(got), w.token) != 1 {
				hd.Set("WWW-Authenticate", `Bearer realm="mixedge"`)
				http.Error(rw, "401 unauthorized: this stream needs its token (Authorization: Bearer TOKEN, or ?token=TOKEN)", http.StatusUnauthorized)
				return
			}
		}
		h.ServeHTTP(rw, r)
	})
}

func (w *liveWeb) page(name, ctype string) http.HandlerFunc {
	b, err := webFiles.ReadFile(name)
	if err != nil {
		panic(err) // embedded at build time
	}
	return func(rw http.ResponseWriter, r *http.Request) {
		rw.Header().Set("Content-Type", ctype)
		rw.Header().Set("Cache-Control", "no-cache")
		rw.Write(b)
	}
}

// index serves the page; with a token, the links to its script, style and
// icon carry it (a page cannot send a header with them).
func (w *liveWeb) index(rw http.ResponseWriter, r *http.Request) {
	q := ""
	if w.token != nil {
		q = "?token=" + url.QueryEscape(string(w.token))
	}
	rw.Header().Set("Content-Type", "text/html; charset=utf-8")
	rw.Header().Set("Cache-Control", "no-store")
	indexTemplate.Execute(rw, q)
}

var indexTemplate = template.Must(template.ParseFS(webFiles, "web/index.html"))

func (w *liveWeb) apiLatest(rw http.ResponseWriter, r *http.Request) {
	l := w.st.latest()
	rw.Header().Set("Cache-Control", "no-store")
	if l.Frames == 0 {
		http.Error(rw, "no frame classified yet", http.StatusServiceUnavailable)
		return
	}
	rw.Header().Set("Content-Type", "application/json")
	rw.Write(l.Line)
}

func (w *liveWeb) apiInfo(rw http.ResponseWriter, r *http.Request) {
	rw.Header().Set("Content-Type", "application/json")
	json.NewEncoder(rw).Encode(w.st.info)
}

func (w *liveWeb) healthz(rw http.ResponseWriter, r *http.Request) {
	rw.Header().Set("Cache-Control", "no-store")
	last := time.Unix(0, w.st.lastFrame.Load())
	what := "last frame"
	if w.st.lastFrame.Load() == 0 {
		last, what = w.st.start, "start"
	}
	if age := time.Since(last); age > w.frameTimeout {
		http.Error(rw, fmt.Sprintf("stalled: no frame for %.1f s since %s (--frame-timeout %v)", age.Seconds(), what, w.frameTimeout), http.StatusServiceUnavailable)
		return
	}
	fmt.Fprintf(rw, "ok: %d frames\n", w.st.latest().Frames)
}

// snapshotJPEG serves the newest frame: ?view=source (default, scaled to at
// most 480 pixels wide) or ?view=crop (the network's input, dequantized).
func (w *liveWeb) snapshotJPEG(rw http.ResponseWriter, r *http.Request) {
	view := r.URL.Query().Get("view")
	if view == "" {
		view = "source"
	}
	if view != "source" && view != "crop" {
		http.Error(rw, "view: want source or crop", http.StatusBadRequest)
		return
	}
	rw.Header().Set("Cache-Control", "no-store, max-age=0")
	var (
		gen    int64
		have   []byte
		data   []byte
		format camera.FrameFormat
	)
	ok := w.st.snapshot(webPeriod*4/5, time.Second, func(sn *liveSnap, g int64) {
		gen = g
		w.jpegMu.Lock()
		if w.jpegGen == g {
			have = w.jpegs[view]
		}
		w.jpegMu.Unlock()
		if have == nil {
			data, format = append([]byte(nil), sn.data...), sn.format
		}
	})
	if !ok {
		http.Error(rw, "no frame yet", http.StatusServiceUnavailable)
		return
	}
	if have == nil {
		var img *camera.RGB
		var err error
		if view == "crop" {
			img, err = w.networkView(data, format)
		} else if img, err = camera.ConvertFrame(data, format); err == nil {
			img = shrink(img, 480)
		}
		if err != nil {
			http.Error(rw, err.Error(), http.StatusInternalServerError)
			return
		}
		var b bytes.Buffer
		jpeg.Encode(&b, rgbImage(img), &jpeg.Options{Quality: 80})
		have = b.Bytes()
		w.jpegMu.Lock()
		if w.jpegGen != gen {
			w.jpegGen, w.jpegs = gen, map[string][]byte{}
		}
		w.jpegs[view] = have
		w.jpegMu.Unlock()
	}
	rw.Header().Set("Content-Type", "image/jpeg")
	rw.Header().Set("Content-Length", strconv.Itoa(len(have)))
	rw.Write(have)
}

// networkView is the picture the network saw: the frame through the same
// fused transform (crop, resize, quantize), dequantized back to RGB.
func (w *liveWeb) networkView(frame []byte, f camera.FrameFormat) (*camera.RGB, error) {
	s := w.st.s
	q := s.net.Q.In
	w.fusedMu.Lock()
	defer w.fusedMu.Unlock()
	if w.fused == nil || w.fused.Format() != f { // made once per frame format
		fu, err := s.pre.NewFused(f, camera.Quant{Scale: q.Scale, Zero: q.Zero})
		if err != nil {
			return nil, err
		}
		w.fused, w.fusedIn = fu, make([]int8, 3*fu.Size()*fu.Size())
	}
	size, in := w.fused.Size(), w.fusedIn
	if err := w.fused.Apply(in, frame); err != nil {
		return nil, err
	}
	img := camera.NewRGB(size, size)
	for i, v := range in {
		c := i % 3
		x := float32(int32(v)-q.Zero)*q.Scale*s.pre.Std[c] + s.pre.Mean[c]
		img.Pix[i] = uint8(min(max(x*255+0.5, 0), 255))
	}
	return img, nil
}

// shrink scales img down (box filter) to at most maxW pixels wide.
func shrink(img *camera.RGB, maxW int) *camera.RGB {
	f := (img.W + maxW - 1) / maxW
	if f <= 1 {
		return img
	}
	w, h := img.W/f, img.H/f
	out := camera.NewRGB(w, h)
	for y := range h {
		for x := range w {
			for c := range 3 {
				sum := 0
				for dy := range f {
					row := (y*f + dy) * img.W
					for dx := range f {
						sum += int(img.Pix[3*(row+x*f+dx)+c])
					}
				}
				out.Pix[3*(y*w+x)+c] = uint8(sum / (f * f))
			}
		}
	}
	return out
}

func rgbImage(img *camera.RGB) image.Image {
	m := image.NewRGBA(image.Rect(0, 0, img.W, img.H))
	for i := range img.W * img.H {
		copy(m.Pix[4*i:4*i+3], img.Pix[3*i:3*i+3])
		m.Pix[4*i+3] = 255
	}
	return m
}

// liveUpdate is one server-sent "frame" event.
type liveUpdate struct {
	Frame      int64        `json:"frame"`
	TS         time.Time    `json:"ts"`
	Top        []scored     `json:"top"`
	Latency    liveLatency  `json:"latency_ms"`
	Frames     int64        `json:"frames"`
	Dropped    int64        `json:"dropped"`
	Corrupt    int64        `json:"corrupt"`
	Reconnects int64        `json:"reconnects"`
	FPS        float64      `json:"fps"`
	Uptime     float64      `json:"uptime_s"`
	Snapshot   bool         `json:"snapshot"` // pictures can be fetched
	History    [][5]float64 `json:"history"`  // [unix s, frames, capture ms, preprocess ms, infer ms] per second
	MQTT       *mqttStatus  `json:"mqtt,omitempty"`
}

type liveLatency struct {
	Capture    float64 `json:"capture"`
	Preprocess float64 `json:"preprocess"`
	Infer      float64 `json:"infer"`
}

// events streams updates to one page (Server-Sent Events) every webPeriod
// while there is news, until the page or the stream goes away. A page
// that stops reading is dropped after a write timeout; the frame loop
// never waits for it.
func (w *liveWeb) events(rw http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(rw)
	h := rw.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	send := func(event string, v any) bool {
		b, err := json.Marshal(v)
		if err != nil {
			return false
		}
		rc.SetWriteDeadline(time.Now().Add(10 * time.Second))
		if _, err := fmt.Fprintf(rw, "event: %s\ndata: %s\n\n", event, b); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	if _, err := io.WriteString(rw, "retry: 2000\n\n"); err != nil {
		return
	}
	if !send("info", w.st.info) {
		return
	}
	var lastFrames int64 = -1
	var lastSec int64
	tick := time.NewTicker(webPeriod)
	defer tick.Stop()
	for {
		l := w.st.latest()
		hist, fps := w.st.history(lastSec)
		if l.Frames != lastFrames || len(hist) > 0 {
			u := liveUpdate{Frame: l.Seq, TS: l.TS, Top: l.Top, Frames: l.Frames, Dropped: w.st.g.Dropped(), Corrupt: w.st.corrupt(),
				Reconnects: w.st.reconnects(), FPS: fps, Uptime: time.Since(w.st.start).Seconds(), Snapshot: l.Frames > 0,
				Latency: liveLatency{ms(l.Capture), ms(l.Preprocess), ms(l.Infer)}, History: [][5]float64{}}
			for _, s := range hist {
				n := float64(s.N)
				u.History = append(u.History, [5]float64{float64(s.Unix), n, ms(s.Capture) / n, ms(s.Preprocess) / n, ms(s.Infer) / n})
				lastSec = s.Unix
			}
			if mq := w.st.mqtt; mq != nil {
				st := mq.status()
				u.MQTT = &st
			}
			if !send("frame", u) {
				return
			}
			lastFrames = l.Frames
		}
		select {
		case <-tick.C:
		case <-r.Context().Done():
			return
		case <-w.done:
			return
		}
	}
}

// registerMetrics builds /metrics: counters read at scrape time from the
// grabber and the live state, histograms fed by the frame loop.
func (w *liveWeb) registerMetrics() {
	st := w.st
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	counter := func(name, help string, f func() int64) {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 { return float64(f()) }))
	}
	counter("mixedge_frames_total", "Frames classified.", func() int64 { return st.latest().Frames })
	counter("mixedge_frames_dropped_total", "Frames replaced by a newer one before inference took them.", st.g.Dropped)
	counter("mixedge_frames_corrupt_total", "Frames skipped as corrupt or impossible to transform.", st.corrupt)
	counter("mixedge_source_reconnects_total", "Times the camera was reopened (--reconnect).", st.reconnects)
	stage := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "mixedge_stage_duration_seconds",
		Help:    "Time per frame in each stage: capture (waiting from the frame's last byte to preprocessing), preprocess, infer.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 13)}, []string{"stage"})
	reg.MustRegister(stage)
	for i, s := range []string{"capture", "preprocess", "infer"} {
		w.stage[i] = stage.WithLabelValues(s) // resolved once: observing allocates nothing
	}
	st.sinks = append(st.sinks, func(s *streamer, f *camera.Frame) {
		w.stage[0].Observe(s.capture.Seconds())
		w.stage[1].Observe(s.preprocess.Seconds())
		w.stage[2].Observe(s.infer.Seconds())
	})
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "mixedge_last_frame_timestamp_seconds",
		Help: "Unix time of the newest classified frame."}, func() float64 { return float64(st.lastFrame.Load()) / 1e9 }))
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "mixedge_arena_bytes",
		Help: "Bytes of the inference arena (all activations of a frame)."}, func() float64 { return float64(st.info.Arena) }))
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "mixedge_build_info",
		Help:        "Always 1; the labels say the version, model, kernel tier and threads.",
		ConstLabels: prometheus.Labels{"version": st.info.Version, "model": st.info.Model, "arch": st.info.Arch, "kernels": st.info.Kernels, "threads": strconv.Itoa(st.info.Threads)}},
		func() float64 { return 1 }))
	reg.MustRegister(top1Collector{st: st, desc: prometheus.NewDesc("mixedge_top1_score",
		"Score of the newest frame's best class, labelled with the class.", []string{"label", "index"}, nil)})
	if st.mqtt != nil {
		mq := st.mqtt
		counter("mixedge_mqtt_published_total", "MQTT messages the broker acknowledged.", func() int64 { return mq.status().Published })
		counter("mixedge_mqtt_dropped_total", "MQTT messages dropped because the queue was full (broker away or slow).", func() int64 { return mq.status().Dropped })
	}
	w.reg = reg
}

// top1Collector exports the current best class as one labelled gauge
// (read at scrape time, so the frame loop does nothing for it).
type top1Collector struct {
	st   *liveState
	desc *prometheus.Desc
}

func (c top1Collector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c top1Collector) Collect(ch chan<- prometheus.Metric) {
	l := c.st.latest()
	if len(l.Top) == 0 {
		return
	}
	ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(l.Top[0].Score), l.Top[0].Label, strconv.Itoa(l.Top[0].Index))
}

var _ = errors.New
