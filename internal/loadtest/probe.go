package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"sync"
	"time"
)

// probe sends session checks at a fixed rate (an open model: a slow answer
// does not slow the sender, so queueing shows in the latencies) and prints
// the latency percentiles and the errors.
func probe(args []string) error {
	fs := flag.NewFlagSet("probe", flag.ExitOnError)
	url := fs.String("url", "http://127.0.0.1:8080/user/api/me", "URL to GET")
	tokensFile := fs.String("tokens", "tokens.txt", "session tokens, one a line")
	rate := fs.Int("rate", 500, "requests per second")
	duration := fs.Duration("duration", 20*time.Second, "how long")
	fs.Parse(args)

	f, err := os.Open(*tokensFile)
	if err != nil {
		return err
	}
	var tokens []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		tokens = append(tokens, sc.Text())
	}
	f.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}, Timeout: 10 * time.Second}
	var (
		mu        sync.Mutex
		latencies []time.Duration
		errors    int
		wg        sync.WaitGroup
	)
	tick := time.NewTicker(time.Second / time.Duration(*rate))
	defer tick.Stop()
	end := time.Now().Add(*duration)
	for now := range tick.C {
		if now.After(end) {
			break
		}
		wg.Go(func() {
			req, _ := http.NewRequest("GET", *url, nil)
			req.AddCookie(&http.Cookie{Name: "usher_session", Value: tokens[rand.IntN(len(tokens))]})
			start := time.Now()
			res, err := client.Do(req)
			ok := err == nil && res.StatusCode == 200
			if err == nil {
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
			}
			d := time.Since(start)
			mu.Lock()
			latencies = append(latencies, d)
			if !ok {
				errors++
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	slices.Sort(latencies)
	pct := func(p float64) time.Duration {
		if len(latencies) == 0 {
			return 0
		}
		return latencies[min(len(latencies)-1, int(float64(len(latencies))*p))].Round(10 * time.Microsecond)
	}
	fmt.Printf("probe: %d requests at %d/s: p50 %v, p90 %v, p99 %v, max %v; errors %d\n",
		len(latencies), *rate, pct(0.50), pct(0.90), pct(0.99), latencies[len(latencies)-1].Round(10*time.Microsecond), errors)
	return nil
}
