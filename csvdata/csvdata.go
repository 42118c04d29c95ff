// Package csvdata reads and writes the CSV files hpcalc exchanges with people and
// spreadsheets: persons, providers, claims, and per-claim settlement results. Reading
// checks every row and refuses bad input with errors naming the file, line, column and
// rule; it never returns half a file.
//
// Money is yuan with at most two decimals, read exactly (never through a float); dates are
// ISO 8601. Columns are found by their header names, so their order is free and extra
// columns are kept out of the way. csvdata converts to and from calc values and must never
// import store, api or cmd packages.
package csvdata

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/fileerr"
)

// MaxErrors is how many problems one read reports before it gives up on the file.
const MaxErrors = 20

// Problem is one broken rule at one cell of a file. Line is the 1-based line in the file;
// Column the 1-based column (field number), 0 for a problem with the whole row.
type Problem = fileerr.Problem

// Error lists the problems found in one file (at most MaxErrors; Truncated if there were
// more). errors.Is(err, calc.ErrInvalid) holds.
type Error = fileerr.Error

// table reads a CSV file by header names.
type table struct {
	file     string
	records  *records
	required []string // the columns the file must have
	field    []int    // required column c is field field[c] of a record
	rec      []string // the current row
	recLine  int      // the line the current row starts on
	errs     *Error
	header   []string

	// seen holds the ids of the rows before, to check that an id does not repeat; nil on
	// a worker of the reading on every core, which leaves that check to its consumer and
	// sets validID to the row's id if it is valid.
	seen    *idTable
	validID string
	// personsLater says, on a worker, that the persons are not read yet: a claim's person
	// is then looked up by the consumer, and personAt is where among the row's problems
	// an unknown person's goes.
	personsLater bool
	personAt     int
}

// column is a required column of a table: its place in the list of required columns.
// Cells are found by it rather than by name because a province's files have tens of
// millions of cells, each found by a map lookup of its column's name otherwise.
type column int

// The columns of persons, providers and claims files, in the order of PersonColumns,
// ProviderColumns and ClaimColumns.
const (
	personID column = iota
	personHousehold
	personPoor
	personAid
)

const (
	providerID column = iota
	providerName
	providerLevel
)

const (
	claimID column = iota
	claimPerson
	claimProvider
	claimLevel
	claimKind
	claimAdmitted
	claimDischarged
	claimTotal
	claimInPolicy
)

var errTooMany = errors.New("too many problems")

// newTable reads the header of a file that must have the required columns and starts
// reading its records, looking up a column of each with ahead if it is not nil.
func newTable(file string, r io.Reader, required []string, ahead *lookahead) (*table, error) {
	t, br, cr, err := readHeader(file, r, required)
	if err != nil {
		return nil, err
	}
	field := 0
	if ahead != nil {
		field = t.field[ahead.column]
	}
	t.records = startRecords(br, cr, t.recLine, 0, len(t.header), ahead, field)
	return t, nil
}

