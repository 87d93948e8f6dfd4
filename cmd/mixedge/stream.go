package main

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/mixedge/mixedge/camera"
	"github.com/mixedge/mixedge/camera/v4l2"
	"github.com/mixedge/mixedge/model"
)

// streamStdin is what pipe:- and y4m:- read (tests replace it).
var streamStdin io.Reader = os.Stdin

// streamV4L2Open opens v4l2: device nodes (nil: the real ones; tests pass a
// fake camera).
var streamV4L2Open v4l2.Opener

type streamOpts struct {
	classifyOpts
	source, format, size string
	stride               int
	maxFrames            int64
	fpsLimit             float64
	drop                 string
	buffers              int
	fps                  float64
	reconnect            bool
	colorRange           string
	frameTimeout         time.Duration
	profile              bool
	by, profileJSON      string
	live                 liveOpts // --http, --mqtt (live.go)
}

func runStream(args []string, stdout, stderr io.Writer) error {
	var o streamOpts
	fs := newFlagSet("stream", "[--model NAME|M.fw] --source SRC [flags]",
		`Classify a stream of camera frames with an int8 MixNet, one label per
frame, for as long as the stream lasts, in constant memory.

Sources (--source):
  pipe:- | pipe:PATH   raw frames back to back, --format i420|nv12|yuyv|rgb24
                       --size WxH [--stride N] (bytes per row of the first
                       plane when rows are padded), as written by
                       'rpicam-vid -t 0 --codec yuv420 -o -' or
                       'ffmpeg ... -f rawvideo -pix_fmt yuv420p -'
  y4m:FILE | y4m:-     YUV4MPEG2 (size, colour space 420*/422/444/mono and
                       frame rate from its header)
  files:GLOB | files:DIR   still PNG/JPEG images in name order (decoded as
                       classify does: big JPEGs at reduced size, nothing
                       over --max-pixels)
  v4l2:/dev/videoN     a USB webcam (Linux): --format yuyv|mjpeg and --size WxH
                       are requests (default: YUYV if offered, else MJPEG;
                       640x480), --fps N asks for a frame rate; the driver
                       picks the nearest it has and the choice is printed on
                       stderr. YUYV is copied as is; MJPEG is decoded (the
                       standard Huffman tables are supplied when frames lack
                       them) and needs more CPU: prefer YUYV up to 640x480.
                       A camera silent for --frame-timeout, or unplugged, ends
                       the stream with an error; --reconnect reopens it
                       (backoff up to 5 s) and goes on. A Raspberry Pi CSI
                       camera gives raw Bayer on /dev/video*: read it through
                       rpicam-vid into pipe:- instead.

Colour range: YUV from pipes and Y4M is BT.601 limited range (16-235), unless
a Y4M header says XCOLORRANGE=FULL; MJPEG is full range (JFIF, 0-255);
--range full|limited overrides (a washed-out or over-contrasted picture means
the range is wrong). Each frame goes from its pixel format straight into the
model's int8 input (colour conversion, PIL-exact bicubic resize, centre crop,
normalise, quantize in one pass; nothing allocated per frame, MJPEG decoding
aside).

Dropping (--drop): when inference is slower than the source, --drop on takes
the newest frame and counts the others as dropped; --drop off reads every
frame in order, and the source waits. auto (the default) drops only for a
live producer that cannot wait: v4l2:, and pipe: from a pipe (rpicam-vid).
A recording is read whole: any regular file, also on stdin
(pipe:- < clip.yuv), every y4m: source (ffmpeg ... -f yuv4mpegpipe - |
waits for the reader), and files:. For raw frames that ffmpeg decodes from
a recording into pipe:-, say --drop off. SIGINT/SIGTERM end the stream; a summary (frames,
dropped, corrupt, fps, latency percentiles) is printed at the end (on
stderr with --json). Corrupt frames are skipped and counted.

Output: a line per frame: 'frame N  LABEL SCORE  T ms' (T: preprocess +
inference + labels; for files: 'frame N  PATH  LABEL SCORE  T ms'), or
with --json:
  {"frame":N,"input":PATH,"ts":RFC3339NANO,"top":[{"index":I,"label":L,"score":P}],
   "latency_ms":{"capture":C,"preprocess":P,"infer":I}}
(N: the frame's index in the source; input: the image file, for files:
only, as in classify; ts: when its last byte was read; capture: how long it
waited from then until preprocessing began).

--profile times every op of every live frame (constant memory: one latency
histogram per op) and prints, after the summary, the stage times and the
same per-op table as 'mixedge bench --profile' (rows grouped with --by).
--profile-json FILE writes it as a mixedge.bench/1 document, which
'mixedge bench --compare' sets beside bench records or other streams.

--http ADDR serves a live page (the frame, the labels, fps, a latency chart),
/metrics for Prometheus, /api/latest, /snapshot.jpg, /events and /healthz;
--mqtt URL publishes the label (on change, with hysteresis: --stable-frames,
--min-score), stats and availability, with Home Assistant discovery
(--ha-discovery). Neither slows the frame loop: see the README's
"Dashboards and home automation".`,
		`  rpicam-vid -t 0 --codec yuv420 --width 640 --height 480 -o - | mixedge stream --model mixnet_s.fw --source pipe:- --format i420 --size 640x480
  ffmpeg -i clip.mp4 -f yuv4mpegpipe -pix_fmt yuv420p - | mixedge stream --model mixnet_s.fw --source y4m:- --json
  mixedge stream --model mixnet_s.fw --source y4m:clip.y4m --max-frames 100
  mixedge stream --model mixnet_s.fw --source v4l2:/dev/video0 --size 640x480 --fps 15 --reconnect
  mixedge stream --model mixnet_s.fw --source v4l2:/dev/video0 --format mjpeg --size 1280x720 --fps-limit 5
  mixedge stream --model mixnet_s.fw --source files:photos/ --top 3 --json
  mixedge stream --model mixnet_s.fw --source y4m:clip.y4m --profile --by kind --profile-json live.json
  mixedge stream --source v4l2:/dev/video0 --reconnect --http 0.0.0.0:8080 --http-token s3cret --mqtt tcp://broker:1883 --ha-discovery`, stderr)
	fs.StringVar(&o.model, "model", "", "a published model name (mixnet_s, mixnet_m, mixnet_l, tf_mixnet_s, ...; fetched and converted once) or an int8 .fw image (default mixnet_s)")
	fs.StringVar(&o.source, "source", "", "pipe:-|pipe:PATH, y4m:FILE|y4m:-, files:GLOB|files:DIR, v4l2:/dev/videoN")
	fs.StringVar(&o.format, "format", "", "pixel format of pipe: i420, nv12, yuyv, rgb24; asked of v4l2: yuyv, mjpeg")
	fs.StringVar(&o.size, "size", "", "frame size of pipe: WxH; asked of v4l2 (default 640x480)")
	fs.Float64Var(&o.fps, "fps", 0, "v4l2: frame rate to ask the camera for (0: its default)")
	fs.BoolVar(&o.reconnect, "reconnect", false, "v4l2: reopen an unplugged or stalled camera (with backoff) instead of ending")
	fs.DurationVar(&o.frameTimeout, "frame-timeout", 5*time.Second, "a v4l2 camera silent this long counts as stalled; /healthz (--http) fails after this long without a frame")
	fs.StringVar(&o.colorRange, "range", "", "YUV colour range: full or limited (default: the source's; limited for pipe and y4m, full for MJPEG)")
	fs.IntVar(&o.stride, "stride", 0, "pipe: bytes per row of the first plane (default: no padding)")
	fs.Int64Var(&o.maxFrames, "max-frames", 0, "stop after this many classified frames (0: no limit)")
	fs.Float64Var(&o.fpsLimit, "fps-limit", 0, "classify at most this many frames per second (0: no limit)")
	fs.StringVar(&o.drop, "drop", "auto", "on: take the newest frame, drop older ones; off: every frame in order; auto: on for v4l2: and raw pipes, off for files, stdin redirected from a file, y4m: and files:")
	fs.IntVar(&o.buffers, "buffers", 3, "frames in the capture ring")
	fs.BoolVar(&o.profile, "profile", false, "time every op of the live frames; print the per-op table at the end")
	fs.StringVar(&o.by, "by", "op", "with --profile: rows per op (one per layer), block, or kind")
	fs.StringVar(&o.profileJSON, "profile-json", "", "with --profile: write the profile as a mixedge.bench/1 document to `FILE`")
	fs.StringVar(&o.kernels, "kernels", "", "int8 kernel tier: auto, generic, avx2, avxvnni, vnni, neon, dotprod (default $MIXEDGE_KERNELS or auto)")
	fs.IntVar(&o.threads, "threads", runtime.NumCPU(), "goroutines per frame")
	fs.IntVar(&o.top, "top", 1, "classes per frame (the text line shows the first)")
	fs.BoolVar(&o.asJSON, "json", false, "print one JSON object per frame per line")
	fs.Float64Var(&o.cropPct, "crop-pct", 0, "centre-crop fraction (default: the model's)")
	fs.Var(&o.mean, "mean", "normalisation mean r,g,b (default: the model's)")
	fs.Var(&o.std, "std", "normalisation std r,g,b (default: the model's)")
	fs.StringVar(&o.labels, "labels", "", "file with one class name per line (default: the model's)")
	fs.Int64Var(&o.maxPixels, "max-pixels", defaultMaxPixels, "files: skip a picture that decodes to more pixels (big JPEGs decode at 1/2, 1/4 or 1/8 first)")
	addLiveFlags(fs, &o.live)
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) > 0:
		fmt.Fprintf(stderr, "mixedge stream: unexpected argument %q (the input is --source)\n", pos[0])
		fs.Usage()
		return errUsage
	case o.source == "":
		fmt.Fprintln(stderr, "mixedge stream: --source is required")
		fs.Usage()
		return errUsage
	case o.top < 1:
		return fmt.Errorf("--top %d: want at least 1", o.top)
	case o.maxPixels < 1:
		return fmt.Errorf("--max-pixels %d: want at least 1", o.maxPixels)
	case o.maxFrames < 0:
		return fmt.Errorf("--max-frames %d: want 0 or more", o.maxFrames)
	case o.fpsLimit < 0 || math.IsNaN(o.fpsLimit) || math.IsInf(o.fpsLimit, 0):
		return fmt.Errorf("--fps-limit %v: want a finite value >= 0", o.fpsLimit)
	case o.by != "op" && o.by != "block" && o.by != "kind":
		return fmt.Errorf("--by %q: want op, block or kind", o.by)
	}
	if o.profileJSON != "" {
		o.profile = true
		if err := checkOutput("--profile-json", o.profileJSON); err != nil {
			return err
		}
	}
	so := camera.SourceOptions{Stdin: streamStdin}
	kind, arg, _ := strings.Cut(o.source, ":")
	if kind == "pipe" {
		if o.format == "" || o.size == "" {
			return fmt.Errorf("--source %s needs --format and --size", o.source)
		}
		pix, err := camera.ParsePixelFormat(o.format)
		if err != nil {
			return fmt.Errorf("--format: %w", err)
		}
		w, h, err := camera.ParseSize(o.size)
		if err != nil {
			return fmt.Errorf("--size: %w", err)
		}
		so.Format = camera.FrameFormat{Pix: pix, W: w, H: h, Stride: o.stride}
		if err := so.Format.Validate(); err != nil {
			return err
		}
	} else if kind == "v4l2" {
		if o.stride != 0 {
			return fmt.Errorf("--stride applies to pipe: sources (a v4l2 driver says its own)")
		}
		so.V4L2 = camera.V4L2Options{Format: o.format, FPS: o.fps, Reconnect: o.reconnect, Timeout: o.frameTimeout, Open: streamV4L2Open}
		if o.size != "" {
			if so.V4L2.W, so.V4L2.H, err = camera.ParseSize(o.size); err != nil {
				return fmt.Errorf("--size: %w", err)
			}
		}
		if o.frameTimeout <= 0 {
			return fmt.Errorf("--frame-timeout %v: want a positive duration", o.frameTimeout)
		}
		stderr = &lockedWriter{w: stderr} // the capture goroutine reports reconnections
		log := stderr
		so.V4L2.Log = func(m string) { fmt.Fprintf(log, "mixedge stream: %s\n", m) }
	} else if o.format != "" || o.size != "" || o.stride != 0 {
		return fmt.Errorf("--format, --size and --stride apply to pipe: and v4l2: sources only (%s describes its own frames)", kind)
	}
	if kind != "v4l2" && (o.fps != 0 || o.reconnect) {
		return fmt.Errorf("--fps and --reconnect apply to v4l2: sources only (for a slower pace use --fps-limit)")
	}
	if o.colorRange != "" {
		if kind == "files" {
			return fmt.Errorf("--range applies to YUV sources (pipe, y4m, v4l2); images are RGB")
		}
		r, err := camera.ParseColorRange(o.colorRange)
		if err != nil {
			return fmt.Errorf("--range: %w", err)
		}
		so.Range = &r
	}
	drop := false
	switch o.drop {
	case "on":
		drop = true
	case "off":
	case "auto":
		drop = dropByDefault(kind, arg, streamStdin)
	default:
		return fmt.Errorf("--drop %q: want on, off or auto", o.drop)
	}

	fw, err := resolveModel(o.model, stderr) // "" = mixnet_s; names are fetched and converted once
	if err != nil {
		return err
	}
	o.model = fw
	m, err := loadClassifier(&o.classifyOpts, set(fs))
	if err != nil {
		return err
	}
	defer m.close()
	if m.int8 != nil {
		camera.UseKernels(m.int8.K.Name) // the fused preprocessing follows --kernels
	}
	pp, err := o.preprocess(m.pre)
	if err != nil {
		return err
	}
	labels := m.labels
	so.Decode = o.decodeOptions(pp)
	src, err := camera.OpenSource(o.source, so)
	if err != nil {
		return err
	}
	defer src.Close()
	st, err := newStreamer(m.int8, pp, labels, o.top, src.Format())
	if err != nil {
		return err
	}
	if o.profile {
		st.prof = newStreamProfile(m.int8)
		m.int8.OnOp = st.prof.hook
		defer func() { m.int8.OnOp = nil }()
	}
	buffers := max(o.buffers, 3)
	if kind == "files" && !set(fs)["buffers"] {
		buffers = 2 // each holds a whole picture; reading ahead one is enough
	}
	g, err := camera.NewGrabber(src, buffers, drop)
	if err != nil {
		return err
	}
	if o.live.http != "" || o.live.mqtt.url != "" {
		stderr = &lockedWriter{w: stderr} // the server and the MQTT client log too
	}
	lv, err := startLive(&o.live, st, g, src, newLiveInfo(&o, m), o.frameTimeout, stderr)
	if err != nil {
		return err
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sig)
	stopped := make(chan struct{})
	defer close(stopped)
	go func() {
		select {
		case <-sig:
			g.Stop()
		case <-stopped:
		}
	}()
	err = st.loop(g, o, stdout, stderr)
	w := stdout // where the summary went
	if o.asJSON {
		w = stderr
	}
	lv.close(w)
	return err
}

