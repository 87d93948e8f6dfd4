// Command qemu-icount counts the dynamic guest instructions of an arm64
// program (or, with -qemu qemu-x86_64 -cpu Haswell, of an x86-64 one on an
// AVX2-only CPU) by running it under qemu-aarch64 with
// `-d nochain,in_asm,exec` and streaming the log (never storing it): each
// in_asm listing gives a translated block's instruction count, each exec
// "Trace" line one entry into a block.
//
// Usage:
//
//	qemu-icount [-cpu cortex-a72] [-top N] [-progress M] [-o report.txt] -- ./prog args...
//	qemu-icount -log qemu.log [-top N]     # parse a log captured earlier ("-" = stdin)
//
// For example, the instructions of one MixNet-S frame:
//
//	qemu-icount -cpu cortex-a76 -top 40 -- ./mixedge-arm64 bench --model m.fw --threads 1 --warmup 0 --runs 1 --kernels dotprod
//
// -progress M prints a line to stderr every M million log lines (the log of a
// frame is 10^7–10^8 lines; qemu writes ~300k lines/s).
//
// The guest's stdout goes to stdout and its stderr to stderr; the report goes
// to stdout after the guest exits (or to -o). The log travels through a FIFO
// (qemu -D) where the OS has them, else through qemu's stderr, in which case
// guest stderr lines are mixed in and ignored by the parser.
//
// Counts are of executed guest instructions, all threads together (the
// report also splits them by qemu cpu index, one per guest thread). They are
// not cycles.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("qemu-icount", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cpu := fs.String("cpu", "", "qemu -cpu model (e.g. cortex-a72, cortex-a76); empty = qemu default")
	qemu := fs.String("qemu", "qemu-aarch64", "qemu user-mode binary")
	top := fs.Int("top", 0, "also list the N hottest symbols and blocks")
	out := fs.String("o", "", "write the report to this file instead of stdout")
	logPath := fs.String("log", "", "parse this existing log instead of running a program (- = stdin)")
	useStderr := fs.Bool("stderr", false, "read the log from qemu's stderr instead of a FIFO")
	progress := fs.Uint64("progress", 0, "print a progress line to stderr every N million log lines (0 = never)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: qemu-icount [-cpu MODEL] [-top N] [-o FILE] -- PROGRAM [ARGS...]\n       qemu-icount -log FILE [-top N]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	c := NewCounter()
	if *progress > 0 {
		c.Progress, c.ProgressEvery = stderr, *progress*1e6
	}
	start := time.Now()
	exitCode := 0
	switch {
	case *logPath != "":
		if fs.NArg() != 0 {
			fs.Usage()
			return 2
		}
		var r io.Reader = os.Stdin
		if *logPath != "-" {
			f, err := os.Open(*logPath)
			if err != nil {
				fmt.Fprintln(stderr, "qemu-icount:", err)
				return 1
			}
			defer f.Close()
			r = f
		}
		if err := c.Feed(r); err != nil {
			fmt.Fprintln(stderr, "qemu-icount:", err)
			return 1
		}
	case fs.NArg() > 0:
		code, err := runQemu(c, *qemu, *cpu, fs.Args(), *useStderr, stdout, stderr)
		if err != nil {
			fmt.Fprintln(stderr, "qemu-icount:", err)
			return 1
		}
		exitCode = code
	default:
		fs.Usage()
		return 2
	}
	w := stdout
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			fmt.Fprintln(stderr, "qemu-icount:", err)
			return 1
		}
		defer f.Close()
		w = f
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(w, "command: %s -cpu %s %v\nguest exit status: %d  wall time: %s\n", *qemu, *cpu, fs.Args(), exitCode, time.Since(start).Round(time.Millisecond))
	}
	c.Report(w, *top)
	if c.Listings == 0 {
		fmt.Fprintln(stderr, "qemu-icount: no in_asm listings in the log (wrong qemu or log format?)")
		return 1
	}
	return exitCode
}

// runQemu runs the guest and feeds the log to c; it returns the guest's exit code.
func runQemu(c *Counter, qemu, cpu string, guest []string, useStderr bool, stdout, stderr io.Writer) (int, error) {
	qargs := []string{}
	if cpu != "" {
		qargs = append(qargs, "-cpu", cpu)
	}
	qargs = append(qargs, "-d", "nochain,in_asm,exec")

	var fifo string
	if !useStderr {
		dir, err := os.MkdirTemp("", "qemu-icount")
		if err != nil {
			return 0, err
		}
		defer os.RemoveAll(dir)
		fifo = filepath.Join(dir, "log")
		if err := mkfifo(fifo); err != nil {
			fifo = "" // no FIFOs here: fall back to stderr
		}
	}
	cmd := exec.Command(qemu, append(append(qargs, logArgs(fifo)...), guest...)...)
	cmd.Stdin = os.Stdin
	cmd.Stdout = stdout
	var logR io.ReadCloser
	if fifo == "" {
		p, err := cmd.StderrPipe()
		if err != nil {
			return 0, err
		}
		logR = p
	} else {
		cmd.Stderr = stderr
	}
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	done := make(chan error, 1)
	go func() {
		if fifo != "" {
			f, err := os.Open(fifo) // blocks until qemu opens it for writing
			if err != nil {
				done <- err
				return
			}
			defer f.Close()
			growPipe(f)
			done <- c.Feed(&batchReader{r: f})
			return
		}
		done <- c.Feed(&batchReader{r: logR})
	}()
	var feedErr error
	waitErr := cmd.Wait() // with a pipe, Wait returns after the reader saw EOF
	if fifo != "" {
		// If qemu died before opening the FIFO, the reader is still blocked in
		// open: give it a writer that closes at once.
		unblockFIFO(fifo)
	}
	feedErr = <-done
	if feedErr != nil {
		return 0, feedErr
	}
	code := 0
	if waitErr != nil {
		var ee *exec.ExitError
		if !errors.As(waitErr, &ee) {
			return 0, waitErr
		}
		code = ee.ExitCode()
		if code < 0 {
			code = 1
		}
	}
	return code, nil
}

func logArgs(fifo string) []string {
	if fifo == "" {
		return nil
	}
	return []string{"-D", fifo}
}

// batchReader lets a pipe fill before reading it again: qemu writes its log
// line by line, and waking the reader for every line costs more than the
// parsing. A short read is followed by a short sleep.
type batchReader struct{ r io.Reader }

func (b *batchReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err == nil && n < 16<<10 {
		time.Sleep(time.Millisecond)
	}
	return n, err
}
