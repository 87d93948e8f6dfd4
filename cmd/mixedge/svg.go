package main

import (
	"encoding/xml"
	"fmt"
	"html"
	"io"
	"math"
	"strings"
)

// kindColor colours the bars by op kind.
var kindColor = map[string]string{
	"stem": "#8c564b", "pointwise": "#1f77b4", "depthwise": "#ff7f0e", "se": "#2ca02c",
	"add": "#9467bd", "pool": "#7f7f7f", "linear": "#d62728",
}

var kindOrder = []string{"stem", "pointwise", "depthwise", "se", "add", "pool", "linear"}

func colorOf(kind string) string {
	if c, ok := kindColor[kind]; ok {
		return c
	}
	return "#bcbd22"
}

// esc escapes s for XML text and attribute values.
func esc(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

// profiled is the first result with a per-op profile, or nil.
func profiled(doc *benchDoc) *benchResult {
	for i := range doc.Results {
		if doc.Results[i].Ops != nil {
			return &doc.Results[i]
		}
	}
	return nil
}

func benchTitle(doc *benchDoc, r *benchResult) string {
	m := &doc.Model
	s := fmt.Sprintf("%s int8 %d×%d · kernels %s · %d thread", m.Arch, m.InputSize, m.InputSize, doc.Settings.Kernels, r.Threads)
	if r.Threads != 1 {
		s += "s"
	}
	return s + fmt.Sprintf(" · median %.2f ms (%.1f fps)", r.MedianMS, r.FPS)
}

func deviceLine(doc *benchDoc) string {
	d := &doc.Device
	parts := []string{}
	if d.Board != "" {
		parts = append(parts, d.Board)
	}
	if d.CPU != "" {
		parts = append(parts, d.CPU)
	}
	parts = append(parts, fmt.Sprintf("%d cores", d.Logical), d.OS+"/"+d.Arch, d.GoVersion)
	if d.Governor != "" {
		parts = append(parts, fmt.Sprintf("%s %d MHz", d.Governor, d.CurKHz/1000))
	}
	return strings.Join(parts, " · ")
}

// writeSVG draws one horizontal bar per layer of the first profiled result
// (length = median time, colour = op kind), the time by kind and, for a
// thread sweep, the scaling curve.
func writeSVG(w io.Writer, doc *benchDoc) error {
	_, err := io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+svgBody(doc))
	return err
}

