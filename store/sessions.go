package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// ErrNoSession is returned for a console session that is not on file, has been idle too
// long, or whose API token was revoked.
var ErrNoSession = errors.New("no such console session")

// Session is a signed-in console user: what their API token grants and the CSRF token
// every state-changing form of the session carries.
type Session struct {
	Token
	TokenID   string // the id of the API token the user signed in with
	CSRF      string
	CreatedAt time.Time
	LastSeen  time.Time
}

// MayActFor reports whether the token may act for claims of provider: a clinic token only
// for its own providers, other roles for every provider. The API and the console both
// ask it, so that the rule has one home.
func (t Token) MayActFor(provider string) bool {
	return t.Role != RoleClinic || slices.Contains(t.Providers, provider)
}

// touchEvery is how stale last_seen may grow before a request writes it again: sparing a
// write per page view costs at most this much of the idle expiry.
const touchEvery = time.Minute

// OpenSession signs in with an API token and returns a new session's secret (for the
// cookie; only its SHA-256 is stored) and the session. Errors: ErrBadToken for a token
// that is not on file or revoked.
func (s *Store) OpenSession(ctx context.Context, plainToken, userAgent string) (_ string, _ Session, err error) {
	defer s.classify(&err)
	tok, err := s.authenticate(ctx, hashToken(plainToken))
	if err != nil {
		return "", Session{}, err
	}
	secret, err := randomSecret()
	if err != nil {
		return "", Session{}, err
	}
	csrf, err := randomSecret()
	if err != nil {
		return "", Session{}, err
	}
	if len(userAgent) > 200 {
		userAgent = userAgent[:200]
	}
	now := s.now()
	_, err = s.db.ExecContext(ctx, s.db.Rebind(`INSERT INTO console_sessions (session_hash, token_hash, csrf, user_agent, created_at, last_seen) VALUES (?, ?, ?, ?, ?, ?)`),
		hashToken(secret), hashToken(plainToken), csrf, strings.ToValidUTF8(userAgent, ""), now, now)
	if err != nil {
		return "", Session{}, fmt.Errorf("open session: %w", err)
	}
	at := s.Now().UTC()
	return secret, Session{Token: tok, TokenID: hashToken(plainToken)[:tokenIDLen], CSRF: csrf, CreatedAt: at, LastSeen: at}, nil
}

// Session returns the session whose cookie secret is secret, and notes that it was seen
// now. A session idle for longer than idle is ended. Errors: ErrNoSession.
func (s *Store) Session(ctx context.Context, secret string, idle time.Duration) (_ Session, err error) {
	defer s.classify(&err)
	var row struct {
		TokenHash string `db:"token_hash"`
		CSRF      string `db:"csrf"`
		Created   string `db:"created_at"`
		LastSeen  string `db:"last_seen"`
		Role      string `db:"role"`
		Note      string `db:"note"`
	}
	hash := hashToken(secret)
	err = s.db.GetContext(ctx, &row, s.db.Rebind(`SELECT c.token_hash, c.csrf, c.created_at, c.last_seen, t.role, t.note
		FROM console_sessions c JOIN api_tokens t ON t.token_hash = c.token_hash
		WHERE c.session_hash = ? AND t.revoked_at IS NULL`), hash)
	if errors.Is(err, sql.ErrNoRows) {
		return Session{}, ErrNoSession
	}
	if err != nil {
		return Session{}, fmt.Errorf("read session: %w", err)
	}
	created, err1 := time.Parse(time.RFC3339Nano, row.Created)
	seen, err2 := time.Parse(time.RFC3339Nano, row.LastSeen)
	if err := errors.Join(err1, err2); err != nil {
		return Session{}, fmt.Errorf("read session: %w", err)
	}
	now := s.Now().UTC()
	if now.Sub(seen) > idle {
		if err := s.EndSession(ctx, secret); err != nil {
			return Session{}, err
		}
		return Session{}, ErrNoSession
	}
	if now.Sub(seen) > touchEvery {
		if _, err := s.db.ExecContext(ctx, s.db.Rebind(`UPDATE console_sessions SET last_seen = ? WHERE session_hash = ?`), s.now(), hash); err != nil {
			return Session{}, fmt.Errorf("touch session: %w", err)
		}
		seen = now
	}
	providers, err := tokenProviders(ctx, s.db, row.TokenHash)
	if err != nil {
		return Session{}, fmt.Errorf("read session: %w", err)
	}
	out := Session{Token: Token{Role: row.Role, Note: row.Note, Providers: providers[row.TokenHash]},
		TokenID: row.TokenHash[:tokenIDLen], CSRF: row.CSRF, CreatedAt: created, LastSeen: seen}
	return out, nil
}

// EndSession ends the session whose cookie secret is secret; ending one that is not on
// file is not an error.
func (s *Store) EndSession(ctx context.Context, secret string) (err error) {
	defer s.classify(&err)
	if _, err := s.db.ExecContext(ctx, s.db.Rebind(`DELETE FROM console_sessions WHERE session_hash = ?`), hashToken(secret)); err != nil {
		return fmt.Errorf("end session: %w", err)
	}
	return nil
}

func randomSecret() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}
