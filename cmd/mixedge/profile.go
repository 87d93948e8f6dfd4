package main

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"

	"github.com/klauspost/cpuid/v2"
)

// deviceInfo describes this machine for the bench document.
func deviceInfo() benchDevice {
	c := cpuid.CPU
	d := benchDevice{CPU: c.BrandName, Vendor: c.VendorString, Physical: c.PhysicalCores, Logical: runtime.NumCPU(),
		Features: c.FeatureSet(), OS: runtime.GOOS, Arch: runtime.GOARCH, GoVersion: runtime.Version()}
	if d.Features == nil {
		d.Features = []string{}
	}
	if runtime.GOOS == "linux" {
		if d.CPU == "" {
			d.CPU = cpuinfoModel()
		}
		// Raspberry Pi OS: "Raspberry Pi 4 Model B Rev 1.4".
		d.Board = strings.TrimRight(readTrim("/proc/device-tree/model"), "\x00")
		const freq = "/sys/devices/system/cpu/cpu0/cpufreq/"
		d.Governor = readTrim(freq + "scaling_governor")
		d.CurKHz, _ = strconv.Atoi(readTrim(freq + "scaling_cur_freq"))
		d.MaxKHz, _ = strconv.Atoi(readTrim(freq + "cpuinfo_max_freq"))
	}
	return d
}

func readTrim(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// cpuinfoModel is /proc/cpuinfo's "model name" (or "Model"), for CPUs
// cpuid cannot name (arm64 has no brand string).
func cpuinfoModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		k, v, ok := strings.Cut(s.Text(), ":")
		if !ok {
			continue
		}
		switch strings.TrimSpace(k) {
		case "model name", "Model":
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// peakRSS is the process's peak resident set (VmHWM) on Linux, else 0.
func peakRSS() int64 {
	if runtime.GOOS != "linux" {
		return 0
	}
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			f := strings.Fields(v) // "12345 kB"
			if len(f) == 2 && f[1] == "kB" {
				kb, _ := strconv.ParseInt(f[0], 10, 64)
				return kb << 10
			}
		}
	}
	return 0
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// opGroup is the sum of the profiled ops of one block or one kind.
type opGroup struct {
	Name     string
	Count    int
	MACs     int64
	MedianMS float64 // sum of the ops' medians
	Share    float64
}

func (g opGroup) GMACs() float64 {
	if g.MACs == 0 || g.MedianMS <= 0 {
		return 0
	}
	return float64(g.MACs) / g.MedianMS / 1e6
}

// groupOps sums ops by "block" or "kind" ("op": one group per op), in the
// order each group first appears.
func groupOps(ops []benchOp, by string) []opGroup {
	var out []opGroup
	idx := map[string]int{}
	for _, o := range ops {
		key := o.Name
		switch by {
		case "block":
			key = o.Block
		case "kind":
			key = o.Op
		}
		i, ok := idx[key]
		if !ok {
			i = len(out)
			idx[key] = i
			out = append(out, opGroup{Name: key})
		}
		g := &out[i]
		g.Count++
		g.MACs += o.MACs
		g.MedianMS += o.MedianMS
		g.Share += o.Share
	}
	return out
}

// sortedGroups orders groups by time, largest first.
func sortedGroups(g []opGroup) []opGroup {
	s := append([]opGroup(nil), g...)
	sort.SliceStable(s, func(a, b int) bool { return s[a].MedianMS > s[b].MedianMS })
	return s
}