func svgBody(doc *benchDoc) string {
	r := profiled(doc)
	var b strings.Builder
	const (
		width  = 980
		labelW = 190 // layer names, right-aligned
		barX   = labelW + 10
		barW   = 560
		rowH   = 13
		top    = 78
	)
	var ops []benchOp
	if r != nil {
		ops = r.Ops
	}
	maxMS := 0.0
	for _, o := range ops {
		maxMS = math.Max(maxMS, o.MedianMS)
	}
	if maxMS <= 0 {
		maxMS = 1
	}
	y := top + len(ops)*rowH + 20
	kindsY := y
	y += 50
	curveY := y
	if len(doc.Results) > 1 {
		y += 230
	}
	height := y + 10
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="10">`+"\n", width, height, width, height)
	b.WriteString("<style>.bar:hover{opacity:.7} text{fill:#222} .lbl{font-family:monospace;font-size:9px} .dim{fill:#666}</style>\n")
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#fff"/>`+"\n", width, height)
	if r == nil {
		b.WriteString(`<text x="10" y="20" font-size="14">no profile: run mixedge bench with --profile</text>` + "\n</svg>\n")
		return b.String()
	}
	fmt.Fprintf(&b, `<text x="10" y="20" font-size="15" font-weight="bold">%s</text>`+"\n", esc(benchTitle(doc, r)))
	fmt.Fprintf(&b, `<text x="10" y="36" class="dim">%s</text>`+"\n", esc(deviceLine(doc)))
	// Legend.
	x := 10
	for _, k := range kindOrder {
		fmt.Fprintf(&b, `<rect x="%d" y="46" width="10" height="10" fill="%s"/><text x="%d" y="55">%s</text>`+"\n", x, colorOf(k), x+14, esc(k))
		x += 20 + 7*len(k)
	}
	fmt.Fprintf(&b, `<text x="%d" y="55" class="dim">bar = median ms per op over %d frames; hover for details</text>`+"\n", x+10, r.Runs)
	// Block bands, then bars.
	block, band := "", false
	for i, o := range ops {
		if o.Block != block {
			block, band = o.Block, !band
		}
		if band {
			fmt.Fprintf(&b, `<rect x="0" y="%d" width="%d" height="%d" fill="#f3f3f3"/>`+"\n", top+i*rowH, width, rowH)
		}
	}
	for i, o := range ops {
		yy := top + i*rowH
		bw := float64(barW) * o.MedianMS / maxMS
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end" class="lbl">%s</text>`, labelW, yy+10, esc(o.Name))
		tip := fmt.Sprintf("%s — %s", o.Name, o.Op)
		if len(o.Kernels) > 0 {
			tip += " k" + joinInts(o.Kernels, "/")
		}
		if len(o.Split) > 0 {
			tip += " split " + joinInts(o.Split, "/")
		}
		tip += fmt.Sprintf(" → %s, %s MACs, median %.3f ms, p90 %.3f ms, %.1f%%, %s", shapeText(o.Out), group(o.MACs), o.MedianMS, o.P90MS, 100*o.Share, o.Impl)
		fmt.Fprintf(&b, `<rect class="bar" data-op="%s" x="%d" y="%d" width="%.1f" height="%d" fill="%s"><title>%s</title></rect>`,
			esc(o.Op), barX, yy+1, bw, rowH-2, colorOf(o.Op), esc(tip))
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" class="dim">%.3f ms  %.1f%%</text>`+"\n", float64(barX)+bw+4, yy+10, o.MedianMS, 100*o.Share)
	}
	// Totals: one stacked bar of the time by kind.
	fmt.Fprintf(&b, `<text x="10" y="%d" font-weight="bold">total %.2f ms over %d ops (frame median %.2f ms; profiling overhead %+.2f%%) · %s MACs · %.1f GMAC/s</text>`+"\n",
		kindsY, r.Profile.OpSumMS, len(ops), r.MedianMS, 100*r.Profile.Overhead, group(doc.Model.MACs), r.GMACs)
	kx := float64(10)
	for _, g := range sortedGroups(groupOps(ops, "kind")) {
		kw := float64(width-20) * g.Share
		fmt.Fprintf(&b, `<rect class="kind" x="%.1f" y="%d" width="%.1f" height="16" fill="%s"><title>%s</title></rect>`,
			kx, kindsY+8, kw, colorOf(g.Name), esc(fmt.Sprintf("%s: %.3f ms, %.1f%%", g.Name, g.MedianMS, 100*g.Share)))
		if kw > 70 {
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" fill="#fff" style="fill:#fff">%s %.0f%%</text>`, kx+4, kindsY+20, esc(g.Name), 100*g.Share)
		}
		b.WriteString("\n")
		kx += kw
	}
	if len(doc.Results) > 1 {
		scalingSVG(&b, doc, 10, curveY)
	}
	b.WriteString("</svg>\n")
	return b.String()
}

// scalingSVG draws frames per second against threads, with linear scaling
// from the first point dashed.
func scalingSVG(b *strings.Builder, doc *benchDoc, x0, y0 int) {
	const w, h, padL, padB = 420, 180, 50, 30
	maxT, maxF := 1, 0.0
	for _, r := range doc.Results {
		maxT = max(maxT, r.Threads)
		maxF = math.Max(maxF, r.FPS)
	}
	r0 := doc.Results[0]
	ideal := r0.FPS / float64(r0.Threads) * float64(maxT)
	maxF = math.Max(maxF, ideal) * 1.05
	px := func(t int) float64 { return float64(x0+padL) + float64(w-padL)*float64(t)/float64(maxT) }
	py := func(f float64) float64 { return float64(y0+h-padB) - float64(h-padB-10)*f/maxF }
	fmt.Fprintf(b, `<g class="scaling"><text x="%d" y="%d" font-weight="bold">scaling: frames per second against threads (dashed: linear from %d thread)</text>`+"\n", x0, y0, r0.Threads)
	fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#444"/><line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#444"/>`+"\n",
		px(0), py(0), px(maxT), py(0), px(0), py(0), px(0), py(maxF))
	for t := 1; t <= maxT; t++ {
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="middle">%d</text>`, px(t), py(0)+14, t)
	}
	for i := 0; i <= 4; i++ {
		f := maxF * float64(i) / 4
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="end">%.0f</text>`, px(0)-4, py(f)+3, f)
	}
	fmt.Fprintf(b, "\n"+`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#999" stroke-dasharray="4 3"/>`+"\n",
		px(r0.Threads), py(r0.FPS), px(maxT), py(ideal))
	var pts []string
	for _, r := range doc.Results {
		pts = append(pts, fmt.Sprintf("%.1f,%.1f", px(r.Threads), py(r.FPS)))
	}
	fmt.Fprintf(b, `<polyline points="%s" fill="none" stroke="#1f77b4" stroke-width="2"/>`+"\n", strings.Join(pts, " "))
	for _, r := range doc.Results {
		fmt.Fprintf(b, `<circle class="point" cx="%.1f" cy="%.1f" r="3.5" fill="#1f77b4"><title>%d threads: %.2f ms, %.1f fps, ×%.2f</title></circle>`,
			px(r.Threads), py(r.FPS), r.Threads, r.MedianMS, r.FPS, r0.MedianMS/r.MedianMS)
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f">%.1f fps (×%.2f)</text>`+"\n", px(r.Threads)+6, py(r.FPS)-6, r.FPS, r0.MedianMS/r.MedianMS)
	}
	b.WriteString("</g>\n")
}

