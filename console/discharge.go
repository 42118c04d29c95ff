package console

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/store"
	"github.com/labstack/echo/v4"
)

// The API routes whose roles the discharge desk's actions take.
const (
	settleRoute  = "POST /v1/settlements"
	quoteRoute   = "POST /v1/quotes"
	reverseRoute = "POST /v1/settlements/{id}/reversal"
)

func dischargeDesk() desk {
	return desk{id: "discharge", path: "/discharge", route: settleRoute, mount: func(c *Console, e *echo.Echo) {
		e.GET("/discharge", c.guard(settleRoute, c.dischargePage))
		e.POST("/discharge/quote", c.guard(quoteRoute, c.dischargeQuote))
		e.POST("/discharge/settle", c.guard(settleRoute, c.dischargeSettle))
		e.POST("/discharge/reverse", c.guard(reverseRoute, c.dischargeReverse))
	}}
}

// claimForm is the discharge form as typed.
type claimForm struct {
	ClaimID, PersonID, ProviderID, Kind, AdmittedOn, DischargedOn, Total, InPolicy string
}

func readClaimForm(ec echo.Context) claimForm {
	v := func(k string) string { return strings.TrimSpace(ec.FormValue(k)) }
	return claimForm{ClaimID: v("claim_id"), PersonID: v("person_id"), ProviderID: v("provider_id"), Kind: v("kind"),
		AdmittedOn: v("admitted_on"), DischargedOn: v("discharged_on"), Total: v("total"), InPolicy: v("in_policy")}
}

// fieldErrors maps a form field to what is wrong with it, in the user's language.
type fieldErrors map[string]string

func (f fieldErrors) add(field, msg string) {
	if _, ok := f[field]; !ok {
		f[field] = msg
	}
}

// claim reads the form into a claim: each field's syntax here, every rule of a claim by
// calc.Claim.Validate, the provider by store, the clinic's binding by Token.MayActFor.
func (c *Console) claim(ec echo.Context, sess store.Session, f claimForm) (calc.Claim, fieldErrors, error) {
	l := c.lang(ec)
	errs := fieldErrors{}
	cl := calc.Claim{ID: f.ClaimID, PersonID: f.PersonID, ProviderID: f.ProviderID}
	required := func(field, v string) bool {
		if v == "" {
			errs.add(field, l.T("err.required"))
			return false
		}
		return true
	}
	required("claim_id", f.ClaimID)
	required("person_id", f.PersonID)
	if required("kind", f.Kind) {
		k, err := calc.ParseKind(f.Kind)
		if err != nil {
			errs.add("kind", l.T("err.kind"))
		}
		cl.Kind = k
	}
	for _, d := range []struct {
		field, v string
		to       *calc.Date
	}{{"admitted_on", f.AdmittedOn, &cl.AdmittedOn}, {"discharged_on", f.DischargedOn, &cl.DischargedOn}} {
		if required(d.field, d.v) {
			v, err := calc.ParseDate(d.v)
			if err != nil {
				errs.add(d.field, l.T("err.date"))
			}
			*d.to = v
		}
	}
	for _, m := range []struct {
		field, v string
		to       *calc.Money
	}{{"total", f.Total, &cl.Total}, {"in_policy", f.InPolicy, &cl.InPolicy}} {
		if required(m.field, m.v) {
			v, err := calc.ParseMoney(strings.ReplaceAll(m.v, ",", ""))
			if err != nil {
				errs.add(m.field, l.T("err.money"))
			}
			*m.to = v
		}
	}
	if required("provider_id", f.ProviderID) {
		if !sess.MayActFor(f.ProviderID) {
			errs.add("provider_id", l.T("err.notYourProvider", strings.Join(sess.Providers, ", ")))
		} else if p, err := c.store.Provider(ec.Request().Context(), f.ProviderID); errors.Is(err, store.ErrNotFound) {
			errs.add("provider_id", l.T("err.unknownProvider"))
		} else if err != nil {
			return cl, nil, err
		} else {
			cl.Level = p.Level
		}
	}
	if len(errs) == 0 {
		c.addClaimError(l, sess, errs, cl.Validate())
	}
	return cl, errs, nil
}

