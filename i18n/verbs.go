package i18n

import (
	"regexp"
	"slices"
	"strconv"
)

// verb matches one fmt verb: an optional explicit argument index, flags,
// width and precision, then the verb letter; "%%" is matched to be skipped.
var verb = regexp.MustCompile(`%(?:%|(\[(\d+)\])?[-+# 0]*\d*(?:\.\d+)?([a-zA-Z]))`)

// Verbs returns the fmt verbs of s as "argument:letter" pairs ("1:s",
// "2:d"), sorted, so that "%s %d" and "%[2]d %[1]s" give the same list.
func Verbs(s string) []string {
	var out []string
	next := 1
	for _, m := range verb.FindAllStringSubmatch(s, -1) {
		if m[0] == "%%" {
			continue
		}
		arg := next
		if m[2] != "" {
			arg, _ = strconv.Atoi(m[2])
		}
		next = arg + 1
		out = append(out, strconv.Itoa(arg)+":"+m[3])
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// SameVerbs reports whether a and b use the same fmt verbs on the same
// arguments: a translation must, or it prints garbage such as
// "%!s(MISSING)".
func SameVerbs(a, b string) bool { return slices.Equal(Verbs(a), Verbs(b)) }
