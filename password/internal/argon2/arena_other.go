//go:build !unix

package argon2

// mapArena is not available here: arenas live in the Go heap.
func mapArena(uint32) *arena { return nil }
