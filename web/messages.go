package web

import (
	"fmt"
	"net/http"
	"strings"
)

// messages is the English text for every message ID and error code. The
// languages issue replaces this table by catalogues; everything a user
// reads goes through msg so that only this table changes.
var messages = map[string]string{
	"authentication_failed":      "Incorrect email address, username or password.",
	"account_not_found":          "There is no account with that email address or username.",
	"user_exists":                "An account with this email address or username already exists.",
	"email_not_confirmed":        "You haven't confirmed your email address yet. Please check your email and click the confirmation link.",
	"account_not_enabled":        "This account has not been enabled by an administrator.",
	"mfa_required":               "Two-factor authentication is required.",
	"too_many_password_failures": "You have entered an incorrect password too many times. Please reset your password by email, or try again later.",
	"password_not_acceptable":    "This password is not acceptable.",
	"password_reset_requested":   "You must set a new password before going on.",
	"invalid_token":              "This link is invalid, has been used already, or has expired.",
	"signup_disabled":            "Sign-up is not open.",
	"validation_failed":          "Some fields are missing or not valid.",
	"rate_limited":               "Too many attempts. Please wait a moment and try again.",
	"forbidden":                  "You do not have permission to do this.",
	"not_found":                  "Not found.",
	"bad_request":                "The request could not be read.",
	"unsupported_media_type":     "Send the request body as JSON (Content-Type: application/json).",
	"internal_error":             "Something went wrong on our side. Please try again.",
	"email_confirmed":            "Thank you: your e-mail address is confirmed.",
	"password_reset_done":        "Your password has been changed.",
	"account_created":            "Your account is ready.",
	"mfa_reset_done":             "Two-factor authentication is off. Log in with your password and set it up again.",
	"mfa_code_wrong":             "This code is not right. Check the time on your phone and try the newest code.",
	"email_unconfirmed":          "Confirm this address first: we sent it a link.",
	"field_required":             "This field is required.",
	"field_too_long":             "This value is too long.",
	"field_invalid_format":       "This value is not in the right format.",
	"field_unknown":              "This field is not known.",
	"email_invalid":              "This is not a valid email address.",
	"username_invalid":           "A username has at least 3 characters: letters, digits, '-', '.' and '_'.",
	"password_too_short":         "Passwords must be %[1]d characters or more.",
	"password_too_long":          "Passwords must be at most %[2]d characters.",
	"password_common":            "This password is too common or has appeared in a data breach. Please choose another.",
	"password_weak":              "Passwords must contain an uppercase letter, a lowercase letter and a digit.",
	"password_mismatch":          "The passwords do not match.",
	"password_contains_identity": "The password must not be your email address or username.",
}

// msg returns the text for a message ID in the request's language (for now
// English); an unknown ID is returned as it is.
func (h *Handler) msg(_ *http.Request, id string) string {
	if m, ok := messages[id]; ok {
		return m
	}
	return id
}

// msgf is msg with the placeholders filled from args.
func (h *Handler) msgf(r *http.Request, id string, args ...any) string {
	m := h.msg(r, id)
	if !strings.Contains(m, "%") {
		return m
	}
	return fmt.Sprintf(m, args...)
}
