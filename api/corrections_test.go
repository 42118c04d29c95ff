package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/fixtures"
	"github.com/hpcalc/hpcalc/store"
	"github.com/hpcalc/hpcalc/store/storetest"
	"github.com/hpcalc/hpcalc/workbook"
)

// corrected is the corrections part of a settlement's JSON.
type corrected struct {
	SettlementID string `json:"settlement_id"`
	Corrections  *struct {
		Original *amountsOut `json:"original"`
		Now      *amountsOut `json:"now"`
		Adjust   []struct {
			SettlementID string            `json:"settlement_id"`
			ClaimID      string            `json:"claim_id"`
			Cause        string            `json:"cause"`
			CauseID      string            `json:"cause_id"`
			Lines        map[string]string `json:"lines"`
			OutOfPocket  string            `json:"out_of_pocket"`
		} `json:"adjustments"`
	} `json:"corrections"`
}

type amountsOut struct {
	Lines       map[string]string `json:"lines"`
	OutOfPocket string            `json:"out_of_pocket"`
}

// replayOf settles claims from a fresh ledger in the order of calc.CompareClaims under the
// shipped policy, as if no other claim existed: what the person-year must add up to.
func replayOf(t *testing.T, person calc.Person, claims ...calc.Claim) ([]calc.Settlement, calc.Ledger) {
	t.Helper()
	d, err := fixtures.Load()
	if err != nil {
		t.Fatal(err)
	}
	var (
		out    []calc.Settlement
		ledger calc.Ledger
	)
	for _, c := range claims {
		var st calc.Settlement
		if err := calc.SettleInto(&st, d.Policies.At(c.DischargedOn), &person, &ledger, &c); err != nil {
			t.Fatal(err)
		}
		out = append(out, st)
	}
	return out, ledger
}

