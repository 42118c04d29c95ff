package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/hpcalc/hpcalc/calc"
	"github.com/jmoiron/sqlx"
	"github.com/shopspring/decimal"
)

// The workings of a settlement (every line's base, deductible, rates, bands, cap room and
// amount, and the ledger after it) are kept in the settlements table's detail column in a
// form of the store's own, so that renaming a field in calc can never silently read old
// rows as zero, and so that a million settlements take little room:
//
//   - version 3 (workingsVersion), written since migration 0010: what version 2 holds,
//     under short names (workings3), {"v":3,...}; the ledger before's total left out when
//     it is the sum of what was paid and the patient's share (always, but checked), the
//     critical-illness burden before the claim left out when it is the ledger before's
//     (always for a settlement, not for a reversal). A third smaller than version 2.
//   - version 2, written by migration 0008 and after it until 0010: JSON with names of its
//     own, {"v":2,...}; enums by name; money in fen and rates in parts per million, as
//     integers; zero amounts, lines that do not apply and unused bands left out; a line's
//     cap room left out when the line has no cap, its amount before the cap when the cap
//     did not cut it. What the row's columns hold already is not repeated: the claim,
//     person, policy version, year and kind; the total, each line's amount, the
//     out-of-pocket and the critical-illness base (burden), negated in a reversal's row.
//     The ledger is kept as it was before the row (left out when fresh, as it is for a
//     person's first claim of a year): the ledger after is that plus what the row took
//     (or, for a reversal, minus what it gave back), which the columns say.
//   - version 1, written before: json.Marshal of calc's untagged structs.
//
// Versions 1 and 2 are still read, so that a database is readable before 0010 converts it.
// Money in fen rather than "1234.50": this is not an edge where people read amounts, and
// integers are exact, shorter and need no decimal parsing.

// workingsVersion is the version of the detail this store writes; currentWorkings is how
// its details begin.
const (
	workingsVersion = 3
	currentWorkings = `{"v":3,`
)

// storedWorkings is what versions 2 and 3 hold, in version 2's names: version 3 is
// encoded from it and decoded into it.
type storedWorkings struct {
	V            int                    `json:"v"`
	Level        string                 `json:"level"`
	Aid          string                 `json:"aid"`
	InPolicy     int64                  `json:"in_policy,omitempty"`
	Lines        map[string]*storedLine `json:"lines,omitempty"`
	BurdenBefore int64                  `json:"burden_before,omitempty"`
	Bands        []storedBand           `json:"bands,omitempty"`
	Before       *storedLedger          `json:"ledger_before,omitempty"` // absent: fresh
}

// storedLine is a line that applies, or that did something although it does not; its
// amount (and for critical illness its base) are the row's columns.
type storedLine struct {
	NotApplies bool   `json:"not_applies,omitempty"`
	Base       int64  `json:"base,omitempty"`
	BaseOut    int64  `json:"base_out,omitempty"`
	Deductible int64  `json:"deductible,omitempty"`
	Rate       int64  `json:"rate,omitempty"`
	RateOut    int64  `json:"rate_out,omitempty"`
	Computed   *int64 `json:"computed,omitempty"` // absent: the amount, the cap did not cut it
	CapRoom    *int64 `json:"cap_room,omitempty"` // absent: no cap
	AmountOut  int64  `json:"amount_out,omitempty"`
}

type storedBand struct {
	From int64 `json:"from"`
	To   int64 `json:"to"`
	Rate int64 `json:"rate"`
}

// storedLedger is the person's ledger for the year before the row; the year is the row's.
type storedLedger struct {
	Claims         int   `json:"claims"`
	BasicInpatient int64 `json:"basic_inpatient,omitempty"`
	BasicChronic   int64 `json:"basic_chronic,omitempty"`
	CriticalBurden int64 `json:"burden,omitempty"`
	CriticalPaid   int64 `json:"critical,omitempty"`
	CommercialPaid int64 `json:"commercial,omitempty"`
	AidPaid        int64 `json:"aid,omitempty"`
	BackstopPaid   int64 `json:"backstop,omitempty"`
	OutOfPocket    int64 `json:"out_of_pocket,omitempty"`
	Total          int64 `json:"total,omitempty"`
}

