package calc_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/hpcalc/hpcalc/calc"
)

// TestPolicyValidate breaks one rule of a policy per row and checks that Validate names
// exactly that field.
func TestPolicyValidate(t *testing.T) {
	tests := []struct {
		name      string
		change    func(p *calc.Policy)
		wantField string
	}{
		{"RateAboveOne", func(p *calc.Policy) { p.Basic.Rate[calc.Inpatient][calc.County] = calc.RateOne + 1 },
			"basic.inpatient.rate.county"},
		{"RateBelowZero", func(p *calc.Policy) { p.Commercial.OutOfPolicyRate = -1 },
			"commercial.out_of_policy_rate"},
		{"ChronicRateAboveOne", func(p *calc.Policy) { p.Basic.Rate[calc.OutpatientChronic][calc.Provincial] = 2 * calc.RateOne },
			"basic.outpatient_chronic.rate.provincial"},
		{"CommercialInPolicyRate", func(p *calc.Policy) { p.Commercial.InPolicyRate = calc.RateOne + 1 },
			"commercial.in_policy_rate"},
		{"AidRate", func(p *calc.Policy) { p.Aid.Rate[calc.Dibao] = -50_000 },
			"aid.dibao.rate"},
		{"BandRate", func(p *calc.Policy) { p.Critical.Bands[1].Rate = -1 },
			"critical.bands[1].rate"},
		{"CeilingAboveOne", func(p *calc.Policy) { p.Backstop.OOPCeiling = calc.RateOne * 3 / 2 },
			"backstop.oop_ceiling"},
		{"NegativeDeductible", func(p *calc.Policy) { p.Basic.Deductible[calc.Inpatient][calc.Municipal] = -1 },
			"basic.inpatient.deductible.municipal"},
		{"NegativeChronicDeductible", func(p *calc.Policy) { p.Basic.Deductible[calc.OutpatientChronic][calc.Township] = -1 },
			"basic.outpatient_chronic.deductible.township"},
		{"NegativeCriticalDeductible", func(p *calc.Policy) { p.Critical.Deductible = -100 },
			"critical.deductible"},
		{"DeductibleOverMaxAmount", func(p *calc.Policy) { p.Basic.Deductible[calc.Inpatient][calc.OutOfProvince] = calc.MaxAmount + 1 },
			"basic.inpatient.deductible.out_of_province"},
		{"NegativeBasicCap", func(p *calc.Policy) { p.Basic.AnnualCap = -1 },
			"basic.annual_cap"},
		{"NegativeChronicCap", func(p *calc.Policy) { p.Basic.ChronicAnnualCap = -1 },
			"basic.outpatient_chronic.annual_cap"},
		{"NegativeCriticalCap", func(p *calc.Policy) { p.Critical.AnnualCap = -1 },
			"critical.annual_cap"},
		{"NegativeCommercialCap", func(p *calc.Policy) { p.Commercial.AnnualCap = -1 },
			"commercial.annual_cap"},
		{"NegativeAidCap", func(p *calc.Policy) { p.Aid.AnnualCap[calc.Tekun] = -100 },
			"aid.tekun.annual_cap"},
		{"CapOverMaxAmount", func(p *calc.Policy) { p.Basic.AnnualCap = calc.MaxAmount + 1 },
			"basic.annual_cap"},
		{"NegativeBandStart", func(p *calc.Policy) { p.Critical.Bands[0].From = -1 },
			"critical.bands[0].from"},
		{"BandBelowDeductible", func(p *calc.Policy) { p.Critical.Deductible = p.Critical.Bands[0].From + 1 },
			"critical.bands[0].from"},
		{"BandsEqualStarts", func(p *calc.Policy) { p.Critical.Bands[2].From = p.Critical.Bands[1].From },
			"critical.bands[2].from"},
		{"BandsDecreasing", func(p *calc.Policy) { p.Critical.Bands[1].From = mustMoney(t, "2000") },
			"critical.bands[1].from"},
		{"NoBands", func(p *calc.Policy) { p.Critical.Bands = nil },
			"critical.bands"},
		{"EmptyBands", func(p *calc.Policy) { p.Critical.Bands = []calc.Band{} },
			"critical.bands"},
		{"TooManyBands", func(p *calc.Policy) {
			for i := range calc.MaxBands - 2 { // 3 + 4 = 7 bands, increasing
				p.Critical.Bands = append(p.Critical.Bands, calc.Band{From: mustMoney(t, "200000") + calc.Money(i), Rate: calc.RateOne})
			}
		}, "critical.bands"},
		{"EmptyVersion", func(p *calc.Policy) { p.Version = "" },
			"version"},
		{"BlankVersion", func(p *calc.Policy) { p.Version = " \t" },
			"version"},
		{"ToBeforeFrom", func(p *calc.Policy) { p.To = p.From - 1 },
			"effective.to"},
		{"AidRateForNone", func(p *calc.Policy) { p.Aid.Rate[calc.AidNone] = 1 },
			"aid.none"},
		{"AidCapForNone", func(p *calc.Policy) { p.Aid.AnnualCap[calc.AidNone] = calc.Yuan },
			"aid.none"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := pingxiang2018(t)
			tt.change(p)
			err := p.Validate()
			if !errors.Is(err, calc.ErrInvalid) {
				t.Fatalf("Validate() = %v, want ErrInvalid", err)
			}
			var ve *calc.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Validate() = %T, want a *calc.ValidationError", err)
			}
			if len(ve.Fields) != 1 || ve.Fields[0].Field != tt.wantField || ve.Fields[0].Rule == "" {
				t.Errorf("Validate() = %v, want exactly one error, on %s", err, tt.wantField)
			}
			if got, want := ve.What, "policy "+p.Version; got != want {
				t.Errorf("What = %q, want %q", got, want)
			}
		})
	}
}

