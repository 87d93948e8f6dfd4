package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/mixedge/mixedge/camera"
)

// Until main.go lists stream (the lead adds it), the tests register it.
// tinyModel converts synthetic mixnet_s weights to an int8 .fw with a small
// input, as TestConvertClassifyInfoInt8 does.
func tinyModel(t *testing.T, dir string, size int) string {
	t.Helper()
	w := writeSynthetic(t, dir)
	fw := filepath.Join(dir, fmt.Sprintf("s%d.fw", size))
	if code, _, errs := runCLI(t, "convert", "--weights", w, "--arch", "mixnet_s", "--input-size", fmt.Sprint(size),
		"--calib-synthetic", "1", "-o", fw); code != 0 {
		t.Fatalf("convert: %s", errs)
	}
	return fw
}

// writeRGBPNG writes img as an 8-bit RGB PNG (what classify reads back
// unchanged).
func writeRGBPNG(t *testing.T, path string, img *camera.RGB) {
	t.Helper()
	m := image.NewNRGBA(image.Rect(0, 0, img.W, img.H))
	for i := range img.W * img.H {
		copy(m.Pix[4*i:4*i+3], img.Pix[3*i:3*i+3])
		m.Pix[4*i+3] = 255
	}
	var b bytes.Buffer
	if err := png.Encode(&b, m); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// encodeFrames makes n synthetic frames of format f.
func encodeFrames(t testing.TB, f camera.FrameFormat, n int, seed uint64) [][]byte {
	var out [][]byte
	for i := range n {
		b := make([]byte, f.FrameSize())
		if err := camera.EncodeFrame(b, camera.SyntheticImage(seed+uint64(i), f.W, f.H), f); err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

type streamLine struct {
	Frame   int64    `json:"frame"`
	TS      string   `json:"ts"`
	Top     []scored `json:"top"`
	Latency struct {
		Capture, Preprocess, Infer *float64
	} `json:"latency_ms"`
}

func TestStream(t *testing.T) {
	dir := t.TempDir()
	start := time.Now()
	fw := tinyModel(t, dir, 64)
	t.Logf("tiny model in %v", time.Since(start))

	// The labels of stream equal classify's on the same frames (as RGB
	// PNGs of the converted pixels): pipe (file and stdin) and y4m, with
	// padded rows, odd sizes, every raw format.
	t.Run("EqualsClassify", func(t *testing.T) {
		cases := []struct {
			name, source string
			f            camera.FrameFormat
			y4m, stdin   bool
		}{
			{"pipe-i420-stride", "pipe:", camera.FrameFormat{Pix: camera.I420, W: 90, H: 70, Stride: 96}, false, false},
			{"pipe-nv12-stdin", "pipe:-", camera.FrameFormat{Pix: camera.NV12, W: 64, H: 80}, false, true},
			{"pipe-yuyv", "pipe:", camera.FrameFormat{Pix: camera.YUYV, W: 71, H: 64}, false, false},
			{"pipe-rgb24", "pipe:", camera.FrameFormat{Pix: camera.RGB24, W: 100, H: 75}, false, false},
			{"y4m-420", "y4m:", camera.FrameFormat{Pix: camera.I420, W: 81, H: 67}, true, false},
			{"y4m-444-stdin", "y4m:-", camera.FrameFormat{Pix: camera.YUV444P, W: 64, H: 64}, true, true},
			{"y4m-mono", "y4m:", camera.FrameFormat{Pix: camera.Gray, W: 70, H: 90}, true, false},
		}
		for ci, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				sub := filepath.Join(dir, c.name)
				os.MkdirAll(sub, 0o755)
				frames := encodeFrames(t, c.f, 3, uint64(10*ci))
				var data bytes.Buffer
				if c.y4m {
					camera.WriteY4MHeader(&data, c.f, 25, 1)
				}
				var pngs []string
				for i, fr := range frames {
					if c.y4m {
						data.WriteString("FRAME\n")
					}
					data.Write(fr)
					img, err := camera.ConvertFrame(fr, c.f)
					if err != nil {
						t.Fatal(err)
					}
					p := filepath.Join(sub, fmt.Sprintf("f%d.png", i))
					writeRGBPNG(t, p, img)
					pngs = append(pngs, p)
				}
				args := []string{"stream", "--model", fw, "--json", "--top", "3", "--threads", "2"}
				src := c.source
				if c.stdin {
					streamStdin = bytes.NewReader(data.Bytes())
					defer func() { streamStdin = os.Stdin }()
				} else {
					p := filepath.Join(sub, "frames.raw")
					os.WriteFile(p, data.Bytes(), 0o644)
					src += p
				}
				args = append(args, "--source", src, "--drop", "off")
				if !c.y4m {
					args = append(args, "--format", c.f.Pix.String(), "--size", fmt.Sprintf("%dx%d", c.f.W, c.f.H))
					if c.f.Stride != 0 {
						args = append(args, "--stride", fmt.Sprint(c.f.Stride))
					}
				}
				code, out, errs := runCLI(t, args...)
				if code != 0 {
					t.Fatalf("stream: exit %d: %s", code, errs)
				}
				if !strings.Contains(errs, "summary: 3 frames, 0 dropped, 0 corrupt") {
					t.Errorf("summary: %q", errs)
				}
				code, cout, cerrs := runCLI(t, append([]string{"classify", "--model", fw, "--json", "--top", "3", "--threads", "1"}, pngs...)...)
				if code != 0 {
					t.Fatalf("classify: %s", cerrs)
				}
				lines := strings.Split(strings.TrimSpace(out), "\n")
				clines := strings.Split(strings.TrimSpace(cout), "\n")
				if len(lines) != 3 || len(clines) != 3 {
					t.Fatalf("%d stream lines, %d classify lines:\n%s", len(lines), len(clines), out)
				}
				for i := range lines {
					var s streamLine
					var r result
					if err := json.Unmarshal([]byte(lines[i]), &s); err != nil {
						t.Fatalf("%v: %s", err, lines[i])
					}
					json.Unmarshal([]byte(clines[i]), &r)
					if s.Frame != int64(i) || s.Latency.Capture == nil || s.Latency.Infer == nil || s.Latency.Preprocess == nil {
						t.Errorf("line %d: %s", i, lines[i])
					}
					if _, err := time.Parse(time.RFC3339Nano, s.TS); err != nil {
						t.Errorf("ts: %v", err)
					}
					if fmt.Sprint(s.Top) != fmt.Sprint(r.Top) {
						t.Errorf("frame %d: stream %v, classify %v", i, s.Top, r.Top)
					}
				}
			})
		}
	})

	t.Run("TextAndLimits", func(t *testing.T) {
		f := camera.FrameFormat{Pix: camera.I420, W: 48, H: 40}
		var data bytes.Buffer
		for _, fr := range encodeFrames(t, f, 10, 7) {
			data.Write(fr)
		}
		data.Write(make([]byte, f.FrameSize()/2)) // EOF inside frame 10
		p := filepath.Join(dir, "text.raw")
		os.WriteFile(p, data.Bytes(), 0o644)
		base := []string{"stream", "--model", fw, "--source", "pipe:" + p, "--format", "i420", "--size", "48x40", "--threads", "1"}
		code, out, errs := runCLI(t, append(base, "--max-frames", "4", "--fps-limit", "200")...)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if code != 0 || len(lines) != 5 || !strings.HasPrefix(lines[0], "frame 0  ") || !strings.HasSuffix(lines[0], " ms") ||
			!strings.HasPrefix(lines[4], "summary: 4 frames, 0 dropped") || !strings.Contains(lines[4], "p99") {
			t.Errorf("exit %d:\n%s\n%s", code, out, errs)
		}
		// The cut frame ends the stream with an error after the 10 good ones.
		code, out, errs = runCLI(t, base...)
		if code != 1 || strings.Count(out, "frame ") != 10 || !strings.Contains(errs, "frame 10 cut short") {
			t.Errorf("cut stream: exit %d\n%s\n%s", code, out, errs)
		}
		for _, bad := range [][]string{
			{"stream", "--source", "pipe:-"},
			{"stream", "--model", fw},
			{"stream", "--model", fw, "--source", "pipe:-"},
			{"stream", "--model", fw, "--source", "pipe:-", "--format", "rgb48", "--size", "4x4"},
			{"stream", "--model", fw, "--source", "pipe:-", "--format", "i420", "--size", "4"},
			{"stream", "--model", fw, "--source", "pipe:-", "--format", "yuyv", "--size", "8x8", "--stride", "3"},
			{"stream", "--model", fw, "--source", "y4m:" + p, "--size", "8x8"},
			{"stream", "--model", fw, "--source", "y4m:" + p},
			{"stream", "--model", fw, "--source", "v4l2:/nonexistent/video9"},
			{"stream", "--model", fw, "--source", "pipe:" + p, "--format", "i420", "--size", "48x40", "--drop", "maybe"},
			{"stream", "--model", fw, "--source", "pipe:" + p, "--format", "i420", "--size", "48x40", "--fps-limit", "-1"},
			{"stream", "--model", fw, "--source", "pipe:" + p, "x.png"},
		} {
			if code, _, errs := runCLI(t, bad...); code == 0 || strings.Contains(errs, "panic") {
				t.Errorf("%v: exit %d %s", bad, code, errs)
			}
		}
	})

	t.Run("CorruptAndFiles", func(t *testing.T) {
		f := camera.FrameFormat{Pix: camera.I420, W: 32, H: 32}
		var data bytes.Buffer
		camera.WriteY4MHeader(&data, f, 30, 1)
		for i, fr := range encodeFrames(t, f, 6, 3) {
			if i == 2 {
				data.WriteString("FRAMX\n") // a damaged marker: skipped, counted
			} else {
				data.WriteString("FRAME\n")
			}
			data.Write(fr)
		}
		p := filepath.Join(dir, "bad.y4m")
		os.WriteFile(p, data.Bytes(), 0o644)
		code, out, errs := runCLI(t, "stream", "--model", fw, "--source", "y4m:"+p, "--threads", "1")
		if code != 0 || strings.Count(out, "frame ") != 5 || !strings.Contains(out, "1 corrupt") || !strings.Contains(errs, "FRAME marker") {
			t.Errorf("exit %d\n%s\n%s", code, out, errs)
		}
		imgs := filepath.Join(dir, "imgs")
		os.MkdirAll(imgs, 0o755)
		writeRGBPNG(t, filepath.Join(imgs, "a.png"), camera.SyntheticImage(1, 50, 40))
		writeRGBPNG(t, filepath.Join(imgs, "b.png"), camera.SyntheticImage(2, 30, 70))
		os.WriteFile(filepath.Join(imgs, "c.png"), []byte("junk"), 0o644)
		code, out, errs = runCLI(t, "stream", "--model", fw, "--source", "files:"+imgs, "--json", "--threads", "1")
		_, cout, _ := runCLI(t, "classify", "--model", fw, "--json", "--top", "1", filepath.Join(imgs, "a.png"), filepath.Join(imgs, "b.png"))
		lines := strings.Split(strings.TrimSpace(out), "\n")
		clines := strings.Split(strings.TrimSpace(cout), "\n")
		if code != 0 || len(lines) != 2 || !strings.Contains(errs, "2 frames, 0 dropped, 1 corrupt") {
			t.Fatalf("files: exit %d\n%s\n%s", code, out, errs)
		}
		for i := range lines {
			var s streamLine
			var r result
			json.Unmarshal([]byte(lines[i]), &s)
			json.Unmarshal([]byte(clines[i]), &r)
			if fmt.Sprint(s.Top) != fmt.Sprint(r.Top) {
				t.Errorf("image %d: stream %v classify %v", i, s.Top, r.Top)
			}
		}
	})

	// source → fused preprocessing → int8 inference → labels (and the
	// output line) allocate nothing, for pipe and y4m, read directly and
	// through the capture ring.
	t.Run("Allocs", func(t *testing.T) {
		m, err := loadClassifier(&classifyOpts{model: fw, threads: 1}, map[string]bool{})
		if err != nil {
			t.Fatal(err)
		}
		defer m.close()
		for _, kind := range []string{"pipe", "y4m"} {
			f := camera.FrameFormat{Pix: camera.I420, W: 96, H: 72, Stride: 128}
			if kind == "y4m" {
				f.Stride = 0
			}
			src := loopSource(t, kind, f, -1)
			s, err := newStreamer(m.int8, m.pre, m.labels, 5, f)
			if err != nil {
				t.Fatal(err)
			}
			var fr camera.Frame
			step := func() {
				if err := src.Read(&fr); err != nil {
					t.Fatal(err)
				}
				if err := s.process(&fr); err != nil {
					t.Fatal(err)
				}
				s.out = s.appendResult(s.out[:0], fr.Seq, fr.Time, true)
			}
			step()
			if n := testing.AllocsPerRun(50, step); n != 0 {
				t.Errorf("%s: %v allocations per frame", kind, n)
			}
			want := topK(s.logits, m.labels, 5)
			if fmt.Sprint(want) != fmt.Sprint(s.top) {
				t.Errorf("topKInto %v, topK %v", s.top, want)
			}
			g, err := camera.NewGrabber(loopSource(t, kind, f, -1), 3, true)
			if err != nil {
				t.Fatal(err)
			}
			g.Start()
			ring := func() {
				fr := g.Next()
				if err := s.process(fr); err != nil {
					t.Fatal(err)
				}
				g.Release(fr)
			}
			ring()
			if n := testing.AllocsPerRun(50, ring); n != 0 {
				t.Errorf("%s through the ring: %v allocations per frame", kind, n)
			}
			g.Stop()
		}
	})

	// stream --profile: the per-op table of live frames, its JSON record
	// (which bench --compare reads beside a bench record), and no
	// allocation per frame with the hook on.
	t.Run("Profile", func(t *testing.T) {
		f := camera.FrameFormat{Pix: camera.I420, W: 80, H: 60}
		var data bytes.Buffer
		camera.WriteY4MHeader(&data, f, 25, 1)
		const frames = 6
		for _, fr := range encodeFrames(t, f, frames, 7) {
			data.WriteString("FRAME\n")
			data.Write(fr)
		}
		sub := t.TempDir()
		y4m, rec := filepath.Join(sub, "clip.y4m"), filepath.Join(sub, "live.json")
		os.WriteFile(y4m, data.Bytes(), 0o644)
		code, out, errs := runCLI(t, "stream", "--model", fw, "--source", "y4m:"+y4m, "--threads", "1",
			"--profile", "--by", "kind", "--profile-json", rec)
		if code != 0 {
			t.Fatalf("stream --profile: exit %d: %s", code, errs)
		}
		for _, want := range []string{fmt.Sprintf("profile of %d live frames (threads 1, kernels ", frames),
			"stages p50 / p90 ms: capture wait", "\npointwise ", "\ndepthwise ", "\nstem ", "\ntotal ", "by kind: "} {
			if !strings.Contains(out, want) {
				t.Errorf("stream --profile output lacks %q:\n%s", want, out)
			}
		}
		var doc benchDoc
		b, err := os.ReadFile(rec)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatalf("%s: %v", rec, err)
		}
		m, err := loadClassifier(&classifyOpts{model: fw, threads: 1}, map[string]bool{})
		if err != nil {
			t.Fatal(err)
		}
		defer m.close()
		g := m.int8.Q.G
		r := doc.Results
		switch {
		case doc.Schema != benchSchema || doc.Settings.Source != "y4m:"+y4m || !doc.Settings.Profile:
			t.Errorf("record header: schema %q, settings %+v", doc.Schema, doc.Settings)
		case len(r) != 1 || r[0].Runs != frames || r[0].Threads != 1 || r[0].MedianMS <= 0 || r[0].Profile == nil:
			t.Errorf("record results: %+v", r)
		case len(r[0].Ops) != len(g.Ops):
			t.Errorf("record has %d op rows, the model %d ops", len(r[0].Ops), len(g.Ops))
		default:
			var share float64
			for i, o := range r[0].Ops {
				share += o.Share
				if o.Name != g.Ops[i].Name || o.MedianMS <= 0 || o.P90MS < o.MedianMS {
					t.Errorf("op row %d: %+v", i, o)
				}
			}
			if share < 0.999 || share > 1.001 {
				t.Errorf("op shares sum to %v", share)
			}
		}
		// A bench record of the same model compares with the live one.
		code, benchOut, errs := runCLI(t, "bench", "--model", fw, "--threads", "1", "--runs", "3", "--profile", "--json")
		if code != 0 {
			t.Fatalf("bench: %s", errs)
		}
		brec := filepath.Join(sub, "bench.json")
		os.WriteFile(brec, []byte(benchOut), 0o644)
		code, cmp, errs := runCLI(t, "bench", "--compare", brec, rec)
		if code != 0 || !strings.Contains(cmp, g.Ops[0].Name) {
			t.Errorf("bench --compare bench.json live.json: exit %d: %s%s", code, cmp, errs)
		}

		// The hook allocates nothing.
		s, err := newStreamer(m.int8, m.pre, m.labels, 1, f)
		if err != nil {
			t.Fatal(err)
		}
		s.prof = newStreamProfile(m.int8)
		m.int8.OnOp = s.prof.hook
		defer func() { m.int8.OnOp = nil }()
		src := loopSource(t, "y4m", f, -1)
		var fr camera.Frame
		step := func() {
			if err := src.Read(&fr); err != nil {
				t.Fatal(err)
			}
			if err := s.process(&fr); err != nil {
				t.Fatal(err)
			}
		}
		step()
		if n := testing.AllocsPerRun(20, step); n != 0 {
			t.Errorf("with --profile: %v allocations per frame", n)
		}
		if s.prof.frames != 21+1 {
			t.Errorf("profile counted %d frames, want 22", s.prof.frames)
		}
	})

	t.Run("Soak", func(t *testing.T) {
		if testing.Short() || os.Getenv("MIXEDGE_SOAK") == "" {
			t.Skip("soak: streams 100,000 frames through the whole loop, every one classified (minutes); set MIXEDGE_SOAK=1 to run it")
		}
		small := tinyModel(t, t.TempDir(), 16) // the smallest input: the loop, not the network, is under test
		m, err := loadClassifier(&classifyOpts{model: small, threads: 1}, map[string]bool{})
		if err != nil {
			t.Fatal(err)
		}
		defer m.close()
		const n = 100_000
		f := camera.FrameFormat{Pix: camera.I420, W: 24, H: 18}
		s, err := newStreamer(m.int8, m.pre, m.labels, 1, f)
		if err != nil {
			t.Fatal(err)
		}
		g, err := camera.NewGrabber(loopSource(t, "y4m", f, n), 3, false)
		if err != nil {
			t.Fatal(err)
		}
		var out countWriter
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		if err := s.loop(g, streamOpts{}, &out, io.Discard); err != nil {
			t.Fatal(err)
		}
		runtime.ReadMemStats(&after)
		mallocs := after.Mallocs - before.Mallocs
		growth := int64(after.HeapInuse) - int64(before.HeapInuse)
		t.Logf("%d frames: %d mallocs, heap in use %+d bytes, %d lines", n, mallocs, growth, out.lines)
		if out.lines != n+1 {
			t.Errorf("%d lines, want %d frames and a summary", out.lines, n)
		}
		if mallocs > 1000 || growth > 1<<20 {
			t.Errorf("heap not flat over %d frames: %d mallocs, %+d bytes in use", n, mallocs, growth)
		}
	})
}

