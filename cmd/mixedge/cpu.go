package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
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
	Board     string            `json:"board,omitempty"`        // ARM: /proc/cpuinfo's Model (Raspberry Pi OS)
	Pi        string            `json:"pi_with_core,omitempty"` // ARM: the Raspberry Pi built on this core
	TierUses  []tierFeature     `json:"tier_features"`
	Available []string          `json:"tiers_available"`
	Chosen    string            `json:"tier_chosen"`
	Ops       map[string]string `json:"kernels"`
}

func runCPU(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("cpu", "[--kernels T] [--json]",
		`Print this CPU, the features cpuid reports, the kernel tiers this binary
can run here and, for the chosen tier, the implementation of each kernel.
On ARM the core is named from /proc/cpuinfo (its MIDR fields; on arm64
MIDR_EL1 itself when that file is not ARM's, as under qemu-user): Cortex-A53
is a Raspberry Pi 3 or Zero 2 W, Cortex-A72 a Pi 4, Cortex-A76 a Pi 5, and
the board's Model line is shown when Raspberry Pi OS gives one. Features are
the kernel's names (asimd, asimddp, asimdrdm on arm64; neon, vfpv4 on 32-bit); 'tiers
use' says which of them the kernel tiers need and whether this CPU has them.
The tier is chosen once at start-up: the best available, unless --kernels
or MIXEDGE_KERNELS (generic, avx2, avxvnni, vnni, neon, dotprod) says otherwise.`,
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
		Features: c.FeatureSet(), Chosen: k.Name, Ops: k.Ops}
	if runtime.GOARCH == "arm64" || runtime.GOARCH == "arm" {
		text, _ := os.ReadFile("/proc/cpuinfo") // absent off Linux: cpuid alone
		fillARM(&doc, parseCPUInfo(string(text)), &c)
	}
	doc.TierUses = tierFeatures(runtime.GOARCH, doc.Features)
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
	vendor := doc.Vendor
	if vendor == "" {
		vendor = "unknown"
	}
	switch {
	case doc.GOARCH != "arm64" && doc.GOARCH != "arm":
		fmt.Fprintf(stdout, "cpu       %s  (vendor %s, family %d, model %d)\n", brand, vendor, doc.Family, doc.Model)
	case doc.Pi != "":
		fmt.Fprintf(stdout, "cpu       %s  (vendor %s; the core of the %s)\n", brand, vendor, doc.Pi)
	default:
		fmt.Fprintf(stdout, "cpu       %s  (vendor %s)\n", brand, vendor)
	}
	if doc.Board != "" {
		fmt.Fprintf(stdout, "board     %s\n", doc.Board)
	}
	fmt.Fprintf(stdout, "cores     %d logical, %d physical  (%s)\n", doc.Logical, doc.Cores, doc.GOARCH)
	fmt.Fprintf(stdout, "features  %s\n", strings.Join(doc.Features, " "))
	if len(doc.TierUses) > 0 {
		var parts []string
		for _, t := range doc.TierUses {
			yes := "no"
			if t.Has {
				yes = "yes"
			}
			parts = append(parts, fmt.Sprintf("%s %s (%s)", t.Name, yes, t.Tier))
		}
		fmt.Fprintf(stdout, "tiers use %s\n", strings.Join(parts, ", "))
	}
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

// fillARM names an ARM core from /proc/cpuinfo (a), or from MIDR_EL1 through
// cpuid when that file is not ARM's (qemu-user shows the host's); cpuid
// knows no brand strings, core counts or, on 32-bit ARM, anything.
func fillARM(doc *cpuDoc, a armCore, c *cpuid.CPUInfo) {
	if a.Part < 0 && a.Features == nil { // not an ARM text (qemu-user shows the host's)
		a = parseCPUInfo("")
	}
	if a.Part < 0 && doc.GOARCH == "arm64" {
		a = armCPUFromCPUID(a, c)
	}
	if n := a.name(); n != "" && doc.Brand == "" {
		doc.Brand = n
	} else if doc.Brand == "" {
		doc.Brand = "(unknown ARM core: /proc/cpuinfo names none)"
	}
	if doc.Vendor == "" {
		doc.Vendor = armImplementers[a.Implementer]
	}
	doc.Board, doc.Pi = a.Board, a.pi()
	switch {
	case len(a.Features) > 0 && a.Part >= 0: // the kernel's names, as the docs use them
		doc.Features = a.Features
	case doc.GOARCH == "arm":
		doc.Features = hwcapFeatures32()
	default:
		f := make([]string, len(doc.Features))
		for i, s := range doc.Features {
			f[i] = strings.ToLower(s)
		}
		doc.Features = f
	}
	// ARM cores have no SMT: every logical CPU is a core.
	if doc.Cores == 0 {
		doc.Cores = doc.Logical
	}
}
