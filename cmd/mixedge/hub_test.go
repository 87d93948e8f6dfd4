package main

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mixedge/mixedge/model"
	"github.com/mixedge/mixedge/model/hub"
)

// miniHub serves one repository's model.safetensors like the Hugging Face
// hub: HEAD answers 302 to a CDN path with X-Linked-Etag (the SHA-256) and
// X-Linked-Size; the CDN serves the bytes with Range support.
type miniHub struct {
	mu      sync.Mutex
	repo    string
	data    []byte
	sha     string // published; defaults to the real one
	serve   []byte // served; defaults to data
	heads   int
	gets    int
	missing bool
}

func (h *miniHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch r.URL.Path {
	case "/" + h.repo + "/resolve/main/model.safetensors":
		if r.Method == http.MethodHead {
			h.heads++
		}
		if h.missing {
			http.Error(w, "Entry not found", http.StatusNotFound)
			return
		}
		sum := h.sha
		if sum == "" {
			s := sha256.Sum256(h.data)
			sum = hex.EncodeToString(s[:])
		}
		w.Header().Set("X-Linked-Etag", `"`+sum+`"`)
		w.Header().Set("X-Linked-Size", strconv.Itoa(len(h.data)))
		w.Header().Set("Location", "/cdn/model.safetensors")
		w.WriteHeader(http.StatusFound)
	case "/cdn/model.safetensors":
		h.gets++
		b := h.serve
		if b == nil {
			b = h.data
		}
		http.ServeContent(w, r, "model.safetensors", time.Time{}, bytes.NewReader(b))
	case "/" + h.repo + "/resolve/main/config.json": // a git file: ETag is the blob id
		if h.missing {
			http.NotFound(w, r)
			return
		}
		sum := sha1.New()
		fmt.Fprintf(sum, "blob %d\x00%s", len(miniConfig), miniConfig)
		w.Header().Set("ETag", `"`+hex.EncodeToString(sum.Sum(nil))+`"`)
		http.ServeContent(w, r, "config.json", time.Time{}, strings.NewReader(miniConfig))
	default:
		http.NotFound(w, r)
	}
}

const miniConfig = `{"architecture": "mixnet_s", "num_classes": 1000}`

func startMiniHub(t *testing.T, data []byte) (*miniHub, *httptest.Server) {
	h := &miniHub{repo: "timm/mixnet_s.ft_in1k", data: data}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return h, srv
}

func closedEndpoint(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

// cacheFiles lists the files under dir (lock files too: none may stay).
func cacheFiles(t *testing.T, dir string) []string {
	var out []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, rel)
		}
		return nil
	})
	return out
}

