package api

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/ops"
	"github.com/hpcalc/hpcalc/store"
	"github.com/labstack/echo/v4"
)

// settler is what the settlement routes need of ops.
type settler interface {
	Settle(ctx context.Context, c calc.Claim) (store.SettlementRecord, bool, error)
	QuoteInto(ctx context.Context, q *ops.Quoted, c calc.Claim) error
	Reverse(ctx context.Context, id, reason string) (store.SettlementRecord, error)
}

var _ settler = (*ops.Service)(nil)

// settle answers POST /v1/settlements: 201 with a new settlement, 200 with the stored one
// when the same claim is sent again, 409 when its claim_id was settled with other values.
func (s *server) settle(c echo.Context) error {
	outcome, err := s.settleClaim(c)
	if outcome == "" {
		switch status := kindOf(err).status; {
		case status == http.StatusConflict:
			outcome = outcomeConflict
		case status == http.StatusBadRequest || status == http.StatusRequestEntityTooLarge ||
			status == http.StatusUnsupportedMediaType || status == http.StatusUnprocessableEntity:
			outcome = outcomeInvalid
		}
	}
	if outcome != "" {
		s.metrics.settlement(outcome)
	}
	return err
}

func (s *server) settleClaim(c echo.Context) (outcome string, err error) {
	claim, err := s.claimFor(c)
	if err != nil {
		return "", err
	}
	ctx := c.Request().Context()
	st, isNew, err := s.settler.Settle(ctx, claim)
	if err != nil {
		return "", claimStoreError(hideOthersClaim(c, err), claim)
	}
	out := settledOut(&st, claim.ProviderID)
	if isNew {
		return outcomeCreated, created(c, "/v1/settlements/"+st.ID, out)
	}
	if out.ReversedBy, err = s.reversedBy(c, st.ID); err != nil {
		return "", err
	}
	return outcomeReplayed, writeJSON(c, http.StatusOK, out)
}

// quote answers POST /v1/quotes: what the claim would settle to now, stored nowhere.
func (s *server) quote(c echo.Context) error {
	sc := quoteScratches.Get().(*quoteScratch)
	defer quoteScratches.Put(sc)
	claim, err := s.claimInto(c, &sc.body)
	if err != nil {
		return err
	}
	q := &sc.quoted
	if err := s.settler.QuoteInto(c.Request().Context(), q, claim); err != nil {
		return claimStoreError(err, claim)
	}
	sc.answer = append(appendComputedJSON(sc.answer[:0], "quote", &q.Settlement, &q.Ledger, q.PersonVersion, claim.ProviderID), '\n')
	// c.Blob, less its lookup of a Content-Type no one set and its new slice for the value.
	res := c.Response()
	res.Header()[echo.HeaderContentType] = jsonContentType
	res.WriteHeader(http.StatusOK)
	_, err = res.Write(sc.answer)
	return err
}

// jsonContentType is the Content-Type header of a quote, shared by every answer: headers
// are replaced or appended to (a new slice), never written in place.
var jsonContentType = []string{echo.MIMEApplicationJSON}

// quoteScratch is what a quote is read, computed and written in, recycled: the claim's
// body, the settlement (some 750 bytes, which the call through the settler interface
// would put on the heap) and the answer's buffer.
type quoteScratch struct {
	body   []byte
	quoted ops.Quoted
	answer []byte
}

var quoteScratches = sync.Pool{New: func() any {
	return &quoteScratch{body: make([]byte, 0, 1024), answer: make([]byte, 0, 4096)}
}}

// claimFor decodes the claim of a settle or quote request and checks what the API
// knows of it: that a clinic token acts for its provider (403), that the provider exists
// (its level is the claim's), and, when anything is wrong, whether the person exists, so
// that every problem is reported at once (422).
func (s *server) claimFor(c echo.Context) (calc.Claim, error) {
	buf := bodyBuffers.Get().(*[]byte)
	claim, err := s.claimInto(c, buf)
	bodyBuffers.Put(buf)
	return claim, err
}

// claimInto is claimFor reading the body into *buf, which it leaves empty (and nil if the
// body was huge, to be left to the collector) for the next request.
func (s *server) claimInto(c echo.Context, buf *[]byte) (calc.Claim, error) {
	if err := requireJSON(c); err != nil {
		return calc.Claim{}, err
	}
	body, err := readBodyInto(c, (*buf)[:0])
	var (
		claim calc.Claim
		f     fields
	)
	if err == nil {
		claim, err = decodeClaimInto(body, &f)
		if cap(body) <= 64<<10 { // a body of its kind
			*buf = body[:0]
		} else {
			*buf = nil
		}
	}
	if err != nil {
		return calc.Claim{}, err
	}
	ctx := c.Request().Context()
	if !f.bad["provider_id"] {
		if err := mayActFor(c, claim.ProviderID); err != nil {
			return calc.Claim{}, err
		}
		p, err := s.store.Provider(ctx, claim.ProviderID)
		switch {
		case errors.Is(err, store.ErrNotFound):
			f.add("provider_id", "unknown provider "+claim.ProviderID)
		case err != nil:
			return calc.Claim{}, err
		default:
			claim.Level = p.Level
		}
	}
	if len(f.errs) > 0 {
		if !f.bad["person_id"] {
			_, err := s.store.Person(ctx, claim.PersonID)
			if errors.Is(err, store.ErrNotFound) {
				f.add("person_id", "unknown person "+claim.PersonID)
			} else if err != nil {
				return calc.Claim{}, err
			}
		}
		return calc.Claim{}, f.err("the claim")
	}
	return claim, nil
}

