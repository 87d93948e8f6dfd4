package main

// What a newcomer trips over (issue 15): each subtest failed before its fix.

import (
	"bytes"
	"image"
	"image/jpeg"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mixedge/mixedge/camera"
)

func TestNewcomer(t *testing.T) {
	dir := t.TempDir()
	fw := tinyModel(t, dir, 64)

	// A recording on stdin is read whole under --drop auto; a live pipe
	// drops.
	t.Run("DropAuto", func(t *testing.T) {
		f := camera.FrameFormat{Pix: camera.I420, W: 64, H: 48}
		const n = 20
		var raw, y4m bytes.Buffer
		camera.WriteY4MHeader(&y4m, f, 25, 1)
		for _, fr := range encodeFrames(t, f, n, 5) {
			raw.Write(fr)
			y4m.WriteString("FRAME\n")
			y4m.Write(fr)
		}
		rawPath := filepath.Join(dir, "clip.yuv")
		y4mPath := filepath.Join(dir, "clip.y4m")
		os.WriteFile(rawPath, raw.Bytes(), 0o644)
		os.WriteFile(y4mPath, y4m.Bytes(), 0o644)
		defer func() { streamStdin = os.Stdin }()

		for _, c := range []struct {
			name, source, file string
			pipe               bool // stdin is a pipe (a writer goroutine) rather than the file
			args               []string
		}{
			{"pipe-stdin-file", "pipe:-", rawPath, false, []string{"--format", "i420", "--size", "64x48"}},
			{"y4m-stdin-file", "y4m:-", y4mPath, false, nil},
			{"y4m-stdin-pipe", "y4m:-", y4mPath, true, nil},
		} {
			t.Run(c.name, func(t *testing.T) {
				if c.pipe {
					r, w, err := os.Pipe()
					if err != nil {
						t.Fatal(err)
					}
					go func() { w.Write(y4m.Bytes()); w.Close() }()
					defer r.Close()
					streamStdin = r
				} else {
					fh, err := os.Open(c.file)
					if err != nil {
						t.Fatal(err)
					}
					defer fh.Close()
					streamStdin = fh
				}
				args := append([]string{"stream", "--model", fw, "--source", c.source, "--threads", "1"}, c.args...)
				code, out, errs := runCLI(t, args...)
				if code != 0 || strings.Count(out, "frame ") != n || !strings.Contains(out, "summary: 20 frames, 0 dropped") {
					t.Errorf("exit %d, want all %d frames:\n%s\n%s", code, n, out, errs)
				}
			})
		}

		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		defer w.Close()
		for _, c := range []struct {
			kind, arg string
			stdin     *os.File
			want      bool
		}{
			{"pipe", "-", r, true}, // rpicam-vid | mixedge: live
			{"pipe", rawPath, nil, false},
			{"y4m", "-", r, false}, // ffmpeg -f yuv4mpegpipe - | mixedge: waits
			{"y4m", y4mPath, nil, false},
			{"files", dir, nil, false},
			{"v4l2", "/dev/video0", nil, true},
		} {
			if got := dropByDefault(c.kind, c.arg, c.stdin); got != c.want {
				t.Errorf("%s:%s: drop %v, want %v", c.kind, c.arg, got, c.want)
			}
		}
		fh, _ := os.Open(rawPath)
		defer fh.Close()
		if dropByDefault("pipe", "-", fh) {
			t.Errorf("pipe:- < clip.yuv drops")
		}
	})
}

