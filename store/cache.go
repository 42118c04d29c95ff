package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hpcalc/hpcalc/calc"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// readCache keeps what a quote reads — providers, persons and their person-year ledgers —
// so that a quote, the hottest request a clinic makes, needs no database round trip. A
// quote is stored nowhere and a settlement re-reads everything under its ledger lock, so
// the cache never decides what is paid; it must still not show a patient a stale ledger
// for longer than it takes a change to reach it. So:
//
//   - every write through this Store evicts what it changed once it has committed (evicting
//     rather than storing the new value, so that two writers finishing in either order
//     leave nothing stale);
//   - writes through other Stores (other replicas on one PostgreSQL) reach it as a NOTIFY
//     sent inside the writing transaction, which PostgreSQL delivers only on commit;
//   - while the LISTEN connection is down, changes could be missed: the cache is emptied
//     and bypassed until it is back;
//   - a value read from the database while an eviction happened is not kept (gen), since
//     it may predate the change.
//
// The same notifications empty the store's remembered API tokens when one is revoked.
//
// SQLite has no NOTIFY: the embedded database is meant for one server process. Other
// processes only read it (hpcalc audit), add what no cache can hold yet (hpcalc fixtures
// scale adds new persons only), or revoke a token (hpcalc token revoke), which a running
// server then refuses within revocationPoll, when Authenticate next counts the revoked
// tokens.
type readCache struct {
	on           atomic.Bool // false while changes made elsewhere could be missed
	hits, misses atomic.Uint64

	// mu is read-locked by lookups, which every quote makes and which must not queue
	// behind one another (nor behind one whose thread the host has descheduled).
	mu        sync.RWMutex
	gen       uint64 // bumped by every eviction
	persons   map[personYear]personLedger
	years     map[int]bool // the years of persons' entries, for evicting a person's every year
	providers map[string]calc.Provider

	tokens    *sync.Map // the store's remembered tokens, emptied when one is revoked
	channel   string    // PostgreSQL NOTIFY channel; "" for SQLite
	start     func()    // starts following changes (PostgreSQL); nil for SQLite
	startOnce sync.Once
	closing   atomic.Bool
	listener  *pq.Listener
	done      chan struct{}

	tokenMu  sync.Mutex
	tokenGen uint64 // bumped each time the remembered tokens are forgotten
}

// Bounds on the cache: enough for every person a busy county sees in a stretch of
// days, small enough (about 200 bytes an entry) never to matter for memory.
const (
	maxCachedPersonYears = 100_000
	maxCachedProviders   = 10_000
)

type personYear struct {
	id   string
	year int
}

type personLedger struct {
	person  calc.Person  // the ID only
	history calc.History // the person's register versions
	ledger  calc.Ledger
}

// Payloads of the change notifications: one letter, then what changed.
const (
	changedLedger    = 'L' // "L<year> <person id>": one person-year ledger
	changedPersons   = 'P' // "P<id> <id>...": these persons were upserted; "P": any may have been
	changedProviders = 'V' // "V": providers were upserted
	changedTokens    = 'T' // "T": a token was revoked
)

func newReadCache() *readCache {
	return &readCache{
		persons:   make(map[personYear]personLedger),
		years:     make(map[int]bool),
		providers: make(map[string]calc.Provider),
	}
}

