package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/ops"
)

const reconcileHelp = `
Reconcile settles again, in discharge order (POLICY.md "Order"), every person-year with a
standing claim discharged in the period, of one person with --person, each claim under the
policy version it was settled under, and lists every claim whose amounts would change.
Without --apply it stores nothing. With --apply it books each change as an adjustment
(cause out_of_order); a rise of a patient's share is paid by the backstop, a fall is a
refund owed. Applied twice, the second run books nothing.`

// reconciler is what the reconcile command needs of ops.
type reconciler interface {
	Reconcile(ctx context.Context, from, to calc.Date, personID string, apply bool) (ops.Reconciliation, error)
}

var _ reconciler = (*ops.Service)(nil)

func runReconcile(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("reconcile", reconcileHelp, stdout, stderr)
	var sf storeFlags
	sf.register(fs)
	from := fs.String("from", "", "first discharge day, YYYY-MM-DD (required)")
	to := fs.String("to", "", "last discharge day, YYYY-MM-DD (required)")
	person := fs.String("person", "", "only this person's `ID`")
	apply := fs.Bool("apply", false, "book the adjustments (without it: a dry run)")
	format := fs.String("format", "table", "output: table or json")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	fromDay, err := calc.ParseDate(*from)
	if err != nil {
		return fmt.Errorf("--from: %w", err)
	}
	toDay, err := calc.ParseDate(*to)
	if err != nil {
		return fmt.Errorf("--to: %w", err)
	}
	if toDay < fromDay {
		return fmt.Errorf("--to %s is before --from %s", toDay, fromDay)
	}
	if *format != "table" && *format != "json" {
		return fmt.Errorf("--format %q: want table or json", *format)
	}
	ctx := context.Background()
	s, err := sf.open(ctx, stderr)
	if err != nil {
		return err
	}
	defer s.Close()
	var o reconciler = ops.New(s)
	r, err := o.Reconcile(ctx, fromDay, toDay, *person, *apply)
	var stopped *ops.ReconcileStopped
	if err != nil && (!errors.As(err, &stopped) || stopped.Done == 0) {
		return err
	}
	// Stopped part way: what was done is printed, then the error says where it stopped
	// and that running it again completes it.
	if *format == "json" {
		if werr := writeReconcileJSON(stdout, r); werr != nil {
			return werr
		}
		return err
	}
	verb := "would book"
	if r.Applied {
		verb = "booked"
	}
	fmt.Fprintf(stdout, "Reconciliation %s of claims discharged %s to %s: %d person-years re-settled in order; %s %d adjustments.\n",
		r.ID, fromDay, toDay, r.PersonYears, verb, len(r.Adjustments))
	for _, a := range r.Adjustments {
		d := &a.Adjustment
		fmt.Fprintf(stdout, "  %s (%s, settlement %s):", d.ClaimID, d.PersonID, a.SettlementID)
		for _, l := range calc.Lines() {
			if d.Lines[l] != 0 {
				fmt.Fprintf(stdout, " %s %s", l, signed(d.Lines[l]))
			}
		}
		if d.Correction > 0 {
			fmt.Fprintf(stdout, "; the backstop pays the patient's rise of %s", d.Correction.Grouped())
		}
		if d.Refund() > 0 {
			fmt.Fprintf(stdout, "; refund owed %s", d.Refund().Grouped())
		}
		fmt.Fprintln(stdout)
	}
	if !r.Applied && len(r.Adjustments) > 0 && err == nil {
		fmt.Fprintln(stdout, "Nothing was stored: run again with --apply to book them.")
	}
	return err
}

func writeReconcileJSON(w io.Writer, r ops.Reconciliation) error {
	type adjustment struct {
		ClaimID      string               `json:"claim_id"`
		PersonID     string               `json:"person_id"`
		SettlementID string               `json:"settlement_id"`
		Lines        map[string]ops.Money `json:"lines"`
		OutOfPocket  ops.Money            `json:"out_of_pocket"`
		Correction   ops.Money            `json:"correction"`
	}
	out := struct {
		ID          string       `json:"reconciliation_id"`
		Applied     bool         `json:"applied"`
		PersonYears int          `json:"person_years"`
		Adjustments []adjustment `json:"adjustments"`
	}{ID: r.ID, Applied: r.Applied, PersonYears: r.PersonYears, Adjustments: []adjustment{}}
	for _, a := range r.Adjustments {
		d := &a.Adjustment
		lines := map[string]ops.Money{}
		for _, l := range calc.Lines() {
			lines[l.String()] = ops.Money(d.Lines[l])
		}
		out.Adjustments = append(out.Adjustments, adjustment{ClaimID: d.ClaimID, PersonID: d.PersonID, SettlementID: a.SettlementID,
			Lines: lines, OutOfPocket: ops.Money(d.OutOfPocket), Correction: ops.Money(d.Correction)})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
