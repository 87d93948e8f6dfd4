package main

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var updateBench = flag.Bool("update-bench", false, "rewrite the golden files under testdata/bench")

// benchMasked are the fields whose values depend on the machine, the
// moment or the kernel tier; the golden document shows them as "<masked>".
var benchMasked = map[string]bool{
	"median_ms": true, "p10_ms": true, "p90_ms": true, "fps": true, "gmac_per_s": true,
	"allocs_per_frame": true, "alloc_bytes_per_frame": true, "gc_cycles_per_frame": true, "single_thread_share": true,
	"overhead": true, "overhead_paired": true, "hook_ns": true, "hook_overhead": true, "op_sum_ms": true, "share": true, "impl": true, "peak_rss_bytes": true,
}

// jsonKV is one member of a decoded JSON object, in document order.
type jsonKV struct {
	Key string
	Val any
}

// decodeOrdered decodes one JSON value keeping the order of object members
// ([]jsonKV), so the golden document reads in the schema's order.
func decodeOrdered(d *json.Decoder) (any, error) {
	tok, err := d.Token()
	if err != nil {
		return nil, err
	}
	switch tok {
	case json.Delim('{'):
		obj := []jsonKV{}
		for d.More() {
			k, err := d.Token()
			if err != nil {
				return nil, err
			}
			v, err := decodeOrdered(d)
			if err != nil {
				return nil, err
			}
			obj = append(obj, jsonKV{k.(string), v})
		}
		_, err := d.Token()
		return obj, err
	case json.Delim('['):
		arr := []any{}
		for d.More() {
			v, err := decodeOrdered(d)
			if err != nil {
				return nil, err
			}
			arr = append(arr, v)
		}
		_, err := d.Token()
		return arr, err
	}
	return tok, nil
}

// printOrdered writes v indented; arrays of scalars stay on one line.
func printOrdered(b *strings.Builder, v any, indent string) {
	switch v := v.(type) {
	case []jsonKV:
		b.WriteString("{\n")
		for i, kv := range v {
			fmt.Fprintf(b, "%s  %q: ", indent, kv.Key)
			printOrdered(b, kv.Val, indent+"  ")
			if i < len(v)-1 {
				b.WriteString(",")
			}
			b.WriteString("\n")
		}
		b.WriteString(indent + "}")
	case []any:
		flat := true
		for _, x := range v {
			switch x.(type) {
			case []any, []jsonKV:
				flat = false
			}
		}
		if flat {
			parts := make([]string, len(v))
			for i, x := range v {
				var p strings.Builder
				printOrdered(&p, x, "")
				parts[i] = p.String()
			}
			b.WriteString("[" + strings.Join(parts, ", ") + "]")
			return
		}
		b.WriteString("[\n")
		for i, x := range v {
			b.WriteString(indent + "  ")
			printOrdered(b, x, indent+"  ")
			if i < len(v)-1 {
				b.WriteString(",")
			}
			b.WriteString("\n")
		}
		b.WriteString(indent + "]")
	case string:
		fmt.Fprintf(b, "%q", v)
	default:
		fmt.Fprintf(b, "%v", v)
	}
}

func get(obj []jsonKV, key string) any {
	for _, kv := range obj {
		if kv.Key == key {
			return kv.Val
		}
	}
	return nil
}

// maskBench replaces machine-dependent values of a decoded bench document.
// Every device field becomes its JSON type; optional fields (omitted where
// the OS does not expose them) are dropped after their types are checked.
func maskBench(t *testing.T, v any) any {
	t.Helper()
	doc := v.([]jsonKV)
	for i := range doc {
		switch doc[i].Key {
		case "device":
			var kept []jsonKV
			for _, kv := range doc[i].Val.([]jsonKV) {
				switch kv.Key {
				case "board", "governor":
					if _, ok := kv.Val.(string); !ok {
						t.Errorf("device.%s = %v, want a string", kv.Key, kv.Val)
					}
					continue
				case "cur_freq_khz", "max_freq_khz":
					if _, ok := kv.Val.(json.Number); !ok {
						t.Errorf("device.%s = %v, want a number", kv.Key, kv.Val)
					}
					continue
				}
				switch kv.Val.(type) {
				case string:
					kv.Val = "<string>"
				case json.Number:
					kv.Val = "<number>"
				case []any:
					kv.Val = "<array of strings>"
				default:
					t.Errorf("device.%s = %v (%T)", kv.Key, kv.Val, kv.Val)
				}
				kept = append(kept, kv)
			}
			doc[i].Val = kept
		case "settings":
			for j, kv := range doc[i].Val.([]jsonKV) {
				if kv.Key == "kernels" {
					doc[i].Val.([]jsonKV)[j].Val = "<masked>"
				}
			}
		case "results", "memory":
			doc[i].Val = maskWalk(doc[i].Val)
		}
	}
	return doc
}

