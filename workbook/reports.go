package workbook

import (
	"strings"

	"github.com/hpcalc/hpcalc/calc"
)

// Names in Chinese of what the reports list, by the names the API and calc give them.
// A name without an entry is shown as it is.
var chinese = map[string]string{
	"total": "医疗总费用", "out_of_pocket": "个人自付", "public": "五线合计",
	"basic": "基本医疗保险", "critical": "大病保险", "commercial": "商业补充保险", "aid": "民政医疗救助", "backstop": "政府兜底",
	"township": "乡镇", "county": "县级", "municipal": "市级", "provincial": "省级", "out_of_province": "省外",
	"inpatient": "住院", "outpatient_chronic": "门诊慢特病",
	"none": "无救助类别", "dibao": "低保", "tekun": "特困供养",
}

// Label is how a report names an item: Chinese, then the API's name, e.g. "大病保险 critical".
// Key reverses it.
func Label(name string) string {
	if zh, ok := chinese[name]; ok {
		return zh + " " + name
	}
	return name
}

// Key is the API's name in a label Label made.
func Key(label string) string {
	if i := strings.LastIndexByte(label, ' '); i >= 0 {
		return label[i+1:]
	}
	return label
}

// The likely causes of an audit difference (batch's words) in Chinese.
var causesZh = map[string]string{
	"another policy version was in force at settlement": "结算时适用另一政策版本",
	"an earlier claim of the same person was reversed":  "同一人较早的理赔已冲销",
	"the claim was settled out of discharge order":      "未按出院顺序结算",
	"unexplained": "原因不明",
}

// Cause is a cause of a difference in Chinese and English.
func Cause(c string) string {
	if zh, ok := causesZh[c]; ok {
		return zh + " (" + c + ")"
	}
	return c
}

var (
	colItem     = Column{"项目", "Item", Text}
	colFrom     = Column{"起始日", "From", Text}
	colTo       = Column{"截止日", "To", Text}
	colClaims   = Column{"理赔数", "Claims", Count}
	colYuan     = Column{"金额（元）", "Amount (yuan)", Yuan}
	colWan      = Column{"万元", "10k yuan", Wan}
	colPaid     = Column{"已付（元）", "Paid (yuan)", Yuan}
	colReplayed = Column{"重算（元）", "Replayed (yuan)", Yuan}
	colDiff     = Column{"差额（元）", "Difference (yuan)", Yuan}
	colBaseline = Column{"基线（元）", "Baseline (yuan)", Yuan}
	colScenario = Column{"方案（元）", "Scenario (yuan)", Yuan}
	colChange   = Column{"变化（元）", "Change (yuan)", Yuan}
)

// items are a tally's rows in report order: the total cost, the five lines, and what
// patients paid; public (the five lines together) after the lines when asked.
func items(t *calc.Tally, public bool) (names []string, amounts []calc.Money) {
	names, amounts = append(names, "total"), append(amounts, t.Total)
	var sum calc.Money
	for _, l := range calc.Lines() {
		names, amounts = append(names, l.String()), append(amounts, t.Lines[l])
		sum += t.Lines[l]
	}
	if public {
		names, amounts = append(names, "public"), append(amounts, sum)
	}
	return append(names, "out_of_pocket"), append(amounts, t.OutOfPocket)
}

// Tally is the tally of the claims discharged from From to To, net of reversals: the
// sheet of totals in yuan and 万元, and the period with its count of claims.
func Tally(from, to calc.Date, t calc.Tally) *Book {
	sum := &Table{Sheet: "合计 Tally", Columns: []Column{colItem, colYuan, colWan}}
	names, amounts := items(&t, false)
	for i, n := range names {
		sum.Add(Str(Label(n)), Money(amounts[i]), WanOf(amounts[i]))
	}
	period := &Table{Sheet: "期间 Period", Columns: []Column{colFrom, colTo, colClaims}}
	period.Add(Str(from.String()), Str(to.String()), Int(t.Claims))
	return &Book{Name: "tally-" + from.String() + "-" + to.String(), Tables: []*Table{sum, period}}
}

// Audit is an audit replay of the claims discharged in a period.
type Audit struct {
	From, To       calc.Date
	Policy         string // "in-force" or the one version every claim was replayed under
	Claims         int    // claims replayed (those not reversed)
	Reversed       int    // reversed claims, left out
	Paid, Replayed calc.Tally
	Differences    []Difference
}

// Difference is a claim whose replay differs from what was paid.
type Difference struct {
	ClaimID, PersonID                    string
	PaidVersion, ReplayedVersion         string
	Paid, Replayed                       [calc.NumLines]calc.Money
	PaidOutOfPocket, ReplayedOutOfPocket calc.Money
	Causes                               []string
}