// dropByDefault is --drop auto: drop old frames only for a live producer,
// which will not wait for inference (a camera, or raw frames from a pipe, as
// rpicam-vid writes them). A recording can wait, and dropping would lose
// most of it: a regular file (named, or redirected to stdin), files:, and
// any Y4M stream, since Y4M comes from a file or from ffmpeg, which blocks
// on a full pipe.
func dropByDefault(kind, arg string, stdin io.Reader) bool {
	switch kind {
	case "files", "y4m":
		return false
	case "v4l2":
		return true
	}
	var st os.FileInfo
	var err error
	if arg == "-" {
		f, ok := stdin.(*os.File)
		if !ok {
			return false // not a process's stdin: a reader handed over whole
		}
		st, err = f.Stat()
	} else {
		st, err = os.Stat(arg)
	}
	return err != nil || !st.Mode().IsRegular()
}

// streamer is the per-frame path: fused preprocessing into the arena, the
// int8 network, the top classes. process allocates nothing while the frame
// format stays the same.
type streamer struct {
	net    *model.Int8Net
	pre    camera.Preprocess
	fused  *camera.Fused
	labels []string
	top    []scored
	logits []float32 // the last frame's (a view into the arena)
	k      int
	lat    latHist
	// last frame's timings
	capture, preprocess, infer time.Duration
	out                        []byte
	input                      string // the last frame's file (files:), else ""
	failed                     int64
	prof                       *streamProfile // --profile
	sink                       streamSink     // --http, --mqtt
}

