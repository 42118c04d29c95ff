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
	// ID names the session on the user's list of their sessions: the SHA-256 of its
	// cookie's secret, which the database keeps, never the secret.
	ID        string
	TokenID   string // the id of the API token the user signed in with
	CSRF      string
	CreatedAt time.Time
	LastSeen  time.Time
	UserAgent string // the browser's User-Agent at sign-in, at most 200 bytes
	IP        string // the address the session was opened from ("" if not known)
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
// cookie; only its SHA-256 is stored) and the session; userAgent and ip are noted for
// the user's list of their sessions. Errors: ErrBadToken for a token that is not on file
// or revoked.
func (s *Store) OpenSession(ctx context.Context, plainToken, userAgent, ip string) (_ string, _ Session, err error) {
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
	userAgent = strings.ToValidUTF8(clip(userAgent, 200), "")
	ip = strings.ToValidUTF8(clip(ip, 64), "")
	now := s.now()
	_, err = s.db.ExecContext(ctx, s.db.Rebind(`INSERT INTO console_sessions (session_hash, token_hash, csrf, user_agent, ip, created_at, last_seen) VALUES (?, ?, ?, ?, ?, ?, ?)`),
		hashToken(secret), hashToken(plainToken), csrf, userAgent, ip, now, now)
	if err != nil {
		return "", Session{}, fmt.Errorf("open session: %w", err)
	}
	at := s.Now().UTC()
	return secret, Session{Token: tok, ID: hashToken(secret), TokenID: hashToken(plainToken)[:tokenIDLen], CSRF: csrf,
		CreatedAt: at, LastSeen: at, UserAgent: userAgent, IP: ip}, nil
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
		UserAgent string `db:"user_agent"`
		IP        string `db:"ip"`
		Role      string `db:"role"`
		Note      string `db:"note"`
	}
	hash := hashToken(secret)
	err = s.db.GetContext(ctx, &row, s.db.Rebind(`SELECT c.token_hash, c.csrf, c.created_at, c.last_seen, c.user_agent, c.ip, t.role, t.note
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
		ID: hash, TokenID: row.TokenHash[:tokenIDLen], CSRF: row.CSRF, CreatedAt: created, LastSeen: seen,
		UserAgent: row.UserAgent, IP: row.IP}
	return out, nil
}

// SiblingSessions lists the sessions opened with the same API token as the session whose
// cookie secret is secret, itself included, most recently seen first; those idle for
// longer than idle are left out (and ended the next time they are used). Their CSRF
// tokens are not returned. Errors: ErrNoSession when secret's session is not on file.
func (s *Store) SiblingSessions(ctx context.Context, secret string, idle time.Duration) (_ []Session, err error) {
	defer s.classify(&err)
	var rows []struct {
		Hash      string `db:"session_hash"`
		TokenHash string `db:"token_hash"`
		Created   string `db:"created_at"`
		LastSeen  string `db:"last_seen"`
		UserAgent string `db:"user_agent"`
		IP        string `db:"ip"`
	}
	err = s.db.SelectContext(ctx, &rows, s.db.Rebind(`SELECT session_hash, token_hash, created_at, last_seen, user_agent, ip
		FROM console_sessions WHERE token_hash = (SELECT token_hash FROM console_sessions WHERE session_hash = ?)`), hashToken(secret))
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	if len(rows) == 0 {
		return nil, ErrNoSession
	}
	now := s.Now().UTC()
	var out []Session
	for _, r := range rows {
		created, err1 := time.Parse(time.RFC3339Nano, r.Created)
		seen, err2 := time.Parse(time.RFC3339Nano, r.LastSeen)
		if err := errors.Join(err1, err2); err != nil {
			return nil, fmt.Errorf("list sessions: %w", err)
		}
		if now.Sub(seen) > idle {
			continue
		}
		out = append(out, Session{ID: r.Hash, TokenID: r.TokenHash[:tokenIDLen], CreatedAt: created, LastSeen: seen,
			UserAgent: r.UserAgent, IP: r.IP})
	}
	slices.SortFunc(out, func(a, b Session) int { return b.LastSeen.Compare(a.LastSeen) })
	return out, nil
}

// EndSiblingSession ends session id (a Session.ID) if it was opened with the same API
// token as the session whose cookie secret is secret: a user ends their own sessions,
// never another token's. Errors: ErrNoSession when there is no such session of the token.
func (s *Store) EndSiblingSession(ctx context.Context, secret, id string) (err error) {
	defer s.classify(&err)
	res, err := s.db.ExecContext(ctx, s.db.Rebind(`DELETE FROM console_sessions WHERE session_hash = ?
		AND token_hash = (SELECT token_hash FROM console_sessions WHERE session_hash = ?)`), id, hashToken(secret))
	if err != nil {
		return fmt.Errorf("end session: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("end session: %w", err)
	} else if n == 0 {
		return ErrNoSession
	}
	return nil
}

// clip cuts s to at most n bytes.
func clip(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
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