// paidSum is what the ledger's total is when every fen of every claim went to a line or
// to the patient.
func (l *storedLedger) paidSum() int64 {
	return l.BasicInpatient + l.BasicChronic + l.CriticalPaid + l.CommercialPaid + l.AidPaid + l.BackstopPaid + l.OutOfPocket
}

// workings3 is version 3 of the detail: storedWorkings under short names. The lines keep
// their names (basic, critical, commercial, aid, backstop); the aid category is "cat".
type workings3 struct {
	V            int      `json:"v"`
	Level        string   `json:"lv"`
	Aid          string   `json:"cat"`
	InPolicy     int64    `json:"ip,omitempty"`
	Basic        *line3   `json:"basic,omitempty"`
	Critical     *line3   `json:"critical,omitempty"`
	Commercial   *line3   `json:"commercial,omitempty"`
	AidLine      *line3   `json:"aid,omitempty"`
	Backstop     *line3   `json:"backstop,omitempty"`
	BurdenBefore *int64   `json:"bb,omitempty"` // absent: the ledger before's burden
	Bands        []band3  `json:"bd,omitempty"`
	Before       *ledger3 `json:"lb,omitempty"` // absent: fresh
}

// line returns where line l is kept.
func (w *workings3) line(l calc.Line) **line3 {
	switch l {
	case calc.Basic:
		return &w.Basic
	case calc.Critical:
		return &w.Critical
	case calc.Commercial:
		return &w.Commercial
	case calc.Aid:
		return &w.AidLine
	case calc.Backstop:
		return &w.Backstop
	}
	panic(fmt.Sprintf("store: no such line %d", l)) // calc.Lines() are the five above
}

type line3 struct {
	NotApplies bool   `json:"na,omitempty"`
	Base       int64  `json:"b,omitempty"`
	BaseOut    int64  `json:"bo,omitempty"`
	Deductible int64  `json:"d,omitempty"`
	Rate       int64  `json:"r,omitempty"`
	RateOut    int64  `json:"ro,omitempty"`
	Computed   *int64 `json:"c,omitempty"`
	CapRoom    *int64 `json:"cr,omitempty"`
	AmountOut  int64  `json:"ao,omitempty"`
}

type band3 struct {
	From int64 `json:"f"`
	To   int64 `json:"t"`
	Rate int64 `json:"r"`
}

type ledger3 struct {
	Claims         int    `json:"n"`
	BasicInpatient int64  `json:"bi,omitempty"`
	BasicChronic   int64  `json:"bc,omitempty"`
	CriticalBurden int64  `json:"bu,omitempty"`
	CriticalPaid   int64  `json:"cr,omitempty"`
	CommercialPaid int64  `json:"co,omitempty"`
	AidPaid        int64  `json:"ai,omitempty"`
	BackstopPaid   int64  `json:"bs,omitempty"`
	OutOfPocket    int64  `json:"o,omitempty"`
	Total          *int64 `json:"t,omitempty"` // absent: paidSum
}

// encodeWorkings returns the detail of a settlement row (a reversal's if reversal) in the
// current version; after is the person's ledger after the row.
func encodeWorkings(st *calc.Settlement, after *calc.Ledger, reversal bool) ([]byte, error) {
	w, err := workingsOf(st, after, reversal)
	if err != nil {
		return nil, err
	}
	return json.Marshal(w.version3())
}

// version3 is w in version 3.
func (w *storedWorkings) version3() *workings3 {
	out := &workings3{V: workingsVersion, Level: w.Level, Aid: w.Aid, InPolicy: w.InPolicy}
	for _, l := range calc.Lines() {
		sl := w.Lines[l.String()]
		if sl == nil {
			continue
		}
		*out.line(l) = &line3{NotApplies: sl.NotApplies, Base: sl.Base, BaseOut: sl.BaseOut, Deductible: sl.Deductible,
			Rate: sl.Rate, RateOut: sl.RateOut, Computed: sl.Computed, CapRoom: sl.CapRoom, AmountOut: sl.AmountOut}
	}
	var burdenBefore int64
	if b := w.Before; b != nil {
		burdenBefore = b.CriticalBurden
		out.Before = &ledger3{Claims: b.Claims, BasicInpatient: b.BasicInpatient, BasicChronic: b.BasicChronic,
			CriticalBurden: b.CriticalBurden, CriticalPaid: b.CriticalPaid, CommercialPaid: b.CommercialPaid, AidPaid: b.AidPaid,
			BackstopPaid: b.BackstopPaid, OutOfPocket: b.OutOfPocket}
		if b.Total != b.paidSum() {
			total := b.Total
			out.Before.Total = &total
		}
	}
	if w.BurdenBefore != burdenBefore {
		bb := w.BurdenBefore
		out.BurdenBefore = &bb
	}
	for _, b := range w.Bands {
		out.Bands = append(out.Bands, band3(b))
	}
	return out
}

