package argon2

import (
	"os"

	"golang.org/x/sys/unix"
)

// adviseHuge asks Linux to back mem with transparent huge pages
// (MADV_HUGEPAGE), which it does when the system's setting is "madvise" or
// "always". A refusal only costs speed.
func adviseHuge(mem []byte) {
	if os.Getenv("USHER_ARGON2_NOHUGE") != "" { // EXPERIMENT
		return
	}
	_ = unix.Madvise(mem, unix.MADV_HUGEPAGE)
}