// TestPolicyValidateAccepts checks values at the edges of each rule.
func TestPolicyValidateAccepts(t *testing.T) {
	tests := []struct {
		name   string
		change func(p *calc.Policy)
	}{
		{"Pingxiang2018", func(p *calc.Policy) {}},
		{"RateZero", func(p *calc.Policy) { p.Commercial.InPolicyRate = 0 }},
		{"RateOne", func(p *calc.Policy) { p.Basic.Rate[calc.Inpatient][calc.Township] = calc.RateOne }},
		{"CeilingZero", func(p *calc.Policy) { p.Backstop.OOPCeiling = 0 }},
		{"CapZero", func(p *calc.Policy) { p.Commercial.AnnualCap = 0 }},
		{"CapMaxAmount", func(p *calc.Policy) { p.Basic.AnnualCap = calc.MaxAmount }},
		{"NoCap", func(p *calc.Policy) { p.Commercial.AnnualCap = calc.NoCap }},
		{"BandFromZeroWithoutDeductible", func(p *calc.Policy) { p.Critical.Bands[0].From, p.Critical.Deductible = 0, 0 }},
		{"BandFromDeductible", func(p *calc.Policy) { p.Critical.Deductible = p.Critical.Bands[0].From }},
		{"OneBand", func(p *calc.Policy) { p.Critical.Bands = p.Critical.Bands[:1] }},
		{"MaxBands", func(p *calc.Policy) {
			for i := range calc.MaxBands - 3 {
				p.Critical.Bands = append(p.Critical.Bands, calc.Band{From: mustMoney(t, "200000") + calc.Money(i), Rate: calc.RateOne})
			}
		}},
		{"OneDay", func(p *calc.Policy) { p.To = p.From }},
		{"NoAidAtAll", func(p *calc.Policy) {
			p.Aid.Rate, p.Aid.AnnualCap = [calc.NumAidCategories]calc.Rate{}, [calc.NumAidCategories]calc.Money{}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := pingxiang2018(t)
			tt.change(p)
			if err := p.Validate(); err != nil {
				t.Errorf("Validate() = %v, want nil", err)
			}
		})
	}
}