// version2 is w, of version 3, in version 2's form.
func (w *workings3) version2() *storedWorkings {
	out := &storedWorkings{V: 2, Level: w.Level, Aid: w.Aid, InPolicy: w.InPolicy}
	for _, l := range calc.Lines() {
		sl := *w.line(l)
		if sl == nil {
			continue
		}
		if out.Lines == nil {
			out.Lines = map[string]*storedLine{}
		}
		out.Lines[l.String()] = &storedLine{NotApplies: sl.NotApplies, Base: sl.Base, BaseOut: sl.BaseOut, Deductible: sl.Deductible,
			Rate: sl.Rate, RateOut: sl.RateOut, Computed: sl.Computed, CapRoom: sl.CapRoom, AmountOut: sl.AmountOut}
	}
	if b := w.Before; b != nil {
		out.Before = &storedLedger{Claims: b.Claims, BasicInpatient: b.BasicInpatient, BasicChronic: b.BasicChronic,
			CriticalBurden: b.CriticalBurden, CriticalPaid: b.CriticalPaid, CommercialPaid: b.CommercialPaid, AidPaid: b.AidPaid,
			BackstopPaid: b.BackstopPaid, OutOfPocket: b.OutOfPocket}
		out.Before.Total = out.Before.paidSum()
		if b.Total != nil {
			out.Before.Total = *b.Total
		}
		out.BurdenBefore = b.CriticalBurden
	}
	if w.BurdenBefore != nil {
		out.BurdenBefore = *w.BurdenBefore
	}
	for _, b := range w.Bands {
		out.Bands = append(out.Bands, storedBand(b))
	}
	return out
}

// workingsOf returns what the detail of a settlement row (a reversal's if reversal) holds;
// after is the person's ledger after the row.
func workingsOf(st *calc.Settlement, after *calc.Ledger, reversal bool) (*storedWorkings, error) {
	if st.NumBands < 0 || st.NumBands > calc.MaxBands {
		return nil, fmt.Errorf("store workings of claim %s: %d bands", st.ClaimID, st.NumBands)
	}
	var (
		before calc.Ledger
		err    error
	)
	if reversal {
		before, err = after.Add(st)
	} else {
		before, err = after.Reverse(st)
	}
	if err != nil {
		return nil, fmt.Errorf("store workings of claim %s: the ledger after does not hold the settlement: %w", st.ClaimID, err)
	}
	w := &storedWorkings{
		V: 2, Level: st.Level.String(), Aid: st.Aid.String(),
		InPolicy: int64(st.InPolicy), BurdenBefore: int64(st.BurdenBefore),
	}
	if before != (calc.Ledger{Year: before.Year}) {
		w.Before = &storedLedger{
			Claims: before.Claims, BasicInpatient: int64(before.BasicInpatient), BasicChronic: int64(before.BasicChronic),
			CriticalBurden: int64(before.CriticalBurden), CriticalPaid: int64(before.CriticalPaid),
			CommercialPaid: int64(before.CommercialPaid), AidPaid: int64(before.AidPaid), BackstopPaid: int64(before.BackstopPaid),
			OutOfPocket: int64(before.OutOfPocket), Total: int64(before.Total),
		}
	}
	for _, l := range calc.Lines() {
		r := &st.Lines[l]
		if *r == (calc.LineResult{}) {
			continue
		}
		sl := &storedLine{NotApplies: !r.Applies, BaseOut: int64(r.BaseOut), Deductible: int64(r.Deductible),
			Rate: int64(r.Rate), RateOut: int64(r.RateOut), AmountOut: int64(r.AmountOut)}
		if l != calc.Critical {
			sl.Base = int64(r.Base)
		}
		if r.Computed != r.Amount {
			computed := int64(r.Computed)
			sl.Computed = &computed
		}
		if r.CapRoom != calc.NoCap {
			room := int64(r.CapRoom)
			sl.CapRoom = &room
		}
		if w.Lines == nil {
			w.Lines = map[string]*storedLine{}
		}
		w.Lines[l.String()] = sl
	}
	for _, b := range st.Bands[:st.NumBands] {
		w.Bands = append(w.Bands, storedBand{From: int64(b.From), To: int64(b.To), Rate: int64(b.Rate)})
	}
	return w, nil
}