// writeHTML writes one self-contained page: the picture, the device and
// the per-layer table.
func writeHTML(w io.Writer, doc *benchDoc) error {
	r := profiled(doc)
	h := html.EscapeString
	var b strings.Builder
	title := "mixedge bench"
	if r != nil {
		title = benchTitle(doc, r)
	}
	fmt.Fprintf(&b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>%s</title>\n", h(title))
	b.WriteString("<style>body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse;font-size:12px}" +
		"td,th{padding:2px 8px;border-bottom:1px solid #ddd}td.n{text-align:right;font-variant-numeric:tabular-nums}" +
		"th{text-align:left;background:#f3f3f3}</style></head><body>\n")
	fmt.Fprintf(&b, "<h1>%s</h1>\n<p>%s</p>\n", h(title), h(deviceLine(doc)))
	b.WriteString("<table><tr><th>threads</th><th>median ms</th><th>p10 ms</th><th>p90 ms</th><th>fps</th><th>GMAC/s</th><th>allocs/frame</th><th>GC/frame</th><th>profile overhead</th></tr>\n")
	for _, x := range doc.Results {
		ov := ""
		if x.Profile != nil {
			ov = fmt.Sprintf("%+.2f%%", 100*x.Profile.Overhead)
		}
		fmt.Fprintf(&b, "<tr><td class=n>%d</td><td class=n>%.2f</td><td class=n>%.2f</td><td class=n>%.2f</td><td class=n>%.1f</td><td class=n>%.1f</td><td class=n>%.1f</td><td class=n>%.2f</td><td class=n>%s</td></tr>\n",
			x.Threads, x.MedianMS, x.P10MS, x.P90MS, x.FPS, x.GMACs, x.Allocs, x.GC, ov)
	}
	m := &doc.Memory
	fmt.Fprintf(&b, "</table>\n<p>arena %s (lower bound %s) · weights %s", h(mib(m.ArenaBytes)), h(mib(m.ArenaBound)), h(mib(m.WeightBytes)))
	if m.PeakRSS > 0 {
		fmt.Fprintf(&b, " · peak RSS %s", h(mib(int(m.PeakRSS))))
	}
	b.WriteString("</p>\n")
	b.WriteString(svgBody(doc))
	if r != nil {
		fmt.Fprintf(&b, "<h2>per layer, %d threads</h2>\n<table><tr><th>layer</th><th>op</th><th>kernels</th><th>split</th><th>output</th><th>MACs</th><th>median ms</th><th>p90 ms</th><th>GMAC/s</th><th>%%</th><th>impl</th></tr>\n", r.Threads)
		for _, o := range r.Ops {
			fmt.Fprintf(&b, "<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td class=n>%s</td><td class=n>%.3f</td><td class=n>%.3f</td><td class=n>%s</td><td class=n>%.1f</td><td>%s</td></tr>\n",
				h(o.Name), h(o.Op), h(joinInts(o.Kernels, "/")), h(joinInts(o.Split, "/")), h(shapeText(o.Out)), h(group(o.MACs)),
				o.MedianMS, o.P90MS, h(gmacText(o.GMACs)), 100*o.Share, h(o.Impl))
		}
		b.WriteString("</table>\n")
	}
	b.WriteString("</body></html>\n")
	_, err := io.WriteString(w, b.String())
	return err
}