// TestPolicyValidateListsEveryError breaks several rules at once: Validate lists each,
// in the order of the policy's fields.
func TestPolicyValidateListsEveryError(t *testing.T) {
	p := pingxiang2018(t)
	p.Version = ""
	p.Basic.Rate[calc.Inpatient][calc.Township] = -1
	p.Critical.Bands = nil
	p.Backstop.OOPCeiling = 2 * calc.RateOne
	err := p.Validate()
	var ve *calc.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("Validate() = %v, want a *calc.ValidationError", err)
	}
	var got []string
	for _, f := range ve.Fields {
		got = append(got, f.Field)
	}
	if want := []string{"version", "basic.inpatient.rate.township", "critical.bands", "backstop.oop_ceiling"}; !slices.Equal(got, want) {
		t.Errorf("fields %q, want %q", got, want)
	}
	want := "policy  is invalid: version: must not be empty; basic.inpatient.rate.township: rate -0.000001 is outside 0–1; " +
		"critical.bands: at least one band is required; backstop.oop_ceiling: rate 2 is outside 0–1"
	if got := err.Error(); got != want {
		t.Errorf("Error()\n got %q\nwant %q", got, want)
	}
}

// tblPolicyFor returns pingxiang-2018 renamed and moved to the period from–to.
func tblPolicyFor(tb testing.TB, version, from, to string) *calc.Policy {
	tb.Helper()
	p := pingxiang2018(tb)
	p.Version, p.From, p.To = version, mustDate(tb, from), mustDate(tb, to)
	return p
}