// settlementKeys are the columns of a settlement row that its workings are read with.
type settlementKeys struct {
	ClaimID       string          `db:"claim_id"`
	PersonID      string          `db:"person_id"`
	PolicyVersion string          `db:"policy_version"`
	Year          int             `db:"year"`
	Kind          string          `db:"kind"`
	Reverses      sql.NullString  `db:"reverses"`
	Total         decimal.Decimal `db:"total"`
	Basic         decimal.Decimal `db:"basic"`
	Critical      decimal.Decimal `db:"critical"`
	Commercial    decimal.Decimal `db:"commercial"`
	Aid           decimal.Decimal `db:"aid"`
	Backstop      decimal.Decimal `db:"backstop"`
	OutOfPocket   decimal.Decimal `db:"out_of_pocket"`
	Burden        decimal.Decimal `db:"burden"`
	Detail        string          `db:"detail"`
}

const settlementKeyColumns = `claim_id, person_id, policy_version, year, kind, reverses, total, basic, critical, commercial, aid, backstop, out_of_pocket, burden, detail`

func (k *settlementKeys) scanArgs() []any {
	return []any{&k.ClaimID, &k.PersonID, &k.PolicyVersion, &k.Year, &k.Kind, &k.Reverses, &k.Total, &k.Basic, &k.Critical,
		&k.Commercial, &k.Aid, &k.Backstop, &k.OutOfPocket, &k.Burden, &k.Detail}
}

// decode reads the row's workings, of any version; it returns the settlement and the
// ledger after it.
func (k *settlementKeys) decode() (calc.Settlement, calc.Ledger, error) {
	// Every row written since version 3 begins with its version, as encoding/json writes
	// workings3's first field: reading the whole text once to find it cost a third of a
	// reversal's read of its person-year. decodeStored checks the version it decoded.
	if strings.HasPrefix(k.Detail, `{"v":3,`) {
		st, l, err := k.decodeStored(3)
		if err != nil {
			return calc.Settlement{}, calc.Ledger{}, fmt.Errorf("settlement workings, version 3: %w", err)
		}
		return st, l, nil
	}
	var head struct {
		V int `json:"v"`
	}
	if err := json.Unmarshal([]byte(k.Detail), &head); err != nil {
		return calc.Settlement{}, calc.Ledger{}, fmt.Errorf("settlement workings: %w", err)
	}
	switch head.V {
	case 0: // version 1 had no version field
		var d struct {
			Settlement calc.Settlement `json:"settlement"`
			Ledger     calc.Ledger     `json:"ledger_after"`
		}
		if err := json.Unmarshal([]byte(k.Detail), &d); err != nil {
			return calc.Settlement{}, calc.Ledger{}, fmt.Errorf("settlement workings, version 1: %w", err)
		}
		return d.Settlement, d.Ledger, nil
	case 2, 3:
		st, l, err := k.decodeStored(head.V)
		if err != nil {
			return calc.Settlement{}, calc.Ledger{}, fmt.Errorf("settlement workings, version %d: %w", head.V, err)
		}
		return st, l, nil
	}
	return calc.Settlement{}, calc.Ledger{}, fmt.Errorf("settlement workings: unknown version %d", head.V)
}

