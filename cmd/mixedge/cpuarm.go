package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/klauspost/cpuid/v2"
	"golang.org/x/sys/cpu"
)

// armCore is what Linux's /proc/cpuinfo says about an ARM CPU: the fields of
// the Main ID Register (MIDR) of its first core, the kernel's feature names,
// the core count and, on Raspberry Pi OS, the board.
type armCore struct {
	Implementer, Part, Variant, Revision int // -1: not given
	Features                             []string
	Processors                           int
	ModelName                            string // "model name" (32-bit kernels: "ARMv7 Processor rev 4 (v7l)")
	Board                                string // "Model" (Raspberry Pi OS: "Raspberry Pi 4 Model B Rev 1.4")
}

// parseCPUInfo reads /proc/cpuinfo text. Unknown lines are ignored, so an
// x86 text gives no MIDR (Part -1) and no features.
func parseCPUInfo(text string) armCore {
	a := armCore{Implementer: -1, Part: -1, Variant: -1, Revision: -1}
	first := true // MIDR and features of the first core only
	for _, line := range strings.Split(text, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		num := func(dst *int) {
			if *dst >= 0 || !first {
				return
			}
			if n, err := strconv.ParseInt(v, 0, 32); err == nil && n >= 0 {
				*dst = int(n)
			}
		}
		switch k {
		case "processor":
			if a.Processors > 0 {
				first = false
			}
			a.Processors++
		case "CPU implementer":
			num(&a.Implementer)
		case "CPU part":
			num(&a.Part)
		case "CPU variant":
			num(&a.Variant)
		case "CPU revision":
			num(&a.Revision)
		case "Features":
			if first && a.Features == nil {
				a.Features = strings.Fields(v)
			}
		case "model name":
			if a.ModelName == "" {
				a.ModelName = v
			}
		case "Model":
			a.Board = v
		}
	}
	return a
}

// armCPUFromCPUID fills what /proc/cpuinfo lacked (under qemu-user it is the
// host's) from MIDR_EL1 as cpuid read it on arm64: Family holds MIDR bits
// 23..16 (variant, architecture), Model bits 15..0 (part, revision).
func armCPUFromCPUID(a armCore, c *cpuid.CPUInfo) armCore {
	if a.Part < 0 && c.VendorID != cpuid.VendorUnknown {
		a.Part, a.Revision, a.Variant = c.Model>>4, c.Model&0xf, c.Family>>4
		if c.VendorID == cpuid.ARM {
			a.Implementer = 0x41
		}
	}
	return a
}

// armImplementers names the MIDR implementer codes a board may carry.
var armImplementers = map[int]string{0x41: "Arm Limited", 0x42: "Broadcom", 0x4e: "NVIDIA", 0x51: "Qualcomm", 0x61: "Apple", 0xc0: "Ampere"}

// armParts names Arm Limited's cores (MIDR part numbers, as in Linux's
// arch/arm64/include/asm/cputype.h), with the Raspberry Pi built on each.
var armParts = map[int]struct{ core, pi string }{
	0xb76: {"ARM1176", "Raspberry Pi 1 / Zero / Zero W"},
	0xc07: {"Cortex-A7", "Raspberry Pi 2"},
	0xc08: {"Cortex-A8", ""},
	0xc09: {"Cortex-A9", ""},
	0xc0f: {"Cortex-A15", ""},
	0xd03: {"Cortex-A53", "Raspberry Pi 3 / Zero 2 W"},
	0xd04: {"Cortex-A35", ""},
	0xd05: {"Cortex-A55", ""},
	0xd07: {"Cortex-A57", ""},
	0xd08: {"Cortex-A72", "Raspberry Pi 4 / 400 / CM4"},
	0xd09: {"Cortex-A73", ""},
	0xd0a: {"Cortex-A75", ""},
	0xd0b: {"Cortex-A76", "Raspberry Pi 5 / 500 / CM5"},
	0xd0c: {"Neoverse-N1", ""},
	0xd0d: {"Cortex-A77", ""},
	0xd40: {"Neoverse-V1", ""},
	0xd41: {"Cortex-A78", ""},
	0xd44: {"Cortex-X1", ""},
	0xd46: {"Cortex-A510", ""},
	0xd47: {"Cortex-A710", ""},
	0xd48: {"Cortex-X2", ""},
	0xd49: {"Neoverse-N2", ""},
	0xd4b: {"Cortex-A78C", ""},
}

// name is "ARM Cortex-A72 r0p3", or a generic name when the part is not
// known, or "" without a MIDR.
func (a armCore) name() string {
	if a.Part < 0 {
		return a.ModelName
	}
	rp := ""
	if a.Variant >= 0 && a.Revision >= 0 {
		rp = fmt.Sprintf(" r%dp%d", a.Variant, a.Revision)
	}
	if p, ok := armParts[a.Part]; ok && a.Implementer == 0x41 {
		return "ARM " + p.core + rp
	}
	v := armImplementers[a.Implementer]
	if v == "" {
		v = fmt.Sprintf("implementer 0x%02x", a.Implementer)
	}
	return fmt.Sprintf("%s part 0x%03x%s", v, a.Part, rp)
}

// pi is the Raspberry Pi that has this core, or "".
func (a armCore) pi() string {
	if a.Implementer != 0x41 {
		return ""
	}
	return armParts[a.Part].pi
}

// hwcapFeatures32 lists the 32-bit ARM features the kernel passed in
// AT_HWCAP (what /proc/cpuinfo prints), for when that file is not ARM's.
func hwcapFeatures32() []string {
	var f []string
	for _, h := range []struct {
		has  bool
		name string
	}{{cpu.ARM.HasVFP, "vfp"}, {cpu.ARM.HasEDSP, "edsp"}, {cpu.ARM.HasNEON, "neon"}, {cpu.ARM.HasVFPv3, "vfpv3"},
		{cpu.ARM.HasVFPv4, "vfpv4"}, {cpu.ARM.HasIDIVA, "idiva"}, {cpu.ARM.HasVFPD32, "vfpd32"}, {cpu.ARM.HasLPAE, "lpae"},
		{cpu.ARM.HasAES, "aes"}, {cpu.ARM.HasPMULL, "pmull"}, {cpu.ARM.HasSHA1, "sha1"}, {cpu.ARM.HasSHA2, "sha2"}, {cpu.ARM.HasCRC32, "crc32"}} {
		if h.has {
			f = append(f, h.name)
		}
	}
	return f
}

// tierFeature is a CPU feature a kernel tier needs, and whether this CPU has it.
type tierFeature struct {
	Name string `json:"name"`
	Tier string `json:"tier"`
	Has  bool   `json:"has"`
}

// tierFeatures are the features the kernel tiers of goarch use, looked up
// in features (lower-case names, as Linux prints them).
func tierFeatures(goarch string, features []string) []tierFeature {
	has := map[string]bool{}
	for _, f := range features {
		has[strings.ToLower(f)] = true
	}
	var want [][2]string
	switch goarch {
	case "arm64":
		want = [][2]string{{"asimd", "neon"}, {"asimddp", "dotprod"}, {"asimdrdm", "dotprod"}}
	case "arm":
		want = [][2]string{{"neon", "none yet: generic Go"}, {"vfpv4", "none yet: generic Go"}}
	case "amd64":
		want = [][2]string{{"avx2", "avx2"}, {"avxvnni", "avxvnni"}, {"avx512vnni", "vnni"}}
	}
	var out []tierFeature
	for _, w := range want {
		out = append(out, tierFeature{Name: w[0], Tier: w[1], Has: has[w[0]]})
	}
	return out
}
