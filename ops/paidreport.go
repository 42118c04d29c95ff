package ops

import (
	"strconv"
	"strings"

	"github.com/hpcalc/hpcalc/batch"
	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/workbook"
)

// PaidAuditReport is an audit from files as JSON: what POST /v1/audits answers and
// `hpcalc audit --claims FILE --paid FILE --format json` prints, byte for byte.
type PaidAuditReport struct {
	Claims      int                    `json:"claims"`      // in both files
	PaidRows    int                    `json:"paid_rows"`   // rows of the paid file
	Paid        Totals                 `json:"paid"`        // over the claims in both files
	Rules       Totals                 `json:"rules"`       // what the rules give on them
	ByKind      map[string]int         `json:"by_kind"`     // differing claims by the kind of their first cause
	Differences []PaidDifferenceReport `json:"differences"` // in person order, each person's in settlement order
	Drift       []DriftReport          `json:"drift"`       // person-years whose paid amounts differ
	NotPaid     []string               `json:"not_paid"`    // claims the paid file lacks
	NotClaimed  []string               `json:"not_claimed"` // paid claims the claims file lacks
}

// PaidDifferenceReport is a claim whose paid amounts differ from the rules, as JSON.
type PaidDifferenceReport struct {
	ClaimID  string           `json:"claim_id"`
	PersonID string           `json:"person_id"`
	Year     int              `json:"year"`
	Paid     map[string]Money `json:"paid"`  // per line and out_of_pocket
	Rules    map[string]Money `json:"rules"` // per line and out_of_pocket
	Root     string           `json:"root"`  // the first line, in cascade order, that differs
	Follows  []string         `json:"follows"`
	Kind     string           `json:"kind"` // the first cause's kind
	Causes   []CauseReport    `json:"causes"`
}

// CauseReport is a rule that reproduces what was paid on a claim.
type CauseReport struct {
	Kind   string `json:"kind"`
	Detail string `json:"detail"`
}

// DriftReport is a person-year whose paid amounts differ from the rules, as JSON.
type DriftReport struct {
	PersonID string           `json:"person_id"`
	Year     int              `json:"year"`
	Claims   int              `json:"claims"`
	Delta    map[string]Money `json:"delta"` // paid − rules, per line and out_of_pocket
}

func amounts(lines [calc.NumLines]calc.Money, oop calc.Money) map[string]Money {
	m := map[string]Money{"out_of_pocket": Money(oop)}
	for _, l := range calc.Lines() {
		m[l.String()] = Money(lines[l])
	}
	return m
}

// NewPaidAuditReport encodes an audit from files.
func NewPaidAuditReport(a *batch.PaidAudit) PaidAuditReport {
	r := PaidAuditReport{Claims: a.Claims, PaidRows: a.PaidFileRows, Paid: TotalsOf(a.Paid), Rules: TotalsOf(a.Rules),
		ByKind: map[string]int{}, Differences: []PaidDifferenceReport{}, Drift: []DriftReport{}, NotPaid: []string{}, NotClaimed: []string{}}
	for k, n := range a.ByKind {
		r.ByKind[string(k)] = n
	}
	for i := range a.Differences {
		d := &a.Differences[i]
		x := PaidDifferenceReport{ClaimID: d.ClaimID, PersonID: d.PersonID, Year: d.Year, Paid: amounts(d.Paid, d.PaidOOP),
			Rules: amounts(d.Rules, d.RulesOOP), Root: d.Root.String(), Follows: []string{}, Kind: string(d.Kind())}
		for _, l := range d.Follows {
			x.Follows = append(x.Follows, l.String())
		}
		for _, c := range d.Causes {
			x.Causes = append(x.Causes, CauseReport{Kind: string(c.Kind), Detail: c.Detail})
		}
		r.Differences = append(r.Differences, x)
	}
	for _, d := range a.Drift {
		r.Drift = append(r.Drift, DriftReport{PersonID: d.PersonID, Year: d.Year, Claims: d.Claims, Delta: amounts(d.Delta, d.OOPDelta)})
	}
	for _, u := range a.NotPaid {
		r.NotPaid = append(r.NotPaid, u.ClaimID)
	}
	for _, u := range a.NotClaimed {
		r.NotClaimed = append(r.NotClaimed, u.ClaimID)
	}
	return r
}

// PaidAuditColumns is the header of an audit from files as CSV: one row per differing
// claim, claim_id first.
func PaidAuditColumns() []string {
	h := []string{"claim_id", "person_id", "year", "root", "kind"}
	for _, l := range calc.Lines() {
		h = append(h, l.String()+"_paid", l.String()+"_rules")
	}
	return append(h, "out_of_pocket_paid", "out_of_pocket_rules", "follows", "causes")
}

// PaidAuditRow is differing claim d as a CSV row under PaidAuditColumns.
func PaidAuditRow(d *batch.PaidDifference) []string {
	row := []string{d.ClaimID, d.PersonID, strconv.Itoa(d.Year), d.Root.String(), string(d.Kind())}
	for _, l := range calc.Lines() {
		row = append(row, d.Paid[l].String(), d.Rules[l].String())
	}
	follows := make([]string, len(d.Follows))
	for i, l := range d.Follows {
		follows[i] = l.String()
	}
	return append(row, d.PaidOOP.String(), d.RulesOOP.String(), strings.Join(follows, " "), CauseText(d))
}

