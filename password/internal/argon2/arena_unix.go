//go:build unix

package argon2

import (
	"syscall"
	"unsafe"
)

// mapArena maps n blocks of anonymous private memory, or returns nil if
// the system refuses. Blocks hold no pointers, so memory the collector
// does not know of is safe for them.
func mapArena(n uint32) *arena {
	size := int(n) * blockSize
	mem, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return nil
	}
	// #nosec G103 -- a view of the mapping as blocks: pointer-free words of the mapping's exact size, unmapped only after its last use
	blocks := unsafe.Slice((*block)(unsafe.Pointer(unsafe.SliceData(mem))), n)
	return &arena{blocks: blocks, free: func() { _ = syscall.Munmap(mem) }}
}