// AuditBook is an audit as a workbook: the summary as paid and as replayed, the period
// and its counts, and one row per line of a claim where paid and replayed differ
// (out-of-pocket included), with the versions and the likely causes.
func AuditBook(a *Audit) *Book {
	sum := &Table{Sheet: "汇总 Summary", Columns: []Column{colItem, colPaid, colReplayed, colDiff}}
	names, paid := items(&a.Paid, false)
	_, replayed := items(&a.Replayed, false)
	for i, n := range names {
		sum.Add(Str(Label(n)), Money(paid[i]), Money(replayed[i]), Money(replayed[i]-paid[i]))
	}
	period := &Table{Sheet: "期间 Period", Columns: []Column{colFrom, colTo, {"政策", "Policy", Text},
		{"重算理赔数", "Claims replayed", Count}, {"已冲销", "Reversed", Count}, {"有差异理赔数", "Claims that differ", Count}}}
	period.Add(Str(a.From.String()), Str(a.To.String()), Str(a.Policy), Int(a.Claims), Int(a.Reversed), Int(len(a.Differences)))
	diffs := &Table{Sheet: "差异 Differences", Columns: []Column{{"理赔", "Claim", Text}, {"人员", "Person", Text},
		{"保障线", "Line", Text}, colPaid, colReplayed, colDiff,
		{"结算时版本", "Paid under", Text}, {"重算版本", "Replayed under", Text}, {"可能原因", "Likely causes", Text}}}
	for i := range a.Differences {
		d := &a.Differences[i]
		causes := make([]string, len(d.Causes))
		for j, c := range d.Causes {
			causes[j] = Cause(c)
		}
		row := func(name string, paid, replayed calc.Money) {
			if paid != replayed {
				diffs.Add(Str(d.ClaimID), Str(d.PersonID), Str(Label(name)), Money(paid), Money(replayed), Money(replayed-paid),
					Str(d.PaidVersion), Str(d.ReplayedVersion), Str(strings.Join(causes, "; ")))
			}
		}
		for _, l := range calc.Lines() {
			row(l.String(), d.Paid[l], d.Replayed[l])
		}
		row("out_of_pocket", d.PaidOutOfPocket, d.ReplayedOutOfPocket)
	}
	return &Book{Name: "audit-" + a.From.String() + "-" + a.To.String(), Tables: []*Table{sum, period, diffs}}
}

// WhatIf is a what-if run on the claims of a period: a baseline under the published
// policies and a scenario under the same with a change.
type WhatIf struct {
	From, To                   calc.Date
	Change                     string // the partial policy document, as the user gave it
	Claims                     int
	Baseline, Scenario         calc.Tally
	ByLevel, ByKind, ByAid     []Group
	LargestRises, LargestFalls []Household
	PayMore, PayLess           int // patients who would pay more and less out of pocket
}

// Group is one provider level's, claim kind's or aid category's totals under both runs.
type Group struct {
	Name               string // as the API names it: "county", "inpatient", "dibao"
	Baseline, Scenario calc.Tally
}

// Household is what changes for one household's claims: scenario less baseline.
type Household struct {
	ID                  string
	Lines               [calc.NumLines]calc.Money
	Public, OutOfPocket calc.Money
}

