//go:build unix && !linux

package argon2

// adviseHuge does nothing where transparent huge pages are not known.
func adviseHuge(mem []byte) {}
