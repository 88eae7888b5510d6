// Command runner is the driver of bench/run.sh (make bench): it generates
// the benchmark programs, runs the bpfstar binary against llvm-mc-19 and
// clang-19 as real processes, checks that the code bytes agree, and prints
// the figures as Markdown tables (the format of docs/perf.md).
//
//	go run ./bench/runner -bpfstar bin/bpfstar [-runs 5] [-sizes 1000,10000,100000,1000000]
//
// Each command runs once to warm the caches, then -runs times; the tables
// give the median wall time, the median user+system CPU time and the
// largest peak RSS (wait4's ru_maxrss) of those runs.
package main

import (
	"bytes"
	"debug/elf"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/bpfstar/bpfstar/bench"
)

func main() {
	bpfstar := flag.String("bpfstar", "bin/bpfstar", "the bpfstar binary to measure")
	mc := flag.String("llvm-mc", "llvm-mc-19", "llvm-mc to compare with")
	clang := flag.String("clang", "clang-19", "clang to compare with")
	runs := flag.Int("runs", 5, "measured runs of each command (after one warm-up run)")
	sizes := flag.String("sizes", "1000,10000,100000,1000000", "program sizes, in instructions")
	examples := flag.String("examples", "examples", "directory of the example programs")
	cdir := flag.String("c", "bench/c", "directory of the C equivalents of the examples")
	work := flag.String("work", "", "directory for the generated inputs and outputs (default: a temporary one)")
	core := flag.String("core", "bench/core", "directory of the CO-RE benchmark (task_info.star and task_info.c); \"\" skips it")
	vmlinux := flag.String("vmlinux", "/sys/kernel/btf/vmlinux", "the kernel BTF the CO-RE benchmark copies")
	bpftool := flag.String("bpftool", "bpftool", "bpftool, which makes vmlinux.h")
	flag.Parse()
	if err := run(*bpfstar, *mc, *clang, *runs, *sizes, *examples, *cdir, *work); err != nil {
		fmt.Fprintln(os.Stderr, "runner:", err)
		os.Exit(1)
	}
	if *core != "" {
		if err := runCore(*bpfstar, *clang, *bpftool, *runs, *core, *vmlinux); err != nil {
			fmt.Fprintln(os.Stderr, "runner:", err)
			os.Exit(1)
		}
	}
}

// runCore measures a CO-RE tracing program built by bpfstar against a copy
// of the kernel's whole BTF, and by clang-19 against the vmlinux.h made of
// it.
func runCore(bpfstar, clang, bpftool string, runs int, core, vmlinux string) error {
	work, err := os.MkdirTemp("", "bpfstar-bench-core-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	for _, f := range [][2]string{{vmlinux, "vmlinux.btf"}, {filepath.Join(core, "task_info.star"), "task_info.star"}, {filepath.Join(core, "task_info.c"), "task_info.c"}} {
		data, err := os.ReadFile(f[0])
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(work, f[1]), data, 0o644); err != nil {
			return err
		}
	}
	h, err := exec.Command(bpftool, "btf", "dump", "file", filepath.Join(work, "vmlinux.btf"), "format", "c").Output()
	if err != nil {
		return fmt.Errorf("bpftool btf dump: %v", err)
	}
	if err := os.WriteFile(filepath.Join(work, "vmlinux.h"), h, 0o644); err != nil {
		return err
	}
	abs, err := filepath.Abs(bpfstar)
	if err != nil {
		return err
	}
	fi, err := os.Stat(filepath.Join(work, "vmlinux.btf"))
	if err != nil {
		return err
	}
	b, err := measure(runs, abs, "build", filepath.Join(work, "task_info.star"), "-o", filepath.Join(work, "task_info.bpfstar.o"))
	if err != nil {
		return err
	}
	c, err := measure(runs, clang, "-target", "bpf", "-mcpu=v4", "-O2", "-g", "-c", filepath.Join(work, "task_info.c"), "-o", filepath.Join(work, "task_info.clang.o"))
	if err != nil {
		return err
	}
	fmt.Printf("\nCO-RE: %s/task_info.star against a copy of %s (%.1f MB) and clang-19 -O2 -g of %s/task_info.c against vmlinux.h (%.1f MB); goal: at most 0.05 of clang's wall time.\n\n", core, vmlinux, float64(fi.Size())/(1<<20), core, float64(len(h))/(1<<20))
	fmt.Println("| program | bpfstar wall | bpfstar CPU | bpfstar peak RSS | clang-19 wall | clang-19 CPU | clang-19 peak RSS | wall ratio |")
	fmt.Println("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	fmt.Printf("| task_info | %s | %s | %s | %s | %s | %s | %.3f |\n", ms(b.wall), ms(b.cpu), mb(b.rss), ms(c.wall), ms(c.cpu), mb(c.rss), float64(b.wall)/float64(c.wall))
	return nil
}

