//go:build unix

package main

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// cdp is a page of a headless Chromium driven through the DevTools
// protocol: commands by id, and the console errors, exceptions and failed
// loads the page reports.
type cdp struct {
	t      *testing.T
	ws     *websocket.Conn
	next   atomic.Int64
	mu     sync.Mutex
	wait   map[int64]chan json.RawMessage
	errs   []string
	closed chan struct{}
}

// startChromium launches a headless Chromium on a fresh profile and
// attaches to its page; it skips the test when Chromium is not installed.
func startChromium(t *testing.T) *cdp {
	t.Helper()
	var bin string
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			bin = p
			break
		}
	}
	if bin == "" {
		t.Skip("the page is tested in a real browser: chromium not found on PATH (Debian package: chromium)")
	}
	profile, err := os.MkdirTemp("", "mixedge-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-extensions",
		"--user-data-dir="+profile, "--remote-debugging-port=0", "--remote-debugging-address=127.0.0.1",
		"--window-size=1280,860", "--hide-scrollbars", "about:blank")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // its helper processes with it
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
		os.RemoveAll(profile)
	})
	endpoint := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		re := regexp.MustCompile(`DevTools listening on (ws://\S+)`)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				endpoint <- m[1]
			}
		}
	}()
	var browserWS string
	select {
	case browserWS = <-endpoint:
	case <-time.After(30 * time.Second):
		t.Fatal("chromium did not open its DevTools endpoint in 30 s")
	}
	host := strings.Split(strings.TrimPrefix(browserWS, "ws://"), "/")[0]
	var targets []struct{ Type, WebSocketDebuggerURL string }
	for deadline := time.Now().Add(10 * time.Second); len(targets) == 0 || targets[0].Type != "page"; {
		resp, err := http.Get("http://" + host + "/json/list")
		if err == nil {
			var all []struct{ Type, WebSocketDebuggerURL string }
			json.NewDecoder(resp.Body).Decode(&all)
			resp.Body.Close()
			for _, tg := range all {
				if tg.Type == "page" {
					targets = append(targets[:0], tg)
				}
			}
		}
		if len(targets) == 0 {
			if time.Now().After(deadline) {
				t.Fatal("chromium has no page target")
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	ws, _, err := websocket.DefaultDialer.Dial(targets[0].WebSocketDebuggerURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &cdp{t: t, ws: ws, wait: map[int64]chan json.RawMessage{}, closed: make(chan struct{})}
	t.Cleanup(func() { ws.Close() })
	go c.read()
	for _, m := range []string{"Runtime.enable", "Log.enable", "Page.enable", "Network.enable"} {
		c.call(m, nil)
	}
	return c
}

func (c *cdp) read() {
	defer close(c.closed)
	for {
		var m struct {
			ID     int64
			Method string
			Params json.RawMessage
			Result json.RawMessage
			Error  *struct{ Message string }
		}
		if err := c.ws.ReadJSON(&m); err != nil {
			return
		}
		if m.ID != 0 {
			c.mu.Lock()
			ch := c.wait[m.ID]
			c.mu.Unlock()
			if m.Error != nil {
				m.Result = json.RawMessage(fmt.Sprintf(`{"cdpError":%q}`, m.Error.Message))
			}
			ch <- m.Result
			continue
		}
		var p struct {
			Type      string
			Entry     struct{ Level, Text, URL string }
			Args      []struct{ Value any }
			Exception struct {
				Text             string
				ExceptionDetails struct{ Text string }
			} `json:"exceptionDetails"`
			ErrorText string
			Response  struct {
				Status int
				URL    string
			}
		}
		json.Unmarshal(m.Params, &p)
		var e string
		switch {
		case m.Method == "Runtime.consoleAPICalled" && (p.Type == "error" || p.Type == "assert"):
			e = fmt.Sprintf("console.%s %v", p.Type, p.Args)
		case m.Method == "Runtime.exceptionThrown":
			e = "exception: " + string(m.Params)
		case m.Method == "Log.entryAdded" && p.Entry.Level == "error":
			e = fmt.Sprintf("log: %s %s", p.Entry.Text, p.Entry.URL)
		case m.Method == "Network.responseReceived" && p.Response.Status >= 400:
			e = fmt.Sprintf("HTTP %d for %s", p.Response.Status, p.Response.URL)
		}
		if e != "" {
			c.mu.Lock()
			c.errs = append(c.errs, e)
			c.mu.Unlock()
		}
	}
}

// call sends a command and waits for its result.
func (c *cdp) call(method string, params any) json.RawMessage {
	c.t.Helper()
	id := c.next.Add(1)
	ch := make(chan json.RawMessage, 1)
	c.mu.Lock()
	c.wait[id] = ch
	c.mu.Unlock()
	if params == nil {
		params = struct{}{}
	}
	if err := c.ws.WriteJSON(map[string]any{"id": id, "method": method, "params": params}); err != nil {
		c.t.Fatalf("%s: %v", method, err)
	}
	select {
	case r := <-ch:
		return r
	case <-c.closed:
		c.t.Fatalf("%s: chromium went away", method)
	case <-time.After(30 * time.Second):
		c.t.Fatalf("%s: no answer in 30 s", method)
	}
	return nil
}

// eval evaluates a JavaScript expression in the page.
func (c *cdp) eval(expr string) any {
	var r struct{ Result struct{ Value any } }
	json.Unmarshal(c.call("Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true}), &r)
	return r.Result.Value
}

// waitEval waits until expr evaluates to want.
func (c *cdp) waitEval(expr string, want any, what string) {
	c.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var got any
	for time.Now().Before(deadline) {
		if got = c.eval(expr); fmt.Sprint(got) == fmt.Sprint(want) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.t.Fatalf("page: %s: %s is %v, want %v (errors: %v)", what, expr, got, want, c.errors())
}

func (c *cdp) errors() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.errs...)
}

// The page in a real headless Chromium: it loads with the token, shows the
// label and switches when the stream's content does, shows both pictures,
// draws the chart, and reports no console error, exception or failed load.
// The screenshot is written to the test's directory, or to
// $MIXEDGE_PAGE_SCREENSHOT when set.
func TestLivePageBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the browser test starts Chromium (a few seconds)")
	}
	br := startChromium(t)
	c := newLiveClip(t)
	pr, pw := io.Pipe()
	var content atomic.Bool
	stop := make(chan struct{})
	fed := make(chan struct{})
	go func() {
		defer close(fed)
		for {
			fr := c.a
			if content.Load() {
				fr = c.b
			}
			if _, err := pw.Write(fr); err != nil {
				return
			}
			select {
			case <-stop:
				pw.Close()
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	const token = "page-token"
	r, lv := startLiveRun(t, pr, nil, "stream", "--model", c.fw, "--source", "pipe:-", "--format", "i420", "--size", "64x48",
		"--threads", "1", "--top", "5", "--http", "127.0.0.1:0", "--http-token", token)
	if lv == nil {
		t.Fatalf("did not start: %s", r.errs.String())
	}
	url := "http://" + lv.web.Addr() + "/?token=" + token
	br.call("Page.navigate", map[string]any{"url": url})
	br.waitEval(`document.getElementById("top1").textContent`, c.la, "the first label")
	br.waitEval(`document.getElementById("conn").textContent`, "live", "the event stream")
	br.waitEval(`document.getElementById("bars").children.length`, 5, "the top-5 bars")
	br.waitEval(`document.getElementById("crop").naturalWidth`, 64, "the network's picture")
	br.waitEval(`document.getElementById("frame").naturalWidth`, 64, "the source picture")
	content.Store(true)
	br.waitEval(`document.getElementById("top1").textContent`, c.lb, "the label after the content changed")
	br.waitEval(`Number(document.getElementById("frames").textContent) > 20`, true, "the frame counter")
	shot := br.call("Page.captureScreenshot", map[string]any{"format": "png"})
	var png struct{ Data string }
	json.Unmarshal(shot, &png)
	b, err := base64.StdEncoding.DecodeString(png.Data)
	if err != nil || len(b) < 1000 {
		t.Fatalf("screenshot: %v (%d bytes)", err, len(b))
	}
	path := filepath.Join(t.TempDir(), "page.png")
	if p := os.Getenv("MIXEDGE_PAGE_SCREENSHOT"); p != "" {
		path = p
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s (%d bytes)", path, len(b))
	if errs := br.errors(); len(errs) > 0 {
		t.Errorf("the page reported errors:\n%s", strings.Join(errs, "\n"))
	}
	close(stop)
	<-fed
	if code := r.wait(t); code != 0 {
		t.Fatalf("exit %d: %s", code, r.errs.String())
	}
}