// The example of issue 9: two 20,000.00 in-policy inpatient claims A and B of one person at
// a provincial hospital, A reversed, then C like them. The tally must be what a
// from-scratch replay of B and C gives.
func TestReversalResettlesLaterClaims(t *testing.T) {
	storetest.ForEachDB(t, func(t *testing.T, s *store.Store) {
		v := newEnv(t, s)
		ctx := context.Background()
		person, err := s.Person(ctx, "P00001")
		if err != nil {
			t.Fatal(err)
		}
		claim := func(id string, day int) calc.Claim {
			d := calc.NewDate(2018, 6, day)
			return calc.Claim{ID: id, PersonID: "P00001", ProviderID: "PRV01", Level: calc.Provincial, Kind: calc.Inpatient,
				AdmittedOn: d - 3, DischargedOn: d, Total: 20000 * calc.Yuan, InPolicy: 20000 * calc.Yuan}
		}
		a, b, c := claim("A", 1), claim("B", 10), claim("C", 20)
		var sa, sb, sc settlement
		want(t, v.postJSON("/v1/settlements", asAdmin, claimBody(a)), http.StatusCreated, &sa)
		want(t, v.postJSON("/v1/settlements", asAdmin, claimBody(b)), http.StatusCreated, &sb)
		var rev corrected
		want(t, v.postJSON("/v1/settlements/"+sa.SettlementID+"/reversal", asAdmin, map[string]string{"reason": "wrong patient"}), http.StatusCreated, &rev)
		want(t, v.postJSON("/v1/settlements", asAdmin, claimBody(c)), http.StatusCreated, &sc)

		replayed, replayLedger := replayOf(t, person, b, c)
		var want3 calc.Tally
		for i := range replayed {
			want3.Add(&replayed[i])
		}
		// The figures, as a check that the replay is the one the issue meant.
		for l, yuan := range map[calc.Line]string{calc.Critical: "9528.00", calc.Commercial: "2805.60", calc.Backstop: "2546.40"} {
			if got := want3.Lines[l].String(); got != yuan {
				t.Fatalf("replay of B and C: %s %s, the issue says %s", l, got, yuan)
			}
		}

		var tally struct {
			Claims int `json:"claims"`
			Lines  []struct {
				Name   string `json:"name"`
				Amount string `json:"amount"`
			} `json:"lines"`
			OutOfPocket string `json:"out_of_pocket"`
		}
		want(t, v.do(http.MethodGet, "/v1/reports/tally?from=2018-01-01&to=2018-12-31", asAuditor, "", nil), http.StatusOK, &tally)
		if tally.Claims != 2 || tally.OutOfPocket != want3.OutOfPocket.String() {
			t.Errorf("tally claims %d, out of pocket %s; want 2, %s", tally.Claims, tally.OutOfPocket, want3.OutOfPocket)
		}
		for i, l := range calc.Lines() {
			if tally.Lines[i].Amount != want3.Lines[l].String() {
				t.Errorf("tally %s %s, replay %s", l, tally.Lines[i].Amount, want3.Lines[l])
			}
		}

		// The reversal booked one adjustment, to B, caused by it.
		if rev.Corrections == nil || len(rev.Corrections.Adjust) != 1 {
			t.Fatalf("reversal's corrections %+v", rev.Corrections)
		}
		adj := rev.Corrections.Adjust[0]
		wantCritical := replayed[0].Lines[calc.Critical].Amount - mustMoney(t, sb.Lines[calc.Critical].Amount)
		if adj.SettlementID != sb.SettlementID || adj.ClaimID != "B" || adj.Cause != store.CauseReversal ||
			adj.CauseID != rev.SettlementID || adj.Lines["critical"] != wantCritical.String() || adj.OutOfPocket != "0.00" {
			t.Errorf("adjustment %+v, want critical %s", adj, wantCritical)
		}
		// B's JSON shows what it paid first, what it pays now and the adjustment.
		var gotB corrected
		want(t, v.do(http.MethodGet, "/v1/settlements/"+sb.SettlementID, asAuditor, "", nil), http.StatusOK, &gotB)
		if gotB.Corrections == nil || gotB.Corrections.Original.Lines["critical"] != sb.Lines[calc.Critical].Amount ||
			gotB.Corrections.Now.Lines["critical"] != replayed[0].Lines[calc.Critical].Amount.String() || len(gotB.Corrections.Adjust) != 1 {
			t.Errorf("B's corrections %+v", gotB.Corrections)
		}
		for _, l := range calc.Lines() {
			if got := gotB.Corrections.Now.Lines[l.String()]; got != replayed[0].Lines[l].Amount.String() {
				t.Errorf("B now pays %s on %s, the replay %s", got, l, replayed[0].Lines[l].Amount)
			}
		}

		// The ledger is the replay's, and the settlements, reversals and adjustments add up
		// to it.
		stored, err := s.Ledger(ctx, "P00001", 2018)
		if err != nil {
			t.Fatal(err)
		}
		rebuilt, err := s.LedgerFromSettlements(ctx, "P00001", 2018)
		if err != nil {
			t.Fatal(err)
		}
		if stored != replayLedger || rebuilt != replayLedger {
			t.Errorf("ledger\n stored  %+v\n rebuilt %+v\n replay  %+v", stored, rebuilt, replayLedger)
		}

		// An audit of a period that leaves A out finds nothing to explain.
		var audit struct {
			Claims      int   `json:"claims"`
			Differences []any `json:"differences"`
		}
		want(t, v.do(http.MethodPost, "/v1/replays", asAuditor, "application/json",
			[]byte(`{"from":"2018-06-05","to":"2018-12-31","policy":"in-force"}`)), http.StatusOK, &audit)
		if audit.Claims != 2 || len(audit.Differences) != 0 {
			t.Errorf("audit without A: %+v", audit)
		}

		// Reversing A again stays a conflict, and books nothing.
		want(t, v.postJSON("/v1/settlements/"+sa.SettlementID+"/reversal", asAdmin, map[string]string{"reason": "again"}), http.StatusConflict, nil)
		if again, err := s.Ledger(ctx, "P00001", 2018); err != nil || again != replayLedger {
			t.Errorf("ledger after a second reversal %+v, %v", again, err)
		}
	})
}