// stats are the measurements of one command over several runs.
type stats struct {
	wall, cpu time.Duration // medians
	rss       int64         // largest peak RSS, bytes
}

// timeCmd is GNU time, through which the commands run when it is
// installed. The peak RSS that wait4 reports for a child that Go starts
// directly is at least the runner's own: Go starts children with vfork, and
// Linux counts the memory of the process that calls exec. GNU time forks
// from a process of a megabyte or two.
var timeCmd, _ = exec.LookPath("time")

// measure runs argv once to warm up, then runs times.
func measure(runs int, argv ...string) (stats, error) {
	var walls, cpus []time.Duration
	var rss int64
	out, err := os.CreateTemp("", "bpfstar-bench-time-")
	if err != nil {
		return stats{}, err
	}
	out.Close()
	defer os.Remove(out.Name())
	for i := 0; i <= runs; i++ {
		cmd := exec.Command(argv[0], argv[1:]...)
		if timeCmd != "" {
			cmd = exec.Command(timeCmd, append([]string{"-f", "%M", "-o", out.Name(), "--"}, argv...)...)
		}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		start := time.Now()
		err := cmd.Run()
		wall := time.Since(start)
		if err != nil {
			return stats{}, fmt.Errorf("%s: %v\n%s", strings.Join(argv, " "), err, stderr.Bytes())
		}
		if i == 0 {
			continue
		}
		// wait4's usage of a child includes the children it waited for:
		// through time, it is the command's CPU time.
		ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
		peak := ru.Maxrss // KiB
		if timeCmd != "" {
			b, err := os.ReadFile(out.Name())
			if err != nil {
				return stats{}, err
			}
			f := strings.Fields(string(b))
			if len(f) == 0 {
				return stats{}, fmt.Errorf("time -o %s: no output", out.Name())
			}
			if peak, err = strconv.ParseInt(f[len(f)-1], 10, 64); err != nil {
				return stats{}, fmt.Errorf("time: %v", err)
			}
		}
		walls = append(walls, wall)
		cpus = append(cpus, time.Duration(ru.Utime.Nano()+ru.Stime.Nano()))
		rss = max(rss, peak*1024)
	}
	return stats{median(walls), median(cpus), rss}, nil
}

func median(d []time.Duration) time.Duration {
	slices.Sort(d)
	return d[len(d)/2]
}

// section returns the contents of section name of the object at path.
func section(path, name string) ([]byte, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	s := f.Section(name)
	if s == nil {
		return nil, fmt.Errorf("%s: no section %q", path, name)
	}
	return s.Data()
}

func ms(d time.Duration) string {
	if d < 10*time.Millisecond {
		return fmt.Sprintf("%.1f ms", float64(d)/1e6)
	}
	return fmt.Sprintf("%.0f ms", float64(d)/1e6)
}

func mb(b int64) string { return fmt.Sprintf("%.1f MB", float64(b)/(1<<20)) }

func sizeName(n int) string {
	switch {
	case n%1_000_000 == 0:
		return fmt.Sprintf("%dM", n/1_000_000)
	case n%1000 == 0:
		return fmt.Sprintf("%dk", n/1000)
	}
	return strconv.Itoa(n)
}

