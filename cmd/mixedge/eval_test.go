package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/mixedge/mixedge/camera"
	"github.com/mixedge/mixedge/model"
	"github.com/mixedge/mixedge/model/safetensors"
)

// evalLabels are the classes of the eval fixture; a '/' cannot be in a
// folder name, so its folder is "t-shirt_top".
var evalLabels = []string{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker"}
var evalFolders = []string{"t-shirt_top", "trouser", "Pullover", "dress", "coat", "sandal", "shirt", "sneaker"}

// evalFixture is an 8-class mixnet_s (synthetic weights) as float32
// safetensors and as an int8 .fw at 32x32 with evalLabels, and 24 pictures
// of assorted sizes with each network's top-5 classes, as classify gives
// them.
type evalFixture struct {
	dir, weights, fw, labels string
	pics                     []string         // PNG files, outside any class folder
	top                      map[string][]int // "int8"/"fp32" -> pics order -> top-5 flattened
}

func newEvalFixture(t *testing.T) *evalFixture {
	t.Helper()
	dir := t.TempDir()
	f := &evalFixture{dir: dir, weights: filepath.Join(dir, "w8.safetensors"), fw: filepath.Join(dir, "w8.fw"),
		labels: filepath.Join(dir, "labels.txt"), top: map[string][]int{}}
	a, _ := model.LookupArch("mixnet_s")
	g, err := model.Build(a, 224, len(evalLabels))
	if err != nil {
		t.Fatal(err)
	}
	sd := g.SyntheticStateDict(11)
	var ts []safetensors.Tensor
	for _, e := range g.ExpectedTensors() {
		ts = append(ts, safetensors.F32Tensor(e.Key, e.Shape, sd[e.Key]))
	}
	if err := safetensors.WriteFile(f.weights, ts, nil); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(f.labels, []byte(strings.Join(evalLabels, "\n")+"\n"), 0o644)
	if code, _, errs := runCLI(t, "convert", "--weights", f.weights, "--arch", "mixnet_s", "--classes", "8", "--labels", f.labels,
		"--input-size", "32", "--calib-synthetic", "2", "-o", f.fw); code != 0 {
		t.Fatalf("convert: %s", errs)
	}
	pics := filepath.Join(dir, "pics")
	os.Mkdir(pics, 0o755)
	for i := range 24 {
		p := filepath.Join(pics, fmt.Sprintf("p%02d.png", i))
		writeRGBPNG(t, p, camera.SyntheticImage(uint64(40+i), 36+i%3*8, 40))
		f.pics = append(f.pics, p)
	}
	for prec, args := range map[string][]string{
		"int8": {"--model", f.fw},
		"fp32": {"--weights", f.weights, "--classes", "8", "--input-size", "32", "--labels", f.labels},
	} {
		code, out, errs := runCLI(t, append(append([]string{"classify", "--json", "--top", "5"}, args...), f.pics...)...)
		if code != 0 {
			t.Fatalf("classify %s: %s", prec, errs)
		}
		for _, r := range parseLines(t, out) {
			for _, e := range r["top"].([]any) {
				f.top[prec] = append(f.top[prec], int(e.(map[string]any)["index"].(float64)))
			}
		}
	}
	return f
}

// rank is where class c is in pic i's top 5 by prec (5: not in it).
func (f *evalFixture) rank(prec string, i, c int) int {
	for k, x := range f.top[prec][5*i : 5*i+5] {
		if x == c {
			return k
		}
	}
	return 5
}

// folderTree copies pic i into root/folders[class(i)]/ and returns the
// class of every pic.
func (f *evalFixture) folderTree(t *testing.T, root string, folders []string, class func(i int) int) []int {
	t.Helper()
	var cls []int
	for i, p := range f.pics {
		c := class(i)
		d := filepath.Join(root, folders[c])
		os.MkdirAll(d, 0o755)
		b, _ := os.ReadFile(p)
		if err := os.WriteFile(filepath.Join(d, filepath.Base(p)), b, 0o644); err != nil {
			t.Fatal(err)
		}
		cls = append(cls, c)
	}
	return cls
}

func evalJSON(t *testing.T, args ...string) (evalDoc, string) {
	t.Helper()
	code, out, errs := runCLI(t, append([]string{"eval", "--json"}, args...)...)
	if code != 0 {
		t.Fatalf("eval %v: exit %d: %s", args, code, errs)
	}
	var doc evalDoc
	if err := json.Unmarshal([]byte(out), &doc); err != nil || strings.Count(strings.TrimSpace(out), "\n") != 0 {
		t.Fatalf("eval --json: not one JSON object (%v): %q", err, out)
	}
	return doc, errs
}

// expect counts top-1 and top-5 hits of prec over pics with classes cls.
func (f *evalFixture) expect(prec string, cls []int) (top1, top5 int) {
	for i, c := range cls {
		if r := f.rank(prec, i, c); r == 0 {
			top1++
		}
		if f.rank(prec, i, cls[i]) < 5 {
			top5++
		}
	}
	return
}

// TestEval builds one fixture (converting and classifying take a while
// under qemu) for all its parts.
func TestEval(t *testing.T) {
	f := newEvalFixture(t)
	t.Run("against", func(t *testing.T) { testEvalAgainst(t, f) })
	t.Run("mapping", func(t *testing.T) { testEvalMapping(t, f) })
	t.Run("labels-csv", func(t *testing.T) { testEvalLabelsCSV(t, f) })
	t.Run("usage", func(t *testing.T) { testEvalUsage(t, f) })
}

func testEvalAgainst(t *testing.T, f *evalFixture) {
	// Pic i goes to the folder of its fp32 top-1 class for i%3 != 0 and to
	// class i%8 otherwise, so fp32 scores at least 16 of 24 and int8 has
	// its own count.
	class := func(i int) int {
		if i%3 != 0 {
			return f.top["fp32"][5*i]
		}
		return i % 8
	}
	root := filepath.Join(f.dir, "val")
	cls := f.folderTree(t, root, evalFolders, class)
	// A broken file, a non-image that is ignored, a hidden folder.
	os.MkdirAll(filepath.Join(root, "coat"), 0o755)
	os.WriteFile(filepath.Join(root, "coat", "broken.png"), []byte("\x89PNG\r\n\x1a\nnot really"), 0o644)
	os.WriteFile(filepath.Join(root, "coat", "notes.txt"), []byte("x"), 0o644)
	os.MkdirAll(filepath.Join(root, ".cache"), 0o755)

	doc, _ := evalJSON(t, "--model", f.fw, "--against", f.weights, "--workers", "2", root)
	i1, i5 := f.expect("int8", cls)
	f1, f5 := f.expect("fp32", cls)
	agree := 0
	var dis []string
	for i := range f.pics {
		if f.top["int8"][5*i] == f.top["fp32"][5*i] {
			agree++
		} else {
			dis = append(dis, filepath.Join(root, evalFolders[cls[i]], filepath.Base(f.pics[i])))
		}
	}
	sort.Strings(dis)
	t.Logf("int8 %d/%d top-1 %d top-5, fp32 %d/%d, agreement %d, SQNR %.1f dB", i1, len(cls), i5, f1, f5, agree, doc.Agreement.SQNRMean)
	if doc.Images != 24 || doc.Classes != 8 || doc.Mapping != "names" || doc.Int8 == nil || doc.FP32 == nil || doc.Agreement == nil {
		t.Fatalf("doc %+v", doc)
	}
	if doc.Int8.Top1Correct != i1 || doc.Int8.Top5Correct != i5 || doc.FP32.Top1Correct != f1 || doc.FP32.Top5Correct != f5 || f1 < 16 {
		t.Errorf("int8 %+v fp32 %+v, want int8 %d/%d fp32 %d/%d", doc.Int8, doc.FP32, i1, i5, f1, f5)
	}
	if doc.Int8.Top1 != float64(i1)/24 || doc.Int8.Model != f.fw || doc.FP32.Model != f.weights {
		t.Errorf("int8 %+v", doc.Int8)
	}
	a := doc.Agreement
	var got []string
	for _, d := range a.Disagree {
		got = append(got, d.Path)
		if d.Int8 == d.FP32 {
			t.Errorf("disagreement %+v agrees", d)
		}
	}
	if a.Agree != agree || fmt.Sprint(got) != fmt.Sprint(dis) || !(a.SQNRMean > 0) || a.SQNRMin > a.SQNRMean {
		t.Errorf("agreement %+v, want %d agreeing, disagreeing %v", a, agree, dis)
	}
	if len(doc.Failed) != 1 || doc.Failed[0].Path != filepath.Join(root, "coat", "broken.png") || !strings.Contains(doc.Failed[0].Error, "broken.png") {
		t.Errorf("failed %+v", doc.Failed)
	}
	n := 0
	for _, c := range doc.PerClass {
		n += c.Images
		if c.Label != evalLabels[c.Index] || c.Folder != evalFolders[c.Index] {
			t.Errorf("per class %+v", c)
		}
	}
	if n != 24 || len(doc.PerClass) == 0 {
		t.Errorf("per class counts %d images", n)
	}

	// float32 first, int8 against it: the same figures.
	doc2, _ := evalJSON(t, "--weights", f.weights, "--classes", "8", "--input-size", "32", "--against", f.fw, "--workers", "1", root)
	if *doc2.Int8 != *doc.Int8 || *doc2.FP32 != *doc.FP32 || doc2.Agreement.Agree != a.Agree || doc2.Agreement.SQNRMean != a.SQNRMean {
		t.Errorf("--weights --against .fw: %+v %+v, want %+v %+v", doc2.Int8, doc2.FP32, doc.Int8, doc.FP32)
	}
	// float32 alone takes labels from --labels (the folders match them).
	doc3, _ := evalJSON(t, "--weights", f.weights, "--classes", "8", "--input-size", "32", "--labels", f.labels, root)
	if doc3.Int8 != nil || doc3.FP32 == nil || *doc3.FP32 != *doc.FP32 || doc3.Agreement != nil {
		t.Errorf("fp32 alone: %+v", doc3)
	}

	// Text output, per class.
	code, out, errs := runCLI(t, "eval", "--model", f.fw, "--against", f.weights, "--per-class", "--progress", "1ms", root)
	if code != 0 {
		t.Fatalf("eval text: exit %d: %s", code, errs)
	}
	for _, s := range []string{"25 images in 8 classes", "top-1", "int8 vs fp32: top-1 agreement", "per class:", "t-shirt_top", "broken.png", "1 files could not be decoded", "images/s"} {
		if !strings.Contains(out, s) {
			t.Errorf("text output lacks %q:\n%s", s, out)
		}
	}
	if len(dis) > 0 && !strings.Contains(out, filepath.Base(dis[0])) {
		t.Errorf("text output does not list %s:\n%s", dis[0], out)
	}
	// Not a terminal: plain progress lines on stderr, one at most per ms.
	if !strings.HasPrefix(errs, "eval: ") || !strings.Contains(errs, "/25 images, ") || !strings.Contains(errs, "images/s") {
		t.Errorf("progress lines: %q", errs)
	}

	// --limit takes classes in turn.
	doc, _ = evalJSON(t, "--model", f.fw, "--limit", "5", root)
	if doc.Images+len(doc.Failed) != 5 || len(doc.PerClass)+len(doc.Failed) < 5 {
		t.Errorf("--limit 5: %d images in %d classes", doc.Images, len(doc.PerClass))
	}
	doc, _ = evalJSON(t, "--model", f.fw, "--per-class-limit", "1", root)
	if doc.Images+len(doc.Failed) != len(doc.PerClass)+len(doc.Failed) {
		t.Errorf("--per-class-limit 1: %d images in %d classes", doc.Images, len(doc.PerClass))
	}
}

func testEvalMapping(t *testing.T, f *evalFixture) {
	class := func(i int) int { return i % 8 }

	// A typo in one folder name: refused, naming it, not silently shifted.
	bad := append([]string(nil), evalFolders...)
	bad[1] = "trousers"
	typo := filepath.Join(f.dir, "typo")
	cls := f.folderTree(t, typo, bad, class)
	code, _, errs := runCLI(t, "eval", "--model", f.fw, typo)
	if code != 1 || !strings.Contains(errs, `"trousers"`) || !strings.Contains(errs, `"Trouser"`) || !strings.Contains(errs, "--match sorted") {
		t.Errorf("typo folder: exit %d, %q", code, errs)
	}
	// --match sorted: sorted folder order is the class index.
	doc, _ := evalJSON(t, "--model", f.fw, "--match", "sorted", typo)
	sorted := append([]string(nil), bad...)
	sort.Strings(sorted)
	pos := map[string]int{}
	for i, s := range sorted {
		pos[s] = i
	}
	var sc []int
	for _, c := range cls {
		sc = append(sc, pos[bad[c]])
	}
	if i1, i5 := f.expect("int8", sc); doc.Int8.Top1Correct != i1 || doc.Int8.Top5Correct != i5 || doc.Mapping != "sorted" {
		t.Errorf("--match sorted: %+v (%s), want %d %d", doc.Int8, doc.Mapping, i1, i5)
	}

	// No name matches: sorted order, said on stderr.
	plain := []string{"a", "b", "c", "d", "e", "f", "g", "h"}
	abc := filepath.Join(f.dir, "abc")
	cls = f.folderTree(t, abc, plain, class)
	doc, errs = evalJSON(t, "--model", f.fw, abc)
	if i1, _ := f.expect("int8", cls); doc.Int8.Top1Correct != i1 || !strings.Contains(errs, "sorted folder order") || !strings.Contains(errs, `"a" = 0`) {
		t.Errorf("unmatched names: %+v, want %d; stderr %q", doc.Int8, i1, errs)
	}

	// More folders than classes: an error naming the folders beyond.
	os.MkdirAll(filepath.Join(abc, "i"), 0o755)
	writeRGBPNG(t, filepath.Join(abc, "i", "x.png"), camera.SyntheticImage(1, 32, 32))
	code, _, errs = runCLI(t, "eval", "--model", f.fw, abc)
	if code != 1 || !strings.Contains(errs, "9 class folders but the model has 8 classes") || !strings.Contains(errs, `"i"`) {
		t.Errorf("9 folders, 8 classes: exit %d, %q", code, errs)
	}

	// --match index: the folder name is the class number.
	nums := []string{"0", "1", "2", "3", "4", "5", "6", "7"}
	idx := filepath.Join(f.dir, "idx")
	cls = f.folderTree(t, idx, nums, func(i int) int { return 7 - i%8 })
	doc, _ = evalJSON(t, "--model", f.fw, "--match", "index", idx)
	if i1, _ := f.expect("int8", cls); doc.Int8.Top1Correct != i1 {
		t.Errorf("--match index: %+v, want %d", doc.Int8, i1)
	}
	// The same folders with auto: numbers in sorted order from 0, both
	// readings agree.
	doc, _ = evalJSON(t, "--model", f.fw, idx)
	if doc.Mapping != "sorted" {
		t.Errorf("folders 0..7: mapping %q", doc.Mapping)
	}
	// Folders 1..8: sorted order and the numbers disagree; auto refuses.
	one := filepath.Join(f.dir, "one")
	f.folderTree(t, one, []string{"1", "2", "3", "4", "5", "6", "7", "8"}, class)
	if code, _, errs := runCLI(t, "eval", "--model", f.fw, one); code != 1 || !strings.Contains(errs, `folder "1" would be class 0: say --match index`) {
		t.Errorf("folders 1..8: exit %d, %q", code, errs)
	}
	// A class folder that is a symbolic link counts, with paths under DIR.
	linked := filepath.Join(f.dir, "linked")
	os.Mkdir(linked, 0o755)
	for _, n := range plain {
		if err := os.Symlink(filepath.Join(abc, n), filepath.Join(linked, n)); err != nil {
			t.Fatal(err)
		}
	}
	doc, _ = evalJSON(t, "--model", f.fw, "--json", linked)
	if doc.Images != 24 || doc.Mapping != "sorted" {
		t.Errorf("linked class folders: %d images, mapping %q", doc.Images, doc.Mapping)
	}

	os.Mkdir(filepath.Join(idx, "8"), 0o755)
	if code, _, errs := runCLI(t, "eval", "--model", f.fw, "--match", "index", idx); code != 1 || !strings.Contains(errs, `"8" is class 8, but the model has 8 classes`) {
		t.Errorf("--match index, folder 8: exit %d, %q", code, errs)
	}

	// Images but no class folders; no images at all.
	loose := filepath.Join(f.dir, "loose")
	os.Mkdir(loose, 0o755)
	writeRGBPNG(t, filepath.Join(loose, "x.png"), camera.SyntheticImage(1, 32, 32))
	if code, _, errs := runCLI(t, "eval", "--model", f.fw, loose); code != 1 || !strings.Contains(errs, "no class folders") {
		t.Errorf("loose images: exit %d, %q", code, errs)
	}
	empty := filepath.Join(f.dir, "empty")
	os.MkdirAll(filepath.Join(empty, "coat"), 0o755)
	if code, _, errs := runCLI(t, "eval", "--model", f.fw, empty); code != 1 || !strings.Contains(errs, "no PNG or JPEG") {
		t.Errorf("no images: exit %d, %q", code, errs)
	}
	// Every image broken: an error, not a 0 % accuracy.
	os.WriteFile(filepath.Join(empty, "coat", "b.png"), []byte("nope"), 0o644)
	if code, _, errs := runCLI(t, "eval", "--model", f.fw, empty); code != 1 || !strings.Contains(errs, "none of the 1 images") || !strings.Contains(errs, "b.png") {
		t.Errorf("all broken: exit %d, %q", code, errs)
	}
}

func testEvalLabelsCSV(t *testing.T, f *evalFixture) {
	var b strings.Builder
	b.WriteString("path,label\n# pictures by hand\n")
	var cls []int
	for i, p := range f.pics {
		c := (i * 3) % 8
		cls = append(cls, c)
		fmt.Fprintf(&b, "%s, %d\n", filepath.Base(p), c)
	}
	csvPath := filepath.Join(f.dir, "pics", "val.csv")
	os.WriteFile(csvPath, []byte(b.String()), 0o644)
	// Paths relative to the CSV's folder.
	doc, _ := evalJSON(t, "--model", f.fw, "--labels-csv", csvPath)
	i1, i5 := f.expect("int8", cls)
	if doc.Images != 24 || doc.Int8.Top1Correct != i1 || doc.Int8.Top5Correct != i5 || doc.Mapping != "csv" {
		t.Errorf("--labels-csv: %+v, want %d %d", doc, i1, i5)
	}
	// Relative to DIR when one is given.
	other := filepath.Join(f.dir, "list.csv")
	os.WriteFile(other, []byte(b.String()), 0o644)
	doc2, _ := evalJSON(t, "--model", f.fw, "--labels-csv", other, filepath.Join(f.dir, "pics"))
	if *doc2.Int8 != *doc.Int8 {
		t.Errorf("--labels-csv with DIR: %+v", doc2.Int8)
	}
	// A class out of range and a malformed line name the line.
	os.WriteFile(other, []byte("a.png,3\nb.png,8\n"), 0o644)
	if code, _, errs := runCLI(t, "eval", "--model", f.fw, "--labels-csv", other); code != 1 || !strings.Contains(errs, "list.csv:2: class index 8, but the model has 8 classes") {
		t.Errorf("index out of range: exit %d, %q", code, errs)
	}
	os.WriteFile(other, []byte("a.png,3\nb.png\n"), 0o644)
	if code, _, errs := runCLI(t, "eval", "--model", f.fw, "--labels-csv", other); code != 1 || !strings.Contains(errs, "list.csv:2: 1 fields, want 2") {
		t.Errorf("one field: exit %d, %q", code, errs)
	}
	os.WriteFile(other, []byte("a.png,3\nb.png,x\n"), 0o644)
	if code, _, errs := runCLI(t, "eval", "--model", f.fw, "--labels-csv", other); code != 1 || !strings.Contains(errs, `list.csv:2: class index "x"`) {
		t.Errorf("not a number: exit %d, %q", code, errs)
	}
	// A listed file that is missing is counted and named like a broken one.
	os.WriteFile(other, []byte(fmt.Sprintf("%s,1\nmissing.png,2\n", f.pics[0])), 0o644)
	doc, _ = evalJSON(t, "--model", f.fw, "--labels-csv", other)
	if doc.Images != 1 || len(doc.Failed) != 1 || !strings.Contains(doc.Failed[0].Error, "missing.png") {
		t.Errorf("missing file: %+v", doc)
	}
}

func testEvalUsage(t *testing.T, f *evalFixture) {
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--model", f.fw}, 2, "no image folder"},
		{[]string{"--model", f.fw, "a", "b"}, 2, "want one image folder"},
		{[]string{"--model", f.fw, "--weights", f.weights, "x"}, 2, "not both"},
		{[]string{"--model", f.fw, "--arch", "mixnet_m", "x"}, 1, "--arch is fixed by the .fw"},
		{[]string{"--model", f.fw, "--against", f.fw, "x"}, 1, "int8 against int8"},
		{[]string{"--weights", f.weights, "--against", f.weights, "x"}, 1, "float32 against float32"},
		{[]string{"--weights", f.weights, "--input-size", "64", "--against", f.fw, "x"}, 1, "is mixnet_s at 32x32 with 8 classes; the float32 weights run as mixnet_s at 64x64 with 8 classes"},
		{[]string{"--model", f.fw, "--match", "fuzzy", "x"}, 1, "want auto, names, sorted or index"},
		{[]string{"--model", f.fw, "--workers", "0", "x"}, 1, "--workers 0"},
		{[]string{"--model", f.fw, filepath.Join(f.dir, "nope")}, 1, "nope"},
	} {
		code, _, errs := runCLI(t, append([]string{"eval"}, c.args...)...)
		if code != c.code || !strings.Contains(errs, c.want) {
			t.Errorf("eval %v: exit %d, %q; want %d and %q", c.args, code, errs, c.code, c.want)
		}
	}
}

// readLabelsCSV never panics, and what it accepts has a path and a class
// in range on every item.
func FuzzReadLabelsCSV(f *testing.F) {
	for _, s := range []string{"path,label\na.png,3\n", "# c\n\"x,y.png\",0\n", "a.png,10\n", "a,b,c\n", "a.png, -1\n", "\"unterminated,1\n", ",1\n"} {
		f.Add([]byte(s))
	}
	dir := f.TempDir()
	p := filepath.Join(dir, "l.csv")
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		d, err := readLabelsCSV(p, "", 10)
		if err != nil {
			if !strings.Contains(err.Error(), p) {
				t.Errorf("error does not name the file: %v", err)
			}
			return
		}
		for _, it := range d.items {
			if it.class < 0 || it.class >= 10 || it.path == "" {
				t.Errorf("accepted %+v", it)
			}
		}
	})
}
