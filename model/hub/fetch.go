package hub

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Error is a failed fetch: what was being done, to which URL, and why.
// Its message ends with how to go on without the network.
type Error struct {
	URL     string
	Op      string // "HEAD", "GET", "download", "verify"
	Err     error
	Network bool // the hub could not be reached or the transfer broke off

	retry bool // worth another attempt within this Fetch (progress was made)
}

func (e *Error) Error() string {
	hint := "download the file on a machine with network access and pass it with --weights FILE"
	if e.Network {
		hint = "offline or hub unreachable? " + hint + " (or set HF_ENDPOINT / HTTPS_PROXY)"
	}
	return fmt.Sprintf("%s %s: %v\n%s", e.Op, e.URL, e.Err, hint)
}

func (e *Error) Unwrap() error { return e.Err }

// unwrapURL drops the *url.Error wrapper, whose message repeats the URL.
func unwrapURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// IsNetwork reports whether err is a fetch that failed for want of a
// working connection (as opposed to a 404 or a file that does not verify).
func IsNetwork(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Network
}

// Meta is what the hub publishes about a file.
type Meta struct {
	URL      string // the resolve URL asked
	Location string // where the file is served from (a CDN after a redirect)
	Size     int64
	Hash     string // lower-case hex
	HashKind string // "sha256" (LFS files) or "git-sha1" (git blob id of small files)
	Commit   string // X-Repo-Commit, when given
}

func normalizeETag(s string) string {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "W/")
	return strings.ToLower(strings.Trim(s, `"`))
}

func isHex(s string) bool {
	_, err := hex.DecodeString(s)
	return err == nil
}

// Head asks the hub for the size and checksum of the file at u. Redirects
// are not followed: the first response carries X-Linked-Etag and
// X-Linked-Size (LFS) or ETag and Content-Length; a relative redirect
// without them (a renamed repository) is followed, up to 5 times.
func Head(ctx context.Context, client *http.Client, u string) (Meta, error) {
	if client == nil {
		client = NewClient()
	}
	c := *client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	cur := u
	for hops := 0; ; hops++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodHead, cur, nil)
		if err != nil {
			return Meta{}, &Error{URL: u, Op: "HEAD", Err: err}
		}
		req.Header.Set("Accept-Encoding", "identity")
		req.Header.Set("User-Agent", "mixedge")
		resp, err := c.Do(req)
		if err != nil {
			return Meta{}, &Error{URL: u, Op: "HEAD", Err: unwrapURL(err), Network: true}
		}
		resp.Body.Close()
		h := resp.Header
		linked := h.Get("X-Linked-Etag") != ""
		if resp.StatusCode >= 300 && resp.StatusCode < 400 {
			loc, err := resp.Location()
			if err != nil {
				return Meta{}, &Error{URL: u, Op: "HEAD", Err: fmt.Errorf("%s without a valid Location", resp.Status)}
			}
			if !linked {
				if hops >= 5 || !strings.HasPrefix(h.Get("Location"), "/") {
					return Meta{}, &Error{URL: u, Op: "HEAD", Err: fmt.Errorf("%s to %s without X-Linked-Etag: no checksum to verify against", resp.Status, loc)}
				}
				cur = loc.String()
				continue
			}
			return metaFrom(u, loc.String(), h, -1)
		}
		if resp.StatusCode != http.StatusOK {
			return Meta{}, &Error{URL: u, Op: "HEAD", Err: statusErr(resp)}
		}
		return metaFrom(u, cur, h, resp.ContentLength)
	}
}

func statusErr(resp *http.Response) error {
	switch resp.StatusCode {
	case http.StatusNotFound:
		return fmt.Errorf("%s: no such repository or file on the hub (check the model name and HF_ENDPOINT)", resp.Status)
	case http.StatusUnauthorized, http.StatusForbidden:
		return fmt.Errorf("%s: the hub refuses access", resp.Status)
	}
	return fmt.Errorf("hub answered %s", resp.Status)
}