// WhatIfBook is a what-if as a workbook: baseline, scenario and change per line; the
// period, change and counts; the same by level, kind and aid category; and the
// households whose claims would cost most more and less.
func WhatIfBook(w *WhatIf) *Book {
	lines := &Table{Sheet: "各线 Lines", Columns: []Column{colItem, colBaseline, colScenario, colChange}}
	names, base := items(&w.Baseline, true)
	_, scen := items(&w.Scenario, true)
	for i, n := range names {
		lines.Add(Str(Label(n)), Money(base[i]), Money(scen[i]), Money(scen[i]-base[i]))
	}
	period := &Table{Sheet: "期间 Period", Columns: []Column{colFrom, colTo, {"政策变更", "Change", Text}, colClaims,
		{"多付的患者", "Patients paying more", Count}, {"少付的患者", "Patients paying less", Count}}}
	period.Add(Str(w.From.String()), Str(w.To.String()), Str(w.Change), Int(w.Claims), Int(w.PayMore), Int(w.PayLess))
	tables := []*Table{lines, period}
	for _, g := range []struct {
		sheet  string
		col    Column
		groups []Group
	}{
		{"按级别 By level", Column{"医疗机构级别", "Provider level", Text}, w.ByLevel},
		{"按类型 By kind", Column{"理赔类型", "Claim kind", Text}, w.ByKind},
		{"按救助类别 By aid category", Column{"救助类别", "Aid category", Text}, w.ByAid},
	} {
		t := &Table{Sheet: g.sheet, Columns: []Column{g.col, colClaims, colItem, colBaseline, colScenario, colChange}}
		for i := range g.groups {
			gr := &g.groups[i]
			names, base := items(&gr.Baseline, true)
			_, scen := items(&gr.Scenario, true)
			for j, n := range names {
				t.Add(Str(Label(gr.Name)), Int(gr.Baseline.Claims), Str(Label(n)), Money(base[j]), Money(scen[j]), Money(scen[j]-base[j]))
			}
		}
		tables = append(tables, t)
	}
	for _, h := range []struct {
		sheet string
		list  []Household
	}{{"增加最多的户 Largest rises", w.LargestRises}, {"减少最多的户 Largest falls", w.LargestFalls}} {
		cols := []Column{{"户", "Household", Text}, {"五线合计变化（元）", "Public change (yuan)", Yuan},
			{"个人自付变化（元）", "Out-of-pocket change (yuan)", Yuan}}
		for _, l := range calc.Lines() {
			cols = append(cols, Column{chinese[l.String()] + "变化（元）", l.String() + " change (yuan)", Yuan})
		}
		t := &Table{Sheet: h.sheet, Columns: cols}
		for i := range h.list {
			x := &h.list[i]
			row := []Value{Str(x.ID), Money(x.Public), Money(x.OutOfPocket)}
			for _, l := range calc.Lines() {
				row = append(row, Money(x.Lines[l]))
			}
			t.Add(row...)
		}
		tables = append(tables, t)
	}
	return &Book{Name: "whatif-" + w.From.String() + "-" + w.To.String(), Tables: tables}
}

// Refunds is the refunds owed to patients for adjustments of claims discharged in a
// period: per person, with each adjustment that changed what the patient pays.
type Refunds struct {
	From, To calc.Date
	Persons  []RefundOwed
}

// RefundOwed is what one patient is owed, and the adjustments behind it.
type RefundOwed struct {
	PersonID    string
	Amount      calc.Money
	Adjustments []RefundLine
}

// RefundLine is one adjustment of a patient's share: a refund if positive, a refund taken
// back (by a reversal) if negative.
type RefundLine struct {
	ClaimID, SettlementID string
	Refund                calc.Money
	Cause, CauseID        string
	AdjustmentID          string
	CreatedAt             string // RFC 3339, UTC, to the second
}

var (
	colPerson     = Column{"人员编号", "Person", Text}
	colClaim      = Column{"理赔编号", "Claim", Text}
	colSettlement = Column{"结算编号", "Settlement", Text}
	colRefund     = Column{"应退（元）", "Refund (yuan)", Yuan}
	colCause      = Column{"原因", "Cause", Text}
	colCauseID    = Column{"原因编号", "Cause id", Text}
	colAdjustment = Column{"调整编号", "Adjustment", Text}
	colCreated    = Column{"时间", "Created (UTC)", Text}
)

// refundCauses are the causes of adjustments in Chinese and English.
var refundCauses = map[string]string{"reversal": "冲正后重算 (reversal)", "out_of_order": "按出院顺序重算 (out_of_order)"}

// RefundsBook is the refunds as a workbook: the sheet of what each person is owed, the
// sheet of the adjustments behind it, and the period with the total.
func RefundsBook(r *Refunds) *Book {
	owed := &Table{Sheet: "应退 Owed", Columns: []Column{colPerson, colRefund}}
	lines := &Table{Sheet: "调整 Adjustments", Columns: []Column{colPerson, colClaim, colSettlement, colRefund, colCause, colCauseID, colAdjustment, colCreated}}
	var total calc.Money
	for _, p := range r.Persons {
		owed.Add(Str(p.PersonID), Money(p.Amount))
		total += p.Amount
		for _, a := range p.Adjustments {
			cause := a.Cause
			if c, ok := refundCauses[cause]; ok {
				cause = c
			}
			lines.Add(Str(p.PersonID), Str(a.ClaimID), Str(a.SettlementID), Money(a.Refund), Str(cause), Str(a.CauseID), Str(a.AdjustmentID), Str(a.CreatedAt))
		}
	}
	period := &Table{Sheet: "期间 Period", Columns: []Column{colFrom, colTo, Column{"人数", "Persons", Count}, colYuan}}
	period.Add(Str(r.From.String()), Str(r.To.String()), Int(len(r.Persons)), Money(total))
	return &Book{Name: "refunds-" + r.From.String() + "-" + r.To.String(), Tables: []*Table{owed, lines, period}}
}
