package usher

import "strings"

// AnyOf returns a role requirement met by any one of names, to mix with
// plain role names in RolesRequired, as Flask-User's list argument:
// RolesRequired("starving", usher.AnyOf("artist", "programmer")) lets in a
// user who has the role "starving" and at least one of the other two.
// (The requirement is a string so that it mixes with names; role names
// cannot contain '|', so it is unambiguous.)
func AnyOf(names ...string) string { return strings.Join(names, "|") }

// HasRoles reports whether u meets every requirement: each is a role name
// the user must have, or an AnyOf of which the user must have one. No
// requirements are met by any user.
func (u *User) HasRoles(reqs ...string) bool {
	for _, req := range reqs {
		met := false
		for name := range strings.SplitSeq(req, "|") {
			if u.HasRole(name) {
				met = true
				break
			}
		}
		if !met {
			return false
		}
	}
	return true
}
