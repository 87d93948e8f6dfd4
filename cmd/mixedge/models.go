package main

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"text/tabwriter"

	"github.com/mixedge/mixedge/model/hub"
)

// modelRow is one line of 'mixedge models'.
type modelRow struct {
	Name   string     `json:"name"`
	Repo   string     `json:"repo,omitempty"`
	Arch   string     `json:"arch,omitempty"`
	Status string     `json:"status"`
	Cached bool       `json:"cached"`
	Size   int64      `json:"size"`
	Dir    string     `json:"dir,omitempty"`
	Model  string     `json:"model,omitempty"` // the .fw to pass to --model, when converted
	Files  []hub.File `json:"files,omitempty"`
}

func cacheStatus(e hub.Entry) string {
	switch {
	case e.Has(fwFile):
		return "ready"
	case e.Has(hub.WeightsFile):
		return "downloaded, not converted"
	case e.Has(hub.WeightsFile + ".partial"):
		return "partial download"
	case len(e.Files) > 0:
		return "incomplete"
	}
	return "not cached"
}

func runModels(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("models", "[--json] | --rm NAME",
		`List the published models and what the cache holds of them, or free one.
'mixedge classify --model NAME' (NAME: mixnet_s, mixnet_m, mixnet_l,
tf_mixnet_s, tf_mixnet_m, tf_mixnet_l; default mixnet_s) downloads timm's
model.safetensors from the Hugging Face hub the first time (verified against
the SHA-256 the hub publishes), converts it to an int8 .fw once, and keeps
both in the cache: $XDG_CACHE_HOME/mixedge, or ~/.cache/mixedge.
HF_ENDPOINT selects another hub (a mirror), HTTPS_PROXY a proxy.
--json prints one object per model per line:
  {"name":N,"repo":R,"arch":A,"status":S,"cached":B,"size":BYTES,"dir":D,"model":FW,"files":[...]}
Status: ready (converted), downloaded (not converted), partial download
(resumed on the next run), not cached.`,
		`  mixedge models
  mixedge models --json
  mixedge models --rm mixnet_l
  XDG_CACHE_HOME=/data/cache mixedge classify --model tf_mixnet_s cat.jpg`, stderr)
	asJSON := fs.Bool("json", false, "print one JSON object per model per line")
	rm := fs.String("rm", "", "remove `NAME` from the cache")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("unexpected argument %q", pos[0])
	}
	cache, err := hub.DefaultCache()
	if err != nil {
		return err
	}
	if *rm != "" {
		e, ok, err := cache.Stat(*rm)
		if err != nil {
			return err
		}
		if !ok {
			if _, _, err := hub.Repo(*rm); err != nil {
				return fmt.Errorf("--rm %s: not in the cache (%s) and not a published model; 'mixedge models' lists what is cached", *rm, cache.Dir)
			}
			return fmt.Errorf("--rm %s: not in the cache (%s): nothing to free", *rm, cache.Dir)
		}
		if err := cache.Remove(*rm); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "removed %s (%s freed)\n", e.Dir, mib64(e.Size))
		return nil
	}

	entries, err := cache.List()
	if err != nil {
		return err
	}
	byName := map[string]hub.Entry{}
	for _, e := range entries {
		byName[e.Name] = e
	}
	var rows []modelRow
	for _, n := range hub.Names() {
		repo, arch, _ := hub.Repo(n)
		rows = append(rows, modelRow{Name: n, Repo: repo, Arch: arch, Status: "not cached"})
	}
	for _, e := range entries {
		if _, _, err := hub.Repo(e.Name); err != nil {
			rows = append(rows, modelRow{Name: e.Name})
		}
	}
	for i := range rows {
		r := &rows[i]
		e, ok := byName[r.Name]
		if !ok {
			continue
		}
		r.Status, r.Cached, r.Size, r.Dir, r.Files = cacheStatus(e), len(e.Files) > 0, e.Size, e.Dir, e.Files
		if e.Has(fwFile) {
			r.Model = filepath.Join(e.Dir, fwFile)
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		for _, r := range rows {
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
		return nil
	}
	fmt.Fprintf(stdout, "cache: %s\n", cache.Dir)
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tREPOSITORY\tSTATUS\tSIZE\tMODIFIED")
	var total int64
	for _, r := range rows {
		size, mod := "-", "-"
		if r.Cached {
			size = mib64(r.Size)
			total += r.Size
			mod = byName[r.Name].ModTime.Format("2006-01-02 15:04")
		}
		repo := r.Repo
		if repo == "" {
			repo = "(not a published model)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Name, repo, r.Status, size, mod)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "total %s; free one with 'mixedge models --rm NAME'\n", mib64(total))
	return nil
}

func mib64(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
