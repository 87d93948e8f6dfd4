//go:build linux

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/jpeg"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mixedge/mixedge/camera"
	"github.com/mixedge/mixedge/camera/v4l2"
)

// fakeWebcam offers YUYV (rows padded by 16 bytes) and MJPEG at 160x120
// and 320x240.
func fakeWebcam(script ...v4l2.FakeStep) *v4l2.Fake {
	sizes := [][2]int{{160, 120}, {320, 240}}
	return &v4l2.Fake{Driver: "uvcvideo", Card: "Fake Webcam", Pad: 16, Script: script,
		Formats: []v4l2.FakeFormat{{Fourcc: v4l2.PixFmtYUYV, Desc: "YUYV 4:2:2", Sizes: sizes},
			{Fourcc: v4l2.PixFmtMJPEG, Desc: "Motion-JPEG", Sizes: sizes}}}
}

// webcamJPEG encodes a synthetic picture as a webcam MJPEG frame: a JPEG
// without its Huffman tables.
func webcamJPEG(t *testing.T, seed uint64, w, h int) []byte {
	t.Helper()
	img := camera.SyntheticImage(seed, w, h)
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := range w * h {
		copy(m.Pix[4*i:4*i+3], img.Pix[3*i:3*i+3])
		m.Pix[4*i+3] = 255
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, m, &jpeg.Options{Quality: 85}); err != nil {
		t.Fatal(err)
	}
	return stripHuffman(t, b.Bytes())
}

// stripHuffman drops the DHT segments before the scan of a JPEG.
func stripHuffman(t *testing.T, j []byte) []byte {
	t.Helper()
	out := append([]byte(nil), j[:2]...)
	i := 2
	for j[i+1] != 0xda { // up to the scan, dropping DHT segments
		n := int(j[i+2])<<8 | int(j[i+3])
		if j[i+1] != 0xc4 {
			out = append(out, j[i:i+2+n]...)
		}
		i += 2 + n
	}
	out = append(out, j[i:]...)
	if camera.HasHuffmanTables(out) {
		t.Fatal("Huffman tables left in")
	}
	return out
}

func topLines(t *testing.T, out string) []string {
	t.Helper()
	var tops []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var s streamLine
		if err := json.Unmarshal([]byte(l), &s); err != nil {
			t.Fatalf("%v: %q", err, l)
		}
		tops = append(tops, fmt.Sprint(s.Top))
	}
	return tops
}

// classifyTops classifies the pictures as RGB PNGs (the frames as the
// stream's colour conversion sees them).
func classifyTops(t *testing.T, fw, dir string, imgs []*camera.RGB) []string {
	t.Helper()
	var pngs []string
	for i, img := range imgs {
		p := filepath.Join(dir, fmt.Sprintf("p%d.png", i))
		writeRGBPNG(t, p, img)
		pngs = append(pngs, p)
	}
	code, out, errs := runCLI(t, append([]string{"classify", "--model", fw, "--json", "--top", "3", "--threads", "1"}, pngs...)...)
	if code != 0 {
		t.Fatalf("classify: %s", errs)
	}
	var tops []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var r result
		json.Unmarshal([]byte(l), &r)
		tops = append(tops, fmt.Sprint(r.Top))
	}
	return tops
}

