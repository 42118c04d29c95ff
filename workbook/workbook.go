// Package workbook holds the spreadsheets hpcalc hands to people: the tally of a period,
// an audit replay and a what-if, each as an xlsx workbook (a sheet per table) and as CSV.
//
// Numbers are written as numbers, never as text: money comes from calc.Money (int64 fen)
// and is written so that its decimal reads back exactly (1234.56 is 1234.56), with a yuan
// number format. Every header row is in Chinese and English and frozen. Text from users
// (ids, names, reasons) is always written as text: a string cell in xlsx, and in CSV
// prefixed with a single quote when it begins with a character a spreadsheet would take
// for the start of a formula.
//
// workbook imports calc and the standard library besides excelize; it must never import
// batch, store, api, console or cmd: callers convert their results into the plain types
// here, so that where a result is computed can change without touching this package.
package workbook

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/hpcalc/hpcalc/calc"
	"github.com/xuri/excelize/v2"
)

// Media types of the two encodings.
const (
	MediaXLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	MediaCSV  = "text/csv; charset=utf-8"
)

// ErrTooLarge is returned when an amount has more significant digits than a spreadsheet
// number holds exactly (15): no tally of health costs comes near it.
var ErrTooLarge = errors.New("amount too large for a spreadsheet number")

// Kind is what a column holds, and so how its cells are written.
type Kind uint8

// The kinds of column.
const (
	Text  Kind = iota // a string, written as text whatever it looks like
	Yuan              // money in yuan, from fen
	Wan               // money in 万元, rounded as calc.Money.Wan rounds
	Count             // a whole number: claims, persons
)

// Column is a column's header, in both languages, and what it holds.
type Column struct {
	Zh, En string
	Kind   Kind
}

// Header is the column's header cell: Chinese, then English.
func (c Column) Header() string { return c.Zh + " / " + c.En }

// Value is one cell. Build it with Str, Money, WanOf or Int.
type Value struct {
	kind Kind
	s    string
	n    int64 // fen for Yuan; the count for Count
}

// Str is a text cell.
func Str(s string) Value { return Value{kind: Text, s: s} }

// Money is an amount of money in yuan.
func Money(m calc.Money) Value { return Value{kind: Yuan, n: int64(m)} }

// WanOf is an amount of money in 万元, rounded to two decimals of 万元 by calc's rule.
func WanOf(m calc.Money) Value {
	// calc.Money.Wan is the one home of the 万元 rounding: its digits are kept, not
	// rounded again here.
	return Value{kind: Wan, s: strings.ReplaceAll(m.Wan(), ",", "")}
}

// Int is a whole number.
func Int(n int) Value { return Value{kind: Count, n: int64(n)} }

// Kind says what the value holds.
func (v Value) Kind() Kind { return v.kind }

// String is the value as CSV writes it (before any quote against formulas): money with two
// decimals and no grouping, counts as digits.
func (v Value) String() string {
	switch v.kind {
	case Yuan:
		return calc.Money(v.n).String()
	case Count:
		return strconv.FormatInt(v.n, 10)
	}
	return v.s
}

// Table is one sheet: its name (at most 31 characters, none of []:*?/\), its columns and
// its rows; every row has one value per column, of the column's kind.
type Table struct {
	Sheet   string
	Columns []Column
	Rows    [][]Value
}

// Add appends a row.
func (t *Table) Add(row ...Value) { t.Rows = append(t.Rows, row) }

// Book is a workbook: its tables in order, and a file name without extension for
// downloads.
type Book struct {
	Name   string
	Tables []*Table
}

