package main

import (
	"flag"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/usher-auth/usher/password"
)

// hashBench measures the standalone rate of the server's default password
// hash (argon2id m=9216 KiB, t=4, p=1, the parameters `usher serve` uses
// unless password_hash says bcrypt): one verification at a time on each of
// the machine's CPUs, in this separate process, for a fixed window. It is
// the hash-bound limit the log-in and sign-up rates of bench/load.sh are
// divided by, measured between the load windows because the machine's speed
// drifts within minutes.
func hashBench(args []string) error {
	fs := flag.NewFlagSet("hashbench", flag.ExitOnError)
	duration := fs.Duration("duration", 10*time.Second, "how long to verify")
	workers := fs.Int("workers", runtime.NumCPU(), "verifications at once (default: the CPUs)")
	heap := fs.Int("heap", 0, "MiB of live, pointer-free heap to hold while hashing (as the server's session cache does), to study the collector's effect")
	fs.Parse(args)
	ballast := make([][]byte, *heap)
	for i := range ballast {
		ballast[i] = make([]byte, 1<<20)
		ballast[i][0] = 1
	}
	h := &password.Hasher{}
	enc, err := h.Hash(Password)
	if err != nil {
		return err
	}
	var (
		done   atomic.Int64
		failed atomic.Bool
		wg     sync.WaitGroup
	)
	cpu0, flt0 := cpuTime()
	start := time.Now()
	end := start.Add(*duration)
	for range *workers {
		wg.Go(func() {
			for time.Now().Before(end) {
				if ok, _, _ := h.Verify(enc, Password); !ok {
					failed.Store(true)
					return
				}
				done.Add(1)
			}
		})
	}
	wg.Wait()
	runtime.KeepAlive(ballast)
	if failed.Load() {
		return fmt.Errorf("hashbench: a verification failed")
	}
	el := time.Since(start).Seconds()
	cpu1, flt1 := cpuTime()
	n := float64(done.Load())
	fmt.Printf("hashbench: %d verifications in %.1f s on %d workers (GOMAXPROCS %d), %.2f CPU-ms and %.0f page faults each = %.1f/s\n",
		done.Load(), el, *workers, runtime.GOMAXPROCS(0), 1000*(cpu1-cpu0).Seconds()/n, float64(flt1-flt0)/n, n/el)
	return nil
}

// cpuTime returns the CPU time (user and system) the process has used and
// its minor page faults.
func cpuTime() (time.Duration, int64) {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), ru.Minflt
}
