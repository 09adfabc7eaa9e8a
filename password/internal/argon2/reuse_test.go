package argon2

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"

	xargon2 "golang.org/x/crypto/argon2"
)

// TestSameAsXCrypto derives keys for many passwords and parameters, one
// after another so that each reuses memory left dirty by the one before,
// and on several goroutines at once, and compares each with x/crypto's.
func TestSameAsXCrypto(t *testing.T) {
	type params struct {
		time, memory uint32
		threads      uint8
		keyLen       uint32
	}
	cases := []params{
		{4, 9216, 1, 32}, // Usher's default
		{1, 8, 1, 16},
		{3, 64, 2, 32},
		{2, 1000, 3, 64},
		{1, 4096, 4, 32},
		{4, 9216, 1, 32},
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 6 {
		cases = append(cases, params{1 + rng.Uint32N(3), 8 + rng.Uint32N(3000), uint8(1 + rng.IntN(4)), 4 + rng.Uint32N(60)})
	}
	check := func(t *testing.T, i int, p params) {
		pw := []byte(fmt.Sprintf("password %d", i))
		salt := []byte(fmt.Sprintf("salt of %d, sixteen+", i))
		want := xargon2.IDKey(pw, salt, p.time, p.memory, p.threads, p.keyLen)
		if got := IDKey(pw, salt, p.time, p.memory, p.threads, p.keyLen); !bytes.Equal(got, want) {
			t.Errorf("case %d %+v: got %x, x/crypto %x", i, p, got, want)
		}
	}
	for round := range 2 {
		for i, p := range cases {
			check(t, round*100+i, p)
		}
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i, p := range cases {
				check(t, 1000+g*100+i, p)
			}
		}()
	}
	wg.Wait()
}

// TestArenasKept checks that the default derivation's memory is reused:
// a derivation allocates kilobytes of Go heap, not its 9 MiB.
func TestArenasKept(t *testing.T) {
	IDKey([]byte("warm"), []byte("saltsaltsalt"), 1, 9216, 1, 32)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range 5 {
		IDKey([]byte("pw"), []byte("saltsaltsalt"), 1, 9216, 1, 32)
	}
	runtime.ReadMemStats(&after)
	if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
		t.Errorf("five derivations allocated %d bytes of Go heap", n)
	}
}