func metaFrom(u, loc string, h http.Header, contentLength int64) (Meta, error) {
	m := Meta{URL: u, Location: loc, Commit: h.Get("X-Repo-Commit"), Size: -1}
	etag := h.Get("X-Linked-Etag")
	size := h.Get("X-Linked-Size")
	if etag == "" {
		etag = h.Get("ETag")
	}
	if size == "" {
		size = h.Get("Content-Length")
	}
	if size != "" {
		n, err := strconv.ParseInt(strings.TrimSpace(size), 10, 64)
		if err != nil || n < 0 {
			return Meta{}, &Error{URL: u, Op: "HEAD", Err: fmt.Errorf("bad size %q in the hub's headers", size)}
		}
		m.Size = n
	} else if contentLength >= 0 {
		m.Size = contentLength
	}
	if m.Size < 0 {
		return Meta{}, &Error{URL: u, Op: "HEAD", Err: errors.New("the hub published no size (X-Linked-Size / Content-Length): refusing a file that cannot be verified")}
	}
	m.Hash = normalizeETag(etag)
	switch {
	case len(m.Hash) == 64 && isHex(m.Hash):
		m.HashKind = "sha256"
	case len(m.Hash) == 40 && isHex(m.Hash):
		m.HashKind = "git-sha1"
	default:
		return Meta{}, &Error{URL: u, Op: "HEAD", Err: fmt.Errorf("the hub published no SHA-256 (X-Linked-Etag / ETag is %q): refusing a file that cannot be verified", etag)}
	}
	return m, nil
}

// maxAttempts bounds the automatic resumes within one Fetch after the
// transfer breaks off having made progress.
const maxAttempts = 4

// stallTimeout gives up on a transfer that delivers nothing for this long.
var stallTimeout = 60 * time.Second

