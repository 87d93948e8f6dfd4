package main

import (
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"sort"
	"strings"

	"github.com/klauspost/cpuid/v2"

	"github.com/mixedge/mixedge/kernels"
)

type cpuDoc struct {
	Brand     string            `json:"brand"`
	Vendor    string            `json:"vendor"`
	Family    int               `json:"family"`
	Model     int               `json:"model"`
	Cores     int               `json:"physical_cores"`
	Logical   int               `json:"logical_cores"`
	GOARCH    string            `json:"goarch"`
	Features  []string          `json:"features"`
	Available []string          `json:"tiers_available"`
	Chosen    string            `json:"tier_chosen"`
	Ops       map[string]string `json:"kernels"`
}

func runCPU(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("cpu", "[--kernels T] [--json]",
		`Print this CPU, the features cpuid reports, the kernel tiers this binary
can run here and, for the chosen tier, the implementation of each kernel.
The tier is chosen once at start-up: the best available, unless --kernels
or MIXEDGE_KERNELS (generic, avx2, neon, dotprod) says otherwise.`,
		`  mixedge cpu
  MIXEDGE_KERNELS=generic mixedge cpu --json`, stderr)
	tier := fs.String("kernels", "", "force a tier")
	asJSON := fs.Bool("json", false, "print one JSON document")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("unexpected argument %q", pos[0])
	}
	k, err := kernels.Select(*tier)
	if err != nil {
		return err
	}
	c := cpuid.CPU
	doc := cpuDoc{Brand: c.BrandName, Vendor: c.VendorString, Family: c.Family, Model: c.Model,
		Cores: c.PhysicalCores, Logical: runtime.NumCPU(), GOARCH: runtime.GOARCH,
		Features: append(c.FeatureSet(), armFeatures()...), Chosen: k.Name, Ops: k.Ops}
	for _, t := range kernels.Tiers() {
		doc.Available = append(doc.Available, t.Name)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(doc)
	}
	brand := doc.Brand
	if brand == "" {
		brand = "(unknown brand)"
	}
	fmt.Fprintf(stdout, "cpu       %s  (vendor %s, family %d, model %d)\n", brand, doc.Vendor, doc.Family, doc.Model)
	fmt.Fprintf(stdout, "cores     %d logical, %d physical  (%s)\n", doc.Logical, doc.Cores, doc.GOARCH)
	fmt.Fprintf(stdout, "features  %s\n", strings.Join(doc.Features, " "))
	fmt.Fprintf(stdout, "tiers     %s   chosen: %s\n\n", strings.Join(doc.Available, ", "), doc.Chosen)
	names := make([]string, 0, len(doc.Ops))
	for n := range doc.Ops {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(stdout, "  %-12s %s\n", n, doc.Ops[n])
	}
	return nil
}