// check reports a table whose rows do not fit its columns: a mistake in this package or
// its caller, found before anything is written.
func (b *Book) check() error {
	if len(b.Tables) == 0 {
		return errors.New("workbook: no tables")
	}
	for _, t := range b.Tables {
		if t.Sheet == "" || len([]rune(t.Sheet)) > 31 || strings.ContainsAny(t.Sheet, `[]:*?/\`) {
			return fmt.Errorf("workbook: sheet name %q: at most 31 characters, none of []:*?/\\", t.Sheet)
		}
		for i, row := range t.Rows {
			if len(row) != len(t.Columns) {
				return fmt.Errorf("workbook: sheet %s row %d has %d values for %d columns", t.Sheet, i+1, len(row), len(t.Columns))
			}
			for j, v := range row {
				if v.kind != t.Columns[j].Kind {
					return fmt.Errorf("workbook: sheet %s row %d column %s holds the wrong kind of value", t.Sheet, i+1, t.Columns[j].En)
				}
			}
		}
	}
	return nil
}

// Number formats. The yuan format shows the currency sign and thousands separators; the
// cell holds the plain number.
const (
	fmtYuan  = `"¥"#,##0.00`
	fmtWan   = `#,##0.00`
	fmtCount = `#,##0`
	fmtText  = 49 // "@": Excel keeps what is typed into the cell as text too
)

// WriteXLSX writes the book as an xlsx workbook, a sheet per table, with a bold frozen
// header row. Rows are streamed, so a large audit does not sit in memory twice.
func (b *Book) WriteXLSX(w io.Writer) error {
	if err := b.check(); err != nil {
		return err
	}
	f := excelize.NewFile()
	defer f.Close()
	styles, err := newStyles(f)
	if err != nil {
		return err
	}
	for i, t := range b.Tables {
		if i == 0 {
			if err := f.SetSheetName("Sheet1", t.Sheet); err != nil {
				return fmt.Errorf("workbook: name sheet %s: %w", t.Sheet, err)
			}
		} else if _, err := f.NewSheet(t.Sheet); err != nil {
			return fmt.Errorf("workbook: add sheet %s: %w", t.Sheet, err)
		}
		if err := writeSheet(f, t, styles); err != nil {
			return fmt.Errorf("workbook: sheet %s: %w", t.Sheet, err)
		}
	}
	if err := f.Write(w); err != nil {
		return fmt.Errorf("workbook: write xlsx: %w", err)
	}
	return nil
}

type styleIDs struct {
	header int
	byKind [Count + 1]int
}

func newStyles(f *excelize.File) (styleIDs, error) {
	var s styleIDs
	var err error
	yuan, wan, count := fmtYuan, fmtWan, fmtCount
	for _, x := range []struct {
		id    *int
		style excelize.Style
	}{
		{&s.header, excelize.Style{Font: &excelize.Font{Bold: true}, NumFmt: fmtText,
			Fill:      excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"E7ECF3"}},
			Alignment: &excelize.Alignment{Vertical: "center", WrapText: true}}},
		{&s.byKind[Text], excelize.Style{NumFmt: fmtText}},
		{&s.byKind[Yuan], excelize.Style{CustomNumFmt: &yuan}},
		{&s.byKind[Wan], excelize.Style{CustomNumFmt: &wan}},
		{&s.byKind[Count], excelize.Style{CustomNumFmt: &count}},
	} {
		if *x.id, err = f.NewStyle(&x.style); err != nil {
			return s, fmt.Errorf("workbook: style: %w", err)
		}
	}
	return s, nil
}

func writeSheet(f *excelize.File, t *Table, st styleIDs) error {
	sw, err := f.NewStreamWriter(t.Sheet)
	if err != nil {
		return err
	}
	// Column widths and panes must precede the first row in a stream.
	for j, c := range t.Columns {
		width := 16.0
		switch {
		case c.Kind == Text && len(t.Columns) > 1 && j == len(t.Columns)-1:
			width = 40 // the last text column holds reasons and causes
		case c.Kind == Count:
			width = 12
		}
		if err := sw.SetColWidth(j+1, j+1, width); err != nil {
			return err
		}
	}
	if err := sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft",
		Selection: []excelize.Selection{{SQRef: "A2", ActiveCell: "A2", Pane: "bottomLeft"}}}); err != nil {
		return err
	}
	header := make([]any, len(t.Columns))
	for j, c := range t.Columns {
		header[j] = excelize.Cell{StyleID: st.header, Value: c.Header()}
	}
	if err := sw.SetRow("A1", header, excelize.RowOpts{Height: 30}); err != nil {
		return err
	}
	cells := make([]any, len(t.Columns))
	for i, row := range t.Rows {
		for j, v := range row {
			x, err := xlsxValue(v)
			if err != nil {
				return fmt.Errorf("row %d, %s: %w", i+1, t.Columns[j].En, err)
			}
			cells[j] = excelize.Cell{StyleID: st.byKind[v.kind], Value: x}
		}
		ref, err := excelize.CoordinatesToCellName(1, i+2)
		if err != nil {
			return err
		}
		if err := sw.SetRow(ref, cells); err != nil {
			return err
		}
	}
	return sw.Flush()
}