func newStreamer(n *model.Int8Net, pre camera.Preprocess, labels []string, k int, f camera.FrameFormat) (*streamer, error) {
	if n == nil {
		return nil, errors.New("stream needs an int8 model (--model M.fw)")
	}
	s := &streamer{net: n, pre: pre, labels: labels, k: min(k, len(labels)), out: make([]byte, 0, 512)}
	s.top = make([]scored, s.k)
	if classes := n.Q.G.Tensors[n.Q.G.Output].C; len(labels) != classes {
		return nil, fmt.Errorf("%d labels for %d classes", len(labels), classes)
	}
	if err := s.prepare(f); err != nil {
		return nil, err
	}
	return s, nil
}

// prepare (re)builds the fused transform for frames of format f.
func (s *streamer) prepare(f camera.FrameFormat) error {
	in := s.net.Q.In
	fu, err := s.pre.NewFused(f, camera.Quant{Scale: in.Scale, Zero: in.Zero})
	if err != nil {
		return err
	}
	if fu.Size() != s.net.Q.G.InputSize {
		return fmt.Errorf("preprocess size %d, the model takes %d", fu.Size(), s.net.Q.G.InputSize)
	}
	s.fused = fu
	return nil
}

// process classifies one frame; the result is in s.top and the timings.
func (s *streamer) process(f *camera.Frame) error {
	t0 := time.Now()
	s.capture = t0.Sub(f.Time)
	if f.Format != s.fused.Format() {
		if err := s.prepare(f.Format); err != nil {
			return err
		}
	}
	if err := s.fused.Apply(s.net.Input(), f.Data); err != nil {
		return err
	}
	t1 := time.Now()
	if s.prof != nil {
		s.prof.begin(t1)
	}
	s.logits = s.net.RunQuantized()
	t2 := time.Now()
	topKInto(s.top, s.logits, s.labels)
	s.preprocess, s.infer = t1.Sub(t0), t2.Sub(t1)
	s.lat.add(time.Since(t0))
	if s.prof != nil {
		s.prof.frame(s.capture, s.preprocess, s.infer)
	}
	return nil
}

