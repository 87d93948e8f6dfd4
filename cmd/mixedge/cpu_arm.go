package main

import "golang.org/x/sys/cpu"

// armFeatures lists what the kernel reports (AT_HWCAP) on 32-bit ARM,
// where cpuid detects nothing; the neon tier needs NEON.
func armFeatures() []string {
	var f []string
	for _, x := range []struct {
		name string
		has  bool
	}{{"NEON", cpu.ARM.HasNEON}, {"VFPv3", cpu.ARM.HasVFPv3}, {"VFPv4", cpu.ARM.HasVFPv4},
		{"IDIVA", cpu.ARM.HasIDIVA}, {"LPAE", cpu.ARM.HasLPAE}} {
		if x.has {
			f = append(f, x.name)
		}
	}
	return f
}