// claimStoreError turns store's refusals of a claim into field errors (422): an unknown
// person and a discharge day no policy covers are faults of the claim's fields, not
// missing resources.
func claimStoreError(err error, claim calc.Claim) error {
	var ve *calc.ValidationError
	switch {
	case errors.Is(err, store.ErrNotFound):
		return fail(kindInvalid, "the claim is invalid", fieldError{Field: "person_id", Rule: "unknown person " + claim.PersonID})
	case errors.Is(err, calc.ErrNotRegistered):
		return fail(kindInvalid, "the claim is invalid", fieldError{Field: "person_id",
			Rule: "person " + claim.PersonID + " is not on the register on " + claim.DischargedOn.String() + ": no version of the person holds that day"})
	case errors.Is(err, calc.ErrNoPolicy):
		return fail(kindInvalid, "the claim is invalid", fieldError{Field: "discharged_on",
			Rule: "no published policy is in force on " + claim.DischargedOn.String()})
	case errors.As(err, &ve):
		return invalidInput(ve, "")
	}
	return err
}

// hideOthersClaim turns the conflict of a claim_id already used by a claim of a provider
// the token does not act for into a 409 that names no field and no value: the sender may
// learn that the id is taken, and nothing of the claim under it. The fields that differ
// are named only to those who may read the stored claim.
func hideOthersClaim(c echo.Context, err error) error {
	var cfe *store.ConflictError
	if errors.As(err, &cfe) && !actsFor(c, cfe.Owner) {
		return fail(kindConflict, "this claim_id is already used by another claim; send the claim under a claim_id of its own")
	}
	return err
}

// settlementNotFound is the 404 of a settlement id that is not on file or whose claim is
// of a provider the token does not act for: one answer for both, so that a clinic cannot
// tell another's settlement from none.
func settlementNotFound() error {
	return fail(kindNotFound, "no settlement with this id is on file for this token")
}

// claimNotFound is settlementNotFound for a settlement read by its claim's id.
func claimNotFound() error {
	return fail(kindNotFound, "no settlement of a claim with this id is on file for this token")
}

// reversedBy is the id of the reversal of settlement id, "" if it is not reversed.
func (s *server) reversedBy(c echo.Context, id string) (string, error) {
	r, err := s.store.Reversal(c.Request().Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return r.ID, nil
}

// stored reads a settlement and its claim's provider, and checks that a clinic token
// may see it: a settlement not on file and one the token may not see are both answered
// with missing.
func (s *server) stored(c echo.Context, st store.SettlementRecord, err, missing error) (settlementJSON, error) {
	if errors.Is(err, store.ErrNotFound) {
		return settlementJSON{}, missing
	}
	if err != nil {
		return settlementJSON{}, err
	}
	claim, err := s.store.Claim(c.Request().Context(), st.Settlement.ClaimID)
	if err != nil {
		return settlementJSON{}, err
	}
	if !actsFor(c, claim.ProviderID) {
		return settlementJSON{}, missing
	}
	out := settledOut(&st, claim.ProviderID)
	if st.Reverses == "" {
		if out.ReversedBy, err = s.reversedBy(c, st.ID); err != nil {
			return settlementJSON{}, err
		}
	}
	return out, nil
}

// getSettlement answers GET /v1/settlements/{id}.
func (s *server) getSettlement(c echo.Context) error {
	id := c.Param("id")
	st, err := s.store.Settlement(c.Request().Context(), id)
	out, err := s.stored(c, st, err, settlementNotFound())
	if err != nil {
		return err
	}
	return writeJSON(c, http.StatusOK, out)
}

// getClaimSettlement answers GET /v1/claims/{claim_id}/settlement.
func (s *server) getClaimSettlement(c echo.Context) error {
	claimID := c.Param("claim_id")
	st, err := s.store.SettlementForClaim(c.Request().Context(), claimID)
	out, err := s.stored(c, st, err, claimNotFound())
	if err != nil {
		return err
	}
	return writeJSON(c, http.StatusOK, out)
}

// maxReason is the longest reason for a reversal, in characters.
const maxReason = 500

// reverse answers POST /v1/settlements/{id}/reversal with {"reason": "..."}.
func (s *server) reverse(c echo.Context) error {
	ctx := c.Request().Context()
	id := c.Param("id")
	st, err := s.store.Settlement(ctx, id)
	if _, err := s.stored(c, st, err, settlementNotFound()); err != nil {
		return err
	}
	if err := requireJSON(c); err != nil {
		return err
	}
	body, err := readBody(c)
	if err != nil {
		return err
	}
	obj, f, err := decodeObject(body)
	if err != nil {
		return err
	}
	f.unknown(obj, []string{"reason"}, nil)
	reason, ok := f.str(obj, "reason", "")
	switch {
	case !ok:
	case strings.TrimSpace(reason) == "":
		f.add("reason", "must not be empty: say why the settlement is reversed")
	case utf8.RuneCountInString(reason) > maxReason:
		f.addf("reason", "must be at most %d characters", maxReason)
	}
	if err := f.err("the reversal"); err != nil {
		return err
	}
	rev, err := s.settler.Reverse(ctx, id, reason)
	if err != nil {
		return err
	}
	claim, err := s.store.Claim(ctx, rev.Settlement.ClaimID)
	if err != nil {
		return err
	}
	return created(c, "/v1/settlements/"+rev.ID, settledOut(&rev, claim.ProviderID))
}
