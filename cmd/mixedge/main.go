// Command mixedge classifies images with MixNet (MixConv) networks.
//
//	mixedge classify --weights mixnet_s.safetensors --arch mixnet_s photo.jpg
//	mixedge info --arch mixnet_s
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"
)

// version is set at link time (-ldflags "-X main.version=v1.2.3").
var version = ""

type command struct {
	name  string
	short string
	run   func(args []string, stdout, stderr io.Writer) error
}

var commands []command

func init() {
	commands = []command{
		{"classify", "classify images (or preprocessed tensors) with a MixNet", runClassify},
		{"eval", "measure top-1/top-5 accuracy on labelled pictures (DIR/<class>/*.png), int8 against float32", runEval},
		{"convert", "quantize timm weights to an int8 .fw image (calibration, packing, arena plan)", runConvert},
		{"info", "print an architecture or a .fw image layer by layer: shapes, kernels, params, MACs", runInfo},
		{"stream", "classify camera frames (V4L2 webcam, raw YUV pipe, Y4M, images) one label per frame, in constant memory", runStream},
		{"bench", "time int8 inference: per frame and per op, any thread count and kernel tier", runBench},
		{"cpu", "print the CPU, its features and the kernels chosen for it", runCPU},
		{"models", "list the published models and the cache (fetched weights, converted .fw); --rm NAME frees one", runModels},
		{"version", "print the version of this binary", runVersion},
	}
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// errUsage means the message was already printed with the usage.
var errUsage = errors.New("usage")

// exitError carries a non-zero exit status without an extra message.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 1 && args[0] == busyArg {
		return runBusyLoop(os.Stdin)
	}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		if len(args) > 1 {
			return run([]string{args[1], "--help"}, stdout, stderr)
		}
		usage(stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands {
		if c.name != args[0] {
			continue
		}
		err := c.run(args[1:], stdout, stderr)
		var ee exitError
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 0
		case errors.Is(err, errUsage):
			return 2
		case errors.As(err, &ee):
			return ee.code
		}
		fmt.Fprintf(stderr, "mixedge %s: %v\n", c.name, err)
		return 1
	}
	fmt.Fprintf(stderr, "mixedge: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprint(w, `mixedge runs MixNet image classifiers (timm's mixnet_s/m/l and tf_mixnet_s/m/l).

Usage:
  mixedge <command> [flags] [arguments]

Commands:
`)
	for _, c := range commands {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.short)
	}
	fmt.Fprint(w, `
Run 'mixedge <command> --help' for the flags of a command.

Example:
  mixedge classify --weights mixnet_s.safetensors --arch mixnet_s cat.jpg
`)
}

// newFlagSet makes a FlagSet whose --help prints the synopsis, the
// description, the flags and the examples.
func newFlagSet(name, synopsis, about, examples string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintf(w, "Usage: mixedge %s %s\n\n%s\n\nFlags:\n", name, synopsis, strings.TrimSpace(about))
		fs.PrintDefaults()
		if examples != "" {
			fmt.Fprintf(w, "\nExamples:\n%s\n", strings.TrimRight(examples, "\n"))
		}
	}
	return fs
}

// parseInterspersed parses flags that may come after positional arguments
// ("mixedge classify a.png --top 3"); "--" ends flag parsing.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, errUsage
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		// flag stops at "--" (consumed) or at the first non-flag.
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

func runVersion(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("version", "", "Print the version, Go version and build settings of this binary.", "  mixedge version", stderr)
	if _, err := parseInterspersed(fs, args); err != nil {
		return err
	}
	v := version
	info, ok := debug.ReadBuildInfo()
	if v == "" && ok {
		v = info.Main.Version
	}
	if v == "" || v == "(devel)" {
		v = "devel"
	}
	fmt.Fprintf(stdout, "mixedge %s\n", v)
	if ok {
		fmt.Fprintf(stdout, "go %s\n", info.GoVersion)
		for _, s := range info.Settings {
			switch s.Key {
			case "GOOS", "GOARCH", "GOARM", "GOAMD64", "GOARM64", "vcs.revision", "vcs.time", "vcs.modified", "-tags":
				fmt.Fprintf(stdout, "%s %s\n", s.Key, s.Value)
			}
		}
	}
	return nil
}
