package main

import (
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/usher-auth/usher/internal/smtptest"
	"github.com/usher-auth/usher/sqlstore"
)

// TestMain lets the test binary stand in for the usher binary, so that a
// test can run the server as a separate process and kill it.
func TestMain(m *testing.M) {
	if os.Getenv("USHER_TEST_RUN_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startServer runs `usher serve` as a child process.
func startServer(t *testing.T, env []string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "serve")
	cmd.Env = append(os.Environ(), append(env, "USHER_TEST_RUN_MAIN=1", "USHER_LOG_LEVEL=warn")...)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd
}

func waitHealthy(t *testing.T, addr string) {
	for range 200 {
		if res, err := http.Get("http://" + addr + "/healthz"); err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("server did not start")
}

// TestMailSurvivesKillDuringOutage: an e-mail caused while the SMTP server
// is down waits in the outbox; the process is killed (SIGKILL, no chance
// to clean up); after a restart, with SMTP back, the e-mail goes out.
func TestMailSurvivesKillDuringOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	db := filepath.Join(t.TempDir(), "k.db")
	addr, smtpAddr := freeAddr(t), freeAddr(t)
	env := []string{"USHER_DATABASE=" + db, "USHER_ADDR=" + addr, "USHER_SMTP_URL=smtp+insecure://" + smtpAddr,
		"USHER_MAIL_FROM=accounts@example.com", "USHER_BASE_URL=http://" + addr}
	first := startServer(t, env)
	waitHealthy(t, addr)
	res, err := http.Post("http://"+addr+"/user/api/signup", "application/json",
		strings.NewReader(`{"email":"ann@example.com","password":"correct horse battery staple"}`))
	if err != nil || res.StatusCode != 201 {
		t.Fatalf("signup: %v %v", res, err)
	}
	res.Body.Close()

	st, err := sqlstore.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	deadline := time.Now().Add(20 * time.Second)
	for {
		msgs, err := st.ListMessages(context.Background(), "ann@example.com", 10)
		if err == nil && len(msgs) == 1 && msgs[0].Attempts >= 1 {
			if !msgs[0].SentAt.IsZero() {
				t.Fatal("sent while SMTP was down?")
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no failed delivery attempt recorded: %+v %v", msgs, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	first.Process.Signal(syscall.SIGKILL)
	first.Wait()

	ln, err := net.Listen("tcp", smtpAddr)
	if err != nil {
		t.Fatal(err)
	}
	mail := smtptest.StartOn(t, ln)
	startServer(t, env)
	waitHealthy(t, addr)
	m := mail.WaitFor("ann@example.com", "onfirm", 1)
	if !strings.Contains(m.Text, "http://"+addr+"/user/confirm-email/") {
		t.Fatalf("the e-mail delivered after the restart has no confirmation link:\n%s", m.Text)
	}
}