// addClaimError puts an operation's refusal of a claim at the field that caused it; it
// reports whether it knew where.
func (c *Console) addClaimError(l *locale, sess store.Session, errs fieldErrors, err error) bool {
	var ve *calc.ValidationError
	switch {
	case err == nil:
		return true
	case errors.Is(err, store.ErrNotFound):
		errs.add("person_id", l.T("err.unknownPerson"))
	case errors.Is(err, calc.ErrNoPolicy):
		errs.add("discharged_on", l.T("err.noPolicy"))
	case errors.Is(err, calc.ErrNotRegistered):
		errs.add("person_id", l.T("err.notRegistered"))
	case errors.As(err, &ve):
		for _, fe := range ve.Fields {
			errs.add(fe.Field, l.Rule(fe.Code, fe.Args, fe.Rule))
		}
	case errors.Is(err, store.ErrConflict):
		// As the API: the fields that differ are named only to whoever may read the
		// claim on file.
		var ce *store.ConflictError
		if errors.As(err, &ce) && sess.MayActFor(ce.Owner) {
			errs.add("claim_id", l.T("err.claimConflict", strings.Join(ce.Fields, ", ")))
		} else {
			errs.add("claim_id", l.T("err.claimTaken"))
		}
	default:
		return false
	}
	return true
}

// lineView is one line of a quote or slip.
type lineView struct {
	Key         string // "basic"
	Applies     bool
	Amount      calc.Money
	Explanation string
}

// quoteView is a computed settlement as the desk and the slip show it.
type quoteView struct {
	PolicyVersion string
	Total         calc.Money
	InPolicy      calc.Money
	OutOfPolicy   calc.Money
	Lines         []lineView
	Insured       calc.Money // the five lines together
	OutOfPocket   calc.Money
}

// quoteOf is the settlement as the desk and the slip show it, its explanations in l's
// language.
func quoteOf(l *locale, st *calc.Settlement) *quoteView {
	q := &quoteView{PolicyVersion: st.PolicyVersion, Total: st.Total, InPolicy: st.InPolicy,
		OutOfPolicy: st.Total - st.InPolicy, OutOfPocket: st.OutOfPocket}
	for _, ln := range calc.Lines() {
		r := &st.Lines[ln]
		q.Lines = append(q.Lines, lineView{Key: ln.String(), Applies: r.Applies, Amount: r.Amount, Explanation: l.Reason(st.Reason(ln))})
		q.Insured += r.Amount
	}
	return q
}

// personView is what the desk shows of the patient once their id is entered: the
// register's version in force on the discharge day, which the claim is settled with, and
// the ledger of its year.
type personView struct {
	Person calc.Person
	Aid    string    // a label key
	Day    calc.Date // the day the attributes are in force on
	// From and To are the days around Day on which Person is in force ("…" for no start
	// or no end); both "" when it holds always.
	From, To string
	Ledger   calc.Ledger
}

// personPanel is the person as the register has them on day, the claim's discharge day
// (today while the form has no valid one), and their ledger of that year. Errors:
// store.ErrNotFound for an unknown person; calc.ErrNotRegistered when no version of
// the person holds on day.
func (c *Console) personPanel(ec echo.Context, id string, day calc.Date) (*personView, error) {
	ctx := ec.Request().Context()
	h, err := c.store.PersonHistory(ctx, id)
	if err != nil {
		return nil, err
	}
	v := &personView{Day: day}
	for _, span := range h.Timeline() {
		if !span.Holds(day) {
			continue
		}
		v.Person = span.Person
		if span.From != calc.Beginning || span.To != calc.End {
			v.From, v.To = "…", "…"
			if span.From != calc.Beginning {
				v.From = span.From.String()
			}
			if span.To != calc.End {
				v.To = span.To.String()
			}
		}
	}
	if v.Person.ID == "" {
		return nil, fmt.Errorf("person %s: %w %s", id, calc.ErrNotRegistered, day)
	}
	v.Aid = "aid." + aidName(v.Person.Aid)
	if v.Ledger, err = c.store.Ledger(ctx, id, day.Year()); err != nil {
		return nil, err
	}
	return v, nil
}

// formDay is the discharge day of the form as read into cl, or today while it has none.
func (c *Console) formDay(cl calc.Claim, errs fieldErrors) calc.Date {
	if cl.DischargedOn != 0 && errs["discharged_on"] == "" {
		return cl.DischargedOn
	}
	return c.today()
}

func aidName(a calc.AidCategory) string {
	if s := a.String(); s != "" {
		return s
	}
	return "none"
}