// decodeStored reads workings of version 2 or 3.
func (k *settlementKeys) decodeStored(version int) (calc.Settlement, calc.Ledger, error) {
	dec := json.NewDecoder(strings.NewReader(k.Detail))
	dec.DisallowUnknownFields() // a field this store does not know would be lost
	var w *storedWorkings
	if version == 3 {
		var w3 workings3
		if err := dec.Decode(&w3); err != nil {
			return calc.Settlement{}, calc.Ledger{}, err
		}
		if w3.V != 3 { // a later "v" overrode the first
			return calc.Settlement{}, calc.Ledger{}, fmt.Errorf("version %d read as 3", w3.V)
		}
		// What json.Unmarshal refused before decode read the version without it.
		if _, err := dec.Token(); !errors.Is(err, io.EOF) {
			return calc.Settlement{}, calc.Ledger{}, errors.New("text after the workings")
		}
		w = w3.version2()
	} else {
		w = new(storedWorkings)
		if err := dec.Decode(w); err != nil {
			return calc.Settlement{}, calc.Ledger{}, err
		}
	}
	if len(w.Bands) > calc.MaxBands {
		return calc.Settlement{}, calc.Ledger{}, fmt.Errorf("%d bands, at most %d", len(w.Bands), calc.MaxBands)
	}
	// A reversal's row holds the amounts negated.
	sign := calc.Money(1)
	if k.Reverses.Valid {
		sign = -1
	}
	var ms moneyScanner
	st := calc.Settlement{ClaimID: k.ClaimID, PersonID: k.PersonID, PolicyVersion: k.PolicyVersion, Year: k.Year,
		Total: sign * ms.fen(k.Total), InPolicy: calc.Money(w.InPolicy), BurdenBefore: calc.Money(w.BurdenBefore),
		OutOfPocket: sign * ms.fen(k.OutOfPocket), NumBands: len(w.Bands)}
	amounts := [calc.NumLines]calc.Money{sign * ms.fen(k.Basic), sign * ms.fen(k.Critical), sign * ms.fen(k.Commercial),
		sign * ms.fen(k.Aid), sign * ms.fen(k.Backstop)}
	burden := sign * ms.fen(k.Burden)
	var errs [4]error
	st.Kind, errs[0] = calc.ParseKind(k.Kind)
	st.Level, errs[1] = calc.ParseLevel(w.Level)
	st.Aid, errs[2] = calc.ParseAidCategory(w.Aid)
	errs[3] = ms.err
	if err := errors.Join(errs[:]...); err != nil {
		return calc.Settlement{}, calc.Ledger{}, err
	}
	for name := range w.Lines {
		if _, ok := lineByName(name); !ok || w.Lines[name] == nil {
			return calc.Settlement{}, calc.Ledger{}, fmt.Errorf("unknown line %q", name)
		}
	}
	for _, l := range calc.Lines() {
		r := &st.Lines[l]
		r.Amount = amounts[l]
		if l == calc.Critical {
			r.Base = burden
		}
		sl := w.Lines[l.String()]
		if sl == nil {
			continue
		}
		r.Applies = !sl.NotApplies
		if l != calc.Critical {
			r.Base = calc.Money(sl.Base)
		}
		r.BaseOut, r.Deductible, r.AmountOut = calc.Money(sl.BaseOut), calc.Money(sl.Deductible), calc.Money(sl.AmountOut)
		r.Rate, r.RateOut = calc.Rate(sl.Rate), calc.Rate(sl.RateOut)
		r.Computed, r.CapRoom = r.Amount, calc.NoCap
		if sl.Computed != nil {
			r.Computed = calc.Money(*sl.Computed)
		}
		if sl.CapRoom != nil {
			r.CapRoom = calc.Money(*sl.CapRoom)
		}
	}
	for i, b := range w.Bands {
		st.Bands[i] = calc.BandUse{From: calc.Money(b.From), To: calc.Money(b.To), Rate: calc.Rate(b.Rate)}
	}
	before := calc.Ledger{Year: k.Year}
	if sl := w.Before; sl != nil {
		before = calc.Ledger{Year: k.Year, Claims: sl.Claims, BasicInpatient: calc.Money(sl.BasicInpatient), BasicChronic: calc.Money(sl.BasicChronic),
			CriticalBurden: calc.Money(sl.CriticalBurden), CriticalPaid: calc.Money(sl.CriticalPaid), CommercialPaid: calc.Money(sl.CommercialPaid),
			AidPaid: calc.Money(sl.AidPaid), BackstopPaid: calc.Money(sl.BackstopPaid), OutOfPocket: calc.Money(sl.OutOfPocket), Total: calc.Money(sl.Total)}
	}
	var (
		after calc.Ledger
		err   error
	)
	if k.Reverses.Valid {
		after, err = before.Reverse(&st)
	} else {
		after, err = before.Add(&st)
	}
	if err != nil {
		return calc.Settlement{}, calc.Ledger{}, err
	}
	return st, after, nil
}

