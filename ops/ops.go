// Package ops owns the operations that the JSON API (api), the command (cmd/hpcalc) and
// the browser console share — settle and quote, reverse and re-settle, reconcile, refunds,
// audit, what-if and sweep, import of settled data — and the meaning of their
// transactions: which rows each writes, by calc's rules, inside the person-year
// transaction store runs (store.InPersonYear). It calls store for rows
// and batch and calc for arithmetic, so that each operation is written once, whoever asks
// for it.
//
// ops must never import api, cmd or console: they call it, each declaring the small
// interface it needs where it uses it.
package ops

import (
	"errors"

	"github.com/hpcalc/hpcalc/store"
)

// ErrUnknownVersion is returned, wrapped, for a policy version that is not published.
var ErrUnknownVersion = errors.New("no such published policy version")

// Service runs the operations on one store. It holds no state of its own: any number of
// goroutines may call it at once.
type Service struct {
	store *store.Store
}

// New returns the operations on st.
func New(st *store.Store) *Service { return &Service{store: st} }