// readHeader reads the header of a file that must have the required columns. The header
// ends on line t.recLine. The records after it are to be read from br, and split by
// records itself (or by the reading on every core) when cr is nil: when the header took
// one line and encoding/csv read it from br without reading ahead (its bufio.Reader is
// br), so that br is at the start of the next line; else cr reads them all.
func readHeader(file string, r io.Reader, required []string) (*table, *bufio.Reader, *csv.Reader, error) {
	// Spreadsheets may write a UTF-8 byte-order mark before the header. It is dropped
	// before the CSV reader sees it, so that a quoted first header cell stays valid CSV.
	counted := &countingReader{r: r}
	br := bufio.NewReaderSize(counted, 64<<10)
	bom := 0
	if b, _ := br.Peek(3); string(b) == "\ufeff" {
		bom, _ = br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.ReuseRecord = true
	t := &table{file: file, required: required, errs: &Error{File: file}}
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, nil, nil, &Error{File: file, Problems: []Problem{{Line: 1, Rule: "the file is empty; want a header line: " + strings.Join(required, ",")}}}
	}
	if err != nil {
		return nil, nil, nil, t.readError(err, 0)
	}
	line, _ := cr.FieldPos(0) // blank lines before the header are skipped
	t.header = append([]string(nil), header...)
	cols := map[string]int{}
	for i, h := range t.header {
		h = strings.TrimSpace(h)
		t.header[i] = h
		if first, dup := cols[h]; dup && h != "" {
			_ = t.add(Problem{Line: line, Column: i + 1, Field: h, Rule: fmt.Sprintf("column appears twice in the header (first as column %d)", first+1)})
			continue
		}
		cols[h] = i
	}
	for _, name := range required {
		i, ok := cols[name]
		if !ok {
			_ = t.add(Problem{Line: line, Field: name,
				Rule: "required column is missing from the header (want " + strings.Join(required, ",") + ")"})
		}
		t.field = append(t.field, i)
	}
	if len(t.errs.Problems) > 0 {
		return nil, nil, nil, t.errs
	}
	oneLine := !slices.ContainsFunc(header, func(h string) bool { return strings.Contains(h, "\n") })
	if oneLine && cr.InputOffset() == counted.n-int64(br.Buffered())-int64(bom) {
		cr = nil
	}
	t.recLine = line
	return t, br, cr, nil
}

// close stops reading; it must be called once the table's rows are no longer needed.
func (t *table) close() {
	if t.records != nil {
		t.records.close()
	}
}

// countingReader counts the bytes read from r.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// readError turns an error of the CSV reader into a *Error for the whole row; fields is
// the number of fields the reader found in the row, if it found the row.
func (t *table) readError(err error, fields int) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		rule := pe.Err.Error()
		switch {
		case errors.Is(pe.Err, csv.ErrFieldCount):
			rule = fmt.Sprintf("row has %d fields but the header has %d (a value with a comma in it must be in double quotes)", fields, len(t.header))
		case errors.Is(pe.Err, csv.ErrBareQuote):
			rule = `a double quote (") is inside a value that does not start with one: put the whole value in double quotes and write each " inside it as ""`
		case errors.Is(pe.Err, csv.ErrQuote):
			rule = `a value in double quotes is not closed properly: its closing double quote (") is missing or is followed by more text before the next comma`
		}
		return &Error{File: t.file, Problems: []Problem{{Line: pe.StartLine, Column: 0, Rule: rule}}}
	}
	return fmt.Errorf("read %s: %w", t.file, err)
}

// next reads the next record; it returns false at the end of the file.
func (t *table) next() (bool, error) {
	rec, line, fields, err := t.records.next()
	if errors.Is(err, io.EOF) {
		return false, nil
	}
	if err != nil {
		rerr := t.readError(err, fields)
		var e *Error
		if len(t.errs.Problems) > 0 && errors.As(rerr, &e) {
			// Report what was found so far along with the parse error.
			for _, p := range e.Problems {
				_ = t.add(p)
			}
			return false, t.errs
		}
		return false, rerr
	}
	t.rec, t.recLine = rec, line
	return true, nil
}

// columns returns the 1-based column of each required column.
func (t *table) columns() []int {
	out := make([]int, len(t.field))
	for i, f := range t.field {
		out[i] = f + 1
	}
	return out
}

// line is the line the current row starts on.
func (t *table) line() int { return t.recLine }

// get returns the current row's cell in column c, without surrounding spaces.
func (t *table) get(c column) string {
	s := t.rec[t.field[c]]
	// Most cells have no space to trim: an ASCII byte above ' ' at either end is none
	// (every space TrimSpace knows is ASCII up to ' ', or starts with a byte of 0x80 or
	// more), found without TrimSpace's call and loops, a few percent of reading a file.
	if n := len(s); n > 0 && s[0] > ' ' && s[0] < utf8.RuneSelf && s[n-1] > ' ' && s[n-1] < utf8.RuneSelf {
		return s
	}
	return strings.TrimSpace(s)
}

// fail records a problem in column c of the current row; it returns errTooMany when
// MaxErrors problems are already recorded.
func (t *table) fail(c column, format string, args ...any) error {
	return t.add(Problem{Line: t.line(), Column: t.field[c] + 1, Field: t.required[c], Rule: fmt.Sprintf(format, args...)})
}

