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
	"sync"
	"sync/atomic"
	"time"

	"github.com/hpcalc/hpcalc/calc"
	"github.com/jmoiron/sqlx"
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

// TokenInfo is a token on file, without the token itself.
type TokenInfo struct {
	// ID names the token without revealing it: the first 16 hex digits of its SHA-256.
	ID string
	Token
	CreatedAt time.Time
	RevokedAt *time.Time // nil while the token is valid
}

// tokenIDLen is the length of a TokenInfo.ID.
const tokenIDLen = 16

// CreateToken stores a new token granting t and returns it. The token is shown only now:
// the database keeps only its SHA-256. A clinic token needs at least one provider, and
// every provider must exist (ErrNotFound).
func (s *Store) CreateToken(ctx context.Context, t Token) (_ string, err error) {
	defer s.classify(&err)
	plain, _, err := s.IssueToken(ctx, t)
	return plain, err
}

// IssueToken is CreateToken that also returns what is on file of the new token.
func (s *Store) IssueToken(ctx context.Context, t Token) (_ string, _ TokenInfo, err error) {
	defer s.classify(&err)
	plain, err := s.issueToken(ctx, t)
	if err != nil {
		return "", TokenInfo{}, err
	}
	info, err := s.tokenInfo(ctx, hashToken(plain)[:tokenIDLen])
	return plain, info, err
}

func (s *Store) issueToken(ctx context.Context, t Token) (string, error) {
	if !slices.Contains(Roles, t.Role) {
		return "", fmt.Errorf("create token: unknown role %q (want one of %s)", t.Role, strings.Join(Roles, ", "))
	}
	if t.Role == RoleClinic && len(t.Providers) == 0 {
		return "", errors.New("create token: a clinic token needs at least one provider")
	}
	if t.Role != RoleClinic && len(t.Providers) > 0 {
		return "", fmt.Errorf("create token: %w: only a clinic token acts for providers", calc.ErrInvalid)
	}
	for i, p := range t.Providers {
		if rule := calc.IDRule(p); rule != "" {
			return "", fmt.Errorf("create token: %w: provider id %s", calc.ErrInvalid, rule)
		}
		if slices.Contains(t.Providers[:i], p) {
			return "", fmt.Errorf("create token: %w: provider %s is listed more than once", calc.ErrInvalid, p)
		}
		if _, err := s.Provider(ctx, p); err != nil {
			return "", fmt.Errorf("create token: %w", err)
		}
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	plain := "hp_" + base64.RawURLEncoding.EncodeToString(b[:])
	hash := hashToken(plain)
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		_, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO api_tokens (token_hash, role, note, created_at) VALUES (?, ?, ?, ?)`),
			hash, t.Role, t.Note, s.now())
		if err != nil {
			return err
		}
		for i, p := range t.Providers {
			if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO api_token_providers (token_hash, provider_id, position) VALUES (?, ?, ?)`), hash, p, i); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("create token: %w", err)
	}
	return plain, nil
}

// tokenTTL is how long Authenticate trusts what it read of a token. A revocation empties
// the remembered tokens of this store at once, of other replicas on PostgreSQL as soon as
// its change notification reaches them (see readCache), and of every store on the
// database within revocationPoll, when it next counts the revoked tokens; tokenTTL only
// bounds how long a token read once is trusted without being read again.
const tokenTTL = 30 * time.Second

// revocationPoll is how often Authenticate counts the revoked tokens on file, so that a
// token revoked by another process (hpcalc token revoke against a running server's SQLite
// file, which has no NOTIFY; or another replica whose notification was lost) is refused
// within it. The count is one small query at most four times a second, whatever the load.
const revocationPoll = 250 * time.Millisecond

type cachedToken struct {
	token Token
	until time.Time
}

// revocations is what Authenticate last learned of the revoked tokens on file.
type revocations struct {
	// mu is held by the one request that counts. The others do not wait for the count:
	// they go on with what was counted last, as they would have a moment earlier. Waiting
	// held up every authenticated request for the count's round trip, four times a second:
	// on a busy host, 60-135 ms of each 3-second round of a load test's quotes.
	mu    sync.Mutex
	due   atomic.Int64 // when the next count is due, in nanoseconds of monoClock; 0 at once
	count int64        // revoked tokens on file when last counted; -1 before the first count
}

// monoStart is the origin of monoClock.
var monoStart = time.Now()