// CauseText is a differing claim's causes in words: the root line, what follows from it,
// and each rule that reproduces what was paid.
func CauseText(d *batch.PaidDifference) string {
	var b strings.Builder
	b.WriteString(d.Root.String() + " differs first")
	if len(d.Follows) > 0 {
		names := make([]string, len(d.Follows))
		for i, l := range d.Follows {
			names[i] = l.String()
		}
		verb := " follows"
		if len(names) > 1 {
			verb = " follow"
		}
		b.WriteString("; " + strings.Join(names, ", ") + verb + " from the root")
	}
	for _, c := range d.Causes {
		b.WriteString("; " + string(c.Kind) + ": " + c.Detail)
	}
	return b.String()
}

// PaidAuditBook is an audit from files as a workbook: the totals as paid and as the rules
// give, the counts, the differing claims with their causes, and the person-years that
// drifted.
func PaidAuditBook(a *batch.PaidAudit) *workbook.Book {
	yuan := func(zh, en string) workbook.Column { return workbook.Column{Zh: zh, En: en, Kind: workbook.Yuan} }
	text := func(zh, en string) workbook.Column { return workbook.Column{Zh: zh, En: en, Kind: workbook.Text} }
	count := func(zh, en string) workbook.Column { return workbook.Column{Zh: zh, En: en, Kind: workbook.Count} }
	sum := &workbook.Table{Sheet: "汇总 Summary", Columns: []workbook.Column{text("项目", "Item"), yuan("已付（元）", "Paid (yuan)"),
		yuan("按规则（元）", "Rules (yuan)"), yuan("差额（元）", "Paid − rules (yuan)")}}
	row := func(name string, paid, rules calc.Money) {
		sum.Add(workbook.Str(workbook.Label(name)), workbook.Money(paid), workbook.Money(rules), workbook.Money(paid-rules))
	}
	row("total", a.Paid.Total, a.Rules.Total)
	for _, l := range calc.Lines() {
		row(l.String(), a.Paid.Lines[l], a.Rules.Lines[l])
	}
	row("out_of_pocket", a.Paid.OutOfPocket, a.Rules.OutOfPocket)
	counts := &workbook.Table{Sheet: "计数 Counts", Columns: []workbook.Column{text("项目", "Item"), count("理赔数", "Claims")}}
	counts.Add(workbook.Str("两份文件均有 in both files"), workbook.Int(a.Claims))
	counts.Add(workbook.Str("有差异 differ"), workbook.Int(len(a.Differences)))
	for _, k := range batch.Kinds() {
		counts.Add(workbook.Str("原因 cause "+string(k)), workbook.Int(a.ByKind[k]))
	}
	counts.Add(workbook.Str("未见于支付文件 not in the paid file"), workbook.Int(len(a.NotPaid)))
	counts.Add(workbook.Str("未见于理赔文件 not in the claims file"), workbook.Int(len(a.NotClaimed)))
	diffs := &workbook.Table{Sheet: "差异 Differences", Columns: []workbook.Column{text("理赔", "Claim"), text("人员", "Person"),
		text("首个差异线", "Root line"), text("原因", "Kind")}}
	for _, l := range calc.Lines() {
		diffs.Columns = append(diffs.Columns, yuan(workbook.Label(l.String())+" 已付", l.String()+" paid"),
			yuan(workbook.Label(l.String())+" 规则", l.String()+" rules"))
	}
	diffs.Columns = append(diffs.Columns, text("说明", "Causes"))
	for i := range a.Differences {
		d := &a.Differences[i]
		r := []workbook.Value{workbook.Str(d.ClaimID), workbook.Str(d.PersonID), workbook.Str(workbook.Label(d.Root.String())), workbook.Str(string(d.Kind()))}
		for _, l := range calc.Lines() {
			r = append(r, workbook.Money(d.Paid[l]), workbook.Money(d.Rules[l]))
		}
		diffs.Add(append(r, workbook.Str(CauseText(d)))...)
	}
	drift := &workbook.Table{Sheet: "人员年度 Drift", Columns: []workbook.Column{text("人员", "Person"), count("年度", "Year"), count("差异理赔", "Claims")}}
	for _, l := range calc.Lines() {
		drift.Columns = append(drift.Columns, yuan(workbook.Label(l.String())+" 差额", l.String()+" paid − rules"))
	}
	for _, d := range a.Drift {
		r := []workbook.Value{workbook.Str(d.PersonID), workbook.Int(d.Year), workbook.Int(d.Claims)}
		for _, l := range calc.Lines() {
			r = append(r, workbook.Money(d.Delta[l]))
		}
		drift.Add(r...)
	}
	return &workbook.Book{Name: "audit-paid", Tables: []*workbook.Table{sum, counts, diffs, drift}}
}