// xlsxValue is what excelize is given for a cell. Strings become inline string cells and
// never formulas (excelize writes a formula only from Cell.Formula). Money is a float64
// because that is the only way excelize streams a fractional number; the conversion is
// exact in the sense that matters: float64(fen)/100 is the double nearest the decimal,
// and the shortest decimal that names that double is the amount itself as long as it has
// at most 15 significant digits — checked here on every cell, not assumed.
func xlsxValue(v Value) (any, error) {
	switch v.kind {
	case Yuan:
		return exactFloat(v.n)
	case Wan:
		w, err := calc.ParseMoney(v.s)
		if err != nil {
			return nil, fmt.Errorf("workbook: 万元 %q: %w", v.s, err)
		}
		return exactFloat(int64(w))
	case Count:
		return v.n, nil
	}
	return v.s, nil
}

// maxExact is 10^15 hundredths: 15 significant digits, what a double and Excel hold.
const maxExact = 1_000_000_000_000_000

func exactFloat(hundredths int64) (float64, error) {
	if hundredths >= maxExact || hundredths <= -maxExact {
		return 0, fmt.Errorf("%s: %w", calc.Money(hundredths), ErrTooLarge)
	}
	f := float64(hundredths) / 100
	if got, want := strconv.FormatFloat(f, 'f', -1, 64), trimDecimal(calc.Money(hundredths).String()); got != want {
		return 0, fmt.Errorf("workbook: %s would be written as %s", want, got) // cannot happen below maxExact
	}
	return f, nil
}

// trimDecimal drops trailing zeros of the fraction and a bare point: "12.50" is "12.5",
// "3.00" is "3", as the shortest float formatting writes them.
func trimDecimal(s string) string {
	if !strings.Contains(s, ".") {
		return s
	}
	s = strings.TrimRight(s, "0")
	s = strings.TrimSuffix(s, ".")
	if s == "-0" {
		return "0"
	}
	return s
}

// WriteCSV writes the book as one CSV file in UTF-8 with a byte order mark (without it,
// Excel reads Chinese as the local code page). A book of one table is that table: header
// and rows. A book of several writes each as a section: a row with the sheet's name, the
// header, the rows, and an empty row between sections.
func (b *Book) WriteCSV(w io.Writer) error {
	if err := b.check(); err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	if _, err := bw.WriteString("\uFEFF"); err != nil {
		return err
	}
	cw := csv.NewWriter(bw)
	for i, t := range b.Tables {
		if len(b.Tables) > 1 {
			if i > 0 {
				if _, err := bw.WriteString("\n"); err != nil { // csv.Writer cannot write an empty record
					return err
				}
			}
			if err := cw.Write([]string{SafeText(t.Sheet)}); err != nil {
				return err
			}
		}
		rec := make([]string, len(t.Columns))
		for j, c := range t.Columns {
			rec[j] = SafeText(c.Header())
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
		for _, row := range t.Rows {
			for j, v := range row {
				if v.kind == Text {
					rec[j] = SafeText(v.s)
				} else {
					rec[j] = v.String()
				}
			}
			if err := cw.Write(rec); err != nil {
				return err
			}
		}
		cw.Flush() // before a section's blank line goes straight to bw
		if err := cw.Error(); err != nil {
			return fmt.Errorf("workbook: write csv: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("workbook: write csv: %w", err)
	}
	return nil
}

// SafeText is s as a CSV text cell: prefixed with a single quote when it begins with a
// character that spreadsheets read as the start of a formula (=, +, -, @, or a tab or
// carriage return before one), so that an id or a reason is shown, never evaluated.
func SafeText(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