// One missing path or empty directory does not stop a classify batch; with
// --json each failure is a {"input","error"} line; the exit status is 1.
func TestNewcomerClassifyBatch(t *testing.T) {
	dir := t.TempDir()
	w := writeSynthetic(t, dir)
	good := filepath.Join(dir, "good.png")
	writePNG(t, good, 40, 30)
	missing := filepath.Join(dir, "missing.png")
	empty := filepath.Join(dir, "empty")
	os.MkdirAll(empty, 0o755)
	args := []string{"classify", "--weights", w, "--input-size", "32", "--top", "1"}

	code, out, errs := runCLI(t, append(args, "--json", missing, good, empty)...)
	res := parseLines(t, out)
	if code != 1 || len(res) != 3 || errs != "" {
		t.Fatalf("exit %d, %d lines, want 3 JSON lines and exit 1:\n%s\nstderr: %s", code, len(res), out, errs)
	}
	for i, want := range []string{missing, good, empty} {
		if res[i]["input"] != want {
			t.Errorf("line %d: input %v, want %s", i, res[i]["input"], want)
		}
	}
	if e, _ := res[0]["error"].(string); !strings.Contains(e, "missing.png") || !strings.Contains(e, "no such file") {
		t.Errorf("missing path: %v", res[0])
	}
	if res[1]["top"] == nil {
		t.Errorf("good input: %v", res[1])
	}
	if e, _ := res[2]["error"].(string); !strings.Contains(e, "has no PNG/JPEG") {
		t.Errorf("empty directory: %v", res[2])
	}

	code, out, errs = runCLI(t, append(args, missing, good)...)
	if code != 1 || !strings.Contains(out, good) || !strings.Contains(errs, "missing.png") || !strings.Contains(errs, "1 of 2 inputs failed") {
		t.Errorf("text: exit %d\n%s\n%s", code, out, errs)
	}
}

// stream files:DIR says which file got which label, in text and JSON.
func TestNewcomerStreamFilesInput(t *testing.T) {
	dir := t.TempDir()
	fw := tinyModel(t, dir, 64)
	imgs := filepath.Join(dir, "imgs")
	os.MkdirAll(imgs, 0o755)
	a, b := filepath.Join(imgs, "a.png"), filepath.Join(imgs, "b q\".png")
	writeRGBPNG(t, a, camera.SyntheticImage(1, 50, 40))
	writeRGBPNG(t, b, camera.SyntheticImage(2, 30, 70))
	code, out, errs := runCLI(t, "stream", "--model", fw, "--source", "files:"+imgs, "--threads", "1")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 3 || !strings.HasPrefix(lines[0], "frame 0  "+a+"  ") || !strings.HasPrefix(lines[1], "frame 1  "+b+"  ") {
		t.Errorf("text: exit %d\n%s\n%s", code, out, errs)
	}
	code, out, errs = runCLI(t, "stream", "--model", fw, "--source", "files:"+imgs, "--threads", "1", "--json")
	res := parseLines(t, out)
	if code != 0 || len(res) != 2 || res[0]["input"] != a || res[1]["input"] != b {
		t.Errorf("json: exit %d\n%s\n%s", code, out, errs)
	}
	// Other sources have no file per frame: no "input".
	f := camera.FrameFormat{Pix: camera.I420, W: 32, H: 32}
	var y bytes.Buffer
	camera.WriteY4MHeader(&y, f, 25, 1)
	y.WriteString("FRAME\n")
	y.Write(encodeFrames(t, f, 1, 1)[0])
	p := filepath.Join(dir, "one.y4m")
	os.WriteFile(p, y.Bytes(), 0o644)
	_, out, _ = runCLI(t, "stream", "--model", fw, "--source", "y4m:"+p, "--threads", "1", "--json")
	if res := parseLines(t, out); len(res) != 1 || res[0]["input"] != nil {
		t.Errorf("y4m: %s", out)
	}
}