// add records p. When MaxErrors problems are already recorded it drops p, marks the file
// truncated and returns errTooMany: reading must stop.
func (t *table) add(p Problem) error {
	if len(t.errs.Problems) >= MaxErrors {
		t.errs.Truncated = true
		return errTooMany
	}
	t.errs.Problems = append(t.errs.Problems, p)
	return nil
}

// clean reports whether no problem has been recorded yet.
func (t *table) clean() bool { return len(t.errs.Problems) == 0 }

func (t *table) result() error {
	if len(t.errs.Problems) == 0 {
		return nil
	}
	return t.errs
}

// money reads a non-negative amount of at most MaxAmount.
func (t *table) money(c column) (calc.Money, error) {
	s := t.get(c)
	if m, ok := calc.QuickMoney(s); ok {
		return m, nil
	}
	m, err := calc.ParseMoney(s)
	switch {
	case s == "":
		return 0, t.fail(c, "is required")
	case errors.Is(err, calc.ErrPrecision):
		return 0, t.fail(c, "%q has more than two decimals", s)
	case errors.Is(err, calc.ErrRange) && strings.HasPrefix(s, "-"):
		return 0, t.fail(c, "%s is negative", s)
	case errors.Is(err, calc.ErrRange):
		return 0, t.fail(c, "%q is over the limit of %s", s, calc.MaxAmount)
	case err != nil:
		return 0, t.fail(c, "%q is not an amount of yuan: write digits with at most one decimal point and no thousands separators, such as 1234.50", s)
	case m < 0:
		return 0, t.fail(c, "%s is negative", s)
	case m > calc.MaxAmount:
		return 0, t.fail(c, "%s is over the limit of %s", s, calc.MaxAmount)
	}
	return m, nil
}

func (t *table) date(c column) (calc.Date, bool, error) {
	s := t.get(c)
	if s == "" {
		return 0, false, t.fail(c, "is required")
	}
	d, err := calc.ParseDate(s)
	if err != nil {
		return 0, false, t.fail(c, "%q is not a calendar date written YYYY-MM-DD, such as 2018-03-07", s)
	}
	return d, true, nil
}

// name reads a required column holding one of a fixed set of names, such as a level.
func name[T any](t *table, c column, parse func(string) (T, error)) (T, bool, error) {
	var zero T
	s := t.get(c)
	if s == "" {
		return zero, false, t.fail(c, "is required")
	}
	v, err := parse(s)
	if err != nil {
		return zero, false, t.fail(c, "%v", err)
	}
	return v, true, nil
}

// id reads a required identifier, which keeps calc's one grammar of ids.
func (t *table) id(c column) (string, error) {
	s := t.get(c)
	if s == "" {
		return "", t.fail(c, "is required")
	}
	if !calc.ValidID(s) {
		if rule := calc.IDRule(s); rule != "" {
			return s, t.fail(c, "%s", rule)
		}
	}
	return s, nil
}

// firstErr returns the first non-nil error.
func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func parseBool(s string) (bool, bool) {
	switch strings.ToLower(s) {
	case "true", "1", "yes", "y":
		return true, true
	case "false", "0", "no", "n":
		return false, true
	}
	return false, false
}

// PersonColumns is the header of a persons file.
var PersonColumns = []string{"person_id", "household_id", "registered_poor", "aid_category"}

// ReadPersons reads a persons file (header PersonColumns; more columns are ignored). It
// returns a *Error naming every bad cell (an empty or duplicate person_id, an empty
// household_id, registered_poor not true/false, an unknown aid_category) or the persons in
// file order.
func ReadPersons(file string, r io.Reader) ([]calc.Person, error) {
	seen := newIDTable()
	return readRows(file, r, PersonColumns, func(t *table) (calc.Person, error) {
		return t.person(seen)
	})
}

