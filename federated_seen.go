package usher

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"
)

// SeenOnce records id (a SAML assertion's issuer and ID) as seen until
// until, in the database, and returns ErrInvalidToken if it was seen
// before — on this instance or any other on the same database, since the
// tokens table's primary key decides (TokenStore.CreateToken). It is a
// SeenFunc, for FederatedProvider.Finish: a replayed assertion is refused
// however many instances share the work. Any other error is the store's.
func (s *Service) SeenOnce(ctx context.Context, id string, until time.Time) error {
	if id == "" || until.IsZero() {
		return errors.New("usher: SeenOnce: an empty ID or no expiry")
	}
	h := sha256.Sum256([]byte(id))
	err := s.store.CreateToken(ctx, &Token{
		Hash:      h[:],
		Kind:      TokenFederatedSeen,
		CreatedAt: s.now(),
		ExpiresAt: until,
	})
	if errors.Is(err, ErrUserExists) {
		return ErrInvalidToken
	}
	if err != nil {
		return fmt.Errorf("usher: SeenOnce: %w", err)
	}
	return nil
}
