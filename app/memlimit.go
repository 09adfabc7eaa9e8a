package app

import (
	"fmt"
	"strconv"
	"strings"
)

// ParseMemoryLimit reads memory_limit: a whole number of bytes with an
// optional unit, B, KiB, MiB, GiB, TiB (powers of 1024, as GOMEMLIMIT
// spells them) or KB, MB, GB, TB (powers of 1000). "" gives 0, meaning no
// setting (the runtime then follows GOMEMLIMIT, or has no limit).
func ParseMemoryLimit(s string) (int64, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return 0, nil
	}
	units := []struct {
		suffix string
		mult   int64
	}{
		{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
		{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12}, {"B", 1},
	}
	mult := int64(1)
	for _, u := range units {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n <= 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("memory_limit is %q; want a size such as 100MiB or 1GiB", s)
	}
	return n * mult, nil
}
