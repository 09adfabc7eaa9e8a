package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
)

type hashStats struct {
	Hashes      int64   `json:"hashes"`
	HashSeconds float64 `json:"hash_seconds"`
	CPUs        int     `json:"cpus"`
}

func getStats(debug string) (hashStats, error) {
	var st hashStats
	res, err := http.Get(debug + "/debug/usher")
	if err != nil {
		return st, err
	}
	defer res.Body.Close()
	return st, json.NewDecoder(res.Body).Decode(&st)
}

var (
	reqsRE   = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	non2xxRE = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
	sockRE   = regexp.MustCompile(`Socket errors: (.*)`)
)

// measure runs a load command (wrk) against a server started with
// --debug-addr, and compares the rate it achieved with the hash-bound
// limit measured by the server during that very run: CPUs ÷ the average
// time one password hash took while the load ran.
func measure(args []string) error {
	fs := flag.NewFlagSet("measure", flag.ExitOnError)
	debug := fs.String("debug", "http://127.0.0.1:6060", "the server's debug listener")
	fs.Parse(args)
	if fs.NArg() == 0 {
		return fmt.Errorf("measure: give the load command after the flags")
	}
	before, err := getStats(*debug)
	if err != nil {
		return err
	}
	var out bytes.Buffer
	cmd := exec.Command(fs.Arg(0), fs.Args()[1:]...)
	cmd.Stdout = io.MultiWriter(os.Stdout, &out)
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return err
	}
	after, err := getStats(*debug)
	if err != nil {
		return err
	}
	m := reqsRE.FindStringSubmatch(out.String())
	if m == nil {
		return fmt.Errorf("measure: no Requests/sec in the command's output")
	}
	rate, _ := strconv.ParseFloat(m[1], 64)
	n := after.Hashes - before.Hashes
	if n == 0 {
		return fmt.Errorf("measure: the server computed no hashes")
	}
	per := (after.HashSeconds - before.HashSeconds) / float64(n)
	limit := float64(after.CPUs) / per
	errors := "none"
	if m := non2xxRE.FindStringSubmatch(out.String()); m != nil {
		errors = m[1] + " non-2xx answers"
	}
	if m := sockRE.FindStringSubmatch(out.String()); m != nil {
		errors += "; socket errors: " + m[1]
	}
	fmt.Printf("measure: %d hashes during the run, %.2f ms each on average; hash-bound limit %d CPUs ÷ %.2f ms = %.1f/s; achieved %.1f/s = %.0f%% of the limit; errors: %s\n",
		n, per*1000, after.CPUs, per*1000, limit, rate, 100*rate/limit, errors)
	return nil
}
