package usher

import (
	"context"
	"time"
)

// UserEmail is one of a user's e-mail addresses (Flask-User's
// USER_ENABLE_MULTIPLE_EMAILS). Every user has one primary address — the
// same as User.Email — and may add others, which count for log-in once
// confirmed.
type UserEmail struct {
	ID          string
	UserID      string
	Email       string
	Primary     bool
	ConfirmedAt time.Time // zero until confirmed
	CreatedAt   time.Time
}

// MsgEmailUnconfirmed is the message ID for making an unconfirmed address
// the primary one.
const MsgEmailUnconfirmed = "email_unconfirmed"

// ListEmails returns the user's addresses, the primary first
// (Flask-User's manage e-mails).
func (s *Service) ListEmails(ctx context.Context, userID string) ([]*UserEmail, error) {
	return s.store.ListUserEmails(ctx, userID)
}

// AddEmail adds an address to the user's account and e-mails it a
// confirmation link; it counts for log-in once confirmed. The primary
// address is told. It returns ErrNotFound when EnableMultipleEmails is off,
// a *ValidationError, ErrUserExists or a *RateLimitError.
func (s *Service) AddEmail(ctx context.Context, userID, email string, c Client) (*UserEmail, error) {
	if !s.cfg.EnableMultipleEmails {
		return nil, ErrNotFound
	}
	email, err := checkEmail(email)
	if err != nil {
		return nil, err
	}
	if err := s.checkRate(ctx, "mail", c.IP, s.cfg.MailRateLimit, time.Hour); err != nil {
		return nil, err
	}
	var e *UserEmail
	err = s.inTx(ctx, func(ctx context.Context, tx Store) error {
		u, err := tx.UserByID(ctx, userID)
		if err != nil {
			return err
		}
		e = &UserEmail{ID: NewID(), UserID: userID, Email: email, CreatedAt: s.now()}
		if err := tx.AddUserEmail(ctx, e); err != nil {
			return err
		}
		target := *u
		target.Email = email
		if err := s.mailLink(ctx, tx, &target, TokenConfirmEmail, PathConfirmEmail, MailConfirmEmail, s.cfg.ConfirmEmailExpiration); err != nil {
			return err
		}
		vars := mailVars(u, "", 0)
		vars["new_email"] = email
		if err := s.enqueue(ctx, tx, MailEmailAdded, u.Email, u.Locale, vars); err != nil {
			return err
		}
		s.event(ctx, tx, userID, EventEmailAdded, c, email)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return e, nil
}

// SetPrimaryEmail makes a confirmed address the user's primary one. Both
// the old and the new address are told. It returns ErrNotFound (no such
// address of the user, or the feature is off) or a *ValidationError for an
// unconfirmed address.
func (s *Service) SetPrimaryEmail(ctx context.Context, userID, emailID string, c Client) error {
	if !s.cfg.EnableMultipleEmails {
		return ErrNotFound
	}
	err := s.inTx(ctx, func(ctx context.Context, tx Store) error {
		u, err := tx.UserByID(ctx, userID)
		if err != nil {
			return err
		}
		list, err := tx.ListUserEmails(ctx, userID)
		if err != nil {
			return err
		}
		var old, next *UserEmail
		for _, e := range list {
			if e.Primary {
				old = e
			}
			if e.ID == emailID {
				next = e
			}
		}
		if next == nil || old == nil {
			return ErrNotFound
		}
		if next.Primary {
			return nil
		}
		if next.ConfirmedAt.IsZero() {
			return &ValidationError{Fields: map[string]string{"email": MsgEmailUnconfirmed}}
		}
		if err := tx.SetPrimaryEmail(ctx, userID, emailID); err != nil {
			return err
		}
		for _, to := range []string{old.Email, next.Email} {
			vars := map[string]string{"email": to, "old_email": old.Email, "new_email": next.Email}
			if err := s.enqueue(ctx, tx, MailPrimaryChanged, to, u.Locale, vars); err != nil {
				return err
			}
		}
		s.event(ctx, tx, userID, EventPrimaryEmailChanged, c, old.Email+" -> "+next.Email)
		return nil
	})
	return err
}

// RemoveEmail removes a secondary address. The primary address — hence
// also the last one — cannot be removed: ErrNotFound.
func (s *Service) RemoveEmail(ctx context.Context, userID, emailID string, c Client) error {
	if !s.cfg.EnableMultipleEmails {
		return ErrNotFound
	}
	return s.inTx(ctx, func(ctx context.Context, tx Store) error {
		if err := tx.RemoveUserEmail(ctx, userID, emailID); err != nil {
			return err
		}
		s.event(ctx, tx, userID, EventEmailRemoved, c, emailID)
		return nil
	})
}

// userAddress returns the user's record of an address, or ErrNotFound.
func userAddress(ctx context.Context, st EmailStore, userID, email string) (*UserEmail, error) {
	list, err := st.ListUserEmails(ctx, userID)
	if err != nil {
		return nil, err
	}
	for _, e := range list {
		if FoldEmail(e.Email) == FoldEmail(email) {
			return e, nil
		}
	}
	return nil, ErrNotFound
}