// countWriter counts lines without keeping them.
type countWriter struct{ lines int }

func (c *countWriter) Write(p []byte) (int, error) {
	c.lines += bytes.Count(p, []byte{'\n'})
	return len(p), nil
}

// loopSource serves count frames (−1: for ever) cycling over a few encoded
// ones, as a raw pipe or a Y4M stream, without allocating per frame.
func loopSource(t testing.TB, kind string, f camera.FrameFormat, count int) camera.Source {
	frames := encodeFrames(t, f, 4, 50)
	var per [][]byte
	var hdr bytes.Buffer
	for _, fr := range frames {
		if kind == "y4m" {
			per = append(per, append([]byte("FRAME\n"), fr...))
		} else {
			per = append(per, fr)
		}
	}
	r := &loopReader{frames: per, left: count}
	if kind == "y4m" {
		camera.WriteY4MHeader(&hdr, f, 30, 1)
		s, err := camera.NewY4MSource(io.MultiReader(&hdr, r), "loop.y4m")
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	s, err := camera.NewRawSource(r, f, "loop")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

type loopReader struct {
	frames [][]byte
	i, off int
	left   int
}

func (l *loopReader) Read(p []byte) (int, error) {
	if l.left == 0 {
		return 0, io.EOF
	}
	fr := l.frames[l.i]
	n := copy(p, fr[l.off:])
	l.off += n
	if l.off == len(fr) {
		l.off, l.i = 0, (l.i+1)%len(l.frames)
		if l.left > 0 {
			l.left--
		}
	}
	return n, nil
}
