package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mixedge/mixedge/model/hub"
)

// fwFile is the converted int8 image kept beside the weights in the cache.
const fwFile = "model.fw"

// resolveModel turns a --model argument into the path of a .fw image. A
// published name (mixnet_s, mixnet_m, mixnet_l, tf_mixnet_s, tf_mixnet_m,
// tf_mixnet_l; "" means mixnet_s) is served from the cache
// ($XDG_CACHE_HOME/mixedge or ~/.cache/mixedge): the first time its
// model.safetensors is downloaded from the hub ($HF_ENDPOINT, default
// https://huggingface.co) and verified, then converted to int8 once. Anything
// else is a file path and is returned as it is (a path with a directory,
// "./mixnet_s", is never taken for a name).
func resolveModel(spec string, stderr io.Writer) (string, error) {
	if spec == "" {
		spec = hub.DefaultModel
	}
	repo, arch, err := hub.Repo(spec)
	if err != nil {
		if strings.ContainsAny(spec, `/\.`) {
			return spec, nil
		}
		if _, serr := os.Stat(spec); serr == nil {
			return spec, nil
		}
		return "", fmt.Errorf("--model %s: not a file, and %w", spec, err)
	}
	cache, err := hub.DefaultCache()
	if err != nil {
		return "", err
	}
	dir := cache.Path(spec)
	fw := filepath.Join(dir, fwFile)
	if fileExists(fw) {
		return fw, nil
	}
	weights := filepath.Join(dir, hub.WeightsFile)
	if !fileExists(weights) {
		if err := fetchWeights(spec, repo, arch, dir, stderr); err != nil {
			return "", err
		}
	}
	if err := convertCached(spec, arch, weights, fw, stderr); err != nil {
		return "", err
	}
	return fw, nil
}

func fileExists(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular()
}

// fetchWeights downloads model.safetensors (and, best effort, config.json)
// of repo into dir.
func fetchWeights(name, repo, arch, dir string, stderr io.Writer) error {
	endpoint := hub.Endpoint()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("cache: %w", err)
	}
	fmt.Fprintf(stderr, "mixedge: %s is not cached: fetching %s of %s from %s into %s\n",
		name, hub.WeightsFile, repo, endpoint, dir)
	client := hub.NewClient()
	bar := newByteProgress(stderr, "downloading "+name)
	err := hub.Fetch(context.Background(), client, endpoint, repo, hub.WeightsFile, filepath.Join(dir, hub.WeightsFile), bar.update)
	bar.done(err == nil)
	if err != nil {
		// A first fetch that got nothing leaves no trace: the model's
		// directory, and the cache's when it holds nothing else, go (a
		// .partial download stays, for the next run to resume).
		if os.Remove(dir) == nil {
			os.Remove(filepath.Dir(dir))
		}
		return fetchFailed(name, repo, arch, endpoint, err)
	}
	// config.json is informational (timm's pretrained_cfg); the weights are
	// what we need, so a missing one is only a note.
	if err := hub.Fetch(context.Background(), client, endpoint, repo, hub.ConfigFile, filepath.Join(dir, hub.ConfigFile), nil); err != nil {
		fmt.Fprintf(stderr, "mixedge: note: %s not fetched: %s\n", hub.ConfigFile, firstLine(err.Error()))
	}
	return nil
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

// fetchFailed says what failed and how to go on without the network.
func fetchFailed(name, repo, arch, endpoint string, err error) error {
	what := err.Error()
	var he *hub.Error
	if errors.As(err, &he) {
		what = fmt.Sprintf("%s %s: %v", he.Op, he.URL, he.Err)
	}
	why := "the hub did not serve it"
	switch {
	case hub.IsNetwork(err):
		why = "no network, or the hub is unreachable (HF_ENDPOINT and HTTPS_PROXY are honoured)"
	case he != nil && (he.Op == "verify" || he.Op == "download"):
		why = "the download did not verify against the hub's size and SHA-256, and was deleted"
	}
	return fmt.Errorf(`cannot fetch %s: %s
%s. To run without it, download
  %s
on a machine with network access, copy it here and run
  mixedge classify --weights model.safetensors --arch %s IMAGE...
or convert it once for int8:
  mixedge convert --weights model.safetensors --arch %s -o %s.fw
  mixedge classify --model %s.fw IMAGE...
With no files at all, time a synthetic network of the same shape:
  mixedge bench --arch %s --synthetic`,
		name, what, why, hub.URL(hub.DefaultEndpoint, repo, hub.WeightsFile), arch, arch, name, name, arch)
}

// convertCached converts weights to the int8 image fw, once: a lock keeps
// concurrent first runs from converting twice, and the image is written to a
// temporary file and renamed.
func convertCached(name, arch, weights, fw string, stderr io.Writer) error {
	unlock, err := hub.Lock(context.Background(), fw)
	if err != nil {
		return err
	}
	defer unlock()
	if fileExists(fw) {
		return nil
	}
	fmt.Fprintf(stderr, "mixedge: converting %s to int8 (once; calibrating on the built-in photos and synthetic pictures)\n", name)
	tmp := fmt.Sprintf("%s.%d.tmp", fw, os.Getpid())
	defer os.Remove(tmp)
	if err := runConvert([]string{"--weights", weights, "--arch", arch, "-o", tmp}, io.Discard, stderr); err != nil {
		return fmt.Errorf("converting the cached %s: %w (free it with 'mixedge models --rm %s' and run again)", weights, err, name)
	}
	if err := os.Rename(tmp, fw); err != nil {
		return fmt.Errorf("cache: %w", err)
	}
	return nil
}

// byteProgress draws a download bar on a terminal; elsewhere it prints only
// the result line.
type byteProgress struct {
	w           io.Writer
	what        string
	tty, seen   bool
	tot         int64
	last, start time.Time
}

func newByteProgress(w io.Writer, what string) *byteProgress {
	p := &byteProgress{w: w, what: what, start: time.Now()}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			p.tty = true
		}
	}
	return p
}

func (p *byteProgress) update(done, total int64) {
	p.seen, p.tot = true, total
	if !p.tty || total <= 0 || (done < total && time.Since(p.last) < 100*time.Millisecond) {
		return
	}
	p.last = time.Now()
	const width = 30
	fill := int(width * done / total)
	fmt.Fprintf(p.w, "\r%s [%s%s] %.1f/%.1f MiB", p.what, strings.Repeat("#", fill), strings.Repeat(".", width-fill),
		float64(done)/(1<<20), float64(total)/(1<<20))
}

func (p *byteProgress) done(ok bool) {
	if p.tty && p.seen {
		fmt.Fprintln(p.w)
	}
	if ok && p.seen {
		fmt.Fprintf(p.w, "%s: %.1f MiB verified in %.1fs\n", p.what, float64(p.tot)/(1<<20), time.Since(p.start).Seconds())
	}
}