// monoClock is the time since monoStart on the monotonic clock, not Store.Now: tests that
// stop Now stop no poll.
func monoClock() int64 { return int64(time.Since(monoStart)) }

// Authenticate returns what a token grants, or ErrBadToken. Known tokens are remembered
// for tokenTTL, to spare the database a query per request; a revocation anywhere is
// honoured within revocationPoll and the count's round trip.
func (s *Store) Authenticate(ctx context.Context, plain string) (_ Token, err error) {
	defer s.classify(&err)
	s.cache.follow() // revocations elsewhere reach the remembered tokens through it
	if err := s.checkRevocations(ctx); err != nil {
		return Token{}, fmt.Errorf("authenticate: %w", err)
	}
	hash := hashToken(plain)
	if c, ok := s.tokens.Load(hash); ok && s.Now().Before(c.(cachedToken).until) {
		return c.(cachedToken).token, nil
	}
	gen := s.cache.tokenGeneration()
	t, err := s.authenticate(ctx, hash)
	if err == nil {
		s.cache.keepToken(gen, hash, cachedToken{token: t, until: s.Now().Add(tokenTTL)})
	}
	return t, err
}

// checkRevocations counts the revoked tokens on file if it has not for revocationPoll,
// and forgets every remembered token when the count moved. Tokens are never un-revoked
// nor deleted, so the count only grows, and a revocation always moves it. While one
// request counts, the others go on without waiting (see revocations).
func (s *Store) checkRevocations(ctx context.Context) error {
	r := &s.revoked
	if monoClock() < r.due.Load() || !r.mu.TryLock() {
		return nil
	}
	defer r.mu.Unlock()
	if monoClock() < r.due.Load() { // counted since this request looked
		return nil
	}
	stmt, err := s.prepared(ctx, `SELECT COUNT(*) FROM api_tokens WHERE revoked_at IS NOT NULL`)
	if err != nil {
		return err
	}
	var n int64
	if err := stmt.QueryRowxContext(ctx).Scan(&n); err != nil {
		return fmt.Errorf("count revoked tokens: %w", err)
	}
	if n != r.count {
		s.cache.forgetTokens()
	}
	r.count = n
	r.due.Store(monoClock() + int64(revocationPoll))
	return nil
}

func (s *Store) authenticate(ctx context.Context, hash string) (Token, error) {
	var rows []struct {
		Role     string         `db:"role"`
		Note     string         `db:"note"`
		Provider sql.NullString `db:"provider_id"`
	}
	err := s.db.SelectContext(ctx, &rows, s.db.Rebind(`SELECT t.role, t.note, p.provider_id
		FROM api_tokens t LEFT JOIN api_token_providers p ON p.token_hash = t.token_hash
		WHERE t.token_hash = ? AND t.revoked_at IS NULL ORDER BY p.position`), hash)
	if err != nil {
		return Token{}, fmt.Errorf("authenticate: %w", err)
	}
	if len(rows) == 0 {
		return Token{}, ErrBadToken
	}
	t := Token{Role: rows[0].Role, Note: rows[0].Note}
	for _, r := range rows {
		if r.Provider.Valid {
			t.Providers = append(t.Providers, r.Provider.String)
		}
	}
	return t, nil
}

// tokenProviders returns the providers of the tokens whose hash starts with prefix ("" for
// every token), by token hash, each list in the order the token was given them.
func tokenProviders(ctx context.Context, q sqlx.ExtContext, prefix string) (map[string][]string, error) {
	var rows []struct {
		Hash     string `db:"token_hash"`
		Provider string `db:"provider_id"`
	}
	// The prefix is hex digits only (validTokenID), so no LIKE wildcard can slip in.
	err := sqlx.SelectContext(ctx, q, &rows, q.Rebind(`SELECT token_hash, provider_id FROM api_token_providers
		WHERE token_hash LIKE ? ORDER BY token_hash, position`), prefix+"%")
	if err != nil {
		return nil, fmt.Errorf("read token providers: %w", err)
	}
	out := map[string][]string{}
	for _, r := range rows {
		out[r.Hash] = append(out[r.Hash], r.Provider)
	}
	return out, nil
}

func hashToken(plain string) string {
	sum := sha256.Sum256([]byte(plain))
	return hex.EncodeToString(sum[:])
}

type tokenRow struct {
	Hash      string         `db:"token_hash"`
	Role      string         `db:"role"`
	Note      string         `db:"note"`
	CreatedAt string         `db:"created_at"`
	RevokedAt sql.NullString `db:"revoked_at"`
}

