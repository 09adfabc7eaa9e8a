package argon2

import (
	"runtime"
	"sync"
	"unsafe"
)

// An arena is the memory of one derivation, kept for the next.
type arena struct {
	blocks []block
	free   func() // gives the memory back; nil for Go heap memory
}

// maxArenaBlocks bounds the arenas kept for reuse (64 MiB each); larger
// derivations, such as an imported hash with a high memory cost, get
// memory of their own and give it back at once.
const maxArenaBlocks = 64 * 1024

var pool struct {
	mu   sync.Mutex
	free []*arena
}

// getArena returns an arena of exactly n blocks: a kept one if there is
// one of that size, else a new one.
func getArena(n uint32) *arena {
	pool.mu.Lock()
	for i, a := range pool.free {
		if len(a.blocks) == int(n) {
			pool.free = append(pool.free[:i], pool.free[i+1:]...)
			pool.mu.Unlock()
			return a
		}
	}
	pool.mu.Unlock()
	return newArena(n)
}

// putArena keeps a for reuse, at most one arena for each CPU (Usher runs
// at most one hash a CPU at a time), or gives its memory back.
func putArena(a *arena) {
	if len(a.blocks) <= maxArenaBlocks {
		pool.mu.Lock()
		if len(pool.free) < runtime.NumCPU() {
			pool.free = append(pool.free, a)
			pool.mu.Unlock()
			return
		}
		pool.mu.Unlock()
	}
	if a.free != nil {
		a.free()
	}
}

// newArena allocates n blocks outside the Go heap where the system
// allows (mapArena), so that the collector neither counts nor scans
// them, and in the Go heap otherwise.
func newArena(n uint32) *arena {
	if a := mapArena(n); a != nil {
		return a
	}
	return &arena{blocks: make([]block, n)}
}

// blockSize is the size of one block in bytes.
const blockSize = int(unsafe.Sizeof(block{}))