func maskWalk(v any) any {
	switch v := v.(type) {
	case []jsonKV:
		isOp := get(v, "op") != nil && get(v, "macs") != nil
		hasGMAC := false
		var out []jsonKV
		for _, kv := range v {
			if kv.Key == "gmac_per_s" {
				hasGMAC = true
			}
			if isOp && kv.Key == "impl" && !hasGMAC {
				if m, _ := get(v, "macs").(json.Number); m != "0" {
					out = append(out, jsonKV{"gmac_per_s", "<masked>"}) // omitted when the op took 0 ns
				}
			}
			if benchMasked[kv.Key] {
				kv.Val = "<masked>"
			} else {
				kv.Val = maskWalk(kv.Val)
			}
			out = append(out, kv)
		}
		return out
	case []any:
		for i := range v {
			v[i] = maskWalk(v[i])
		}
	}
	return v
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "bench", name)
	if *updateBench {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run %s -update-bench to create it)", err, t.Name())
	}
	if !bytes.Equal(got, want) {
		gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
		for i := 0; i < len(gl) || i < len(wl); i++ {
			var g, w string
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Fatalf("%s differs at line %d:\n got  %q\n want %q\n(go test -run %s -update-bench rewrites it)", path, i+1, g, w, t.Name())
			}
		}
	}
}

func benchJSON(t *testing.T, args ...string) (benchDoc, []byte) {
	t.Helper()
	code, out, errs := runCLI(t, append([]string{"bench", "--arch", "mixnet_s", "--synthetic", "--json"}, args...)...)
	if code != 0 {
		t.Fatalf("bench %v: exit %d: %s", args, code, errs)
	}
	var doc benchDoc
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	return doc, []byte(out)
}

func TestBenchJSONSchemaGolden(t *testing.T) {
	doc, raw := benchJSON(t, "--input-size", "32", "--runs", "3", "--warmup", "1", "--threads", "1,2", "--profile")
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	v, err := decodeOrdered(dec)
	if err != nil {
		t.Fatal(err)
	}
	var masked strings.Builder
	printOrdered(&masked, maskBench(t, v), "")
	masked.WriteString("\n")
	checkGolden(t, "schema.golden.json", []byte(masked.String()))

	// What the masks hide must still make sense.
	if doc.Schema != benchSchema || doc.Arch != "mixnet_s" || len(doc.Results) != 2 || doc.Threads != 1 || doc.Results[1].Threads != 2 {
		t.Fatalf("doc: schema %q arch %q results %d", doc.Schema, doc.Arch, len(doc.Results))
	}
	if doc.Device.OS == "" || doc.Device.Arch == "" || doc.Device.GoVersion == "" || doc.Device.Logical < 1 || doc.Model.Source != "synthetic" {
		t.Errorf("device %+v model %+v", doc.Device, doc.Model)
	}
	if doc.Memory.ArenaBytes < doc.Memory.ArenaBound || doc.Memory.WeightBytes <= 0 {
		t.Errorf("memory %+v", doc.Memory)
	}
	for _, r := range doc.Results {
		if r.Runs != 3 || r.MedianMS <= 0 || r.P10MS > r.MedianMS || r.MedianMS > r.P90MS ||
			r.Profile == nil || r.Profile.MedianMS <= 0 || len(r.Ops) != doc.Model.Ops {
			t.Errorf("result %+v", r)
			continue
		}
		var share float64
		for _, o := range r.Ops {
			share += o.Share
			if o.Impl == "" || o.MedianMS < 0 || o.P90MS < o.MedianMS {
				t.Errorf("op %+v", o)
			}
		}
		if math.Abs(share-1) > 1e-6 {
			t.Errorf("threads %d: op shares sum to %g", r.Threads, share)
		}
	}
}

