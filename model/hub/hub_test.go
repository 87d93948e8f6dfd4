package hub

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// fakeHub serves files like the Hugging Face hub: HEAD on
// /{repo}/resolve/main/{file} answers 302 to /cdn/... with X-Linked-Etag and
// X-Linked-Size for LFS files, or 200 with ETag (git blob id) for others;
// the CDN honours Range requests.
type fakeHub struct {
	t       *testing.T
	mu      sync.Mutex
	files   map[string][]byte // "repo/file" → content
	lfs     map[string]bool
	sha     map[string]string // published checksum override
	serve   map[string][]byte // served bytes override (corruption)
	cut     int               // GETs still to cut off halfway
	noRange bool              // ignore Range (answer 200)
	delay   time.Duration     // pause before each GET body
	heads   int
	gets    int
	ranges  []string
}

func newFakeHub(t *testing.T) (*fakeHub, *httptest.Server) {
	h := &fakeHub{t: t, files: map[string][]byte{}, lfs: map[string]bool{}, sha: map[string]string{}, serve: map[string][]byte{}}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return h, srv
}

func (h *fakeHub) add(repo, file string, data []byte, lfs bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.files[repo+"/"+file] = data
	h.lfs[repo+"/"+file] = lfs
}

func sha256hex(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

func gitSHA1(b []byte) string {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(b))
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))
}

func (h *fakeHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	path := strings.TrimPrefix(r.URL.Path, "/")
	cdn := strings.HasPrefix(path, "cdn/")
	var key string
	if cdn {
		key = strings.TrimPrefix(path, "cdn/")
	} else if i := strings.Index(path, "/resolve/main/"); i >= 0 {
		key = path[:i] + "/" + path[i+len("/resolve/main/"):]
	}
	data, ok := h.files[key]
	lfs := h.lfs[key]
	sum := h.sha[key]
	if sum == "" && lfs {
		sum = sha256hex(data)
	} else if sum == "" {
		sum = gitSHA1(data)
	}
	body := data
	if b, ok := h.serve[key]; ok {
		body = b
	}
	if r.Method == http.MethodHead {
		h.heads++
	} else if cdn || !lfs { // the GETs that serve bytes
		h.gets++
		h.ranges = append(h.ranges, r.Header.Get("Range"))
	}
	cut := false
	if r.Method == http.MethodGet && (cdn || !lfs) && h.cut > 0 {
		h.cut--
		cut = true
	}
	noRange, delay := h.noRange, h.delay
	h.mu.Unlock()

	if !ok {
		w.Header().Set("X-Error-Code", "EntryNotFound")
		http.Error(w, "Entry not found", http.StatusNotFound)
		return
	}
	w.Header().Set("X-Repo-Commit", "0123456789abcdef0123456789abcdef01234567")
	if !cdn && lfs {
		w.Header().Set("X-Linked-Etag", `"`+sum+`"`)
		w.Header().Set("X-Linked-Size", strconv.Itoa(len(data)))
		w.Header().Set("ETag", `"`+sum+`"`)
		w.Header().Set("Location", "/cdn/"+key)
		w.WriteHeader(http.StatusFound)
		return
	}
	if !lfs {
		w.Header().Set("ETag", `"`+sum+`"`)
	}
	if r.Method == http.MethodHead {
		w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		return
	}
	start := 0
	if rg := r.Header.Get("Range"); rg != "" && !noRange {
		n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(rg, "bytes="), "-"))
		if err != nil || n >= len(body) {
			w.WriteHeader(http.StatusRequestedRangeNotSatisfiable)
			return
		}
		start = n
		w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", n, len(body)-1, len(body)))
		w.Header().Set("Content-Length", strconv.Itoa(len(body)-n))
		w.WriteHeader(http.StatusPartialContent)
	} else {
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(http.StatusOK)
	}
	if delay > 0 {
		time.Sleep(delay)
	}
	rest := body[start:]
	if cut {
		w.Write(rest[:len(rest)/2])
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler) // drops the connection mid-body
	}
	w.Write(rest)
}

func testData(n int) []byte {
	b := make([]byte, n)
	x := uint32(12345)
	for i := range b {
		x = x*1664525 + 1013904223
		b[i] = byte(x >> 24)
	}
	return b
}

