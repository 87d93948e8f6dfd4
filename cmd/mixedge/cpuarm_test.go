package main

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/klauspost/cpuid/v2"
)

// /proc/cpuinfo as Raspberry Pi OS prints it (trimmed to two cores).
const (
	cpuinfoPi4 = `processor	: 0
BogoMIPS	: 108.00
Features	: fp asimd evtstrm crc32 cpuid
CPU implementer	: 0x41
CPU architecture: 8
CPU variant	: 0x0
CPU part	: 0xd08
CPU revision	: 3

processor	: 1
BogoMIPS	: 108.00
Features	: fp asimd evtstrm crc32 cpuid
CPU implementer	: 0x41
CPU architecture: 8
CPU variant	: 0x0
CPU part	: 0xd08
CPU revision	: 3

Revision	: c03114
Serial		: 100000001234abcd
Model		: Raspberry Pi 4 Model B Rev 1.4
`
	cpuinfoPi5 = `processor	: 0
BogoMIPS	: 108.00
Features	: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp
CPU implementer	: 0x41
CPU architecture: 8
CPU variant	: 0x4
CPU part	: 0xd0b
CPU revision	: 1

processor	: 1
BogoMIPS	: 108.00
Features	: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp
CPU implementer	: 0x41
CPU architecture: 8
CPU variant	: 0x4
CPU part	: 0xd0b
CPU revision	: 1

Revision	: d04170
Serial		: 1234abcd1234abcd
Model		: Raspberry Pi 5 Model B Rev 1.0
`
	cpuinfoZero2 = `processor	: 0
BogoMIPS	: 38.40
Features	: fp asimd evtstrm crc32 cpuid
CPU implementer	: 0x41
CPU architecture: 8
CPU variant	: 0x0
CPU part	: 0xd03
CPU revision	: 4

Revision	: 902120
Model		: Raspberry Pi Zero 2 W Rev 1.0
`
	// A Pi 3 B+ with the 32-bit OS: ARMv7 names, NEON and VFPv4.
	cpuinfoPi3v7 = `processor	: 0
model name	: ARMv7 Processor rev 4 (v7l)
BogoMIPS	: 38.40
Features	: half thumb fastmult vfp edsp neon vfpv3 tls vfpv4 idiva idivt vfpd32 lpae evtstrm crc32
CPU implementer	: 0x41
CPU architecture: 7
CPU variant	: 0x0
CPU part	: 0xd03
CPU revision	: 4

processor	: 1
model name	: ARMv7 Processor rev 4 (v7l)
BogoMIPS	: 38.40
Features	: half thumb fastmult vfp edsp neon vfpv3 tls vfpv4 idiva idivt vfpd32 lpae evtstrm crc32
CPU implementer	: 0x41
CPU architecture: 7
CPU variant	: 0x0
CPU part	: 0xd03
CPU revision	: 4

Hardware	: BCM2835
Revision	: a020d3
Model		: Raspberry Pi 3 Model B Plus Rev 1.3
`
	cpuinfoX86 = `processor	: 0
vendor_id	: AuthenticAMD
model name	: AMD EPYC
flags		: fpu vme avx2

processor	: 1
vendor_id	: AuthenticAMD
model name	: AMD EPYC
flags		: fpu vme avx2
`
)

