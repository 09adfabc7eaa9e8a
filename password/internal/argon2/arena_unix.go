//go:build unix

package argon2

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// hugePage is the size of a transparent huge page on the systems that
// have them (2 MiB on x86-64 and arm64 Linux).
const hugePage = 2 << 20

// mapArena maps n blocks of anonymous private memory, or returns nil if
// the system refuses. Blocks hold no pointers, so memory the collector
// does not know of is safe for them.
//
// The mapping starts on a huge-page boundary and is offered to the kernel
// for transparent huge pages (adviseHuge): argon2 reads its reference
// blocks at pseudo-random places all over the arena, so with 4 KiB pages
// nearly every reference is a TLB miss once the 2,304 pages of a 9 MiB
// arena outgrow the TLB, and more so beside the server's other work.
// (unix.MmapPtr rather than syscall.Mmap, whose Munmap only takes back a
// whole mapping as it was returned, not the trimmed one.)
func mapArena(n uint32) *arena {
	size := uintptr(n) * uintptr(blockSize)
	p, err := unix.MmapPtr(-1, 0, nil, size+hugePage, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil {
		return nil
	}
	// Keep the aligned part and give back the rest.
	skip := (hugePage - uintptr(p)%hugePage) % hugePage
	if skip > 0 {
		_ = unix.MunmapPtr(p, skip)
	}
	// #nosec G103 -- the aligned start inside the mapping just made
	start := unsafe.Add(p, skip)
	if tail := hugePage - skip; tail > 0 {
		_ = unix.MunmapPtr(unsafe.Add(start, size), tail)
	}
	// #nosec G103 -- a view of the mapping as bytes and as blocks: pointer-free words of the mapping's exact size, unmapped only after its last use
	adviseHuge(unsafe.Slice((*byte)(start), size))
	blocks := unsafe.Slice((*block)(start), n)
	return &arena{blocks: blocks, free: func() { _ = unix.MunmapPtr(start, size) }}
}