const testRepo = "timm/mixnet_s.ft_in1k"

// noLeftovers checks that dir holds nothing but the allowed names (no lock
// files either).
func noLeftovers(t *testing.T, dir string, allowed ...string) {
	t.Helper()
	des, _ := os.ReadDir(dir)
	for _, de := range des {
		n := de.Name()
		ok := false
		for _, a := range allowed {
			ok = ok || a == n
		}
		if !ok {
			t.Errorf("left in the cache: %s", n)
		}
	}
}

func TestRepo(t *testing.T) {
	want := map[string]string{
		"mixnet_s": "timm/mixnet_s.ft_in1k", "mixnet_m": "timm/mixnet_m.ft_in1k", "mixnet_l": "timm/mixnet_l.ft_in1k",
		"tf_mixnet_s": "timm/tf_mixnet_s.in1k", "tf_mixnet_m": "timm/tf_mixnet_m.in1k", "tf_mixnet_l": "timm/tf_mixnet_l.in1k",
	}
	if len(Names()) != 6 {
		t.Fatalf("Names() = %v", Names())
	}
	for _, n := range Names() {
		repo, arch, err := Repo(n)
		if err != nil || repo != want[n] || arch != n {
			t.Errorf("Repo(%q) = %q, %q, %v", n, repo, arch, err)
		}
	}
	if _, _, err := Repo("resnet50"); err == nil || !strings.Contains(err.Error(), "mixnet_s") {
		t.Errorf("Repo(resnet50): %v", err)
	}
}

func TestEndpoint(t *testing.T) {
	t.Setenv("HF_ENDPOINT", "")
	if Endpoint() != DefaultEndpoint {
		t.Errorf("Endpoint() = %q", Endpoint())
	}
	t.Setenv("HF_ENDPOINT", "http://mirror.example/")
	if Endpoint() != "http://mirror.example" {
		t.Errorf("Endpoint() = %q", Endpoint())
	}
	if u := URL("https://huggingface.co", testRepo, WeightsFile); u != "https://huggingface.co/timm/mixnet_s.ft_in1k/resolve/main/model.safetensors" {
		t.Errorf("URL = %q", u)
	}
}

func TestFetch(t *testing.T) {
	h, srv := newFakeHub(t)
	data := testData(300 << 10)
	h.add(testRepo, WeightsFile, data, true)
	cfg := []byte(`{"architecture": "mixnet_s", "num_classes": 1000}`)
	h.add(testRepo, ConfigFile, cfg, false)
	dir := t.TempDir()
	dst := filepath.Join(dir, WeightsFile)
	var last, total int64
	calls := 0
	err := Fetch(context.Background(), nil, srv.URL, testRepo, WeightsFile, dst, func(d, n int64) { last, total = d, n; calls++ })
	if err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(dst)
	if string(got) != string(data) {
		t.Fatal("downloaded bytes differ")
	}
	if last != int64(len(data)) || total != int64(len(data)) || calls < 2 {
		t.Errorf("progress: last %d/%d after %d calls", last, total, calls)
	}
	// config.json: a git file verified by its blob id.
	if err := Fetch(context.Background(), nil, srv.URL, testRepo, ConfigFile, filepath.Join(dir, ConfigFile), nil); err != nil {
		t.Fatal(err)
	}
	noLeftovers(t, dir, WeightsFile, ConfigFile)
	// Present: no network at all.
	h.mu.Lock()
	heads, gets := h.heads, h.gets
	h.mu.Unlock()
	if err := Fetch(context.Background(), nil, "http://127.0.0.1:1", testRepo, WeightsFile, dst, nil); err != nil {
		t.Fatal(err)
	}
	if h.heads != heads || h.gets != gets {
		t.Error("a cached file was fetched again")
	}
	m, err := Head(context.Background(), nil, URL(srv.URL, testRepo, WeightsFile))
	if err != nil || m.Size != int64(len(data)) || m.Hash != sha256hex(data) || m.HashKind != "sha256" || !strings.HasSuffix(m.Location, "/cdn/"+testRepo+"/"+WeightsFile) {
		t.Errorf("Head = %+v, %v", m, err)
	}
}