// TestBenchProfileOff: without --profile no op is timed (no hook), and the
// fields TestBenchAndCPU reads are filled from results[0].
func TestBenchProfileOff(t *testing.T) {
	// One thread for the allocation count (see TestBenchAndCPU).
	doc, raw := benchJSON(t, "--input-size", "32", "--runs", "20", "--warmup", "1", "--threads", "1")
	if doc.Threads != 1 || doc.Runs != 20 || doc.Allocs >= 1 || doc.Ops != nil || doc.Profile != nil || doc.Settings.Profile || doc.MedianMS <= 0 {
		t.Errorf("doc %+v", doc)
	}
	if bytes.Contains(raw, []byte(`"ops": [`)) || bytes.Contains(raw, []byte(`"profile": {`)) {
		t.Errorf("per-op fields without --profile:\n%s", raw)
	}
	code, out, _ := runCLI(t, "bench", "--arch", "mixnet_s", "--synthetic", "--input-size", "32", "--runs", "2", "--kernels", "generic")
	if code != 0 || !strings.Contains(out, "kernels generic") || strings.Contains(out, "by kind:") {
		t.Errorf("bench text without --profile: %d\n%s", code, out)
	}
}

func TestBenchProfileText(t *testing.T) {
	for by, want := range map[string]string{"op": "blocks.1.0.conv_dw", "block": "blocks.1.0 ", "kind": "depthwise "} {
		code, out, errs := runCLI(t, "bench", "--arch", "mixnet_s", "--synthetic", "--input-size", "32", "--runs", "2", "--warmup", "0",
			"--threads", "1", "--profile", "--by", by)
		if code != 0 || !strings.Contains(out, "overhead") || !strings.Contains(out, "by kind:") || !strings.Contains(out, "\n"+want) ||
			!strings.Contains(out, "\ntotal ") {
			t.Errorf("--by %s: %d %s\n%s", by, code, errs, out)
		}
	}
	if code, _, _ := runCLI(t, "bench", "--arch", "mixnet_s", "--synthetic", "--by", "layer"); code != 1 {
		t.Errorf("--by layer: exit %d", code)
	}
	if code, _, _ := runCLI(t, "bench", "--arch", "mixnet_s", "--synthetic", "--threads", "1,0"); code != 1 {
		t.Errorf("--threads 1,0: exit %d", code)
	}
}

// svgBars parses an SVG as XML and returns the bars' op kinds and the
// text of every <text> element.
func svgBars(t *testing.T, b []byte) (bars []string, texts []string, circles int) {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(b))
	var inText bool
	var cur strings.Builder
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("SVG does not parse as XML: %v", err)
		}
		switch e := tok.(type) {
		case xml.StartElement:
			attr := map[string]string{}
			for _, a := range e.Attr {
				attr[a.Name.Local] = a.Value
			}
			switch e.Name.Local {
			case "rect":
				if attr["class"] == "bar" {
					bars = append(bars, attr["data-op"])
				}
			case "circle":
				circles++
			case "text":
				inText = true
				cur.Reset()
			}
		case xml.CharData:
			if inText {
				cur.Write(e)
			}
		case xml.EndElement:
			if e.Name.Local == "text" {
				inText = false
				texts = append(texts, cur.String())
			}
		}
	}
	return bars, texts, circles
}

