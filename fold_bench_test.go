package usher

import "testing"

// BenchmarkFoldEmail measures the fold every address lookup pays.
func BenchmarkFoldEmail(b *testing.B) {
	for _, in := range []string{"Kate.Smith@Example.com", "alice\u0301@B\u00fccher.example"} {
		b.Run(in, func(b *testing.B) {
			for b.Loop() {
				FoldEmail(in)
			}
		})
	}
}
