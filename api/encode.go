package api

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/ops"
	"github.com/hpcalc/hpcalc/store"
	"github.com/labstack/echo/v4"
)

// money is an amount in JSON: a string of yuan with two decimals, "1234.50", the same
// type as the reports of ops use.
type money = ops.Money

// rate is a rate in JSON: a string decimal fraction, "0.85".
type rate calc.Rate

func (r rate) MarshalJSON() ([]byte, error) {
	return []byte(`"` + calc.Rate(r).Decimal() + `"`), nil
}

// settlementJSON is a settlement, a reversal or a quote as the API answers it.
type settlementJSON struct {
	Type          string     `json:"type"` // settlement, reversal or quote
	SettlementID  string     `json:"settlement_id,omitempty"`
	Reverses      string     `json:"reverses,omitempty"`
	ReversedBy    string     `json:"reversed_by,omitempty"`
	Reason        string     `json:"reason,omitempty"`
	Imported      bool       `json:"imported,omitempty"` // paid by the system before hpcalc (calc.SettlePaid)
	ClaimID       string     `json:"claim_id"`
	PersonID      string     `json:"person_id"`
	ProviderID    string     `json:"provider_id,omitempty"`
	Kind          string     `json:"kind"`
	Level         string     `json:"level"`
	AidCategory   string     `json:"aid_category"`
	Year          int        `json:"year"`
	PolicyVersion string     `json:"policy_version"`
	PersonVersion int32      `json:"person_version,omitempty"` // the register version of the person it was settled with
	Total         money      `json:"total"`
	InPolicy      money      `json:"in_policy"`
	Lines         []lineJSON `json:"lines"`
	OutOfPocket   money      `json:"out_of_pocket"`
	LedgerAfter   ledgerJSON `json:"ledger_after"`
	CreatedAt     *time.Time `json:"created_at,omitempty"`
	// Corrections is, for a stored settlement with adjustments, what it paid at first, what
	// it pays now and the adjustments between; for a reversal that re-settled later claims,
	// the adjustments it booked. Absent when there are none: the settlement pays what it
	// says.
	Corrections *correctionsJSON `json:"corrections,omitempty"`
}

// correctionsJSON is a settlement's adjustments (POLICY.md "Corrections").
type correctionsJSON struct {
	Original    *amountsJSON     `json:"original,omitempty"`
	Now         *amountsJSON     `json:"now,omitempty"`
	Adjustments []adjustmentJSON `json:"adjustments"`
}

// amountsJSON is what a claim pays per line and what its patient pays.
type amountsJSON struct {
	Lines       map[string]money `json:"lines"`
	OutOfPocket money            `json:"out_of_pocket"`
}

// adjustmentJSON is one stored adjustment.
type adjustmentJSON struct {
	AdjustmentID string           `json:"adjustment_id"`
	SettlementID string           `json:"settlement_id"`
	ClaimID      string           `json:"claim_id"`
	PersonID     string           `json:"person_id"`
	Cause        string           `json:"cause"`
	CauseID      string           `json:"cause_id"`
	Lines        map[string]money `json:"lines"`
	OutOfPocket  money            `json:"out_of_pocket"`
	Refund       money            `json:"refund"`
	Correction   money            `json:"correction"`
	Burden       money            `json:"burden"`
	CreatedAt    time.Time        `json:"created_at"`
}

func linesOut(v [calc.NumLines]calc.Money) map[string]money {
	m := make(map[string]money, calc.NumLines)
	for _, l := range calc.Lines() {
		m[l.String()] = money(v[l])
	}
	return m
}

func amountsOut(a calc.Amounts) *amountsJSON {
	return &amountsJSON{Lines: linesOut(a.Lines), OutOfPocket: money(a.OutOfPocket)}
}

func adjustmentsOut(list []store.Adjusted) []adjustmentJSON {
	out := make([]adjustmentJSON, 0, len(list))
	for i := range list {
		a := &list[i]
		d := &a.Adjustment
		out = append(out, adjustmentJSON{
			AdjustmentID: a.ID, SettlementID: a.SettlementID, ClaimID: d.ClaimID, PersonID: d.PersonID,
			Cause: a.Cause, CauseID: a.CauseID, Lines: linesOut(d.Lines), OutOfPocket: money(d.OutOfPocket),
			Refund: money(max(d.Refund(), 0)), Correction: money(d.Correction), Burden: money(d.Burden),
			CreatedAt: a.CreatedAt.UTC(),
		})
	}
	return out
}

// correctionsOut is the corrections of a stored settlement or reversal.
func correctionsOut(st *store.SettlementRecord) *correctionsJSON {
	c := &correctionsJSON{Adjustments: adjustmentsOut(st.Adjustments)}
	if st.Reverses == "" {
		c.Original = amountsOut(calc.AmountsOf(&st.Settlement))
		c.Now = amountsOut(st.Now())
	}
	return c
}

// lineJSON is what one line did; see calc.LineResult for what base, deductible and rate
// mean per line.
type lineJSON struct {
	Name        string     `json:"name"`
	Applies     bool       `json:"applies"`
	Amount      money      `json:"amount"`
	Base        money      `json:"base"`
	Deductible  money      `json:"deductible"`
	Rate        *rate      `json:"rate,omitempty"`
	Bands       []bandJSON `json:"bands,omitzero"`
	BaseOut     *money     `json:"base_out,omitempty"`
	RateOut     *rate      `json:"rate_out,omitempty"`
	Computed    money      `json:"computed"`
	CapRoom     *money     `json:"cap_room"`
	Explanation string     `json:"explanation"`
}