func TestBenchSVG(t *testing.T) {
	dir := t.TempDir()
	svg, page := filepath.Join(dir, "b.svg"), filepath.Join(dir, "b.html")
	doc, _ := benchJSON(t, "--input-size", "32", "--runs", "2", "--warmup", "0", "--threads", "1,2", "--svg", svg, "--html", page)
	if !doc.Settings.Profile || doc.Ops == nil {
		t.Fatal("--svg did not imply --profile")
	}
	b, err := os.ReadFile(svg)
	if err != nil {
		t.Fatal(err)
	}
	bars, texts, circles := svgBars(t, b)
	if len(bars) != len(doc.Ops) {
		t.Errorf("%d bars for %d layers", len(bars), len(doc.Ops))
	}
	for i, o := range doc.Ops {
		if i < len(bars) && bars[i] != o.Op {
			t.Errorf("bar %d is %q, layer %s is %s", i, bars[i], o.Name, o.Op)
		}
	}
	if circles != 2 {
		t.Errorf("scaling curve: %d points, want 2", circles)
	}
	joined := strings.Join(texts, "\n")
	for _, want := range []string{"conv_stem", "classifier", "scaling", "total"} {
		if !strings.Contains(joined, want) {
			t.Errorf("SVG text lacks %q", want)
		}
	}
	h, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(h, []byte("<!DOCTYPE html>")) || !bytes.Contains(h, []byte("<svg")) || bytes.Count(h, []byte(`class="bar"`)) != len(doc.Ops) ||
		!bytes.Contains(h, []byte("<td>blocks.5.2.conv_pwl</td>")) {
		t.Errorf("HTML page: %d bytes, %d bars", len(h), bytes.Count(h, []byte(`class="bar"`)))
	}
}

// TestSVGEscapes: names with XML's special characters come out escaped,
// and read back unchanged.
func TestSVGEscapes(t *testing.T) {
	evil := `a<b>&"c"'d`
	doc := benchDoc{Schema: benchSchema, Device: benchDevice{CPU: "</svg><script>x</script>", OS: "linux", Arch: "arm64"},
		Model: benchModel{Arch: "mixnet_s&", InputSize: 32}, Settings: benchSettings{Kernels: "<generic>"},
		Results: []benchResult{{Threads: 1, Runs: 1, MedianMS: 2, FPS: 500, Profile: &benchProfile{MedianMS: 2, OpSumMS: 2},
			Ops: []benchOp{{Name: evil, Block: "b", Op: "pointwise", MedianMS: 1.5, Share: .75, Impl: "x&y"},
				{Name: "z", Block: "<b>", Op: "weird<op>", MedianMS: .5, Share: .25}}}}}
	var b bytes.Buffer
	if err := writeSVG(&b, &doc); err != nil {
		t.Fatal(err)
	}
	bars, texts, _ := svgBars(t, b.Bytes())
	if len(bars) != 2 || bars[1] != "weird<op>" {
		t.Errorf("bars %q", bars)
	}
	joined := strings.Join(texts, "\n")
	for _, want := range []string{evil, "</svg><script>x</script>", "mixnet_s&", "<generic>"} {
		if !strings.Contains(joined, want) {
			t.Errorf("text %q not read back from\n%s", want, joined)
		}
	}
	var h bytes.Buffer
	if err := writeHTML(&h, &doc); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(h.String(), "<script>") || !strings.Contains(h.String(), "a&lt;b&gt;&amp;") {
		t.Errorf("HTML not escaped:\n%s", h.String())
	}
}

// TestBenchCompare compares two recorded documents: a sweep of the generic
// kernels (1 and 2 threads) against one thread of the best tier of the
// machine that recorded them.
func TestBenchCompare(t *testing.T) {
	a, b := filepath.Join("testdata", "bench", "a.json"), filepath.Join("testdata", "bench", "b.json")
	code, out, errs := runCLI(t, "bench", "--compare", a, b, "--top", "3")
	if code != 0 {
		t.Fatalf("compare: exit %d: %s", code, errs)
	}
	checkGolden(t, "compare.golden.txt", []byte(out))
	if n := strings.Count(out, "<<"); n != 1+3 { // the header line names the mark once
		t.Errorf("%d marks, want 3 layers", n-1)
	}
	for _, want := range []string{"[0] a ", "[1] b@1t", "[2] b@2t", "frame (median)", "changed most"} {
		if !strings.Contains(out, want) {
			t.Errorf("compare output lacks %q", want)
		}
	}
	if code, _, errs := runCLI(t, "bench", "--compare", a); code != 2 || !strings.Contains(errs, "two or more") {
		t.Errorf("compare one file: %d %q", code, errs)
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte(`{"schema":"other/9","results":[{}]}`), 0o644)
	if code, _, errs := runCLI(t, "bench", "--compare", a, bad); code != 1 || !strings.Contains(errs, "mixedge.bench/1") {
		t.Errorf("compare wrong schema: %d %q", code, errs)
	}
}

