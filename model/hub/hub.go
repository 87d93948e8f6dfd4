// Package hub fetches timm's published MixNet weights from the Hugging Face
// hub and keeps them in a local cache.
//
// The hub publishes, for each file, its size and checksum in the headers of
// HEAD {endpoint}/{repo}/resolve/main/{file}: X-Linked-Size and
// X-Linked-Etag (the SHA-256) for LFS files such as model.safetensors,
// Content-Length and ETag (the git blob SHA-1) for small git files such as
// config.json. Fetch downloads into a .partial file (resumed with a Range
// request after an interruption), verifies size and checksum, and renames the
// file into place only when it verifies; a lock file keeps two processes
// from writing the same download.
package hub

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"time"
)

// DefaultEndpoint is the hub that serves timm's weights; HF_ENDPOINT
// overrides it (as for huggingface_hub).
const DefaultEndpoint = "https://huggingface.co"

// WeightsFile and ConfigFile are the files of a timm repository we fetch.
const (
	WeightsFile = "model.safetensors"
	ConfigFile  = "config.json"
)

type published struct{ repo, arch string }

var models = map[string]published{
	"mixnet_s":    {"timm/mixnet_s.ft_in1k", "mixnet_s"},
	"mixnet_m":    {"timm/mixnet_m.ft_in1k", "mixnet_m"},
	"mixnet_l":    {"timm/mixnet_l.ft_in1k", "mixnet_l"},
	"tf_mixnet_s": {"timm/tf_mixnet_s.in1k", "tf_mixnet_s"},
	"tf_mixnet_m": {"timm/tf_mixnet_m.in1k", "tf_mixnet_m"},
	"tf_mixnet_l": {"timm/tf_mixnet_l.in1k", "tf_mixnet_l"},
}

// DefaultModel is the name used when none is given.
const DefaultModel = "mixnet_s"

// Names returns the published model names, sorted.
func Names() []string {
	var n []string
	for k := range models {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

// Repo returns the hub repository and the mixedge architecture of a
// published model name.
func Repo(name string) (repo, arch string, err error) {
	p, ok := models[name]
	if !ok {
		return "", "", fmt.Errorf("unknown model %q: want one of %s", name, strings.Join(Names(), ", "))
	}
	return p.repo, p.arch, nil
}

// Endpoint returns $HF_ENDPOINT, or DefaultEndpoint, without a trailing slash.
func Endpoint() string {
	if e := strings.TrimSpace(os.Getenv("HF_ENDPOINT")); e != "" {
		return strings.TrimRight(e, "/")
	}
	return DefaultEndpoint
}

// URL is the address of file in repo at the main revision.
func URL(endpoint, repo, file string) string {
	return strings.TrimRight(endpoint, "/") + "/" + repo + "/resolve/main/" + file
}

// DialTimeout bounds connecting, so that an offline machine fails fast.
const DialTimeout = 3 * time.Second

// NewClient returns an HTTP client for the hub: proxies from the
// environment (HTTPS_PROXY, NO_PROXY), a DialTimeout connect timeout and
// bounded TLS and response-header waits. The body has no overall deadline
// (a large file on a slow link takes long); Fetch gives up on a stalled one.
func NewClient() *http.Client {
	d := &net.Dialer{Timeout: DialTimeout, KeepAlive: 30 * time.Second}
	return &http.Client{Transport: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           d.DialContext,
		ForceAttemptHTTP2:     true,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 30 * time.Second,
		IdleConnTimeout:       90 * time.Second,
	}}
}