// Where outputs go is checked before the work, and errors name the path
// given.
func TestNewcomerOutputsFirst(t *testing.T) {
	dir := t.TempDir()
	w := writeSynthetic(t, dir)
	fw := tinyModel(t, dir, 64)
	missing := filepath.Join(dir, "nope", "a.svg")
	asDir := filepath.Join(dir, "adir")
	os.MkdirAll(asDir, 0o755)
	clip := filepath.Join(dir, "c.y4m")
	f := camera.FrameFormat{Pix: camera.I420, W: 32, H: 32}
	var y bytes.Buffer
	camera.WriteY4MHeader(&y, f, 25, 1)
	y.WriteString("FRAME\n")
	y.Write(encodeFrames(t, f, 1, 1)[0])
	os.WriteFile(clip, y.Bytes(), 0o644)

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"bench", "--arch", "mixnet_s", "--synthetic", "--input-size", "32", "--runs", "1", "--svg", missing}, "--svg " + missing + ": directory " + filepath.Dir(missing) + " does not exist"},
		{[]string{"bench", "--arch", "mixnet_s", "--synthetic", "--input-size", "32", "--runs", "1", "--html", asDir}, "--html " + asDir + ": is a directory"},
		{[]string{"stream", "--model", fw, "--source", "y4m:" + clip, "--profile-json", missing}, "--profile-json " + missing + ": directory"},
		{[]string{"convert", "--weights", w, "--input-size", "32", "--calib-synthetic", "1", "-o", missing}, "-o " + missing + ": directory"},
		{[]string{"convert", "--weights", w, "--input-size", "32", "--calib-synthetic", "1", "-o", asDir}, "-o " + asDir + ": is a directory"},
	} {
		code, out, errs := runCLI(t, c.args...)
		if code != 1 || !strings.Contains(errs, c.want) || strings.Contains(errs, ".tmp") {
			t.Errorf("%s: exit %d, stderr %q, want %q", c.args[0], code, errs, c.want)
		}
		// Nothing ran: no results, no calibration, no frames.
		if out != "" || strings.Contains(errs, "calibrating") || strings.Contains(errs, "summary") {
			t.Errorf("%s ran before failing:\n%s\n%s", c.args[0], out, errs)
		}
	}
	if _, err := os.Stat(filepath.Dir(missing)); err == nil {
		t.Errorf("a check created %s", filepath.Dir(missing))
	}
	if ents, _ := os.ReadDir(dir); len(ents) == 0 {
		t.Fatal("temp dir vanished")
	} else {
		for _, e := range ents {
			if strings.HasSuffix(e.Name(), ".tmp") {
				t.Errorf("left behind: %s", e.Name())
			}
		}
	}
}

// A failed first fetch leaves no empty folder and no .lock file, and the
// message offers the no-files path of the README.
func TestNewcomerOfflineLeavesNothing(t *testing.T) {
	cacheHome := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", cacheHome)
	t.Setenv("HF_ENDPOINT", closedEndpoint(t))
	code, _, errs := runCLI(t, "classify", "--model", "mixnet_m", "x.png")
	if code != 1 || !strings.Contains(errs, "mixedge bench --arch mixnet_m --synthetic") {
		t.Errorf("exit %d:\n%s", code, errs)
	}
	if ents, _ := os.ReadDir(cacheHome); len(ents) != 0 {
		var left []string
		filepath.WalkDir(cacheHome, func(p string, d os.DirEntry, err error) error {
			left = append(left, p)
			return nil
		})
		t.Errorf("a failed fetch left %v", left)
	}
}