func lineByName(name string) (calc.Line, bool) {
	for _, l := range calc.Lines() {
		if l.String() == name {
			return l, true
		}
	}
	return 0, false
}

// workingsV3 is migration 0010: the settlements' workings in version 3, and without the
// index settlements_claim (claim_id), which 0006's settlements_claim_settled (claim_id
// WHERE reverses IS NULL) made redundant: every query by claim asks for the settlement
// that is not a reversal, and none asks for a claim's rows of both kinds
// (TestHotQueryPlans checks the plan of each).
func workingsV3(ctx context.Context, s *Store, tx *sql.Tx) error {
	if _, err := tx.ExecContext(ctx, `DROP INDEX settlements_claim`); err != nil {
		return fmt.Errorf("drop settlements_claim: %w", err)
	}
	return convertWorkings(ctx, s, tx)
}

// convertWorkings is migrations 0008 and 0010: it rewrites every settlement row's detail
// of an older version (1, or 2 since 0010) in the current version, a thousand rows at a
// time, in the migration's one transaction. Rows already in the current version are left
// alone, so that it is safe to run on a database that a newer store wrote into before it
// was migrated; 0008 on a database of version 1 rows writes them in the current version
// at once, and 0010 then has nothing left to do.
//
// It keeps the keys as they are, deciding that claims and settlements do not take
// person_id into their keys although DESIGN.md would have the person id in every key a
// settlement touches: a claim id is a global name the store keeps unique on its own ("one
// claim id, one settlement", the conflict of a claim id sent for another person), which
// (person_id, claim_id) could not enforce, and the lookups by claim or settlement id carry
// no person id. Every row a settlement touches carries person_id and the ledgers' key is
// (person_id, year), so the tables can still be distributed by person, the claim ids kept
// unique by a claim-id table. docs/storage.md says more.
func convertWorkings(ctx context.Context, s *Store, tx *sql.Tx) error {
	bind := sqlx.BindType(s.dialect.name)
	update, err := tx.PrepareContext(ctx, sqlx.Rebind(bind, `UPDATE settlements SET detail = ? WHERE settlement_id = ?`))
	if err != nil {
		return fmt.Errorf("convert settlement workings: %w", err)
	}
	defer update.Close()
	after := ""
	for {
		rows, err := tx.QueryContext(ctx, sqlx.Rebind(bind, `SELECT settlement_id, `+settlementKeyColumns+` FROM settlements
			WHERE settlement_id > ? ORDER BY settlement_id LIMIT 1000`), after)
		if err != nil {
			return fmt.Errorf("convert settlement workings: %w", err)
		}
		type row struct {
			id string
			k  settlementKeys
		}
		var batch []row
		for rows.Next() {
			var r row
			if err := rows.Scan(append([]any{&r.id}, r.k.scanArgs()...)...); err != nil {
				rows.Close()
				return fmt.Errorf("convert settlement workings: %w", err)
			}
			batch = append(batch, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("convert settlement workings: %w", err)
		}
		if len(batch) == 0 {
			return nil
		}
		for _, r := range batch {
			if strings.HasPrefix(r.k.Detail, currentWorkings) {
				continue
			}
			st, l, err := r.k.decode()
			if err != nil {
				return fmt.Errorf("convert settlement workings of %s: %w", r.id, err)
			}
			d, err := encodeWorkings(&st, &l, r.k.Reverses.Valid)
			if err != nil {
				return fmt.Errorf("convert settlement workings of %s: %w", r.id, err)
			}
			if _, err := update.ExecContext(ctx, string(d), r.id); err != nil {
				return fmt.Errorf("convert settlement workings of %s: %w", r.id, err)
			}
		}
		after = batch[len(batch)-1].id
	}
}