func TestFetchRefuses(t *testing.T) {
	data := testData(100 << 10)
	cases := []struct {
		name  string
		setup func(h *fakeHub)
		want  string
	}{
		{"wrong sha", func(h *fakeHub) { h.sha[testRepo+"/"+WeightsFile] = sha256hex([]byte("other")) }, "sha256 is"},
		{"corrupted", func(h *fakeHub) {
			b := append([]byte(nil), data...)
			b[len(b)/3] ^= 0x40
			h.serve[testRepo+"/"+WeightsFile] = b
		}, "corrupted"},
		{"too long", func(h *fakeHub) { h.serve[testRepo+"/"+WeightsFile] = append(append([]byte(nil), data...), 1, 2, 3) }, "more than"},
		{"no checksum", func(h *fakeHub) { h.sha[testRepo+"/"+WeightsFile] = "abc" }, "cannot be verified"},
		{"404", func(h *fakeHub) { delete(h.files, testRepo+"/"+WeightsFile) }, "404"},
		{"cut before any byte", func(h *fakeHub) { h.serve[testRepo+"/"+WeightsFile] = []byte{}; h.cut = 10 }, "connection closed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h, srv := newFakeHub(t)
			h.add(testRepo, WeightsFile, data, true)
			c.setup(h)
			dir := t.TempDir()
			dst := filepath.Join(dir, WeightsFile)
			err := Fetch(context.Background(), nil, srv.URL, testRepo, WeightsFile, dst, nil)
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "--weights FILE") {
				t.Fatalf("want an error containing %q and the --weights hint, got %v", c.want, err)
			}
			if IsNetwork(err) != strings.HasPrefix(c.name, "cut") {
				t.Errorf("%v: IsNetwork = %v", err, IsNetwork(err))
			}
			noLeftovers(t, dir)
		})
	}
}

func TestFetchResume(t *testing.T) {
	data := testData(512 << 10)
	t.Run("within a run", func(t *testing.T) {
		h, srv := newFakeHub(t)
		h.add(testRepo, WeightsFile, data, true)
		h.cut = 1
		dir := t.TempDir()
		dst := filepath.Join(dir, WeightsFile)
		if err := Fetch(context.Background(), nil, srv.URL, testRepo, WeightsFile, dst, nil); err != nil {
			t.Fatal(err)
		}
		if got, _ := os.ReadFile(dst); string(got) != string(data) {
			t.Fatal("resumed file differs")
		}
		if len(h.ranges) != 2 || h.ranges[0] != "" || !strings.HasPrefix(h.ranges[1], "bytes=") || h.ranges[1] == "bytes=0-" {
			t.Errorf("GET ranges %q: want a full GET then a resume", h.ranges)
		}
		noLeftovers(t, dir, WeightsFile)
	})
	t.Run("across runs", func(t *testing.T) {
		h, srv := newFakeHub(t)
		h.add(testRepo, WeightsFile, data, true)
		h.cut = 1000
		dir := t.TempDir()
		dst := filepath.Join(dir, WeightsFile)
		err := Fetch(context.Background(), nil, srv.URL, testRepo, WeightsFile, dst, nil)
		if err == nil || !IsNetwork(err) || !strings.Contains(err.Error(), "resume") || !strings.Contains(err.Error(), "--weights") {
			t.Fatalf("cut connection: %v", err)
		}
		if _, err := os.Stat(dst); err == nil {
			t.Fatal("an incomplete download was installed")
		}
		st, err := os.Stat(dst + ".partial")
		if err != nil || st.Size() == 0 || st.Size() >= int64(len(data)) {
			t.Fatalf("partial: %v %v", st, err)
		}
		noLeftovers(t, dir, WeightsFile+".partial")
		h.mu.Lock()
		h.cut, h.ranges = 0, nil
		h.mu.Unlock()
		if err := Fetch(context.Background(), nil, srv.URL, testRepo, WeightsFile, dst, nil); err != nil {
			t.Fatal(err)
		}
		if got, _ := os.ReadFile(dst); string(got) != string(data) {
			t.Fatal("resumed file differs")
		}
		if want := fmt.Sprintf("bytes=%d-", st.Size()); len(h.ranges) != 1 || h.ranges[0] != want {
			t.Errorf("GET ranges %q, want [%s]", h.ranges, want)
		}
		noLeftovers(t, dir, WeightsFile)
	})
	t.Run("server ignores range", func(t *testing.T) {
		h, srv := newFakeHub(t)
		h.add(testRepo, WeightsFile, data, true)
		h.noRange = true
		dir := t.TempDir()
		dst := filepath.Join(dir, WeightsFile)
		os.WriteFile(dst+".partial", data[:1000], 0o644)
		if err := Fetch(context.Background(), nil, srv.URL, testRepo, WeightsFile, dst, nil); err != nil {
			t.Fatal(err)
		}
		if got, _ := os.ReadFile(dst); string(got) != string(data) {
			t.Fatal("file differs after a 200 to a Range request")
		}
	})
	t.Run("stale partial of another file", func(t *testing.T) {
		h, srv := newFakeHub(t)
		h.add(testRepo, WeightsFile, data, true)
		dir := t.TempDir()
		dst := filepath.Join(dir, WeightsFile)
		os.WriteFile(dst+".partial", testData(1000)[500:], 0o644) // wrong bytes: verification fails, nothing kept
		err := Fetch(context.Background(), nil, srv.URL, testRepo, WeightsFile, dst, nil)
		if err == nil {
			t.Fatal("a partial with foreign bytes verified")
		}
		noLeftovers(t, dir)
		if err := Fetch(context.Background(), nil, srv.URL, testRepo, WeightsFile, dst, nil); err != nil {
			t.Fatalf("second try: %v", err)
		}
	})
}

