package sqlstore

import (
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/usher-auth/usher"
)

// seed fills s with n users, each with their primary address row and one
// session (and every tenth with the role "admin"), in one transaction, and
// returns the sessions' token hashes and the users' addresses.
func seed(b *testing.B, s *Store, n int) (hashes [][]byte, emails []string) {
	b.Helper()
	start := time.Now()
	now := time.Now()
	err := s.InTx(ctx, func(tx usher.Store) error {
		t := tx.(*Store).tx
		insUser, err := t.PrepareContext(ctx, s.d.q[qInsertUser])
		if err != nil {
			return err
		}
		insSession, err := t.PrepareContext(ctx, s.d.q[qInsertSession])
		if err != nil {
			return err
		}
		insRole, err := t.PrepareContext(ctx, s.d.q[qInsertRole])
		if err != nil {
			return err
		}
		insEmail, err := t.PrepareContext(ctx, s.d.q[qInsertUserEmail])
		if err != nil {
			return err
		}
		for i := range n {
			id := fmt.Sprintf("user%07d", i)
			email := fmt.Sprintf("User%07d@Example.com", i)
			if _, err := insUser.ExecContext(ctx, id, email, usher.FoldEmail(email), nil, nil,
				"$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", true,
				s.d.time(now), s.d.time(now), nil, s.d.time(now), 0, nil, false, `{"name":"User Name"}`, ""); err != nil {
				return err
			}
			if _, err := insEmail.ExecContext(ctx, "e"+id, id, email, true, s.d.time(now), s.d.time(now),
				usher.FoldEmail(email)); err != nil {
				return err
			}
			if i%10 == 0 {
				if _, err := insRole.ExecContext(ctx, id, "admin"); err != nil {
					return err
				}
			}
			h := sha256.Sum256([]byte(id))
			if _, err := insSession.ExecContext(ctx, "s"+id, id, h[:], s.d.time(now), s.d.time(now),
				s.d.time(now.Add(time.Hour)), false, "192.0.2.1", "Mozilla/5.0 (X11; Linux x86_64)", false); err != nil {
				return err
			}
			hashes = append(hashes, h[:])
			emails = append(emails, email)
		}
		return nil
	})
	if err != nil {
		b.Fatalf("seeding: %v", err)
	}
	b.Logf("seeded %d users and sessions in %v", n, time.Since(start).Round(time.Millisecond))
	return hashes, emails
}

// benchStores opens the databases to benchmark: a SQLite file always,
// PostgreSQL when USHER_TEST_POSTGRES is set.
func benchStores(b *testing.B) map[string]*Store {
	stores := map[string]*Store{
		"sqlite": mustOpen(b, filepath.Join(b.TempDir(), "usher.db")),
	}
	if os.Getenv("USHER_TEST_POSTGRES") != "" {
		stores["postgres"] = mustOpen(b, newPostgresSchema(b))
	}
	return stores
}

// BenchmarkSessionUser looks up random sessions among 100,000 (users and
// sessions), as every authenticated request does.
func BenchmarkSessionUser(b *testing.B) {
	for name, s := range benchStores(b) {
		hashes, _ := seed(b, s, 100_000)
		b.Run(name+"/serial", func(b *testing.B) {
			r := rand.New(rand.NewPCG(1, 2))
			for b.Loop() {
				if _, _, err := s.SessionUser(ctx, hashes[r.IntN(len(hashes))]); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/parallel", func(b *testing.B) {
			var seq atomic.Uint64
			b.RunParallel(func(pb *testing.PB) {
				r := rand.New(rand.NewPCG(seq.Add(1), 2))
				for pb.Next() {
					if _, _, err := s.SessionUser(ctx, hashes[r.IntN(len(hashes))]); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// BenchmarkUserByEmail looks up random users among 100,000 by address, as
// log-in does.
func BenchmarkUserByEmail(b *testing.B) {
	for name, s := range benchStores(b) {
		_, emails := seed(b, s, 100_000)
		b.Run(name+"/parallel", func(b *testing.B) {
			var seq atomic.Uint64
			b.RunParallel(func(pb *testing.PB) {
				r := rand.New(rand.NewPCG(seq.Add(1), 3))
				for pb.Next() {
					if _, err := s.UserByEmail(ctx, emails[r.IntN(len(emails))]); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// BenchmarkHit counts throttle hits on 1,000 keys in one window: a write
// per call, as per-IP throttling does.
func BenchmarkHit(b *testing.B) {
	for name, s := range benchStores(b) {
		window := time.Now().Truncate(time.Minute)
		keys := make([]string, 1000)
		for i := range keys {
			keys[i] = fmt.Sprintf("ip:198.51.100.%d:%d", i%256, i)
		}
		b.Run(name+"/serial", func(b *testing.B) {
			i := 0
			for b.Loop() {
				i++
				if _, err := s.Hit(ctx, keys[i%len(keys)], window); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/parallel", func(b *testing.B) {
			var seq atomic.Uint64
			b.RunParallel(func(pb *testing.PB) {
				r := rand.New(rand.NewPCG(seq.Add(1), 4))
				for pb.Next() {
					if _, err := s.Hit(ctx, keys[r.IntN(len(keys))], window); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// BenchmarkListUsers lists and counts users among 100,000 as the admin
// console's users table does (Service.ListUsers: CountUsers, then a page
// of 50 with ListUsers): the first page in each order, a search by
// substring (rare and common), an exact search, a profile field and a
// filter. docs/benchmarks.md has the figures.
func BenchmarkListUsers(b *testing.B) {
	no := false
	for name, s := range benchStores(b) {
		seed(b, s, 100_000)
		for _, c := range []struct {
			name string
			q    usher.UserQuery
		}{
			{"first-page", usher.UserQuery{}},
			{"first-page-newest", usher.UserQuery{Desc: true}},
			{"first-page-last-login", usher.UserQuery{Sort: usher.SortLastLogin, Desc: true}},
			{"next-page", usher.UserQuery{Desc: true, After: usher.UserQuery{}.Cursor(&usher.User{ID: "user0050000", SignedUpAt: time.Now()})}},
			{"substring-rare", usher.UserQuery{Search: "r0012345"}},
			{"substring-common", usher.UserQuery{Search: "user001"}},
			{"substring-none", usher.UserQuery{Search: "nobody"}},
			{"exact", usher.UserQuery{Search: "user0012345@example.com", Exact: true}},
			{"profile-substring", usher.UserQuery{Search: "Name", Field: "name"}},
			{"disabled", usher.UserQuery{Enabled: &no}},
		} {
			c.q.Limit = 50
			b.Run(name+"/"+c.name, func(b *testing.B) {
				cpu0 := processCPU()
				for b.Loop() {
					if _, err := s.CountUsers(ctx, c.q); err != nil {
						b.Fatal(err)
					}
					if _, err := s.ListUsers(ctx, c.q); err != nil {
						b.Fatal(err)
					}
				}
				// The process's CPU time per query, which a busy
				// machine inflates less than the wall time (ns/op).
				b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N)/1e6, "cpu-ms/op")
			})
		}
	}
}
