package argon2

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"unsafe"
)

// TestArenaOnHugePageBoundary checks that a mapped arena starts on a
// huge-page boundary, so that the kernel can back all of it but the last
// part with transparent huge pages, that all of it can be written, and that free gives all of it back.
// Whether the kernel does depends on the system's setting, which the test
// does not require.
func TestArenaOnHugePageBoundary(t *testing.T) {
	for _, n := range []uint32{8, 9216, 2048 + 3} {
		a := mapArena(n)
		if a == nil {
			t.Fatalf("mapArena(%d) refused", n)
		}
		if len(a.blocks) != int(n) {
			t.Errorf("mapArena(%d): %d blocks", n, len(a.blocks))
		}
		// #nosec G103 -- reading the arena's address
		addr := uintptr(unsafe.Pointer(&a.blocks[0]))
		if addr%hugePage != 0 {
			t.Errorf("mapArena(%d) at %#x, not on a %d-byte boundary", n, addr, hugePage)
		}
		for i := range a.blocks {
			a.blocks[i][0], a.blocks[i][len(a.blocks[i])-1] = uint64(i), uint64(i)
		}
		a.free()
		if m := mappedAt(t, addr); m != "" {
			t.Errorf("mapArena(%d): after free, %#x is still mapped: %s", n, addr, m)
		}
	}
}

// mappedAt returns the line of /proc/self/maps whose range holds addr, or "".
func mappedAt(t *testing.T, addr uintptr) string {
	b, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		t.Skip(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		var lo, hi uintptr
		if _, err := fmt.Sscanf(line, "%x-%x", &lo, &hi); err == nil && lo <= addr && addr < hi {
			return line
		}
	}
	return ""
}