// person reads the current row as a person, recording its problems; seen holds the ids of
// the rows before.
func (t *table) person(seen *idTable) (calc.Person, error) {
	var (
		p    calc.Person
		errs [4]error
	)
	p.ID, errs[0] = t.uniqueID(personID, "person", seen)
	p.HouseholdID, errs[1] = t.id(personHousehold)
	poor, ok := parseBool(t.get(personPoor))
	switch {
	case t.get(personPoor) == "":
		errs[2] = t.fail(personPoor, "is required: true or false")
	case !ok:
		errs[2] = t.fail(personPoor, "%q is not true or false", t.get(personPoor))
	}
	p.RegisteredPoor = poor
	aid, err := calc.ParseAidCategory(t.get(personAid))
	if err != nil {
		errs[3] = t.fail(personAid, "%v", err)
	}
	p.Aid = aid
	return p, firstErr(errs[:]...)
}

// scanRows reads every row of a file with the required columns through row, which
// records problems with t.fail and returns errTooMany when reading must stop; row may
// ask t.records what ahead, if not nil, found for it. It returns nil, or a *Error listing
// the problems.
func scanRows(file string, r io.Reader, columns []string, ahead *lookahead, row func(*table) error) error {
	t, err := newTable(file, r, columns, ahead)
	if err != nil {
		return err
	}
	defer t.close()
	for {
		ok, err := t.next()
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		if err := row(t); err != nil {
			return t.errs
		}
	}
	return t.result()
}