// Messages say what is wrong and what to do, in the user's terms.
func TestNewcomerMessages(t *testing.T) {
	dir := t.TempDir()
	w := writeSynthetic(t, dir)
	fw := tinyModel(t, dir, 64)
	img := filepath.Join(dir, "a.png")
	writePNG(t, img, 40, 30)
	txt := filepath.Join(dir, "notes.txt")
	os.WriteFile(txt, []byte("hello\n"), 0o644)
	labels := filepath.Join(dir, "labels.txt")
	os.WriteFile(labels, []byte("a\nb\n"), 0o644)
	weightsNoExt := filepath.Join(dir, "weights.bin")
	data, _ := os.ReadFile(w)
	os.WriteFile(weightsNoExt, data, 0o644)
	t.Setenv("XDG_CACHE_HOME", t.TempDir())

	for _, c := range []struct {
		args     []string
		want     []string
		wantCode int
	}{
		{[]string{"classify", "--weights", fw, img}, []string{"--weights " + fw + ": not a safetensors file", "use --model " + fw}, 1},
		{[]string{"classify", "--weights", txt, img}, []string{"not a safetensors file", "for a .fw use --model"}, 1},
		{[]string{"convert", "--weights", fw, "-o", filepath.Join(dir, "x.fw")}, []string{"not a safetensors file", "use --model"}, 1},
		{[]string{"classify", "--model", weightsNoExt, img}, []string{"--model " + weightsNoExt + ": float32 safetensors weights, not an int8 .fw", "mixedge convert --weights " + weightsNoExt}, 1},
		{[]string{"info", "--model", w}, []string{"float32 safetensors weights"}, 1},
		{[]string{"bench", "--model", w}, []string{"float32 safetensors weights"}, 1},
		{[]string{"classify", "--model", w, "--precision", "int8", img}, []string{"--precision int8 with --model " + w}, 1},
		{[]string{"classify", "--model", fw, "--labels", labels, img}, []string{"--labels " + labels + " has 2 lines; the classes are fixed by " + fw}, 1},
		{[]string{"classify", "--model", fw, "--top", "5000", img}, []string{"--top 5000: the model has only 1000 classes"}, 1},
		{[]string{"stream", "--model", fw, "--top", "5000", "--source", "files:" + dir}, []string{"--top 5000: the model has only 1000 classes"}, 1},
		{[]string{"classify", "--model", fw, "--threads", "1000", img}, []string{"--threads 1000: want 1 to 256"}, 1},
		{[]string{"bench", "--arch", "mixnet_s", "--synthetic", "--threads", "1,1000"}, []string{"--threads 1000: at most 256"}, 1},
		{[]string{"models", "--rm", "foo"}, []string{"--rm foo: not in the cache", "not a published model"}, 1},
		{[]string{"models", "--rm", "mixnet_l"}, []string{"--rm mixnet_l: not in the cache", "nothing to free"}, 1},
	} {
		code, _, errs := runCLI(t, c.args...)
		if code != c.wantCode {
			t.Errorf("%v: exit %d, want %d: %s", c.args, code, c.wantCode, errs)
		}
		for _, s := range c.want {
			if !strings.Contains(errs, s) {
				t.Errorf("%v: %q lacks %q", c.args, errs, s)
			}
		}
		if strings.Contains(errs, "lists it") || strings.Contains(errs, "header length") || (c.args[0] == "classify" && strings.Contains(c.args[2], ".fw") && strings.Contains(errs, "--classes")) {
			t.Errorf("%v: misleading: %s", c.args, errs)
		}
	}

	// A short stream's summary has a time that is not "0.0 s".
	for _, d := range []struct {
		d    time.Duration
		want string
	}{{1234 * time.Microsecond, "1.2 ms"}, {40 * time.Millisecond, "40.0 ms"}, {2500 * time.Millisecond, "2.5 s"}, {75 * time.Second, "75 s"}} {
		if got := spanText(d.d); got != d.want {
			t.Errorf("spanText(%v) = %q, want %q", d.d, got, d.want)
		}
	}
	code, out, _ := runCLI(t, "stream", "--model", fw, "--source", "files:"+dir, "--threads", "1")
	if code != 0 || strings.Contains(out, "over 0.0 s") || !strings.Contains(out, " ms, latency") {
		t.Errorf("summary: %s", out)
	}
}