// With several threads the second frame re-checks one thread (the
// executor has no time for that mode yet), so a plain 2-thread run has
// single-thread frames; --fixed runs every frame on both threads and
// records that it did.
func TestBenchFixedThreads(t *testing.T) {
	plain, _ := benchJSON(t, "--input-size", "32", "--runs", "4", "--warmup", "0", "--threads", "2")
	if len(plain.Results) != 1 || plain.Results[0].SingleShare == 0 || plain.Settings.Fixed {
		t.Errorf("plain 2 threads: settings %+v, results %+v: want some frames on one thread", plain.Settings, plain.Results)
	}
	fixed, raw := benchJSON(t, "--input-size", "32", "--runs", "4", "--warmup", "0", "--threads", "2", "--fixed")
	if len(fixed.Results) != 1 || fixed.Results[0].SingleShare != 0 || !fixed.Settings.Fixed {
		t.Errorf("--fixed: settings %+v, results %+v: want every frame on 2 threads", fixed.Settings, fixed.Results)
	}
	if !strings.Contains(string(raw), `"fixed": true`) {
		t.Errorf("--fixed: the JSON document does not record it:\n%s", raw)
	}
}

// A sweep takes turns of --batch frames per thread count; --check-cores
// probes the cores after each turn of the largest count.
func TestBenchTurns(t *testing.T) {
	doc, raw := benchJSON(t, "--input-size", "32", "--runs", "10", "--warmup", "0", "--threads", "1,2",
		"--fixed", "--batch", "4", "--check-cores")
	if doc.Settings.Batch != 4 || !doc.Settings.CheckCores || len(doc.Results) != 2 {
		t.Fatalf("settings %+v, %d results", doc.Settings, len(doc.Results))
	}
	for i, r := range doc.Results {
		if r.Threads != i+1 || r.Runs != 10 || r.Batches != 3 || r.MedianMS <= 0 || r.Allocs >= 1 {
			t.Errorf("result %d: %+v: want threads %d, 10 runs in 3 turns (4+4+2), no allocations", i, r, i+1)
		}
	}
	if doc.Results[0].Cores != nil {
		t.Errorf("1 thread has a cores check: %+v", doc.Results[0].Cores)
	}
	c := doc.Results[1].Cores
	if c == nil || c.Batches != 3 || c.Capacity <= 0 || c.Capacity > 4 || c.Full > 3 || c.Speedup <= 0 ||
		(c.Full > 0) != (c.FullMedianMS > 0 && c.FullSpeedup > 0) {
		t.Fatalf("cores check %+v", c)
	}
	for _, key := range []string{`"batch": 4`, `"check_cores": true`, `"batches": 3`, `"cores_check"`, `"capacity"`} {
		if !bytes.Contains(raw, []byte(key)) {
			t.Errorf("the JSON document lacks %s", key)
		}
	}
	code, out, _ := runCLI(t, "bench", "--arch", "mixnet_s", "--synthetic", "--input-size", "32", "--runs", "4", "--warmup", "0",
		"--threads", "1,2", "--batch", "2", "--check-cores")
	if code != 0 || !strings.Contains(out, "thread counts in turns of 2 frames") || !strings.Contains(out, "cores check: 2 networks side by side") {
		t.Errorf("text output (exit %d):\n%s", code, out)
	}
	// One count after the other, as before turns.
	seq, _ := benchJSON(t, "--input-size", "32", "--runs", "3", "--warmup", "0", "--threads", "1,2", "--batch", "0")
	if seq.Settings.Batch != 0 || seq.Results[0].Batches != 0 || seq.Results[1].Cores != nil {
		t.Errorf("--batch 0: settings %+v results %+v", seq.Settings, seq.Results)
	}
	for _, bad := range [][]string{
		{"--threads", "2", "--check-cores"},
		{"--threads", "1,2", "--batch", "0", "--check-cores"},
		{"--threads", "1,2", "--profile", "--check-cores"},
		{"--threads", "1,2", "--batch", "-1"},
	} {
		code, _, errs := runCLI(t, append([]string{"bench", "--arch", "mixnet_s", "--synthetic", "--input-size", "32", "--runs", "2"}, bad...)...)
		if code == 0 || !strings.Contains(errs, "--") {
			t.Errorf("bench %v: exit %d, stderr %q: want an error naming the flag", bad, code, errs)
		}
	}
}