func (s *streamer) loop(g *camera.Grabber, o streamOpts, stdout, stderr io.Writer) error {
	var interval time.Duration
	if o.fpsLimit > 0 {
		interval = time.Duration(float64(time.Second) / o.fpsLimit)
	}
	start := time.Now()
	var frames int64
	var last time.Time
	g.Start()
	for o.maxFrames == 0 || frames < o.maxFrames {
		if interval > 0 && !last.IsZero() {
			if wait := interval - time.Since(last); wait > 0 {
				time.Sleep(wait)
			}
		}
		f := g.Next()
		if f == nil {
			break
		}
		last = time.Now()
		err := s.process(f)
		seq, ts, name := f.Seq, f.Time, f.Name
		if err == nil && s.sink != nil {
			s.sink.frame(s, f)
		}
		g.Release(f)
		if err != nil {
			// A frame that cannot be transformed (e.g. a still image of an
			// impossible size) is skipped like a corrupt one.
			s.failed++
			if name != "" {
				fmt.Fprintf(stderr, "mixedge stream: frame %d (%s): %v\n", seq, name, err)
			} else {
				fmt.Fprintf(stderr, "mixedge stream: frame %d: %v\n", seq, err)
			}
			continue
		}
		frames++
		s.input = name
		s.out = s.appendResult(s.out[:0], seq, ts, o.asJSON)
		if _, err := stdout.Write(s.out); err != nil {
			g.Stop()
			return err
		}
	}
	g.Stop()
	elapsed := time.Since(start)
	err := g.Err()
	w := stdout
	if o.asJSON {
		w = stderr
	}
	fps := 0.0
	if elapsed > 0 {
		fps = float64(frames) / elapsed.Seconds()
	}
	fmt.Fprintf(w, "summary: %d frames, %d dropped, %d corrupt, %.1f fps over %s, latency p50 %.1f ms  p90 %.1f ms  p99 %.1f ms\n",
		frames, g.Dropped(), g.Corrupt()+s.failed, fps, spanText(elapsed), ms(s.lat.quantile(0.5)), ms(s.lat.quantile(0.9)), ms(s.lat.quantile(0.99)))
	if c := g.LastCorrupt(); c != nil {
		fmt.Fprintf(stderr, "mixedge stream: last corrupt frame: %v\n", c)
	}
	if s.prof != nil {
		s.prof.report(w, s.net, o.by)
		if o.profileJSON != "" {
			if werr := writeFileWith(o.profileJSON, func(f io.Writer) error { return s.prof.writeDoc(f, s.net, o.model, o.source) }); werr != nil && err == nil {
				err = werr
			}
		}
	}
	if err != nil {
		return err
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

// spanText prints a run's length with digits that say something: "12 s",
// "3.4 s", "250.3 ms" (never "0.0 s").
func spanText(d time.Duration) string {
	switch {
	case d >= 10*time.Second:
		return fmt.Sprintf("%.0f s", d.Seconds())
	case d >= time.Second:
		return fmt.Sprintf("%.1f s", d.Seconds())
	}
	return fmt.Sprintf("%.1f ms", ms(d))
}

// lockedWriter serialises writes from the capture goroutine and the loop.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// appendResult formats the frame's line without allocating.
func (s *streamer) appendResult(b []byte, seq int64, ts time.Time, asJSON bool) []byte {
	if !asJSON {
		b = append(b, "frame "...)
		b = strconv.AppendInt(b, seq, 10)
		if s.input != "" {
			b = append(b, "  "...)
			b = append(b, s.input...)
		}
		b = append(b, "  "...)
		b = append(b, s.top[0].Label...)
		b = append(b, ' ')
		b = strconv.AppendFloat(b, float64(s.top[0].Score), 'f', 2, 32)
		b = append(b, "  "...)
		b = strconv.AppendFloat(b, ms(s.preprocess+s.infer), 'f', 1, 64)
		return append(b, " ms\n"...)
	}
	b = append(b, `{"frame":`...)
	b = strconv.AppendInt(b, seq, 10)
	if s.input != "" {
		b = append(b, `,"input":`...)
		b = appendJSONString(b, s.input)
	}
	b = append(b, `,"ts":"`...)
	b = ts.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","top":[`...)
	for i, t := range s.top {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"index":`...)
		b = strconv.AppendInt(b, int64(t.Index), 10)
		b = append(b, `,"label":`...)
		b = appendJSONString(b, t.Label)
		b = append(b, `,"score":`...)
		b = appendJSONFloat32(b, t.Score)
		b = append(b, '}')
	}
	b = append(b, `],"latency_ms":{"capture":`...)
	b = strconv.AppendFloat(b, ms(s.capture), 'f', 3, 64)
	b = append(b, `,"preprocess":`...)
	b = strconv.AppendFloat(b, ms(s.preprocess), 'f', 3, 64)
	b = append(b, `,"infer":`...)
	b = strconv.AppendFloat(b, ms(s.infer), 'f', 3, 64)
	return append(b, "}}\n"...)
}

// appendJSONString quotes s as encoding/json does (without HTML escaping).
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\r':
			b = append(b, '\\', 'r')
		case c == '\t':
			b = append(b, '\\', 't')
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

// appendJSONFloat32 formats f as encoding/json formats a float32.
func appendJSONFloat32(b []byte, f float32) []byte {
	if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
		return append(b, "null"...)
	}
	abs := math.Abs(float64(f))
	format := byte('f')
	if abs != 0 && (float32(abs) < 1e-6 || float32(abs) >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, float64(f), format, -1, 32)
	if format == 'e' {
		// clean up e-09 to e-9
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

// topKInto fills dst with the len(dst) best classes exactly as topK does
// (same order on ties, same softmax), without allocating.
func topKInto(dst []scored, logits []float32, labels []string) {
	maxv := math.Inf(-1)
	for _, v := range logits {
		maxv = math.Max(maxv, float64(v))
	}
	var z float64
	for _, v := range logits {
		z += math.Exp(float64(v) - maxv)
	}
	// The i-th pick is the best (value desc, index asc) after the previous.
	pv, pj := float32(math.Inf(1)), -1
	for i := range dst {
		best := -1
		for j, v := range logits {
			if !(v < pv || (v == pv && j > pj)) {
				continue
			}
			if best < 0 || v > logits[best] {
				best = j
			}
		}
		if best < 0 {
			dst = dst[:i]
			break
		}
		dst[i] = scored{Index: best, Label: labels[best], Score: float32(math.Exp(float64(logits[best])-maxv) / z)}
		pv, pj = logits[best], best
	}
}

// latHist is a latency histogram with 1% wide buckets from 1 µs to ~1000 s:
// constant memory for any number of frames.
type latHist struct {
	n      int64
	counts [2100]int64
}

const latBase = 1.01

func (h *latHist) add(d time.Duration) {
	us := float64(d) / 1e3
	i := 0
	if us > 1 {
		i = min(int(math.Log(us)/math.Log(latBase))+1, len(h.counts)-1)
	}
	h.counts[i]++
	h.n++
}

// quantile returns the q-quantile, within 1%.
func (h *latHist) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := int64(math.Ceil(q * float64(h.n)))
	rank = max(rank, 1)
	var c int64
	for i, n := range h.counts {
		c += n
		if c >= rank {
			if i == 0 {
				return time.Microsecond
			}
			// Geometric middle of bucket i: [base^(i-1), base^i) µs.
			return time.Duration(math.Pow(latBase, float64(i)-0.5) * 1e3)
		}
	}
	return 0
}
