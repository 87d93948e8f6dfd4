//go:build linux

package main

import (
	"testing"

	"github.com/mixedge/mixedge/camera/v4l2"
)

// An unplugged (fake) webcam reopened by --reconnect shows in
// mixedge_source_reconnects_total and in the page's updates.
func TestLiveV4L2Reconnects(t *testing.T) {
	fw := liveTinyModel(t)
	good := webcamJPEG(t, 7, 160, 120)
	fk := fakeWebcam(v4l2.FakeStep{Frame: good}, v4l2.FakeStep{Gone: true}, v4l2.FakeStep{Frame: good}, v4l2.FakeStep{Frame: good}, v4l2.FakeStep{Stall: true})
	streamV4L2Open = fk.Open
	defer func() { streamV4L2Open = nil }()
	var metrics string
	var reconnects int64
	r, lv := startLiveRun(t, nil, func(lv *live) {
		_, _, b := httpGet(t, "http://"+lv.web.Addr()+"/metrics", "")
		metrics = string(b)
		reconnects = lv.state.reconnects()
	}, "stream", "--model", fw, "--source", "v4l2:/dev/video3", "--threads", "1", "--format", "mjpeg", "--size", "160x120",
		"--drop", "off", "--reconnect", "--max-frames", "3", "--http", "127.0.0.1:0")
	if lv == nil {
		t.Fatalf("did not start: %s", r.errs.String())
	}
	if code := r.wait(t); code != 0 {
		t.Fatalf("exit %d: %s", code, r.errs.String())
	}
	if got := metricValue(t, metrics, "mixedge_source_reconnects_total"); got != 1 || reconnects != 1 {
		t.Errorf("reconnects: metric %v, state %d, want 1\n%s", got, reconnects, r.errs.String())
	}
}