// bandJSON is the part of the critical-illness burden that fell in one band.
type bandJSON struct {
	From money `json:"from"`
	To   money `json:"to"`
	Rate rate  `json:"rate"`
}

// ledgerJSON is a person's annual ledger.
type ledgerJSON struct {
	PersonID       string `json:"person_id,omitempty"`
	Year           int    `json:"year"`
	Claims         int    `json:"claims"`
	BasicInpatient money  `json:"basic_inpatient"`
	BasicChronic   money  `json:"basic_chronic"`
	BasicPaid      money  `json:"basic_paid"`
	CriticalBurden money  `json:"critical_burden"`
	CriticalPaid   money  `json:"critical_paid"`
	CommercialPaid money  `json:"commercial_paid"`
	AidPaid        money  `json:"aid_paid"`
	BackstopPaid   money  `json:"backstop_paid"`
	OutOfPocket    money  `json:"out_of_pocket"`
	Total          money  `json:"total"`
}

func ledgerOut(personID string, l calc.Ledger) ledgerJSON {
	return ledgerJSON{
		PersonID: personID, Year: l.Year, Claims: l.Claims,
		BasicInpatient: money(l.BasicInpatient), BasicChronic: money(l.BasicChronic), BasicPaid: money(l.BasicPaid()),
		CriticalBurden: money(l.CriticalBurden), CriticalPaid: money(l.CriticalPaid),
		CommercialPaid: money(l.CommercialPaid), AidPaid: money(l.AidPaid), BackstopPaid: money(l.BackstopPaid),
		OutOfPocket: money(l.OutOfPocket), Total: money(l.Total),
	}
}

// settlementOut is the JSON of a computed settlement and the ledger after it.
func settlementOut(typ string, st *calc.Settlement, ledger calc.Ledger, providerID string) settlementJSON {
	out := settlementJSON{
		Type: typ, ClaimID: st.ClaimID, PersonID: st.PersonID, ProviderID: providerID,
		Kind: st.Kind.String(), Level: st.Level.String(), AidCategory: st.Aid.String(), Year: st.Year,
		PolicyVersion: st.PolicyVersion, Total: money(st.Total), InPolicy: money(st.InPolicy),
		OutOfPocket: money(st.OutOfPocket), LedgerAfter: ledgerOut(st.PersonID, ledger), Imported: st.Imported,
		Lines: make([]lineJSON, 0, calc.NumLines),
	}
	for _, l := range calc.Lines() {
		r := &st.Lines[l]
		lj := lineJSON{
			Name: l.String(), Applies: r.Applies, Amount: money(r.Amount), Base: money(r.Base),
			Deductible: money(r.Deductible), Computed: money(r.Computed), Explanation: st.Explain(l),
		}
		if r.CapRoom != calc.NoCap && r.Applies {
			room := money(r.CapRoom)
			lj.CapRoom = &room
		}
		switch l {
		case calc.Critical:
			lj.Bands = make([]bandJSON, 0, st.NumBands)
			for _, b := range st.Bands[:st.NumBands] {
				lj.Bands = append(lj.Bands, bandJSON{From: money(b.From), To: money(b.To), Rate: rate(b.Rate)})
			}
		case calc.Commercial:
			rt, rtOut, baseOut := rate(r.Rate), rate(r.RateOut), money(r.BaseOut)
			lj.Rate, lj.RateOut, lj.BaseOut = &rt, &rtOut, &baseOut
		default:
			rt := rate(r.Rate)
			lj.Rate = &rt
		}
		out.Lines = append(out.Lines, lj)
	}
	return out
}

// settledOut is the JSON of a stored settlement or reversal.
func settledOut(st *store.SettlementRecord, providerID string) settlementJSON {
	typ := "settlement"
	if st.Reverses != "" {
		typ = "reversal"
	}
	out := settlementOut(typ, &st.Settlement, st.Ledger, providerID)
	out.SettlementID, out.Reverses, out.Reason = st.ID, st.Reverses, st.Reason
	out.PersonVersion = st.PersonVersion
	created := st.CreatedAt.UTC()
	out.CreatedAt = &created
	if len(st.Adjustments) > 0 {
		out.Corrections = correctionsOut(st)
	}
	return out
}

// writeJSON answers with v as JSON.
func writeJSON(c echo.Context, status int, v any) error {
	if st, ok := v.(settlementJSON); ok {
		buf := jsonBuffers.Get().(*[]byte)
		defer jsonBuffers.Put(buf)
		*buf = append(appendSettlementJSON((*buf)[:0], &st), '\n')
		return c.Blob(status, echo.MIMEApplicationJSON, *buf)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return c.Blob(status, echo.MIMEApplicationJSON, append(b, '\n'))
}

// created answers 201 with v and a Location header.
func created(c echo.Context, location string, v any) error {
	c.Response().Header().Set(echo.HeaderLocation, location)
	return writeJSON(c, http.StatusCreated, v)
}