func TestNewPolicySet(t *testing.T) {
	tests := []struct {
		name     string
		policies []*calc.Policy
		wantErr  error
		wantMsg  []string // substrings of the error
		wantList []string // versions in order, on success
	}{
		{name: "Empty", policies: nil, wantList: nil},
		{name: "One", policies: []*calc.Policy{tblPolicyFor(t, "p2018", "2018-01-01", "2018-12-31")},
			wantList: []string{"p2018"}},
		{name: "AdjacentOutOfOrder", policies: []*calc.Policy{
			tblPolicyFor(t, "p2019", "2019-01-01", "2019-12-31"),
			tblPolicyFor(t, "p2018", "2018-01-01", "2018-12-31"),
		}, wantList: []string{"p2018", "p2019"}},
		{name: "AdjacentOneDayPolicies", policies: []*calc.Policy{
			tblPolicyFor(t, "b", "2018-07-02", "2018-07-02"),
			tblPolicyFor(t, "a", "2018-07-01", "2018-07-01"),
		}, wantList: []string{"a", "b"}},
		{name: "Gap", policies: []*calc.Policy{
			tblPolicyFor(t, "p2018", "2018-01-01", "2018-12-31"),
			tblPolicyFor(t, "p2020", "2020-01-01", "2020-12-31"),
		}, wantList: []string{"p2018", "p2020"}},
		{name: "OverlapOneDay", policies: []*calc.Policy{
			tblPolicyFor(t, "p2018", "2018-01-01", "2018-12-31"),
			tblPolicyFor(t, "p2019", "2018-12-31", "2019-12-31"),
		}, wantErr: calc.ErrOverlap, wantMsg: []string{"p2018", "p2019", "2018-12-31"}},
		{name: "OverlapContained", policies: []*calc.Policy{
			tblPolicyFor(t, "year", "2018-01-01", "2018-12-31"),
			tblPolicyFor(t, "spring", "2018-03-01", "2018-04-30"),
		}, wantErr: calc.ErrOverlap, wantMsg: []string{"year", "spring"}},
		{name: "SamePeriodTwice", policies: []*calc.Policy{
			tblPolicyFor(t, "a", "2018-01-01", "2018-12-31"),
			tblPolicyFor(t, "b", "2018-01-01", "2018-12-31"),
		}, wantErr: calc.ErrOverlap},
		{name: "OverlapAmongThree", policies: []*calc.Policy{
			tblPolicyFor(t, "p2020", "2020-01-01", "2020-12-31"),
			tblPolicyFor(t, "p2018", "2018-01-01", "2018-12-31"),
			tblPolicyFor(t, "p2019", "2019-01-01", "2020-01-01"),
		}, wantErr: calc.ErrOverlap, wantMsg: []string{"p2019", "p2020"}},
		{name: "InvalidPolicy", policies: []*calc.Policy{
			tblPolicyFor(t, "p2018", "2018-01-01", "2018-12-31"),
			func() *calc.Policy {
				p := tblPolicyFor(t, "bad", "2019-01-01", "2019-12-31")
				p.Backstop.OOPCeiling = -1
				return p
			}(),
		}, wantErr: calc.ErrInvalid, wantMsg: []string{"policy bad", "backstop.oop_ceiling"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			order := slices.Clone(tt.policies)
			s, err := calc.NewPolicySet(tt.policies...)
			if !slices.Equal(order, tt.policies) {
				t.Errorf("NewPolicySet reordered its argument")
			}
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || s != nil {
					t.Fatalf("NewPolicySet() = %v, %v; want nil, %v", s, err, tt.wantErr)
				}
				for _, sub := range tt.wantMsg {
					if !strings.Contains(err.Error(), sub) {
						t.Errorf("error %q does not mention %q", err, sub)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("NewPolicySet(): %v", err)
			}
			var got []string
			for _, p := range s.Policies() {
				got = append(got, p.Version)
			}
			if !slices.Equal(got, tt.wantList) {
				t.Errorf("Policies() = %q, want %q", got, tt.wantList)
			}
		})
	}
}

func TestPolicySetAt(t *testing.T) {
	s, err := calc.NewPolicySet(
		tblPolicyFor(t, "p2019", "2019-01-01", "2019-12-31"),
		tblPolicyFor(t, "pingxiang-2018", "2018-01-01", "2018-12-31"),
		tblPolicyFor(t, "p2021h2", "2021-07-01", "2021-12-31"),
	)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		date string
		want string // version, or "" for none
	}{
		{"2017-12-31", ""},
		{"2018-01-01", "pingxiang-2018"},
		{"2018-06-15", "pingxiang-2018"},
		{"2018-12-31", "pingxiang-2018"},
		{"2019-01-01", "p2019"},
		{"2019-12-31", "p2019"},
		{"2020-01-01", ""},
		{"2021-06-30", ""},
		{"2021-07-01", "p2021h2"},
		{"2021-12-31", "p2021h2"},
		{"2022-01-01", ""},
	}
	for _, tt := range tests {
		t.Run(tt.date, func(t *testing.T) {
			var got string
			if p := s.At(mustDate(t, tt.date)); p != nil {
				got = p.Version
				if !p.Covers(mustDate(t, tt.date)) {
					t.Errorf("At(%s) = %s, which does not cover the day", tt.date, got)
				}
			}
			if got != tt.want {
				t.Errorf("At(%s) = %q, want %q", tt.date, got, tt.want)
			}
		})
	}

	t.Run("PoliciesIsACopy", func(t *testing.T) {
		list := s.Policies()
		list[0], list[1] = list[1], list[0]
		list[2] = nil
		if got := s.At(mustDate(t, "2018-06-15")); got == nil || got.Version != "pingxiang-2018" {
			t.Errorf("changing Policies() changed the set: At(2018-06-15) = %v", got)
		}
		if got := s.Policies(); got[0].Version != "pingxiang-2018" || got[2] == nil {
			t.Errorf("changing Policies() changed the set: %v", got)
		}
	})
}

func TestPolicyClone(t *testing.T) {
	p := pingxiang2018(t)
	q := p.Clone()
	q.Critical.Bands[0].Rate = calc.RateOne
	q.Basic.Rate[calc.Inpatient][calc.County] = 0
	q.Critical.Bands = append(q.Critical.Bands, calc.Band{From: mustMoney(t, "500000"), Rate: calc.RateOne})
	want := pingxiang2018(t)
	if p.Critical.Bands[0] != want.Critical.Bands[0] || len(p.Critical.Bands) != 3 ||
		p.Basic.Rate[calc.Inpatient][calc.County] != want.Basic.Rate[calc.Inpatient][calc.County] {
		t.Errorf("changing a clone changed the policy: %+v", p)
	}
}