func TestStreamV4L2(t *testing.T) {
	dir := t.TempDir()
	fw := tinyModel(t, dir, 64)
	defer func() { streamV4L2Open = nil }()
	stream := func(fk *v4l2.Fake, args ...string) (int, string, string) {
		streamV4L2Open = fk.Open
		return runCLI(t, append([]string{"stream", "--model", fw, "--source", "v4l2:/dev/video3", "--threads", "2"}, args...)...)
	}

	// The labels of a (fake) webcam stream equal classify's on the same
	// pictures: YUYV with padded rows, MJPEG without Huffman tables.
	t.Run("EqualsClassify", func(t *testing.T) {
		yf := camera.FrameFormat{Pix: camera.YUYV, W: 160, H: 120, Stride: 336}
		var yuyv, mjpeg []v4l2.FakeStep
		var yimgs, mimgs []*camera.RGB
		var dec camera.MJPEGDecoder
		for i, fr := range encodeFrames(t, yf, 3, 40) {
			yuyv = append(yuyv, v4l2.FakeStep{Frame: fr})
			img, err := camera.ConvertFrame(fr, yf)
			if err != nil {
				t.Fatal(err)
			}
			yimgs = append(yimgs, img)
			j := webcamJPEG(t, uint64(60+i), 320, 240)
			mjpeg = append(mjpeg, v4l2.FakeStep{Frame: j})
			var f camera.Frame
			if err := dec.Decode(&f, j); err != nil {
				t.Fatal(err)
			}
			if img, err = camera.ConvertFrame(f.Data, f.Format); err != nil {
				t.Fatal(err)
			}
			mimgs = append(mimgs, img)
		}
		for _, c := range []struct {
			name   string
			script []v4l2.FakeStep
			imgs   []*camera.RGB
			args   []string
			info   string
		}{
			{"yuyv", yuyv, yimgs, []string{"--size", "160x120"}, `v4l2 /dev/video3: "Fake Webcam" (uvcvideo): YUYV 160x120 stride 336 limited range`},
			{"mjpeg", mjpeg, mimgs, []string{"--format", "mjpeg", "--size", "300x200", "--fps", "10"}, `MJPEG 320x240 (asked 300x200) full range, 10 fps (asked 10 fps)`},
		} {
			t.Run(c.name, func(t *testing.T) {
				fk := fakeWebcam(append(c.script, v4l2.FakeStep{Stall: true})...)
				code, out, errs := stream(fk, append(c.args, "--json", "--top", "3", "--drop", "off", "--max-frames", "3")...)
				if code != 0 || !strings.Contains(errs, c.info) || !strings.Contains(errs, "summary: 3 frames, 0 dropped, 0 corrupt") {
					t.Fatalf("exit %d:\n%s", code, errs)
				}
				got, want := topLines(t, out), classifyTops(t, fw, t.TempDir(), c.imgs)
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("stream %v\nclassify %v", got, want)
				}
				if fk.MappedNow() != 0 || fk.Opens != fk.Closes {
					t.Errorf("device not released: %v", fk)
				}
			})
		}
	})

	// Where no chroma upsampling is involved (4:4:4), an MJPEG frame is
	// classified exactly as classify classifies the JPEG file: the
	// full-range conversion is libjpeg's.
	t.Run("MJPEG444EqualsClassifyOnTheFile", func(t *testing.T) {
		file := filepath.Join("..", "..", "camera", "testdata", "pil", "jpeg_444.jpg")
		j, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		fk := fakeWebcam(v4l2.FakeStep{Frame: stripHuffman(t, j)}, v4l2.FakeStep{Frame: j}, v4l2.FakeStep{Stall: true})
		fk.Formats[1].Sizes = [][2]int{{64, 48}}
		code, out, errs := stream(fk, "--format", "mjpeg", "--json", "--top", "3", "--drop", "off", "--max-frames", "2")
		if code != 0 || !strings.Contains(errs, "MJPEG 64x48 (asked 640x480) full range") {
			t.Fatalf("exit %d\n%s", code, errs)
		}
		code, cout, cerrs := runCLI(t, "classify", "--model", fw, "--json", "--top", "3", "--threads", "1", file)
		if code != 0 {
			t.Fatal(cerrs)
		}
		want := topLines(t, strings.Repeat(strings.Replace(strings.TrimSpace(cout), `"input"`, `"frame":0,"input"`, 1)+"\n", 2))
		if got := topLines(t, out); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("stream %v\nclassify %v", got, want)
		}
	})

	// A corrupt MJPEG frame is skipped and counted; an unplugged camera
	// ends the stream with a clear error, or with --reconnect is reopened.
	t.Run("CorruptAndUnplug", func(t *testing.T) {
		good := webcamJPEG(t, 7, 160, 120)
		script := func() []v4l2.FakeStep {
			return []v4l2.FakeStep{{Frame: good}, {Frame: good[:len(good)/2]}, {Frame: good}, {Gone: true}, {Frame: good}, {Frame: good}, {Stall: true}}
		}
		code, out, errs := stream(fakeWebcam(script()...), "--format", "mjpeg", "--size", "160x120", "--drop", "off")
		if code != 1 || strings.Count(out, "frame ") != 2 || !strings.Contains(out, "summary: 2 frames, 0 dropped, 1 corrupt") ||
			!strings.Contains(errs, "/dev/video3: the camera is gone (unplugged?)") || !strings.Contains(errs, "last corrupt frame") {
			t.Errorf("exit %d\n%s\n%s", code, out, errs)
		}
		fk := fakeWebcam(script()...)
		fk.Unplugged = 1
		code, out, errs = stream(fk, "--format", "mjpeg", "--size", "160x120", "--drop", "off", "--reconnect", "--max-frames", "4")
		if code != 0 || strings.Count(out, "frame ") != 4 || !strings.Contains(out, "frame 4  ") || !strings.Contains(out, "summary: 4 frames, 0 dropped, 1 corrupt") ||
			!strings.Contains(errs, "v4l2 /dev/video3: the camera is gone (unplugged?): VIDIOC_DQBUF: no such device; reopening") ||
			!strings.Contains(errs, "reopening failed (attempt 1, next in 500ms): no such device") || !strings.Contains(errs, "reopened after 2 attempts") {
			t.Errorf("reconnect: exit %d\n%s\n%s", code, out, errs)
		}
		code, out, errs = stream(fakeWebcam(v4l2.FakeStep{Frame: good}, v4l2.FakeStep{Stall: true}), "--format", "mjpeg", "--size", "160x120", "--frame-timeout", "300ms")
		if code != 1 || strings.Count(out, "frame ") != 1 || !strings.Contains(errs, "no frame for 300ms") {
			t.Errorf("stall: exit %d\n%s\n%s", code, out, errs)
		}
	})

	// The colour range: a full-range Y4M (XCOLORRANGE=FULL) and the same
	// frames piped with --range full give classify's labels on the
	// full-range pictures.
	t.Run("Range", func(t *testing.T) {
		f := camera.FrameFormat{Pix: camera.I420, W: 72, H: 64, Range: camera.RangeFull}
		frames := encodeFrames(t, f, 2, 90)
		var y4m, raw bytes.Buffer
		camera.WriteY4MHeader(&y4m, f, 30, 1)
		var imgs []*camera.RGB
		for _, fr := range frames {
			y4m.WriteString("FRAME\n")
			y4m.Write(fr)
			raw.Write(fr)
			img, _ := camera.ConvertFrame(fr, f)
			imgs = append(imgs, img)
		}
		want := classifyTops(t, fw, t.TempDir(), imgs)
		py, pr := filepath.Join(dir, "full.y4m"), filepath.Join(dir, "full.raw")
		os.WriteFile(py, y4m.Bytes(), 0o644)
		os.WriteFile(pr, raw.Bytes(), 0o644)
		base := []string{"stream", "--model", fw, "--json", "--top", "3", "--threads", "1"}
		for _, args := range [][]string{{"--source", "y4m:" + py}, {"--source", "pipe:" + pr, "--format", "i420", "--size", "72x64", "--range", "full"}} {
			code, out, errs := runCLI(t, append(base, args...)...)
			if code != 0 {
				t.Fatalf("%v: %s", args, errs)
			}
			if got := topLines(t, out); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("%v: %v, classify %v", args, got, want)
			}
		}
		// --range overrides the header.
		if code, out, errs := runCLI(t, append(base, "--source", "y4m:"+py, "--range", "limited")...); code != 0 || len(topLines(t, out)) != 2 {
			t.Errorf("--range limited: exit %d\n%s", code, errs)
		}
	})

	t.Run("BadFlags", func(t *testing.T) {
		fk := fakeWebcam(v4l2.FakeStep{Stall: true})
		for _, c := range []struct {
			args []string
			want string
		}{
			{[]string{"--stride", "400"}, "--stride applies to pipe"},
			{[]string{"--format", "rgb24"}, "yuyv or mjpeg"},
			{[]string{"--size", "big"}, "--size"},
			{[]string{"--frame-timeout", "0s"}, "--frame-timeout"},
			{[]string{"--range", "wide"}, "--range"},
			{[]string{"--fps", "-3"}, "frame rate -3"},
		} {
			code, _, errs := stream(fk, c.args...)
			if code == 0 || !strings.Contains(errs, c.want) || strings.Contains(errs, "panic") {
				t.Errorf("%v: exit %d %s", c.args, code, errs)
			}
		}
		for _, args := range [][]string{
			{"stream", "--model", fw, "--source", "pipe:-", "--format", "i420", "--size", "8x8", "--fps", "5"},
			{"stream", "--model", fw, "--source", "y4m:-", "--reconnect"},
			{"stream", "--model", fw, "--source", "files:" + dir, "--range", "full"},
		} {
			if code, _, errs := runCLI(t, args...); code == 0 || !strings.Contains(errs, "apply to") && !strings.Contains(errs, "applies to") {
				t.Errorf("%v: exit %d %s", args, code, errs)
			}
		}
		if fk.Opens != fk.Closes {
			t.Errorf("device left open: %v", fk)
		}
	})
}
