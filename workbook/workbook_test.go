package workbook_test

import (
	"bytes"
	"encoding/csv"
	"errors"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/fixtures"
	"github.com/hpcalc/hpcalc/replay"
	"github.com/hpcalc/hpcalc/workbook"
	"github.com/xuri/excelize/v2"
)

// openXLSX writes b as xlsx and opens it with excelize.
func openXLSX(t *testing.T, b *workbook.Book) *excelize.File {
	t.Helper()
	var buf bytes.Buffer
	if err := b.WriteXLSX(&buf); err != nil {
		t.Fatalf("WriteXLSX: %v", err)
	}
	f, err := excelize.OpenReader(&buf)
	if err != nil {
		t.Fatalf("open the workbook written: %v", err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// readCSV writes b as CSV and reads it back, checking the byte order mark.
func readCSV(t *testing.T, b *workbook.Book) [][]string {
	t.Helper()
	var buf bytes.Buffer
	if err := b.WriteCSV(&buf); err != nil {
		t.Fatalf("WriteCSV: %v", err)
	}
	body, ok := bytes.CutPrefix(buf.Bytes(), []byte("\uFEFF"))
	if !ok {
		t.Fatalf("CSV does not begin with a byte order mark: %q", buf.Bytes()[:min(buf.Len(), 10)])
	}
	r := csv.NewReader(bytes.NewReader(body))
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatalf("read the CSV written: %v", err)
	}
	return recs
}

// cellMoney reads a cell that must be a number with the yuan format and returns it in fen.
func cellMoney(t *testing.T, f *excelize.File, sheet, cell string) calc.Money {
	t.Helper()
	typ, err := f.GetCellType(sheet, cell)
	if err != nil {
		t.Fatal(err)
	}
	if typ != excelize.CellTypeUnset && typ != excelize.CellTypeNumber {
		t.Errorf("%s!%s is of type %d, not a number", sheet, cell, typ)
	}
	raw, err := f.GetCellValue(sheet, cell, excelize.Options{RawCellValue: true})
	if err != nil {
		t.Fatal(err)
	}
	m, err := calc.ParseMoney(raw)
	if err != nil {
		t.Fatalf("%s!%s = %q: %v", sheet, cell, raw, err)
	}
	return m
}

// cellCount reads a cell that must be a whole number.
func cellCount(t *testing.T, f *excelize.File, sheet, cell string) int {
	t.Helper()
	typ, err := f.GetCellType(sheet, cell)
	if err != nil {
		t.Fatal(err)
	}
	if typ != excelize.CellTypeUnset && typ != excelize.CellTypeNumber {
		t.Errorf("%s!%s is of type %d, not a number", sheet, cell, typ)
	}
	raw, err := f.GetCellValue(sheet, cell, excelize.Options{RawCellValue: true})
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(raw)
	if err != nil {
		t.Fatalf("%s!%s = %q: %v", sheet, cell, raw, err)
	}
	return n
}

func TestMoneyReadsBackExactly(t *testing.T) {
	amounts := []calc.Money{0, 1, -1, 7, -7, 10, 99, 100, 123456, -123456, 1234_56, 1_000_000_01, calc.MaxAmount, -calc.MaxAmount,
		9_999_999_999_999_99, -9_999_999_999_999_99, 1_099_999_999_999_99, 333_333_333_33}
	r := rand.New(rand.NewPCG(1, 2))
	for range 5000 {
		amounts = append(amounts, calc.Money(r.Int64N(2*int64(calc.MaxAmount))-int64(calc.MaxAmount)))
	}
	for range 1000 {
		amounts = append(amounts, calc.Money(r.Int64N(1_000_000_000_000_000)))
	}
	// And every amount the shipped replay pays: what a real tally is made of.
	d, err := fixtures.Load()
	if err != nil {
		t.Fatal(err)
	}
	res, err := replay.Run(d.Policies, d.Persons, d.Claims.Claims)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range res.Settlements {
		amounts = append(amounts, s.Total, s.OutOfPocket)
		for _, l := range s.Lines {
			amounts = append(amounts, l.Amount)
		}
	}

	tbl := &workbook.Table{Sheet: "amounts", Columns: []workbook.Column{{Zh: "金额", En: "Amount", Kind: workbook.Yuan}}}
	for _, m := range amounts {
		tbl.Add(workbook.Money(m))
	}
	book := &workbook.Book{Name: "amounts", Tables: []*workbook.Table{tbl}}
	f := openXLSX(t, book)
	style, err := f.GetCellStyle("amounts", "A2")
	if err != nil {
		t.Fatal(err)
	}
	st, err := f.GetStyle(style)
	if err != nil {
		t.Fatal(err)
	}
	if st.CustomNumFmt == nil || !strings.Contains(*st.CustomNumFmt, "¥") || !strings.Contains(*st.CustomNumFmt, "#,##0.00") {
		t.Errorf("money cells' number format %v, want a yuan format with two decimals", st.CustomNumFmt)
	}
	rows, err := f.GetRows("amounts", excelize.Options{RawCellValue: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(amounts)+1 {
		t.Fatalf("%d rows, want %d", len(rows), len(amounts)+1)
	}
	for i, m := range amounts {
		if got, err := calc.ParseMoney(rows[i+1][0]); err != nil || got != m {
			t.Errorf("row %d: wrote %s, read back %q (%v)", i+2, m, rows[i+1][0], err)
		}
	}
	for _, cell := range []string{"A2", "A8", "A11"} {
		cellMoney(t, f, "amounts", cell) // number type
	}

	recs := readCSV(t, book)
	for i, m := range amounts {
		if got, err := calc.ParseMoney(recs[i+1][0]); err != nil || got != m || recs[i+1][0] != m.String() {
			t.Errorf("CSV row %d: wrote %s, read back %q (%v)", i+2, m, recs[i+1][0], err)
		}
	}
}

func TestFormattedValueShowsYuan(t *testing.T) {
	tbl := &workbook.Table{Sheet: "s", Columns: []workbook.Column{{Zh: "金额", En: "Amount", Kind: workbook.Yuan},
		{Zh: "万元", En: "Wan", Kind: workbook.Wan}, {Zh: "数", En: "N", Kind: workbook.Count}}}
	tbl.Add(workbook.Money(1234_56), workbook.WanOf(2_663_300_00), workbook.Int(1234567))
	f := openXLSX(t, &workbook.Book{Tables: []*workbook.Table{tbl}})
	for cell, want := range map[string]string{"A2": "¥1,234.56", "B2": "266.33", "C2": "1,234,567"} {
		if got, err := f.GetCellValue("s", cell); err != nil || got != want {
			t.Errorf("%s shows %q (%v), want %q", cell, got, err, want)
		}
	}
}

func TestTooLarge(t *testing.T) {
	tbl := &workbook.Table{Sheet: "s", Columns: []workbook.Column{{Zh: "金额", En: "Amount", Kind: workbook.Yuan}}}
	tbl.Add(workbook.Money(10_000_000_000_000_00))
	err := (&workbook.Book{Tables: []*workbook.Table{tbl}}).WriteXLSX(new(bytes.Buffer))
	if !errors.Is(err, workbook.ErrTooLarge) {
		t.Errorf("an amount of 16 digits: %v, want ErrTooLarge", err)
	}
}

// hostile are user data that a spreadsheet would read as formulas if written naively.
var hostile = []string{"=1+2", "+1+2", "-2+3", "@SUM(A1:A2)", "=HYPERLINK(\"http://x\",\"y\")", "=cmd|' /C calc'!A0", "\t=1+1", "\r=1+1"}

func TestFormulaInjection(t *testing.T) {
	tbl := &workbook.Table{Sheet: "s", Columns: []workbook.Column{{Zh: "理赔", En: "Claim", Kind: workbook.Text},
		{Zh: "金额", En: "Amount", Kind: workbook.Yuan}}}
	for _, s := range hostile {
		tbl.Add(workbook.Str(s), workbook.Money(-100))
	}
	tbl.Add(workbook.Str("C-1=2"), workbook.Money(1)) // = inside, not first: left alone
	book := &workbook.Book{Tables: []*workbook.Table{tbl}}

	t.Run("xlsx", func(t *testing.T) {
		f := openXLSX(t, book)
		for i, s := range hostile {
			cell := "A" + itoa(i+2)
			if formula, err := f.GetCellFormula("s", cell); err != nil || formula != "" {
				t.Errorf("%s (%q) has formula %q (%v)", cell, s, formula, err)
			}
			if typ, err := f.GetCellType("s", cell); err != nil || typ != excelize.CellTypeInlineString {
				t.Errorf("%s (%q) is of type %d, want an inline string (%v)", cell, s, typ, err)
			}
			got, err := f.GetCellValue("s", cell)
			// excelize trims nothing but leading/trailing \r\n\t handling is XML's: compare
			// what a reader sees with what was written.
			if err != nil || got != s {
				t.Errorf("%s reads %q (%v), want %q", cell, got, err, s)
			}
			if m := cellMoney(t, f, "s", "B"+itoa(i+2)); m != -100 {
				t.Errorf("B%d = %s, want -1.00", i+2, m)
			}
		}
	})
	t.Run("csv", func(t *testing.T) {
		recs := readCSV(t, book)
		for i, s := range hostile {
			if got := recs[i+1][0]; got != "'"+s {
				t.Errorf("row %d: %q, want %q", i+2, got, "'"+s)
			}
			if got := recs[i+1][1]; got != "-1.00" {
				t.Errorf("row %d amount %q, want -1.00 (a number of ours is not quoted)", i+2, got)
			}
		}
		if got := recs[len(hostile)+1][0]; got != "C-1=2" {
			t.Errorf("%q, want C-1=2 unchanged", got)
		}
	})
}

func itoa(n int) string {
	name, _ := excelize.CoordinatesToCellName(1, n)
	return strings.TrimPrefix(name, "A")
}

func TestSheetsHeadersAndPanes(t *testing.T) {
	d, err := fixtures.Load()
	if err != nil {
		t.Fatal(err)
	}
	res, err := replay.Run(d.Policies, d.Persons, d.Claims.Claims)
	if err != nil {
		t.Fatal(err)
	}
	from, to := date(t, "2018-01-01"), date(t, "2018-12-31")
	book := workbook.Tally(from, to, res.Tally)
	f := openXLSX(t, book)
	var want []string
	for _, tb := range book.Tables {
		want = append(want, tb.Sheet)
	}
	if got := f.GetSheetList(); !slices.Equal(got, want) {
		t.Errorf("sheets %q, want %q", got, want)
	}
	for _, tb := range book.Tables {
		panes, err := f.GetPanes(tb.Sheet)
		if err != nil || !panes.Freeze || panes.YSplit != 1 || panes.TopLeftCell != "A2" {
			t.Errorf("%s panes %+v (%v), want the first row frozen", tb.Sheet, panes, err)
		}
		rows, err := f.GetRows(tb.Sheet)
		if err != nil {
			t.Fatal(err)
		}
		for j, c := range tb.Columns {
			if rows[0][j] != c.Zh+" / "+c.En || !hasHan(c.Zh) || hasHan(c.En) || c.En == "" {
				t.Errorf("%s header %d = %q, want Chinese / English", tb.Sheet, j+1, rows[0][j])
			}
		}
	}
	// The figures: each line's amount and 万元 as the tally has them.
	rows, err := f.GetRows("合计 Tally", excelize.Options{RawCellValue: true})
	if err != nil {
		t.Fatal(err)
	}
	want2 := map[string]calc.Money{"total": res.Tally.Total, "out_of_pocket": res.Tally.OutOfPocket}
	for _, l := range calc.Lines() {
		want2[l.String()] = res.Tally.Lines[l]
	}
	if len(rows) != len(want2)+1 {
		t.Fatalf("%d rows, want %d", len(rows), len(want2)+1)
	}
	for i, row := range rows[1:] {
		key := workbook.Key(row[0])
		m, ok := want2[key]
		if !ok {
			t.Errorf("unexpected row %q", row[0])
			continue
		}
		if got := cellMoney(t, f, "合计 Tally", "B"+itoa(i+2)); got != m {
			t.Errorf("%s = %s, want %s", key, got, m)
		}
		if w, err := calc.ParseMoney(row[2]); err != nil || w.String() != strings.ReplaceAll(m.Wan(), ",", "") {
			t.Errorf("%s 万元 %q, want %s", key, row[2], m.Wan())
		}
	}
	if got := cellCount(t, f, "期间 Period", "C2"); got != res.Tally.Claims {
		t.Errorf("claims %d, want %d", got, res.Tally.Claims)
	}

	recs := readCSV(t, book)
	if recs[0][0] != "合计 Tally" || recs[1][0] != "项目 / Item" || recs[2][0] != "医疗总费用 total" || recs[2][1] != res.Tally.Total.String() {
		t.Errorf("CSV begins %q", recs[:3])
	}
}

func hasHan(s string) bool {
	for _, r := range s {
		if r >= 0x4E00 && r <= 0x9FFF {
			return true
		}
	}
	return false
}

func TestBadTables(t *testing.T) {
	for _, tc := range []struct {
		name string
		tbl  workbook.Table
	}{
		{"short row", workbook.Table{Sheet: "s", Columns: []workbook.Column{{Kind: workbook.Text}, {Kind: workbook.Yuan}},
			Rows: [][]workbook.Value{{workbook.Str("x")}}}},
		{"wrong kind", workbook.Table{Sheet: "s", Columns: []workbook.Column{{Kind: workbook.Yuan}},
			Rows: [][]workbook.Value{{workbook.Str("1.00")}}}},
		{"sheet name", workbook.Table{Sheet: "a/b", Columns: []workbook.Column{{Kind: workbook.Text}}}},
		{"long sheet name", workbook.Table{Sheet: strings.Repeat("表", 32), Columns: []workbook.Column{{Kind: workbook.Text}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := &workbook.Book{Tables: []*workbook.Table{&tc.tbl}}
			if err := b.WriteXLSX(new(bytes.Buffer)); err == nil {
				t.Error("WriteXLSX: no error")
			}
			if err := b.WriteCSV(new(bytes.Buffer)); err == nil {
				t.Error("WriteCSV: no error")
			}
		})
	}
}

func TestOneTableCSVHasNoSectionTitle(t *testing.T) {
	tbl := &workbook.Table{Sheet: "s", Columns: []workbook.Column{{Zh: "户", En: "Household", Kind: workbook.Text}}}
	tbl.Add(workbook.Str("H1"))
	recs := readCSV(t, &workbook.Book{Tables: []*workbook.Table{tbl}})
	if want := [][]string{{"户 / Household"}, {"H1"}}; !slices.EqualFunc(recs, want, slices.Equal) {
		t.Errorf("CSV %q, want %q", recs, want)
	}
}

func date(t *testing.T, s string) calc.Date {
	t.Helper()
	d, err := calc.ParseDate(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}