func TestCPUInfoARM(t *testing.T) {
	for _, c := range []struct {
		name, text, goarch string
		brand, pi, board   string
		cores              int
		uses               string // tier features with has
	}{
		{"pi4", cpuinfoPi4, "arm64", "ARM Cortex-A72 r0p3", "Raspberry Pi 4 / 400 / CM4", "Raspberry Pi 4 Model B Rev 1.4", 2, "asimd:true asimddp:false asimdrdm:false"},
		{"pi5", cpuinfoPi5, "arm64", "ARM Cortex-A76 r4p1", "Raspberry Pi 5 / 500 / CM5", "Raspberry Pi 5 Model B Rev 1.0", 2, "asimd:true asimddp:true asimdrdm:true"},
		{"zero2", cpuinfoZero2, "arm64", "ARM Cortex-A53 r0p4", "Raspberry Pi 3 / Zero 2 W", "Raspberry Pi Zero 2 W Rev 1.0", 1, "asimd:true asimddp:false asimdrdm:false"},
		{"pi3-armv7", cpuinfoPi3v7, "arm", "ARM Cortex-A53 r0p4", "Raspberry Pi 3 / Zero 2 W", "Raspberry Pi 3 Model B Plus Rev 1.3", 2, "neon:true vfpv4:true"},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := parseCPUInfo(c.text)
			if a.Processors != c.cores {
				t.Errorf("%d processors, want %d", a.Processors, c.cores)
			}
			doc := cpuDoc{GOARCH: c.goarch, Logical: a.Processors}
			fillARM(&doc, a, &cpuid.CPUInfo{})
			doc.TierUses = tierFeatures(doc.GOARCH, doc.Features)
			var uses []string
			for _, u := range doc.TierUses {
				uses = append(uses, u.Name+":"+map[bool]string{true: "true", false: "false"}[u.Has])
			}
			if doc.Brand != c.brand || doc.Vendor != "Arm Limited" || doc.Pi != c.pi || doc.Board != c.board || doc.Cores != c.cores ||
				strings.Join(uses, " ") != c.uses {
				t.Errorf("got brand %q vendor %q pi %q board %q cores %d uses %v", doc.Brand, doc.Vendor, doc.Pi, doc.Board, doc.Cores, uses)
			}
			if !reflect.DeepEqual(doc.Features, a.Features) || len(a.Features) == 0 {
				t.Errorf("features %v, want the kernel's %v", doc.Features, a.Features)
			}
		})
	}

	// qemu-user shows the host's /proc/cpuinfo: on arm64 the core comes
	// from MIDR_EL1 (through cpuid); on 32-bit ARM it is unknown, not x86.
	a := parseCPUInfo(cpuinfoX86)
	doc := cpuDoc{GOARCH: "arm64", Logical: 2, Features: []string{"ASIMD", "ASIMDDP", "FP"}}
	fillARM(&doc, a, &cpuid.CPUInfo{VendorID: cpuid.ARM, VendorString: "Arm Limited", Family: 0x4f, Model: 0xd0b1})
	if doc.Brand != "ARM Cortex-A76 r4p1" || doc.Pi != "Raspberry Pi 5 / 500 / CM5" || doc.Board != "" || doc.Cores != 2 ||
		strings.Join(doc.Features, " ") != "asimd asimddp fp" {
		t.Errorf("arm64 from MIDR: %+v", doc)
	}
	doc = cpuDoc{GOARCH: "arm", Logical: 2}
	fillARM(&doc, a, &cpuid.CPUInfo{})
	if strings.Contains(doc.Brand, "AMD") || !strings.Contains(doc.Brand, "unknown ARM core") || doc.Cores != 2 {
		t.Errorf("arm under qemu: %+v", doc)
	}
	if b, err := json.Marshal(doc); err != nil || !strings.Contains(string(b), `"tier_features"`) {
		t.Errorf("json: %s %v", b, err)
	}
}

func FuzzParseCPUInfo(f *testing.F) {
	for _, s := range []string{cpuinfoPi4, cpuinfoPi5, cpuinfoZero2, cpuinfoPi3v7, cpuinfoX86, "", "CPU part: 0xffffffffff\nprocessor:"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a := parseCPUInfo(s)
		if a.Part < -1 || a.Implementer < -1 || a.Processors < 0 {
			t.Fatalf("%+v", a)
		}
		_ = a.name()
		_ = a.pi()
		doc := cpuDoc{GOARCH: "arm64"}
		fillARM(&doc, a, &cpuid.CPUInfo{})
	})
}