func run(bpfstar, mc, clang string, runs int, sizeList, examples, cdir, work string) error {
	if work == "" {
		dir, err := os.MkdirTemp("", "bpfstar-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		work = dir
	}
	var sizes []int
	for _, s := range strings.Split(sizeList, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			return fmt.Errorf("bad size %q", s)
		}
		sizes = append(sizes, n)
	}

	fmt.Printf("Generated programs (bench.Star / bench.Asm), %d runs each after a warm-up run: median wall and CPU (user+sys) time, largest peak RSS.\n\n", runs)
	fmt.Println("| instructions | bpfstar wall | bpfstar CPU | bpfstar peak RSS | llvm-mc-19 wall | llvm-mc-19 CPU | llvm-mc-19 peak RSS | wall ratio | RSS ratio | code bytes |")
	fmt.Println("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
	for _, n := range sizes {
		base := filepath.Join(work, "bench_"+sizeName(n))
		if err := os.WriteFile(base+".star", bench.Star(n), 0o644); err != nil {
			return err
		}
		if err := os.WriteFile(base+".s", bench.Asm(n), 0o644); err != nil {
			return err
		}
		b, err := measure(runs, bpfstar, "build", base+".star", "-o", base+".bpfstar.o")
		if err != nil {
			return err
		}
		m, err := measure(runs, mc, "-triple", "bpfel", "-mcpu=v4", "-filetype=obj", "-o", base+".llvm-mc.o", base+".s")
		if err != nil {
			return err
		}
		same := "identical"
		bs, err := section(base+".bpfstar.o", bench.Section)
		if err != nil {
			return err
		}
		mcCode, err := section(base+".llvm-mc.o", bench.Section)
		if err != nil {
			return err
		}
		if !bytes.Equal(bs, mcCode) || !bytes.Equal(bs, bench.Code(n)) {
			same = "DIFFERENT"
		}
		fmt.Printf("| %s | %s | %s | %s | %s | %s | %s | %.2f | %.2f | %s (%d bytes) |\n", sizeName(n),
			ms(b.wall), ms(b.cpu), mb(b.rss), ms(m.wall), ms(m.cpu), mb(m.rss),
			float64(b.wall)/float64(m.wall), float64(b.rss)/float64(m.rss), same, len(bs))
		if same != "identical" {
			defer fmt.Fprintf(os.Stderr, "runner: the code of %s differs between bpfstar and llvm-mc (inputs kept in %s)\n", sizeName(n), work)
			defer os.Exit(1)
		}
	}

	stars, err := filepath.Glob(filepath.Join(examples, "*.star"))
	if err != nil {
		return err
	}
	fmt.Printf("\nExamples: `bpfstar build` against `clang-19 -target bpf -mcpu=v4 -O2 -g -c` of the C equivalent in %s (both write BTF with line info).\n\n", cdir)
	fmt.Println("| example | bpfstar wall | bpfstar CPU | bpfstar peak RSS | clang-19 wall | clang-19 CPU | clang-19 peak RSS |")
	fmt.Println("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
	for _, star := range stars {
		name := strings.TrimSuffix(filepath.Base(star), ".star")
		c := filepath.Join(cdir, name+".c")
		if _, err := os.Stat(c); err != nil {
			continue // BUILD.star and examples without a C version
		}
		b, err := measure(runs, bpfstar, "build", star, "-o", filepath.Join(work, name+".bpfstar.o"))
		if err != nil {
			return err
		}
		cl, err := measure(runs, clang, "-target", "bpf", "-mcpu=v4", "-O2", "-g", "-I/usr/include/x86_64-linux-gnu", "-c", c, "-o", filepath.Join(work, name+".clang.o"))
		if err != nil {
			return err
		}
		fmt.Printf("| %s | %s | %s | %s | %s | %s | %s |\n", name, ms(b.wall), ms(b.cpu), mb(b.rss), ms(cl.wall), ms(cl.cpu), mb(cl.rss))
	}
	return nil
}