// readRows reads every row of a file through row, like scanRows. It returns every value,
// or a *Error listing the problems and no values.
func readRows[T any](file string, r io.Reader, columns []string, row func(*table) (T, error)) ([]T, error) {
	var out []T
	err := scanRows(file, r, columns, nil, func(t *table) error {
		v, err := row(t)
		if t.clean() {
			out = append(out, v)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// uniqueID reads a required id that must not repeat an earlier row's, and adds it to seen.
// With seen nil (on a worker) it sets t.validID to a valid id instead, for the consumer to
// check in file order.
func (t *table) uniqueID(c column, what string, seen *idTable) (string, error) {
	id := t.get(c)
	if id == "" {
		return id, t.fail(c, "is required")
	}
	if !calc.ValidID(id) {
		if rule := calc.IDRule(id); rule != "" {
			return id, t.fail(c, "%s", rule)
		}
	}
	if seen == nil { // the caller checks repeats itself
		t.validID = id
		return id, nil
	}
	if n, added := seen.add(id, t.line()); !added {
		return id, t.fail(c, "duplicate %s %s (first on line %d)", what, id, seen.line(n))
	}
	return id, nil
}

// Provider is calc.Provider, kept under this name for the callers of this package.
type Provider = calc.Provider

// ProviderColumns is the header of a providers file.
var ProviderColumns = []string{"provider_id", "name", "level"}

// ReadProviders reads a providers file (header ProviderColumns; more columns are ignored).
func ReadProviders(file string, r io.Reader) ([]Provider, error) {
	seen := newIDTable()
	return readRows(file, r, ProviderColumns, func(t *table) (Provider, error) {
		p := Provider{Name: t.get(providerName)}
		var errs [3]error
		p.ID, errs[0] = t.uniqueID(providerID, "provider", seen)
		p.Level, _, errs[1] = name(t, providerLevel, calc.ParseLevel)
		if !utf8.ValidString(p.Name) {
			errs[2] = t.fail(providerName, "is not valid UTF-8: save the file as UTF-8")
		}
		return p, firstErr(errs[:]...)
	})
}

// ClaimColumns is the header of a claims file.
var ClaimColumns = []string{"claim_id", "person_id", "provider_id", "level", "kind",
	"admitted_on", "discharged_on", "total", "in_policy"}

// ClaimChecks are the cross-file checks ReadClaims makes; a nil field skips its check.
type ClaimChecks struct {
	Persons map[string]calc.Person // every claim's person_id must be here
	// PersonIndex, if not nil, replaces Persons: every claim's person_id must be in it, and
	// ScanClaims tells which person each claim is by the person's number in it.
	PersonIndex *PersonIndex
	Providers   map[string]Provider // every provider_id must be here, with the claim's level
	Policies    *calc.PolicySet     // a policy must be in force on every discharge day
}

// Claims is a claims file as read: the claims in file order and, for each, its line.
type Claims struct {
	File   string
	Claims []calc.Claim
	Lines  []int
}

// ReadClaims reads a claims file (header ClaimColumns; more columns are ignored) and
// checks every row: ids present and claim_id unique; level and kind known; dates ISO
// 8601 with discharge on or after admission; total and in_policy non-negative yuan with
// at most two decimals, at most 100,000,000.00, in_policy at most total; and the checks
// of ClaimChecks. It returns a *Error listing every problem (up to MaxErrors), or every
// claim.
func ReadClaims(file string, r io.Reader, checks ClaimChecks) (*Claims, error) {
	out := &Claims{File: file, Claims: []calc.Claim{}, Lines: []int{}}
	err := ScanClaims(file, r, checks, func(row *ClaimRow) {
		c := row.Claim
		c.ID, c.PersonID, c.ProviderID = strings.Clone(c.ID), strings.Clone(c.PersonID), strings.Clone(c.ProviderID)
		out.Claims = append(out.Claims, c)
		out.Lines = append(out.Lines, row.Line)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ClaimRow is a row of a claims file as ScanClaims hands it on.
type ClaimRow struct {
	Claim calc.Claim
	Line  int // the line the row starts on
	// Person is the claim's person's number in ClaimChecks.PersonIndex, -1 without one; or,
	// from ScanClaimantsFirst, the claimant's number in the order of first claims.
	Person int
	// Columns are the 1-based columns of ClaimColumns in the file, for a caller that
	// finds a problem with a row later: the same slice for every row.
	Columns []int
}

// ScanClaims reads a claims file with the checks and errors of ReadClaims, but hands each
// claim to add as soon as it is read instead of keeping it, so that a caller that keeps
// claims in its own form (such as the bulk engine's columns) never holds a []calc.Claim
// of the whole file. add is called in file order with a row it must not keep (it is
// reused), and only while no problem has been found: once ScanClaims returns an error,
// the caller must throw away whatever it built from the rows it was given, so that a bad
// file yields nothing. The strings of row.Claim are valid only during the call: they
// are read in place from a buffer that later rows are read into. A caller keeping them
// must copy them (strings.Clone).
//
// It returns nil, or a *Error listing every problem (up to MaxErrors), or an error of r.
func ScanClaims(file string, r io.Reader, checks ClaimChecks, add func(row *ClaimRow)) error {
	return scanClaims(file, r, checks, nil, nil, add)
}

// personLater is the person number of a claim whose person is looked up once the persons
// are read.
const personLater = -2

// claimValue is a claims file's row as a worker reads it.
type claimValue struct {
	claim    calc.Claim
	person   int
	personAt int // with person personLater: where the unknown person's problem goes among the row's; else -1
}

// pendingPersons is a persons file being read beside a claims file.
type pendingPersons struct {
	ready chan struct{} // closed once index or err is set
	index *PersonIndex
	err   error
}

// scanClaims is ScanClaims. With pending not nil, the claims'
// persons are those pending reads, which checks.PersonIndex is set to once read; it
// returns errPersons if they could not be.
//
// With claimants not nil, pending and checks' persons must be nil: each claim's person is
// numbered by its id in claimants, added there if new, rather than looked up; and a
// repeated claim id is found by its hash (newLastOnly), a problem whose line it does not
// report right and that two ids of one hash also are: ScanClaimantsFirst reads a file
// with any problem again, exactly, and so need not keep every id to find a repeat.
func scanClaims(file string, r io.Reader, checks ClaimChecks, pending *pendingPersons, claimants *idTable, add func(row *ClaimRow)) error {
	t, br, cr, err := readHeader(file, r, ClaimColumns)
	if err != nil {
		return err
	}
	var row ClaimRow
	rr := &rowReader[claimValue]{what: "claim", idCol: claimID, seen: newIDTable()}
	index := func() *PersonIndex {
		if pending == nil {
			return checks.PersonIndex
		}
		select {
		case <-pending.ready:
			return pending.index
		default:
			return nil
		}
	}
	rr.check = func(t *table, v *claimValue) error {
		c := checks
		// On a worker, the persons of a block's claims are looked up together once its
		// rows are read.
		t.personsLater = t.seen == nil && (pending != nil || checks.PersonIndex != nil)
		if pending != nil {
			c.PersonIndex = index()
		}
		var err error
		t.personAt = -1
		v.claim, v.person, err = t.claim(t.seen, c)
		v.personAt = t.personAt
		return err
	}
	rr.finish = func(b *block[claimValue]) {
		if x := index(); x != nil {
			resolvePersons(t, b, x)
		}
	}
	rr.deliver = func(t *table, v *claimValue) {
		if row.Columns == nil {
			row.Columns = t.columns()
		}
		row.Claim, row.Person, row.Line = v.claim, v.person, t.line()
		add(&row)
	}
	if pending != nil {
		wait := func() error {
			<-pending.ready
			if pending.err != nil {
				return errPersons
			}
			return nil
		}
		rr.wait = wait
		rr.resolve = func(b *block[claimValue]) error {
			if err := wait(); err != nil {
				return err
			}
			resolvePersons(t, b, pending.index)
			return nil
		}
	}
	if claimants != nil {
		rr.seen = newLastOnly()
		claimants.index()
		rr.resolve = func(b *block[claimValue]) error {
			numberClaimants(b, claimants)
			return nil
		}
		rr.row = func(t *table) error {
			var v claimValue
			t.seen = rr.seen
			err := rr.check(t, &v)
			if t.clean() {
				v.person, _ = claimants.add(v.claim.PersonID, 0)
				rr.deliver(t, &v)
			}
			return err
		}
	}
	if cr != nil || !parallel {
		var ahead *lookahead
		if checks.PersonIndex != nil {
			// The persons are looked up as the records are read, on another goroutine.
			ahead = &lookahead{column: claimPerson, find: checks.PersonIndex.Find}
		}
		t.records = startRecords(br, cr, t.recLine, 0, len(t.header), ahead, t.field[claimPerson])
		return scanSequential(t, rr)
	}
	return scanParallel(t, br, rr)
}

// numberClaimants numbers the persons of b's claims in claimants, a batch at a time (see
// idTable.addMany). Rows with problems are numbered too, or not: they are never delivered.
func numberClaimants(b *block[claimValue], claimants *idTable) {
	rows := b.rows
	var number [64]int
	for lo := 0; lo < len(rows); lo += len(number) {
		n := min(len(number), len(rows)-lo)
		claimants.addMany(n, func(k int) string { return rows[lo+k].v.claim.PersonID }, number[:n])
		for k := range n {
			rows[lo+k].v.person = number[k]
		}
	}
}

// errPersons is what scanClaims returns when the persons it waited for could not be read.
var errPersons = errors.New("the persons file could not be read")

// resolvePersons looks up the persons of b's claims that were read before the persons
// were, adding a problem for each unknown one where the sequential reading has it. The
// lookups are made together, some at a time, rather than one per row among its checks,
// so that the processor waits for several of their memory accesses at once.
func resolvePersons(t *table, b *block[claimValue], x *PersonIndex) {
	var unknown []int // rows whose person is not in x
	var batch [64]int // rows looked up together
	rows := b.rows
	for lo := 0; lo < len(rows); {
		n := 0
		for ; lo < len(rows) && n < len(batch); lo++ {
			if rows[lo].v.person == personLater {
				batch[n] = lo
				n++
			}
		}
		var found [64]int
		x.ids.findMany(n, func(k int) string { return rows[batch[k]].v.claim.PersonID }, found[:n])
		for k, i := range batch[:n] {
			v := &rows[i].v
			v.person = found[k]
			if found[k] < 0 {
				unknown = append(unknown, i)
			} else {
				v.personAt = -1
			}
		}
	}
	if len(unknown) == 0 {
		return
	}
	// Rebuild the problems with those of unknown persons in their places.
	var prob []Problem
	start := 0
	for i := range rows {
		r := &rows[i]
		own := b.prob[start:r.end]
		start = r.end
		if len(unknown) > 0 && unknown[0] == i {
			unknown = unknown[1:]
			at := r.v.personAt
			prob = append(prob, own[:at]...)
			prob = append(prob, Problem{Line: r.line, Column: t.field[claimPerson] + 1, Field: t.required[claimPerson],
				Rule: fmt.Sprintf("unknown person %s: not in the persons file", r.v.claim.PersonID)})
			prob = append(prob, own[at:]...)
			r.v.personAt = -1
		} else {
			prob = append(prob, own...)
		}
		r.end = len(prob)
	}
	b.prob = prob
}

// ScanPersonsAndClaims reads a persons file into a PersonIndex and a claims file at once,
// on every core: the claims are checked as ScanClaims checks them with
// checks.PersonIndex set to the persons read (any checks.Persons is ignored). Once the
// persons are read, begin is called with them, then add with each claim, as ScanClaims
// calls it. It returns the persons, or the errors of ReadPersonIndex (which come first,
// as if the persons file were read before the claims file), or those of ScanClaims. The
// persons returned have let go of their table of ids, a third of their memory, which
// their Find builds again on its first call.
func ScanPersonsAndClaims(personsFile string, persons io.Reader, claimsFile string, claims io.Reader, checks ClaimChecks,
	begin func(x *PersonIndex), add func(row *ClaimRow)) (*PersonIndex, error) {
	pending := &pendingPersons{ready: make(chan struct{})}
	go func() {
		defer close(pending.ready)
		pending.index, pending.err = readPersonIndex(personsFile, persons)
		if pending.err == nil {
			begin(pending.index)
		}
	}()
	checks.Persons, checks.PersonIndex = nil, nil
	err := scanClaims(claimsFile, claims, checks, pending, nil, add)
	<-pending.ready
	if pending.err != nil {
		return nil, pending.err
	}
	if err != nil {
		return nil, err
	}
	pending.index.dropTable()
	return pending.index, nil
}

// claim reads the current row as a claim and, with checks.PersonIndex, its person's
// number (-1 otherwise), recording its problems; seen holds the claim ids of the rows
// before.
func (t *table) claim(seen *idTable, checks ClaimChecks) (calc.Claim, int, error) {
	var c calc.Claim
	var stop error // errTooMany once MaxErrors problems are recorded
	check := func(err error) {
		// Not cmp.Or: its generic comparison of interfaces called the runtime for every
		// field of every claim, 1.7% of a what-if's CPU.
		if stop == nil {
			stop = err
		}
	}
	var err error
	c.ID, err = t.uniqueID(claimID, "claim", seen)
	check(err)
	c.PersonID, err = t.id(claimPerson)
	check(err)
	person := -1
	if calc.ValidID(c.PersonID) {
		known := true
		switch {
		case t.personsLater:
			person, t.personAt = personLater, len(t.errs.Problems)
		case checks.PersonIndex != nil && t.records != nil && t.records.ahead != nil:
			person = t.records.found() // checks.PersonIndex.Find(c.PersonID), found ahead
			known = person >= 0
		case checks.PersonIndex != nil:
			person, known = checks.PersonIndex.Find(c.PersonID)
		case checks.Persons != nil:
			_, known = checks.Persons[c.PersonID]
		}
		if !known {
			person = -1
			check(t.fail(claimPerson, "unknown person %s: not in the persons file", c.PersonID))
		}
	}
	c.ProviderID, err = t.id(claimProvider)
	check(err)
	var levelOK bool
	c.Level, levelOK, err = name(t, claimLevel, calc.ParseLevel)
	check(err)
	if calc.ValidID(c.ProviderID) && checks.Providers != nil {
		if p, ok := checks.Providers[c.ProviderID]; !ok {
			check(t.fail(claimProvider, "unknown provider %s: not in the providers file", c.ProviderID))
		} else if levelOK && p.Level != c.Level {
			check(t.fail(claimLevel, "level %s differs from provider %s's level %s", c.Level, p.ID, p.Level))
		}
	}
	var kindOK bool
	c.Kind, kindOK, err = name(t, claimKind, calc.ParseKind)
	check(err)
	var admittedOK, dischargedOK bool
	c.AdmittedOn, admittedOK, err = t.date(claimAdmitted)
	check(err)
	c.DischargedOn, dischargedOK, err = t.date(claimDischarged)
	check(err)
	if admittedOK && dischargedOK && c.DischargedOn < c.AdmittedOn {
		check(t.fail(claimDischarged, "discharge %s is before admission %s", c.DischargedOn, c.AdmittedOn))
	}
	if admittedOK && dischargedOK && kindOK {
		if rule := calc.PeriodRule(c.Kind, c.AdmittedOn, c.DischargedOn); rule != "" {
			check(t.fail(claimAdmitted, "%s", rule))
		}
	}
	if dischargedOK && checks.Policies != nil && checks.Policies.At(c.DischargedOn) == nil {
		check(t.fail(claimDischarged, "no policy is in force on %s (%s)", c.DischargedOn, describePeriods(checks.Policies)))
	}
	nProblems := len(t.errs.Problems)
	c.Total, err = t.money(claimTotal)
	check(err)
	if err == nil && len(t.errs.Problems) == nProblems && c.Total == 0 {
		check(t.fail(claimTotal, "must be more than 0.00: a bill of nothing is not a claim"))
	}
	c.InPolicy, err = t.money(claimInPolicy)
	check(err)
	if len(t.errs.Problems) == nProblems && c.InPolicy > c.Total {
		check(t.fail(claimInPolicy, "in_policy %s exceeds total %s", c.InPolicy, c.Total))
	}
	return c, person, stop
}

func describePeriods(s *calc.PolicySet) string {
	var parts []string
	for _, p := range s.Policies() {
		parts = append(parts, fmt.Sprintf("%s runs %s to %s", p.Version, p.From, p.To))
	}
	if len(parts) == 0 {
		return "no policy loaded"
	}
	return strings.Join(parts, "; ")
}

// WriteProviders writes providers with the ProviderColumns header.
func WriteProviders(w io.Writer, providers []Provider) error {
	cw := csv.NewWriter(w)
	_ = cw.Write(ProviderColumns)
	for _, p := range providers {
		_ = cw.Write([]string{p.ID, p.Name, p.Level.String()})
	}
	cw.Flush()
	return cw.Error()
}

// WriteClaims writes claims with the ClaimColumns header.
func WriteClaims(w io.Writer, claims []calc.Claim) error {
	cw := csv.NewWriter(w)
	_ = cw.Write(ClaimColumns)
	for _, c := range claims {
		_ = cw.Write([]string{c.ID, c.PersonID, c.ProviderID, c.Level.String(), c.Kind.String(),
			c.AdmittedOn.String(), c.DischargedOn.String(), c.Total.String(), c.InPolicy.String()})
	}
	cw.Flush()
	return cw.Error()
}

// SettlementColumns is the header of a per-claim results file.
var SettlementColumns = []string{"claim_id", "basic", "critical", "commercial", "aid", "backstop", "out_of_pocket"}

// SettlementRow is what a per-claim results file says of one settlement. It is the part
// of a calc.Settlement (over 500 bytes with every line's workings) that the file keeps,
// so that a replay of a million claims need not hold a million settlements to write it.
type SettlementRow struct {
	ClaimID     string
	Lines       [calc.NumLines]calc.Money // what each line paid
	OutOfPocket calc.Money
}

// WriteSettlementRows writes rows like WriteSettlements writes settlements.
func WriteSettlementRows(w io.Writer, rows []SettlementRow) error {
	return writeSettlements(w, len(rows), func(i int, row *SettlementRow) { *row = rows[i] })
}

// writeSettlements writes n rows with the SettlementColumns header; get fills row i.
func writeSettlements(w io.Writer, n int, get func(i int, row *SettlementRow)) error {
	cw := csv.NewWriter(w)
	_ = cw.Write(SettlementColumns)
	rec := make([]string, len(SettlementColumns))
	var row SettlementRow
	for i := range n {
		get(i, &row)
		rec[0] = row.ClaimID
		for l := range calc.NumLines {
			rec[1+int(l)] = row.Lines[l].String()
		}
		rec[6] = row.OutOfPocket.String()
		_ = cw.Write(rec)
	}
	cw.Flush()
	return cw.Error()
}