const tokenColumns = `token_hash, role, note, created_at, revoked_at`

func (r *tokenRow) info(providers map[string][]string) (TokenInfo, error) {
	t := TokenInfo{ID: r.Hash[:tokenIDLen], Token: Token{Role: r.Role, Note: r.Note, Providers: providers[r.Hash]}}
	var err error
	if t.CreatedAt, err = time.Parse(time.RFC3339Nano, r.CreatedAt); err != nil {
		return TokenInfo{}, fmt.Errorf("token %s: created_at: %w", t.ID, err)
	}
	if r.RevokedAt.Valid {
		at, err := time.Parse(time.RFC3339Nano, r.RevokedAt.String)
		if err != nil {
			return TokenInfo{}, fmt.Errorf("token %s: revoked_at: %w", t.ID, err)
		}
		t.RevokedAt = &at
	}
	return t, nil
}

// Tokens lists the tokens on file, revoked ones too, oldest first.
func (s *Store) Tokens(ctx context.Context) (_ []TokenInfo, err error) {
	defer s.classify(&err)
	var rows []tokenRow
	if err := s.db.SelectContext(ctx, &rows, `SELECT `+tokenColumns+` FROM api_tokens ORDER BY created_at, token_hash`); err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	providers, err := tokenProviders(ctx, s.db, "")
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	out := make([]TokenInfo, 0, len(rows))
	for i := range rows {
		t, err := rows[i].info(providers)
		if err != nil {
			return nil, fmt.Errorf("list tokens: %w", err)
		}
		out = append(out, t)
	}
	return out, nil
}

// validTokenID reports whether id could name a token: 16 lowercase hex digits.
func validTokenID(id string) bool {
	if len(id) != tokenIDLen {
		return false
	}
	for _, c := range id {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

func (s *Store) tokenInfo(ctx context.Context, id string) (TokenInfo, error) {
	return tokenByID(ctx, s.db, id)
}

func tokenByID(ctx context.Context, q sqlx.ExtContext, id string) (TokenInfo, error) {
	if !validTokenID(id) {
		return TokenInfo{}, refuse(ErrNotFound, "token %q was not found", id)
	}
	// The id is a prefix of the hash: hex digits only, so no LIKE wildcard can slip in.
	var row tokenRow
	err := sqlx.GetContext(ctx, q, &row, q.Rebind(`SELECT `+tokenColumns+` FROM api_tokens WHERE token_hash LIKE ?`), id+"%")
	if errors.Is(err, sql.ErrNoRows) {
		return TokenInfo{}, refuse(ErrNotFound, "token %s was not found", id)
	}
	if err != nil {
		return TokenInfo{}, fmt.Errorf("read token %s: %w", id, err)
	}
	providers, err := tokenProviders(ctx, q, row.Hash)
	if err != nil {
		return TokenInfo{}, fmt.Errorf("read token %s: %w", id, err)
	}
	return row.info(providers)
}

// RevokeToken revokes the token with id: from now on it authenticates no more, here at
// once and through every other store on the database within revocationPoll. It returns the token as now on
// file. Errors: ErrNotFound; ErrConflict if it is already revoked.
func (s *Store) RevokeToken(ctx context.Context, id string) (_ TokenInfo, err error) {
	defer s.classify(&err)
	var out TokenInfo
	err = s.inTx(ctx, func(tx *sqlx.Tx) error {
		t, err := tokenByID(ctx, tx, id)
		if err != nil {
			return err
		}
		if t.RevokedAt != nil {
			return refuse(ErrConflict, "token %s is already revoked (since %s)", id, t.RevokedAt.Format(time.RFC3339))
		}
		res, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE api_tokens SET revoked_at = ? WHERE token_hash LIKE ? AND revoked_at IS NULL`), s.now(), id+"%")
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return refuse(ErrConflict, "token %s changed meanwhile; try again", id)
		}
		if out, err = tokenByID(ctx, tx, id); err != nil {
			return err
		}
		return s.cache.notify(ctx, tx, string(changedTokens))
	})
	// Forgotten whatever the outcome: a failed commit may still have committed.
	s.cache.apply(string(changedTokens))
	if err != nil {
		return TokenInfo{}, fmt.Errorf("revoke token %s: %w", id, err)
	}
	return out, nil
}
