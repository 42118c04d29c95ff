package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Roles of API tokens.
const (
	RoleClinic  = "clinic"  // settles, quotes and reverses for its providers
	RoleAuditor = "auditor" // reads everything, reports, replays
	RoleFinance = "finance" // reports, what-if, draft policies
	RoleAdmin   = "admin"   // publishes policies, upserts persons and providers, manages tokens
)

// Roles lists every role.
var Roles = []string{RoleClinic, RoleAuditor, RoleFinance, RoleAdmin}

// Token is what an API token grants.
type Token struct {
	Role      string
	Providers []string // for a clinic: the provider ids it acts for
	Note      string
}

// ErrBadToken is returned by Authenticate for a token that is not on file.
var ErrBadToken = errors.New("unknown API token")

// CreateToken stores a new token granting t and returns it. The token is shown only now:
// the database keeps only its SHA-256. A clinic token needs at least one provider, and
// every provider must exist (ErrNotFound).
func (s *Store) CreateToken(ctx context.Context, t Token) (string, error) {
	if !slices.Contains(Roles, t.Role) {
		return "", fmt.Errorf("create token: unknown role %q (want one of %s)", t.Role, strings.Join(Roles, ", "))
	}
	if t.Role == RoleClinic && len(t.Providers) == 0 {
		return "", errors.New("create token: a clinic token needs at least one provider")
	}
	for _, p := range t.Providers {
		if _, err := s.Provider(ctx, p); err != nil {
			return "", fmt.Errorf("create token: %w", err)
		}
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	plain := "hp_" + base64.RawURLEncoding.EncodeToString(b[:])
	_, err := s.db.ExecContext(ctx, s.db.Rebind(`INSERT INTO api_tokens (token_hash, role, providers, note, created_at) VALUES (?, ?, ?, ?, ?)`),
		hashToken(plain), t.Role, strings.Join(t.Providers, ","), t.Note, s.now())
	if err != nil {
		return "", fmt.Errorf("create token: %w", err)
	}
	return plain, nil
}

// tokenTTL is how long Authenticate trusts what it read of a token. Tokens cannot be
// changed or revoked yet; when they can, revocation takes effect within this time.
const tokenTTL = 30 * time.Second

type cachedToken struct {
	token Token
	until time.Time
}

// Authenticate returns what a token grants, or ErrBadToken. Known tokens are remembered
// for tokenTTL, to spare the database a query per request.
func (s *Store) Authenticate(ctx context.Context, plain string) (Token, error) {
	hash := hashToken(plain)
	if c, ok := s.tokens.Load(hash); ok && s.Now().Before(c.(cachedToken).until) {
		return c.(cachedToken).token, nil
	}
	t, err := s.authenticate(ctx, hash)
	if err == nil {
		s.tokens.Store(hash, cachedToken{token: t, until: s.Now().Add(tokenTTL)})
	}
	return t, err
}

func (s *Store) authenticate(ctx context.Context, hash string) (Token, error) {
	var row struct {
		Role      string `db:"role"`
		Providers string `db:"providers"`
		Note      string `db:"note"`
	}
	err := s.db.GetContext(ctx, &row, s.db.Rebind(`SELECT role, providers, note FROM api_tokens WHERE token_hash = ?`), hash)
	if errors.Is(err, sql.ErrNoRows) {
		return Token{}, ErrBadToken
	}
	if err != nil {
		return Token{}, fmt.Errorf("authenticate: %w", err)
	}
	t := Token{Role: row.Role, Note: row.Note}
	if row.Providers != "" {
		t.Providers = strings.Split(row.Providers, ",")
	}
	return t, nil
}

func hashToken(plain string) string {
	sum := sha256.Sum256([]byte(plain))
	return hex.EncodeToString(sum[:])
}