func mustMoney(t *testing.T, s string) calc.Money {
	t.Helper()
	m, err := calc.ParseMoney(s)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// Claims settled out of order, put right by a reconciliation through the API: an auditor
// runs it dry, only an admin applies it, applying twice books nothing, and the fall of a
// patient's share shows in the refunds report.
func TestReconciliationAndRefunds(t *testing.T) {
	storetest.ForEachDB(t, func(t *testing.T, s *store.Store) {
		v := newEnv(t, s)
		person, err := s.Person(context.Background(), "P00001")
		if err != nil {
			t.Fatal(err)
		}
		claim := func(id string, month time.Month, in calc.Money) calc.Claim {
			d := calc.NewDate(2018, month, 15)
			return calc.Claim{ID: id, PersonID: "P00001", ProviderID: "TWN01", Level: calc.Township, Kind: calc.Inpatient,
				AdmittedOn: d - 3, DischargedOn: d, Total: in, InPolicy: in}
		}
		// C, discharged last, is settled first: below the critical-illness deductible.
		a, c := claim("EARLY", time.February, 40000*calc.Yuan), claim("LATE", time.May, 20000*calc.Yuan)
		var sc settlement
		want(t, v.postJSON("/v1/settlements", asAdmin, claimBody(c)), http.StatusCreated, &sc)
		want(t, v.postJSON("/v1/settlements", asAdmin, claimBody(a)), http.StatusCreated, nil)
		replayed, _ := replayOf(t, person, a, c)
		refund := mustMoney(t, sc.OutOfPocket) - replayed[1].OutOfPocket
		if refund <= 0 {
			t.Fatalf("the replay does not lower LATE's patient share (%s, then %s): no refund to test", sc.OutOfPocket, replayed[1].OutOfPocket)
		}

		type reconciliation struct {
			ID          string            `json:"reconciliation_id"`
			Applied     bool              `json:"applied"`
			PersonYears int               `json:"person_years"`
			Lines       map[string]string `json:"lines"`
			OutOfPocket string            `json:"out_of_pocket"`
			Adjustments []struct {
				ClaimID string `json:"claim_id"`
				Cause   string `json:"cause"`
				CauseID string `json:"cause_id"`
				Refund  string `json:"refund"`
			} `json:"adjustments"`
		}
		body := map[string]any{"from": "2018-01-01", "to": "2018-12-31"}
		var dry, applied, again reconciliation
		want(t, v.postJSON("/v1/reconciliations", asAuditor, body), http.StatusOK, &dry)
		// EARLY, settled second, now comes first: its share of the burden moves below the
		// deductible, and the backstop pays the rise of its patient's share. LATE's
		// patient is owed a refund.
		if dry.Applied || dry.PersonYears != 1 || len(dry.Adjustments) != 2 || dry.Adjustments[0].ClaimID != "EARLY" ||
			dry.Adjustments[0].Refund != "0.00" || dry.Adjustments[1].ClaimID != "LATE" ||
			dry.Adjustments[1].Refund != refund.String() || dry.OutOfPocket != (-refund).String() {
			t.Errorf("dry run %+v; want EARLY corrected and LATE refunded %s", dry, refund)
		}
		body["apply"] = true
		want(t, v.postJSON("/v1/reconciliations", asAuditor, body), http.StatusForbidden, nil)
		want(t, v.postJSON("/v1/reconciliations", asFinance, body), http.StatusForbidden, nil)
		want(t, v.postJSON("/v1/reconciliations", asAdmin, body), http.StatusCreated, &applied)
		if !applied.Applied || len(applied.Adjustments) != 2 || applied.Adjustments[0].Cause != store.CauseOutOfOrder ||
			applied.Adjustments[0].CauseID != applied.ID {
			t.Errorf("applied %+v", applied)
		}
		want(t, v.postJSON("/v1/reconciliations", asAdmin, body), http.StatusOK, &again)
		if len(again.Adjustments) != 0 {
			t.Errorf("applied twice: %+v", again)
		}
		var gotC corrected
		want(t, v.do(http.MethodGet, "/v1/settlements/"+sc.SettlementID, asAuditor, "", nil), http.StatusOK, &gotC)
		if gotC.Corrections == nil || gotC.Corrections.Now.OutOfPocket != replayed[1].OutOfPocket.String() {
			t.Errorf("LATE's corrections %+v; the patient pays %s in the replay", gotC.Corrections, replayed[1].OutOfPocket)
		}

		for _, bad := range []map[string]any{
			{"from": "2018-02-01", "to": "2018-01-01"},
			{"from": "2018-01-01", "to": "2018-12-31", "person_id": "P-none"},
			{"from": "2018-01-01", "to": "2018-12-31", "apply": "yes"},
		} {
			want(t, v.postJSON("/v1/reconciliations", asAdmin, bad), http.StatusUnprocessableEntity, nil)
		}

		var report struct {
			Total   string `json:"total"`
			Refunds []struct {
				PersonID    string `json:"person_id"`
				Amount      string `json:"amount"`
				Adjustments []struct {
					ClaimID string `json:"claim_id"`
					Cause   string `json:"cause"`
				} `json:"adjustments"`
			} `json:"refunds"`
		}
		want(t, v.do(http.MethodGet, "/v1/reports/refunds?from=2018-01-01&to=2018-12-31", asFinance, "", nil), http.StatusOK, &report)
		if report.Total != refund.String() || len(report.Refunds) != 1 || report.Refunds[0].PersonID != "P00001" ||
			report.Refunds[0].Amount != refund.String() || len(report.Refunds[0].Adjustments) != 1 ||
			report.Refunds[0].Adjustments[0].ClaimID != "LATE" || report.Refunds[0].Adjustments[0].Cause != store.CauseOutOfOrder {
			t.Errorf("refunds %+v; want P00001 owed %s for LATE", report, refund)
		}
		rec := v.do(http.MethodGet, "/v1/reports/refunds?from=2018-01-01&to=2018-12-31&format=csv", asAuditor, "", nil)
		want(t, rec, http.StatusOK, nil)
		lines := strings.Split(strings.TrimSpace(rec.Body.String()), "\n")
		if len(lines) != 2 || !strings.HasPrefix(lines[1], "P00001,LATE,"+sc.SettlementID+","+refund.String()+",out_of_order,"+applied.ID+",") {
			t.Errorf("refunds CSV:\n%s", rec.Body)
		}
		// The workbook, asked for by the Accept header, holds the same.
		rec = v.do(http.MethodGet, "/v1/reports/refunds?from=2018-01-01&to=2018-12-31", asAuditor, "", nil, "Accept", workbook.MediaXLSX)
		f := book(t, rec, "refunds-2018-01-01-2018-12-31.xlsx")
		if owed := sheet(t, f, "应退 Owed", "tm"); len(owed) != 1 || owed[0][0] != "P00001" || money(t, owed[0][1]) != refund {
			t.Errorf("refunds workbook, owed: %q; want P00001 owed %s", owed, refund)
		}
		if adjs := sheet(t, f, "调整 Adjustments", "tttmtttt"); len(adjs) != 1 || adjs[0][0] != "P00001" || adjs[0][1] != "LATE" ||
			adjs[0][2] != sc.SettlementID || money(t, adjs[0][3]) != refund || !strings.HasSuffix(adjs[0][4], "(out_of_order)") || adjs[0][5] != applied.ID {
			t.Errorf("refunds workbook, adjustments: %q", adjs)
		}
		if period := sheet(t, f, "期间 Period", "ttmm"); len(period) != 1 || count(t, period[0][2]) != 1 || money(t, period[0][3]) != refund {
			t.Errorf("refunds workbook, period: %q", period)
		}
		want(t, v.do(http.MethodGet, "/v1/reports/refunds?from=2018-01-01&to=2018-12-31", asClinic, "", nil), http.StatusForbidden, nil)
		want(t, v.do(http.MethodGet, "/v1/reports/refunds?from=2018-01-01", asAuditor, "", nil), http.StatusBadRequest, nil)
	})
}