func TestResolveModelFlow(t *testing.T) {
	dir := t.TempDir()
	data, err := os.ReadFile(writeSynthetic(t, dir))
	if err != nil {
		t.Fatal(err)
	}
	h, srv := startMiniHub(t, data)
	cacheHome := filepath.Join(dir, "cache")
	t.Setenv("XDG_CACHE_HOME", cacheHome)
	t.Setenv("HF_ENDPOINT", srv.URL)

	// First run, twice at once: one download, one conversion, both get the .fw.
	var wg sync.WaitGroup
	paths, errs := make([]string, 2), make([]error, 2)
	logs := make([]bytes.Buffer, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			paths[i], errs[i] = resolveModel("mixnet_s", &logs[i])
			fmt.Fprintf(&logs[i], "(%.1fs)\n", time.Since(start).Seconds())
		}()
	}
	wg.Wait()
	t.Logf("first runs:\n%s%s", logs[0].String(), logs[1].String())
	want := filepath.Join(cacheHome, "mixedge", "mixnet_s", "model.fw")
	for i := range 2 {
		if errs[i] != nil || paths[i] != want {
			t.Fatalf("resolveModel #%d = %q, %v\n%s", i, paths[i], errs[i], logs[i].String())
		}
	}
	if h.gets != 1 {
		t.Errorf("%d downloads for two concurrent first runs", h.gets)
	}
	if all := logs[0].String() + logs[1].String(); strings.Count(all, "converting mixnet_s") != 1 || !strings.Contains(all, "verified") || strings.Contains(all, "note:") {
		t.Errorf("first-run messages:\n%s", all)
	}
	got, _ := os.ReadFile(filepath.Join(cacheHome, "mixedge", "mixnet_s", "model.safetensors"))
	if !bytes.Equal(got, data) {
		t.Fatal("cached weights differ from the served ones")
	}
	if files := strings.Join(cacheFiles(t, cacheHome), " "); files != "mixedge/mixnet_s/config.json mixedge/mixnet_s/model.fw mixedge/mixnet_s/model.safetensors" {
		t.Errorf("cache holds %s", files)
	}
	fw, err := model.OpenFirmware(want)
	if err != nil {
		t.Fatalf("cached .fw: %v", err)
	}
	if fw.Q.G.Arch.Name != "mixnet_s" {
		t.Errorf("cached .fw is %s", fw.Q.G.Arch.Name)
	}
	fw.Close()

	// Second run: the cache, no network.
	srv.Close()
	t.Setenv("HF_ENDPOINT", closedEndpoint(t))
	var log bytes.Buffer
	if p, err := resolveModel("mixnet_s", &log); err != nil || p != want || log.Len() != 0 {
		t.Fatalf("cached run: %q, %v, %q", p, err, log.String())
	}
	if p, err := resolveModel("", &log); err != nil || p != want {
		t.Fatalf("default model: %q, %v", p, err)
	}

	// mixedge models lists it, --json too; --rm frees it.
	code, out, errs2 := modelsCLI(t)
	if code != 0 || !strings.Contains(out, filepath.Join(cacheHome, "mixedge")) {
		t.Fatalf("models: exit %d\n%s%s", code, out, errs2)
	}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) > 2 && f[0] == "mixnet_s" && f[2] != "ready" || len(f) > 2 && f[0] == "mixnet_m" && f[2] != "not" {
			t.Errorf("models line %q", line)
		}
	}
	code, out, _ = modelsCLI(t, "--json")
	var rows []modelRow
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var r modelRow
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("models --json line %q: %v", l, err)
		}
		rows = append(rows, r)
	}
	if code != 0 || len(rows) != 6 || rows[0].Name != "mixnet_l" || rows[2].Name != "mixnet_s" || !rows[2].Cached ||
		rows[2].Model != want || rows[2].Size < int64(len(data)) || rows[0].Cached || rows[2].Repo != "timm/mixnet_s.ft_in1k" {
		t.Errorf("models --json: %+v", rows)
	}
	if code, out, errs := modelsCLI(t, "--rm", "mixnet_s"); code != 0 || !strings.Contains(out, "removed") || !strings.Contains(out, "MiB freed") {
		t.Errorf("models --rm: exit %d %q %q", code, out, errs)
	}
	if files := cacheFiles(t, cacheHome); len(files) != 0 {
		t.Errorf("after --rm the cache holds %v", files)
	}
	if code, _, errs := modelsCLI(t, "--rm", "mixnet_s"); code != 1 || !strings.Contains(errs, "not in the cache") {
		t.Errorf("second --rm: exit %d %q", code, errs)
	}
}

// modelsCLI runs 'mixedge models ARGS' (directly: it works before and after
// the command is listed in main.go).
func modelsCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	if err := runModels(args, &o, &e); err != nil {
		e.WriteString(err.Error())
		return 1, o.String(), e.String()
	}
	return 0, o.String(), e.String()
}

func TestModelsHelp(t *testing.T) {
	var o, e bytes.Buffer
	err := runModels([]string{"--help"}, &o, &e)
	if err == nil || !strings.Contains(e.String(), "Usage: mixedge models") || !strings.Contains(e.String(), "Examples:") {
		t.Errorf("models --help: %v\n%s", err, e.String())
	}
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	code, out, _ := modelsCLI(t)
	if code != 0 || strings.Count(out, "not cached") != 6 {
		t.Errorf("empty cache listing:\n%s", out)
	}
}

