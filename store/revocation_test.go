package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/hpcalc/hpcalc/store"
	"github.com/hpcalc/hpcalc/store/storetest"
)

// TestAuthenticateDoesNotWaitForTheCount: while one request counts the revoked tokens,
// the others authenticate with what was counted last rather than wait for the count's
// round trip (which held up every request four times a second on a busy host).
func TestAuthenticateDoesNotWaitForTheCount(t *testing.T) {
	storetest.ForEachDB(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		plain, err := s.CreateToken(ctx, store.Token{Role: store.RoleAuditor})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Authenticate(ctx, plain); err != nil { // counted, and remembered
			t.Fatal(err)
		}
		release := s.HoldRevocationCount()
		defer release()
		done := make(chan error, 1)
		go func() {
			_, err := s.Authenticate(ctx, plain)
			done <- err
		}()
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Authenticate waited for another request's count of the revoked tokens")
		}
	})
}