func TestFetchOffline(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	endpoint := "http://" + l.Addr().String()
	l.Close()
	dir := t.TempDir()
	start := time.Now()
	err = Fetch(context.Background(), nil, endpoint, testRepo, WeightsFile, filepath.Join(dir, WeightsFile), nil)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("offline failure took %v", d)
	}
	if err == nil || !IsNetwork(err) || !strings.Contains(err.Error(), "--weights FILE") || !strings.Contains(err.Error(), "offline") {
		t.Fatalf("offline: %v", err)
	}
	noLeftovers(t, dir)
}

func TestFetchConcurrent(t *testing.T) {
	h, srv := newFakeHub(t)
	data := testData(1 << 20)
	h.add(testRepo, WeightsFile, data, true)
	h.delay = 200 * time.Millisecond
	dir := t.TempDir()
	dst := filepath.Join(dir, WeightsFile)
	const n = 4
	errs := make([]error, n)
	var wg sync.WaitGroup
	var started atomic.Int32
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			started.Add(1)
			errs[i] = Fetch(context.Background(), nil, srv.URL, testRepo, WeightsFile, dst, nil)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got, _ := os.ReadFile(dst); string(got) != string(data) {
		t.Fatal("concurrent fetches corrupted the file")
	}
	if h.gets != 1 {
		t.Errorf("%d GETs for %d concurrent fetches, want 1", h.gets, n)
	}
	noLeftovers(t, dir, WeightsFile)
}

// TestHelperFetch is the child of TestFetchConcurrentProcesses.
func TestHelperFetch(t *testing.T) {
	if os.Getenv("MIXEDGE_HUB_HELPER") != "1" {
		t.Skip("helper process")
	}
	err := Fetch(context.Background(), nil, os.Getenv("MIXEDGE_HUB_ENDPOINT"), testRepo, WeightsFile, os.Getenv("MIXEDGE_HUB_DST"), nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	os.Exit(0)
}

func TestFetchConcurrentProcesses(t *testing.T) {
	h, srv := newFakeHub(t)
	data := testData(1 << 20)
	h.add(testRepo, WeightsFile, data, true)
	h.mu.Lock()
	h.delay = 300 * time.Millisecond
	h.mu.Unlock()
	dir := t.TempDir()
	dst := filepath.Join(dir, WeightsFile)
	var cmds []*exec.Cmd
	for range 3 {
		c := exec.Command(os.Args[0], "-test.run=^TestHelperFetch$")
		c.Env = append(os.Environ(), "MIXEDGE_HUB_HELPER=1", "MIXEDGE_HUB_ENDPOINT="+srv.URL, "MIXEDGE_HUB_DST="+dst)
		c.Stderr = os.Stderr
		if err := c.Start(); err != nil {
			if errors.Is(err, syscall.ENOEXEC) {
				t.Skipf("cannot re-run the test binary as a process here (%v): an emulated run under qemu-user without binfmt", err)
			}
			t.Fatal(err)
		}
		cmds = append(cmds, c)
	}
	for _, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Errorf("child: %v", err)
		}
	}
	if got, _ := os.ReadFile(dst); string(got) != string(data) {
		t.Fatal("concurrent processes corrupted the file")
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.gets != 1 {
		t.Errorf("%d GETs for 3 concurrent processes, want 1", h.gets)
	}
	noLeftovers(t, dir, WeightsFile)
}