// Fetch downloads file of repo from the hub at endpoint into dst, unless dst
// already exists. It reads the size and checksum from a HEAD request,
// downloads into dst+".partial" (resuming it with a Range request when an
// earlier attempt broke off), verifies size and checksum and only then
// renames the file to dst; a file that does not verify is deleted. A lock on
// dst+".lock" serializes concurrent fetches of the same file (processes or
// goroutines); the loser finds dst in place and returns at once.
// progress, if not nil, is called with bytes done (including resumed ones)
// and the total. A nil client means NewClient().
func Fetch(ctx context.Context, client *http.Client, endpoint, repo, file, dst string, progress func(done, total int64)) error {
	if client == nil {
		client = NewClient()
	}
	if progress == nil {
		progress = func(int64, int64) {}
	}
	unlock, err := Lock(ctx, dst)
	if err != nil {
		return err
	}
	defer unlock()
	if st, err := os.Stat(dst); err == nil && st.Mode().IsRegular() {
		return nil
	}
	meta, err := Head(ctx, client, URL(endpoint, repo, file))
	if err != nil {
		return err
	}
	partial := dst + ".partial"
	for attempt := 1; ; attempt++ {
		err = download(ctx, client, meta, partial, progress)
		var fe *Error
		if err == nil || attempt == maxAttempts || ctx.Err() != nil || !errors.As(err, &fe) || !fe.retry {
			break
		}
	}
	if err != nil {
		if st, serr := os.Stat(partial); serr == nil && st.Size() == 0 {
			os.Remove(partial) // nothing to resume
		}
		return err
	}
	if err := verify(meta, partial); err != nil {
		os.Remove(partial)
		return err
	}
	if err := os.Chmod(partial, 0o644); err != nil {
		return err
	}
	if err := os.Rename(partial, dst); err != nil {
		return fmt.Errorf("install %s: %w", dst, err)
	}
	if d, err := os.Open(filepath.Dir(dst)); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// download brings partial up to meta.Size bytes.
func download(ctx context.Context, client *http.Client, meta Meta, partial string, progress func(done, total int64)) error {
	f, err := os.OpenFile(partial, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	off := st.Size()
	if off > meta.Size {
		if err := f.Truncate(0); err != nil {
			return err
		}
		off = 0
	}
	if off == meta.Size {
		progress(off, meta.Size)
		return nil
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var stalled atomic.Bool
	watchdog := time.AfterFunc(stallTimeout, func() { stalled.Store(true); cancel() })
	defer watchdog.Stop()

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, meta.URL, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept-Encoding", "identity")
	req.Header.Set("User-Agent", "mixedge")
	if off > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", off))
	}
	resp, err := client.Do(req)
	if err != nil {
		return &Error{URL: meta.URL, Op: "GET", Err: unwrapURL(err), Network: true}
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		off = 0
	case http.StatusPartialContent:
		start, err := rangeStart(resp.Header.Get("Content-Range"))
		if err != nil || start != off {
			return &Error{URL: meta.URL, Op: "GET", Err: fmt.Errorf("asked for bytes %d-, got Content-Range %q", off, resp.Header.Get("Content-Range"))}
		}
	case http.StatusRequestedRangeNotSatisfiable:
		f.Truncate(0)
		return &Error{URL: meta.URL, Op: "GET", Err: fmt.Errorf("%s for bytes %d-", resp.Status, off), retry: true}
	default:
		return &Error{URL: meta.URL, Op: "GET", Err: statusErr(resp)}
	}
	if err := f.Truncate(off); err != nil {
		return err
	}
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return err
	}
	progress(off, meta.Size)
	buf := make([]byte, 256<<10)
	done, got := off, int64(0)
	for done < meta.Size {
		n, rerr := resp.Body.Read(buf)
		if n > 0 {
			watchdog.Reset(stallTimeout)
			if done+int64(n) > meta.Size {
				f.Close()
				os.Remove(partial)
				return &Error{URL: meta.URL, Op: "download", Err: fmt.Errorf("the server sent more than the %d bytes the hub publishes", meta.Size)}
			}
			if _, err := f.Write(buf[:n]); err != nil {
				return fmt.Errorf("write %s: %w", partial, err)
			}
			done += int64(n)
			got += int64(n)
			progress(done, meta.Size)
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			f.Sync()
			if stalled.Load() {
				rerr = fmt.Errorf("no data for %v", stallTimeout)
			}
			return &Error{URL: meta.URL, Op: "download", Network: true, retry: got > 0,
				Err: fmt.Errorf("interrupted after %d of %d bytes (%v); run again to resume", done, meta.Size, rerr)}
		}
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if done < meta.Size {
		return &Error{URL: meta.URL, Op: "download", Network: true, retry: got > 0,
			Err: fmt.Errorf("connection closed after %d of %d bytes; run again to resume", done, meta.Size)}
	}
	return nil
}

// rangeStart parses "bytes START-END/TOTAL".
func rangeStart(cr string) (int64, error) {
	s, ok := strings.CutPrefix(strings.TrimSpace(cr), "bytes ")
	if !ok {
		return 0, fmt.Errorf("bad Content-Range %q", cr)
	}
	a, _, ok := strings.Cut(s, "-")
	if !ok {
		return 0, fmt.Errorf("bad Content-Range %q", cr)
	}
	return strconv.ParseInt(a, 10, 64)
}

// verify checks the size and checksum of path against meta.
func verify(meta Meta, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if st.Size() != meta.Size {
		return &Error{URL: meta.URL, Op: "verify", Err: fmt.Errorf("size is %d bytes, the hub publishes %d; deleted the download", st.Size(), meta.Size)}
	}
	var h hash.Hash
	if meta.HashKind == "git-sha1" {
		h = sha1.New()
		fmt.Fprintf(h, "blob %d\x00", meta.Size)
	} else {
		h = sha256.New()
	}
	if _, err := io.Copy(h, f); err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != meta.Hash {
		return &Error{URL: meta.URL, Op: "verify", Err: fmt.Errorf("%s is %s, the hub publishes %s: corrupted or tampered download, deleted it", meta.HashKind, got, meta.Hash)}
	}
	return nil
}