func TestResolveModelOffline(t *testing.T) {
	cacheHome := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", cacheHome)
	t.Setenv("HF_ENDPOINT", closedEndpoint(t))
	start := time.Now()
	var log bytes.Buffer
	_, err := resolveModel("tf_mixnet_m", &log)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("offline failure took %v", d)
	}
	if err == nil {
		t.Fatal("no error offline")
	}
	msg := err.Error()
	t.Logf("the offline message:\n%s", msg)
	for _, s := range []string{"cannot fetch tf_mixnet_m", "no network", "--weights model.safetensors --arch tf_mixnet_m",
		"https://huggingface.co/timm/tf_mixnet_m.in1k/resolve/main/model.safetensors"} {
		if !strings.Contains(msg, s) {
			t.Errorf("offline error lacks %q:\n%s", s, msg)
		}
	}
	if files := cacheFiles(t, cacheHome); len(files) != 0 {
		t.Errorf("offline run left %v in the cache", files)
	}
}

func TestResolveModelRefuses(t *testing.T) {
	data := []byte("not really weights, but verified or refused before anyone reads them")
	cases := map[string]func(h *miniHub){
		"wrong checksum": func(h *miniHub) { h.sha = strings.Repeat("ab", 32) },
		"corrupted":      func(h *miniHub) { h.serve = bytes.ToUpper(data) },
		"404":            func(h *miniHub) { h.missing = true },
	}
	whys := map[string]string{"wrong checksum": "did not verify", "corrupted": "did not verify", "404": "404"}
	for name, setup := range cases {
		t.Run(name, func(t *testing.T) {
			h, srv := startMiniHub(t, data)
			setup(h)
			cacheHome := t.TempDir()
			t.Setenv("XDG_CACHE_HOME", cacheHome)
			t.Setenv("HF_ENDPOINT", srv.URL)
			_, err := resolveModel("mixnet_s", &bytes.Buffer{})
			if err == nil || !strings.Contains(err.Error(), "--weights model.safetensors --arch mixnet_s") || !strings.Contains(err.Error(), whys[name]) {
				t.Fatalf("want a clear error with the --weights instructions, got %v", err)
			}
			if files := cacheFiles(t, cacheHome); len(files) != 0 {
				t.Errorf("left %v in the cache", files)
			}
		})
	}
}

func TestResolveModelPaths(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	t.Setenv("HF_ENDPOINT", closedEndpoint(t))
	for _, p := range []string{"m.fw", "dir/mixnet_s", "./mixnet_s", "/abs/x.fw"} {
		if got, err := resolveModel(p, &bytes.Buffer{}); err != nil || got != p {
			t.Errorf("resolveModel(%q) = %q, %v", p, got, err)
		}
	}
	if _, err := resolveModel("mixnet_xl", &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "tf_mixnet_l") {
		t.Errorf("unknown name: %v", err)
	}
	if _, _, err := hub.Repo("mixnet_s"); err != nil {
		t.Fatal(err)
	}
}

// TestClassifyOfflineNoCache: 'mixedge classify IMAGE' with no network and
// no cache fails fast with the instructions (once classify resolves --model
// names through resolveModel).
func TestClassifyOfflineNoCache(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", filepath.Join(dir, "cache"))
	t.Setenv("HF_ENDPOINT", closedEndpoint(t))
	img := filepath.Join(dir, "a.png")
	writePNG(t, img, 32, 32)
	start := time.Now()
	code, _, errs := runCLI(t, "classify", img)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v", d)
	}
	if code == 0 {
		t.Fatal("classify succeeded offline with no cache")
	}
	if !strings.Contains(errs, "cannot fetch") {
		t.Skipf("classify does not resolve model names yet (exit %d): %s", code, firstLine(errs))
	}
	if !strings.Contains(errs, "--weights model.safetensors --arch mixnet_s") {
		t.Errorf("no instructions:\n%s", errs)
	}
}
