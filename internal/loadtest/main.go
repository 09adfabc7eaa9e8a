// Command loadtest prepares and summarises Usher's load tests (see
// bench/load.sh and docs/benchmarks.md). It is not part of the product.
//
//	loadtest seed -database bench.db -users 100000 -sessions 100000 -out DIR
//	loadtest hashtime
//	loadtest hashbench -duration 10s
//	loadtest soak -duration 10m (bench/soak.sh)
//	loadtest measure -debug http://127.0.0.1:6060 -- wrk ARGS...
//	loadtest probe -url http://127.0.0.1:8080/user/api/me -tokens tokens.txt -rate 500 -duration 20s
package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/password"
	"github.com/usher-auth/usher/sqlstore"
)

// Password is every seeded user's password.
const Password = "load test password 7"

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: loadtest seed|hashtime [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "seed":
		err = seed(os.Args[2:])
	case "hashtime":
		err = hashTime()
	case "hashbench":
		err = hashBench(os.Args[2:])
	case "soak":
		err = soak(os.Args[2:])
	case "probe":
		err = probe(os.Args[2:])
	case "measure":
		err = measure(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(1)
	}
}

// seed fills a database with users (user<N>@example.com, all with
// Password hashed once with the default argon2id parameters) and sessions,
// and writes the session tokens, e-mail addresses and Basic
// Authorization headers (first 100 users) to files for wrk.
func seed(args []string) error {
	fs := flag.NewFlagSet("seed", flag.ExitOnError)
	db := fs.String("database", "bench.db", "SQLite file or postgres:// address")
	users := fs.Int("users", 100000, "users to create")
	sessions := fs.Int("sessions", 100000, "sessions to create (one per user, round robin)")
	out := fs.String("out", ".", "directory for tokens.txt and emails.txt")
	fs.Parse(args)

	ctx := context.Background()
	st, err := sqlstore.Open(ctx, *db)
	if err != nil {
		return err
	}
	defer st.Close()
	hash, err := (&password.Hasher{}).Hash(Password)
	if err != nil {
		return err
	}
	start := time.Now()
	now := time.Now()
	ids := make([]string, *users)
	emails, err := os.Create(filepath.Join(*out, "emails.txt"))
	if err != nil {
		return err
	}
	defer emails.Close()
	basic, err := os.Create(filepath.Join(*out, "basic.txt"))
	if err != nil {
		return err
	}
	defer basic.Close()
	const batch = 5000
	for lo := 0; lo < *users; lo += batch {
		err := st.InTx(ctx, func(tx usher.Store) error {
			for i := lo; i < min(lo+batch, *users); i++ {
				u := &usher.User{ID: usher.NewID(), Email: fmt.Sprintf("user%d@example.com", i), PasswordHash: hash,
					Enabled: true, SignedUpAt: now, PasswordChangedAt: now, EmailConfirmedAt: now}
				if i%10 == 0 {
					u.Roles = []string{"staff"}
				}
				if err := tx.CreateUser(ctx, u); err != nil {
					return err
				}
				ids[i] = u.ID
				fmt.Fprintln(emails, u.Email)
				if i < 100 {
					fmt.Fprintln(basic, "Basic "+base64.StdEncoding.EncodeToString([]byte(u.Email+":"+Password)))
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	fmt.Printf("%d users in %v\n", *users, time.Since(start).Round(time.Millisecond))
	start = time.Now()
	tokens, err := os.Create(filepath.Join(*out, "tokens.txt"))
	if err != nil {
		return err
	}
	defer tokens.Close()
	for lo := 0; lo < *sessions; lo += batch {
		err := st.InTx(ctx, func(tx usher.Store) error {
			for i := lo; i < min(lo+batch, *sessions); i++ {
				var b [32]byte
				rand.Read(b[:])
				tok := base64.RawURLEncoding.EncodeToString(b[:])
				h := sha256.Sum256([]byte(tok))
				s := &usher.Session{ID: usher.NewID(), UserID: ids[i%len(ids)], TokenHash: h[:], CreatedAt: now,
					LastSeenAt: now, ExpiresAt: now.Add(30 * 24 * time.Hour), Remember: true}
				if err := tx.CreateSession(ctx, s); err != nil {
					return err
				}
				fmt.Fprintln(tokens, tok)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	fmt.Printf("%d sessions in %v\n", *sessions, time.Since(start).Round(time.Millisecond))
	return nil
}

// hashTime prints the time of one default password verification alone
// and the hash-bound limit it implies on this machine, cores ÷ that time
// (the figure the log-in and sign-up rates are compared with), and, for
// reference, the rate when every core verifies at once.
func hashTime() error {
	h := &password.Hasher{}
	enc, err := h.Hash(Password)
	if err != nil {
		return err
	}
	verify := func(n int) error {
		for range n {
			if ok, _, _ := h.Verify(enc, Password); !ok {
				return fmt.Errorf("verify failed")
			}
		}
		return nil
	}
	const n = 40
	start := time.Now()
	if err := verify(n); err != nil {
		return err
	}
	per := time.Since(start) / n
	cores := runtime.NumCPU()
	start = time.Now()
	errs := make(chan error, cores)
	for range cores {
		go func() { errs <- verify(n) }()
	}
	for range cores {
		if err := <-errs; err != nil {
			return err
		}
	}
	parallel := float64(cores*n) / time.Since(start).Seconds()
	fmt.Printf("one argon2id verification alone: %v; cores: %d; hash-bound limit: %.1f/s (all cores verifying at once: %.1f/s)\n",
		per.Round(10*time.Microsecond), cores, float64(cores)/per.Seconds(), parallel)
	return nil
}