// dischargeData is what the discharge desk shows.
type dischargeData struct {
	Form          claimForm
	Errors        fieldErrors
	Kinds         []string
	Providers     []calc.Provider
	FixedProvider bool
	Person        *personView
	Quote         *quoteView
	Day           string
	DayProvider   string
	List          []store.DaySettlement
	Notice        string // a label key
	Problem       string // an error not at any field
}

func (c *Console) today() calc.Date {
	t := c.now().In(chinaTime)
	return calc.NewDate(t.Year(), t.Month(), t.Day())
}

// providersFor are the providers a session may settle for: a clinic's own, every one for
// others.
func (c *Console) providersFor(ec echo.Context, sess store.Session) ([]calc.Provider, error) {
	ctx := ec.Request().Context()
	if sess.Role != store.RoleClinic {
		return c.store.Providers(ctx)
	}
	var out []calc.Provider
	for _, id := range sess.Providers {
		p, err := c.store.Provider(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// deskData fills what every answer of the desk shows: the providers, and the chosen
// provider's settlements of the chosen day.
func (c *Console) deskData(ec echo.Context, sess store.Session, d *dischargeData) error {
	var err error
	if d.Providers, err = c.providersFor(ec, sess); err != nil {
		return err
	}
	d.FixedProvider = sess.Role == store.RoleClinic && len(d.Providers) == 1
	for _, k := range calc.Kinds() {
		d.Kinds = append(d.Kinds, k.String())
	}
	if d.Form.ProviderID == "" && len(d.Providers) > 0 {
		d.Form.ProviderID = d.Providers[0].ID
	}
	if d.Form.Kind == "" {
		d.Form.Kind = calc.Inpatient.String()
	}
	day := c.today()
	if v, err := calc.ParseDate(ec.QueryParam("day")); err == nil {
		day = v
	} else if v, err := calc.ParseDate(d.Form.DischargedOn); err == nil {
		day = v
	}
	d.Day = day.String()
	d.DayProvider = ec.QueryParam("provider")
	if d.DayProvider == "" || !sess.MayActFor(d.DayProvider) {
		d.DayProvider = d.Form.ProviderID
	}
	if d.DayProvider != "" {
		if d.List, err = c.store.ProviderDay(ec.Request().Context(), d.DayProvider, day); err != nil {
			return err
		}
	}
	return nil
}

func (c *Console) dischargePage(ec echo.Context) error {
	sess, _ := c.session(ec)
	id, err := newClaimID(c.today())
	if err != nil {
		return err
	}
	d := dischargeData{Form: claimForm{ClaimID: id, ProviderID: ec.QueryParam("provider"), DischargedOn: c.today().String()},
		Errors: fieldErrors{}, Notice: noticeKey(ec.QueryParam("notice"))}
	if d.Form.ProviderID != "" && !sess.MayActFor(d.Form.ProviderID) {
		d.Form.ProviderID = ""
	}
	if err := c.deskData(ec, sess, &d); err != nil {
		return err
	}
	return c.render(ec, http.StatusOK, "discharge", "desk.discharge", d)
}

// noticeKey is the label of a notice a redirect asks the desk to show.
func noticeKey(n string) string {
	if slices.Contains([]string{"reversed", "sessionEnded"}, n) {
		return "notice." + n
	}
	return ""
}

// newClaimID proposes a claim id for a new bill: the day and random digits. Settling is
// idempotent by claim id, so a form sent twice settles once.
func newClaimID(day calc.Date) (string, error) {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return "C" + strings.ReplaceAll(day.String(), "-", "") + "-" + strings.ToUpper(hex.EncodeToString(b[:])), nil
}

// quoteAnswer is the answer to the script's quote request: the quote and the person
// panel as HTML, and the error of each field.
type quoteAnswer struct {
	Quote  string      `json:"quote"`
	Person string      `json:"person"`
	Errors fieldErrors `json:"errors"`
}

// dischargeQuote answers the script as the user types: what the claim would settle to.
func (c *Console) dischargeQuote(ec echo.Context) error {
	sess, _ := c.session(ec)
	f := readClaimForm(ec)
	if f.ClaimID == "" {
		f.ClaimID = "quote"
	}
	cl, errs, err := c.claim(ec, sess, f)
	if err != nil {
		return err
	}
	var ans quoteAnswer
	if f.PersonID != "" {
		day := c.formDay(cl, errs)
		pv, err := c.personPanel(ec, f.PersonID, day)
		switch {
		case errors.Is(err, store.ErrNotFound):
			errs.add("person_id", c.lang(ec).T("err.unknownPerson"))
		case errors.Is(err, calc.ErrNotRegistered):
			errs.add("person_id", c.lang(ec).T("err.notRegistered"))
		case err != nil:
			return err
		default:
			if ans.Person, err = c.fragment(ec, "discharge", "person", pv); err != nil {
				return err
			}
		}
	}
	if len(errs) == 0 {
		st, _, err := c.ops.Quote(ec.Request().Context(), cl)
		if err == nil {
			if ans.Quote, err = c.fragment(ec, "discharge", "quote", quoteOf(c.lang(ec), &st)); err != nil {
				return err
			}
		} else if !c.addClaimError(c.lang(ec), sess, errs, err) {
			return err
		}
	}
	ans.Errors = errs
	return ec.JSON(http.StatusOK, ans)
}

// dischargeSettle settles the form's claim and opens its slip; with errors it shows the
// form again, each error at its field.
func (c *Console) dischargeSettle(ec echo.Context) error {
	sess, _ := c.session(ec)
	f := readClaimForm(ec)
	cl, errs, err := c.claim(ec, sess, f)
	if err != nil {
		return err
	}
	if len(errs) == 0 {
		st, _, err := c.ops.Settle(ec.Request().Context(), cl)
		if err == nil {
			return ec.Redirect(http.StatusSeeOther, "/v1/settlements/"+url.PathEscape(st.ID)+"/slip")
		}
		if !c.addClaimError(c.lang(ec), sess, errs, err) {
			return err
		}
	}
	d := dischargeData{Form: f, Errors: errs}
	if f.PersonID != "" && errs["person_id"] == "" {
		if d.Person, err = c.personPanel(ec, f.PersonID, c.formDay(cl, errs)); err != nil &&
			!errors.Is(err, store.ErrNotFound) && !errors.Is(err, calc.ErrNotRegistered) {
			return err
		}
	}
	if err := c.deskData(ec, sess, &d); err != nil {
		return err
	}
	return c.render(ec, http.StatusUnprocessableEntity, "discharge", "desk.discharge", d)
}

// reverseData is the confirmation page of a reversal.
type reverseData struct {
	Settled store.SettlementRecord
	Claim   calc.Claim
	Reason  string
	Error   string
}

// maxReason is the longest reason of a reversal the API takes, in characters.
const maxReason = 500

// dischargeReverse reverses a settlement of the desk's list: the first answer asks to
// confirm, the confirmed one reverses it.
func (c *Console) dischargeReverse(ec echo.Context) error {
	sess, _ := c.session(ec)
	ctx := ec.Request().Context()
	l := c.lang(ec)
	id := ec.FormValue("id")
	st, err := c.store.Settlement(ctx, id)
	if err != nil {
		return err
	}
	cl, err := c.store.Claim(ctx, st.Settlement.ClaimID)
	if err != nil {
		return err
	}
	if !sess.MayActFor(cl.ProviderID) {
		// As the API: another provider's settlement is answered as one not on file.
		return echo.NewHTTPError(http.StatusNotFound, "err.notFound")
	}
	d := reverseData{Settled: st, Claim: cl, Reason: strings.TrimSpace(ec.FormValue("reason"))}
	switch {
	case d.Reason == "":
		d.Error = l.T("err.reasonRequired")
	case utf8.RuneCountInString(d.Reason) > maxReason:
		d.Error = l.T("err.reasonLong", maxReason)
	}
	if d.Error != "" || ec.FormValue("confirm") != "yes" {
		status := http.StatusOK
		if d.Error != "" {
			status = http.StatusUnprocessableEntity
		}
		return c.render(ec, status, "reverse", "reverse.title", d)
	}
	if _, err := c.ops.Reverse(ctx, id, d.Reason); err != nil {
		if errors.Is(err, store.ErrConflict) {
			d.Error = l.T("err.alreadyReversed")
			return c.render(ec, http.StatusConflict, "reverse", "reverse.title", d)
		}
		return err
	}
	q := url.Values{"day": {cl.DischargedOn.String()}, "provider": {cl.ProviderID}, "notice": {"reversed"}}
	return ec.Redirect(http.StatusSeeOther, "/discharge?"+q.Encode())
}

func newSecret() (string, error) {
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}
