package web

import "github.com/usher-auth/usher"

// identityMessage returns the variant of message id that names what users
// identify with in cfg, for the messages that name it: log-in failures
// say "email address" (login_with "email", the default), "email address,
// username" (id+"_either") or "username" (id+"_username") as the log-in
// field takes; a taken account and a password that equals the user's own
// words name the username (id+"_either") only with enable_username. Other
// IDs are returned as they are.
func identityMessage(cfg usher.Config, id string) string {
	switch id {
	case "authentication_failed", "account_not_found":
		switch cfg.LoginWith {
		case "either":
			return id + "_either"
		case "username":
			return id + "_username"
		}
	case "user_exists", usher.MsgPasswordSameEmail:
		if cfg.EnableUsername {
			return id + "_either"
		}
	}
	return id
}