// convert into a log (not a terminal) prints a line per stage, so the log
// shows where it is.
func TestNewcomerConvertLogsStages(t *testing.T) {
	dir := t.TempDir()
	w := writeSynthetic(t, dir)
	code, _, errs := runCLI(t, "convert", "--weights", w, "--input-size", "32", "--calib-synthetic", "4", "-o", filepath.Join(dir, "s.fw"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	at := -1
	for _, want := range []string{"] loading " + w, "] calibrating on 4 images", "calibrating: 1/4\n", "calibrating: 4/4 done", "] quantizing", "] writing "} {
		i := strings.Index(errs, want)
		if i <= at {
			t.Errorf("stderr lacks %q after position %d:\n%s", want, at, errs)
			continue
		}
		at = i
	}
}

// Big pictures: a JPEG far above the resize target is decoded at reduced
// size (same top class as the full decode here), a picture over
// --max-pixels is refused with the flag named and the batch goes on, and
// normal pictures decode exactly as before.
func TestNewcomerBigPictures(t *testing.T) {
	dir := t.TempDir()
	fw := tinyModel(t, dir, 64)
	big := camera.NewRGB(1200, 1100)
	src, err := camera.DecodeFile("../../model/calib/photos/chelsea.jpg")
	if err != nil {
		t.Fatal(err)
	}
	camera.ResizeBicubic(big, src)
	var b bytes.Buffer
	n := image.NewNRGBA(image.Rect(0, 0, big.W, big.H))
	for i := range big.W * big.H {
		copy(n.Pix[4*i:4*i+3], big.Pix[3*i:3*i+3])
		n.Pix[4*i+3] = 255
	}
	if err := jpeg.Encode(&b, n, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	bigPath := filepath.Join(dir, "big.jpg")
	os.WriteFile(bigPath, b.Bytes(), 0o644)
	small := filepath.Join(dir, "small.png")
	writePNG(t, small, 50, 40)

	// 1200x1100 to 64/0.875: resize target 79x73 → 1/4 (300x275).
	code, out, errs := runCLI(t, "classify", "--model", fw, "--json", "--top", "1", "--max-pixels", "100000", bigPath, small)
	res := parseLines(t, out)
	if code != 0 || len(res) != 2 || res[0]["top"] == nil {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	code, out, _ = runCLI(t, "classify", "--model", fw, "--json", "--top", "1", "--max-pixels", "1000", bigPath, small)
	res = parseLines(t, out)
	if e, _ := res[0]["error"].(string); code != 1 || len(res) != 2 || !strings.Contains(e, "raise --max-pixels, now 1000") || res[1]["error"] == nil {
		t.Errorf("limit: exit %d\n%s", code, out)
	}
	code, out, _ = runCLI(t, "classify", "--model", fw, "--json", "--top", "1", "--max-pixels", "2000", bigPath, small)
	res = parseLines(t, out)
	if code != 1 || res[0]["error"] == nil || res[1]["top"] == nil {
		t.Errorf("small passes a 2000-pixel limit: exit %d\n%s", code, out)
	}
	// stream files: skips what is over the limit, counting it as corrupt.
	imgs := filepath.Join(dir, "imgs")
	os.MkdirAll(imgs, 0o755)
	os.WriteFile(filepath.Join(imgs, "a.jpg"), b.Bytes(), 0o644)
	writePNG(t, filepath.Join(imgs, "b.png"), 50, 40)
	code, out, errs = runCLI(t, "stream", "--model", fw, "--source", "files:"+imgs, "--max-pixels", "2000", "--threads", "1")
	if code != 0 || strings.Count(out, "frame ") != 1 || !strings.Contains(out, "1 corrupt") || !strings.Contains(errs, "more than the limit") {
		t.Errorf("stream: exit %d\n%s\n%s", code, out, errs)
	}

	// The shipped photos (normal sizes) decode exactly as before.
	pp := camera.DefaultPreprocess()
	for _, name := range []string{"chelsea", "astronaut", "rocket"} {
		p := "../../model/calib/photos/" + name + ".jpg"
		a, _ := camera.DecodeFile(p)
		o := classifyOpts{maxPixels: defaultMaxPixels}
		c, err := camera.DecodeFileWith(p, o.decodeOptions(pp))
		if err != nil || !bytes.Equal(a.Pix, c.Pix) {
			t.Errorf("%s changed (%v)", name, err)
		}
	}
}
