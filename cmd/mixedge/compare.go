package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
)

// compareCol is one result of one recorded document.
type compareCol struct {
	Label string
	Doc   *benchDoc
	R     *benchResult
	ms    map[string]float64 // op name → median ms
}

// loadBenchDoc reads a --json document and checks its schema.
func loadBenchDoc(path string) (*benchDoc, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var d benchDoc
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if d.Schema != benchSchema {
		return nil, fmt.Errorf("%s: schema %q, want %q (a document of mixedge bench --json)", path, d.Schema, benchSchema)
	}
	if len(d.Results) == 0 {
		return nil, fmt.Errorf("%s: no results", path)
	}
	return &d, nil
}

// runCompare prints the results of recorded documents side by side: one
// column per result (a sweep gives one per thread count), the first the
// baseline; per layer the median ms and its ratio to the baseline; then
// the layers whose ratio moved most.
func runCompare(files []string, top int, w io.Writer) error {
	var cols []compareCol
	for _, f := range files {
		d, err := loadBenchDoc(f)
		if err != nil {
			return err
		}
		base := strings.TrimSuffix(filepath.Base(f), filepath.Ext(f))
		for i := range d.Results {
			r := &d.Results[i]
			c := compareCol{Label: base, Doc: d, R: r, ms: map[string]float64{}}
			if len(d.Results) > 1 {
				c.Label += fmt.Sprintf("@%dt", r.Threads)
			}
			for _, o := range r.Ops {
				c.ms[o.Name] = o.MedianMS
			}
			cols = append(cols, c)
		}
	}
	fmt.Fprintln(w, "columns (the first is the baseline; ratio = column / baseline, > 1 is slower):")
	for i, c := range cols {
		m := &c.Doc.Model
		src := m.Source
		if m.SHA256 != "" {
			src += " sha256:" + m.SHA256[:12]
		}
		fmt.Fprintf(w, "  [%d] %-16s %s %d×%d (%s), kernels %s, %d threads, %s\n", i, c.Label, m.Arch, m.InputSize, m.InputSize,
			src, c.Doc.Settings.Kernels, c.R.Threads, deviceLine(c.Doc))
	}
	if a := cols[0].Doc.Model; true {
		for _, c := range cols[1:] {
			if b := c.Doc.Model; b.Arch != a.Arch || b.InputSize != a.InputSize {
				fmt.Fprintf(w, "  note: %s is %s at %d, the baseline %s at %d: only layers with the same name are compared\n",
					c.Label, b.Arch, b.InputSize, a.Arch, a.InputSize)
			}
		}
	}
	fmt.Fprintln(w)

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	hdr := []string{"layer", "op"}
	for i, c := range cols {
		hdr = append(hdr, c.Label+" ms")
		if i > 0 {
			hdr = append(hdr, "ratio")
		}
	}
	fmt.Fprintln(tw, strings.Join(hdr, "\t")+"\t")
	row := func(name, op string, val func(c *compareCol) (float64, bool), mark string) {
		cells := []string{name, op}
		b, bok := val(&cols[0])
		for i := range cols {
			v, ok := val(&cols[i])
			if !ok {
				cells = append(cells, "-")
			} else {
				cells = append(cells, fmt.Sprintf("%.3f", v))
			}
			if i > 0 {
				if ok && bok && b > 0 {
					cells = append(cells, fmt.Sprintf("%.2f", v/b))
				} else {
					cells = append(cells, "-")
				}
			}
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t")+"\t"+mark)
	}
	row("frame (median)", "", func(c *compareCol) (float64, bool) { return c.R.MedianMS, true }, "")
	row("frame (p90)", "", func(c *compareCol) (float64, bool) { return c.R.P90MS, true }, "")

	// Layers: the union, in the baseline's order, then any others.
	type layer struct{ name, op string }
	var layers []layer
	seen := map[string]bool{}
	for _, c := range cols {
		for _, o := range c.R.Ops {
			if !seen[o.Name] {
				seen[o.Name] = true
				layers = append(layers, layer{o.Name, o.Op})
			}
		}
	}
	// Most changed: the largest |log ratio| against the baseline in any column.
	type change struct {
		name  string
		col   int
		ratio float64
	}
	var changes []change
	for _, l := range layers {
		b, ok := cols[0].ms[l.name]
		if !ok || b <= 0 {
			continue
		}
		best := change{name: l.name, ratio: 1}
		for i := 1; i < len(cols); i++ {
			v, ok := cols[i].ms[l.name]
			if !ok || v <= 0 {
				continue
			}
			if r := v / b; math.Abs(math.Log(r)) > math.Abs(math.Log(best.ratio)) {
				best = change{l.name, i, r}
			}
		}
		if best.col > 0 {
			changes = append(changes, best)
		}
	}
	sort.SliceStable(changes, func(a, b int) bool {
		return math.Abs(math.Log(changes[a].ratio)) > math.Abs(math.Log(changes[b].ratio))
	})
	if top > len(changes) {
		top = len(changes)
	}
	if top < 0 {
		top = 0
	}
	marked := map[string]bool{}
	for _, c := range changes[:top] {
		marked[c.name] = true
	}
	if len(layers) > 0 {
		for _, l := range layers {
			mark := ""
			if marked[l.name] {
				mark = "<<"
			}
			name := l.name
			row(name, l.op, func(c *compareCol) (float64, bool) { v, ok := c.ms[name]; return v, ok }, mark)
		}
	}
	tw.Flush()
	if len(layers) == 0 {
		fmt.Fprintln(w, "\n(no per-layer times: record the documents with --profile)")
		return nil
	}
	fmt.Fprintf(w, "\nchanged most (<<):\n")
	for _, c := range changes[:top] {
		what := "slower"
		if c.ratio < 1 {
			what = "faster"
		}
		fmt.Fprintf(w, "  %-28s ×%.2f in %s (%.3f → %.3f ms, %s)\n", c.name, c.ratio, cols[c.col].Label,
			cols[0].ms[c.name], cols[c.col].ms[c.name], what)
	}
	return nil
}