// channelFor is the NOTIFY channel of the tables in schema: schemas of one database
// (tests, scratch load runs) do not hear each other. A name PostgreSQL would truncate or
// that needs quoting is replaced by a digest.
func channelFor(schema string) string {
	const prefix = "hpcalc_changes_"
	plain := len(schema) > 0 && len(prefix)+len(schema) < 64
	for _, r := range schema {
		plain = plain && (r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9')
	}
	if plain {
		return prefix + schema
	}
	sum := sha256.Sum256([]byte(schema))
	return prefix + hex.EncodeToString(sum[:8])
}

// followOn makes the cache follow, from the first quote on, the changes other processes
// make to the PostgreSQL database at dsn; commands that never quote open no LISTEN
// connection.
func (c *readCache) followOn(dsn, schema string, log func() *slog.Logger) {
	c.channel = channelFor(schema)
	c.start = func() { c.listen(dsn, log) }
}

// Follow starts following the changes other replicas make now, rather than at the first
// quote or authentication, so that a server's quotes are served from memory from its
// first request on. It returns at once; the cache comes on when LISTEN is in place.
func (s *Store) Follow() { s.cache.follow() }

// follow starts following changes, once.
func (c *readCache) follow() {
	if c.start != nil {
		c.startOnce.Do(c.start)
	}
}

// listen connects the LISTEN connection; the cache stays off until LISTEN is in place.
func (c *readCache) listen(dsn string, log func() *slog.Logger) {
	c.done = make(chan struct{})
	c.listener = pq.NewListener(dsn, 100*time.Millisecond, 10*time.Second, func(ev pq.ListenerEventType, err error) {
		if c.closing.Load() {
			return
		}
		switch ev {
		case pq.ListenerEventDisconnected:
			c.off()
			log().Warn("quote cache off: lost the connection that follows changes", "err", err)
		case pq.ListenerEventConnectionAttemptFailed:
			log().Warn("quote cache off: cannot connect to follow changes", "err", err)
		}
	})
	go func() {
		// Listen waits for a connection; until it returns, the cache stays off.
		if err := c.listener.Listen(c.channel); err != nil {
			if !c.closing.Load() {
				log().Warn("quote cache off: cannot LISTEN", "channel", c.channel, "err", err)
			}
			return
		}
		c.flushAndOn()
	}()
	go func() {
		defer close(c.done)
		for n := range c.listener.Notify {
			if n == nil {
				// Reconnected, LISTEN again in place: what happened meanwhile is unknown.
				c.flushAndOn()
				continue
			}
			c.apply(n.Extra)
		}
	}()
}

// close stops following changes.
func (c *readCache) close() {
	c.closing.Store(true)
	c.startOnce.Do(func() {}) // no start from now on; waits for one under way
	if c.listener == nil {
		return
	}
	c.off()
	_ = c.listener.Close()
	<-c.done
}

func (c *readCache) off() {
	c.on.Store(false)
	c.flush()
}

func (c *readCache) flushAndOn() {
	c.flush()
	c.on.Store(true)
}

func (c *readCache) flush() {
	c.mu.Lock()
	c.gen++
	clear(c.persons)
	clear(c.years)
	clear(c.providers)
	c.mu.Unlock()
	c.forgetTokens()
}

// forgetTokens empties the store's remembered tokens, for a revocation to take effect.
func (c *readCache) forgetTokens() {
	c.tokenMu.Lock()
	defer c.tokenMu.Unlock()
	c.tokenGen++
	if c.tokens != nil {
		c.tokens.Clear()
	}
}

// tokenGeneration is to be read before reading from the database what keepToken will keep.
func (c *readCache) tokenGeneration() uint64 {
	c.tokenMu.Lock()
	defer c.tokenMu.Unlock()
	return c.tokenGen
}

// keepToken remembers a token read while the generation was gen, unless the remembered
// tokens were forgotten since: what was read may predate a revocation.
func (c *readCache) keepToken(gen uint64, hash string, t cachedToken) {
	c.tokenMu.Lock()
	defer c.tokenMu.Unlock()
	if gen == c.tokenGen && c.tokens != nil {
		c.tokens.Store(hash, t)
	}
}

// apply evicts what a change notification names; what it cannot read, it treats as
// "anything may have changed".
func (c *readCache) apply(payload string) {
	if payload == "" {
		c.flush()
		return
	}
	switch payload[0] {
	case changedLedger:
		year, id, ok := strings.Cut(payload[1:], " ")
		y, err := strconv.Atoi(year)
		if !ok || err != nil {
			c.flush()
			return
		}
		c.evictLedger(id, y)
	case changedPersons:
		if len(payload) > 1 {
			c.evictPersons(strings.Split(payload[1:], " "))
			return
		}
		c.mu.Lock()
		c.gen++
		clear(c.persons)
		clear(c.years)
		c.mu.Unlock()
	case changedProviders:
		c.mu.Lock()
		c.gen++
		clear(c.providers)
		c.mu.Unlock()
	case changedTokens:
		c.forgetTokens()
	default:
		c.flush()
	}
}

// evictPersons forgets every year of each person of ids: an upsert changes a person's
// versions, which each of their person-years holds.
func (c *readCache) evictPersons(ids []string) {
	c.mu.Lock()
	c.gen++
	for _, id := range ids {
		for year := range c.years {
			delete(c.persons, personYear{id, year})
		}
	}
	c.mu.Unlock()
}

func (c *readCache) evictLedger(id string, year int) {
	c.mu.Lock()
	c.gen++
	delete(c.persons, personYear{id, year})
	c.mu.Unlock()
}

// generation is to be read before reading from the database what keep* will keep.
func (c *readCache) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

func (c *readCache) personLedger(id string, year int) (personLedger, bool) {
	c.follow()
	if !c.on.Load() {
		c.misses.Add(1)
		return personLedger{}, false
	}
	c.mu.RLock()
	v, ok := c.persons[personYear{id, year}]
	c.mu.RUnlock()
	c.count(ok)
	return v, ok
}

func (c *readCache) count(hit bool) {
	if hit {
		c.hits.Add(1)
	} else {
		c.misses.Add(1)
	}
}

func (c *readCache) keepPersonLedger(gen uint64, v personLedger) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.on.Load() || gen != c.gen {
		return
	}
	if len(c.persons) >= maxCachedPersonYears {
		for k := range c.persons { // map order is random: a random eviction
			delete(c.persons, k)
			break
		}
	}
	c.persons[personYear{v.person.ID, v.ledger.Year}] = v
	c.years[v.ledger.Year] = true
}

