//go:build unix

package main

import (
	"bytes"
	"io"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mixedge/mixedge/camera"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// SIGINT and SIGTERM end a never-ending live stream cleanly, with the
// summary printed and exit status 0.
func TestStreamSignal(t *testing.T) {
	fw := tinyModel(t, t.TempDir(), 32)
	f := camera.FrameFormat{Pix: camera.YUYV, W: 40, H: 30}
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		pr, pw := io.Pipe()
		frames := encodeFrames(t, f, 2, 1)
		go func() { // a live camera: frames for ever (until the pipe closes)
			for i := 0; ; i++ {
				if _, err := pw.Write(frames[i%2]); err != nil {
					return
				}
				time.Sleep(2 * time.Millisecond)
			}
		}()
		streamStdin = pr
		defer func() { streamStdin = os.Stdin }()
		var out, errs syncBuffer
		done := make(chan int)
		go func() {
			done <- run([]string{"stream", "--model", fw, "--source", "pipe:-", "--format", "yuyv", "--size", "40x30", "--threads", "1"}, &out, &errs)
		}()
		deadline := time.Now().Add(60 * time.Second)
		for strings.Count(out.String(), "\n") < 3 && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		syscall.Kill(syscall.Getpid(), sig)
		var code int
		select {
		case code = <-done:
		case <-time.After(60 * time.Second):
			t.Fatalf("%v: stream did not end", sig)
		}
		pw.Close()
		if code != 0 || !strings.Contains(out.String(), "summary: ") || !strings.Contains(out.String(), "p50") {
			t.Errorf("%v: exit %d\n%s\n%s", sig, code, out.String(), errs.String())
		}
	}
}