func TestLockCancel(t *testing.T) {
	dst := filepath.Join(t.TempDir(), "x")
	unlock, err := Lock(context.Background(), dst)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := Lock(ctx, dst); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second lock: %v", err)
	}
}

// Unlock deletes the lock file, and the lock stays exclusive while holders
// delete it under waiters.
func TestLockDeletesItsFile(t *testing.T) {
	dir := t.TempDir()
	dst := filepath.Join(dir, "x")
	var inside, worst atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				unlock, err := Lock(context.Background(), dst)
				if err != nil {
					t.Error(err)
					return
				}
				if n := inside.Add(1); n > worst.Load() {
					worst.Store(n)
				}
				time.Sleep(100 * time.Microsecond)
				inside.Add(-1)
				unlock()
			}
		}()
	}
	wg.Wait()
	if worst.Load() != 1 {
		t.Errorf("%d holders at once", worst.Load())
	}
	noLeftovers(t, dir)
}

func TestCache(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", "/xdg")
	if c, _ := DefaultCache(); c.Dir != "/xdg/mixedge" {
		t.Errorf("XDG: %q", c.Dir)
	}
	t.Setenv("XDG_CACHE_HOME", "")
	t.Setenv("HOME", "/home/u")
	if c, _ := DefaultCache(); c.Dir != "/home/u/.cache/mixedge" {
		t.Errorf("HOME: %q", c.Dir)
	}

	c := Cache{Dir: filepath.Join(t.TempDir(), "mixedge")}
	if es, err := c.List(); err != nil || len(es) != 0 {
		t.Fatalf("empty cache: %v %v", es, err)
	}
	os.MkdirAll(c.Path("mixnet_s"), 0o755)
	os.WriteFile(filepath.Join(c.Path("mixnet_s"), WeightsFile), make([]byte, 100), 0o644)
	os.WriteFile(filepath.Join(c.Path("mixnet_s"), "model.fw"), make([]byte, 30), 0o644)
	os.WriteFile(filepath.Join(c.Path("mixnet_s"), WeightsFile+lockSuffix), nil, 0o644)
	os.MkdirAll(c.Path("tf_mixnet_l"), 0o755)
	os.WriteFile(filepath.Join(c.Path("tf_mixnet_l"), WeightsFile+".partial"), make([]byte, 7), 0o644)
	es, err := c.List()
	if err != nil || len(es) != 2 || es[0].Name != "mixnet_s" || es[0].Size != 130 || len(es[0].Files) != 2 ||
		!es[0].Has("model.fw") || es[1].Size != 7 || es[0].ModTime.IsZero() {
		t.Fatalf("List = %+v, %v", es, err)
	}
	if err := c.Remove("mixnet_s"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := c.Stat("mixnet_s"); ok {
		t.Error("still cached after Remove")
	}
	if err := c.Remove("mixnet_s"); err == nil || !strings.Contains(err.Error(), "not in the cache") {
		t.Errorf("Remove of an absent name: %v", err)
	}
	for _, bad := range []string{"", "..", "../x", "a/b", ".hidden"} {
		if err := c.Remove(bad); err == nil {
			t.Errorf("Remove(%q) accepted", bad)
		}
	}
}