func (c *readCache) provider(id string) (calc.Provider, bool) {
	c.follow()
	if !c.on.Load() {
		c.misses.Add(1)
		return calc.Provider{}, false
	}
	c.mu.RLock()
	p, ok := c.providers[id]
	c.mu.RUnlock()
	c.count(ok)
	return p, ok
}

// CacheStats is what the read cache of quotes has done since the store opened.
type CacheStats struct {
	On     bool   // serving from memory; false while changes made elsewhere could be missed
	Hits   uint64 // providers and person-year ledgers found in memory
	Misses uint64 // read from the database instead
}

// CacheStats reports on the cache that spares quotes their database reads.
func (s *Store) CacheStats() CacheStats {
	return CacheStats{On: s.cache.on.Load(), Hits: s.cache.hits.Load(), Misses: s.cache.misses.Load()}
}

func (c *readCache) keepProvider(gen uint64, p calc.Provider) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.on.Load() || gen != c.gen {
		return
	}
	if len(c.providers) >= maxCachedProviders {
		for k := range c.providers {
			delete(c.providers, k)
			break
		}
	}
	c.providers[p.ID] = p
}

// notify tells the other processes on this PostgreSQL database, when tx commits, what it
// changed. SQLite has no other processes to tell.
func (c *readCache) notify(ctx context.Context, tx *sqlx.Tx, payload string) error {
	if c.channel == "" {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `SELECT pg_notify($1, $2)`, c.channel, payload); err != nil {
		return fmt.Errorf("notify change: %w", err)
	}
	return nil
}

// maxPersonsChange bounds the notification of an upsert that names its persons: PostgreSQL
// takes payloads under 8,000 bytes, and a larger upsert (a register's import) changes so
// many persons that emptying the cache costs no more than evicting them one by one.
const maxPersonsChange = 4000

// personsChange is the notification of an upsert of the persons ids: their ids, or none
// (any person may have changed) for more than maxPersonsChange bytes of them or for an id
// with a space, which the list could not carry (ids have none: calc.ValidID).
func personsChange(ids []string) string {
	n := 1
	for _, id := range ids {
		if strings.Contains(id, " ") {
			return string(changedPersons)
		}
		n += len(id) + 1
	}
	if len(ids) == 0 || n > maxPersonsChange {
		return string(changedPersons)
	}
	b := make([]byte, 0, n)
	b = append(b, changedPersons)
	for i, id := range ids {
		if i > 0 {
			b = append(b, ' ')
		}
		b = append(b, id...)
	}
	return string(b)
}

func ledgerChange(personID string, year int) string {
	return string(changedLedger) + strconv.Itoa(year) + " " + personID
}
