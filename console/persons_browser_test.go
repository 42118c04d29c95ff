package console_test

import (
	"strings"
	"testing"
)

// TestBrowserPersonAsOf: in a browser, the discharge desk's person panel shows the
// patient as the register has them on the discharge date typed, and follows the date
// as it is changed: P00003 is 低保 until 2018-06-30 and not from 2018-07-01, and the
// quote's aid line with them.
func TestBrowserPersonAsOf(t *testing.T) {
	browser := newBrowser(t)
	v := newEnv(t)
	offDibao(t, v.store)
	ctx := tab(t, browser)
	browserSignin(t, ctx, v, asClinic)
	fillClaim(t, ctx, "P00003", "2018-03-01", "2018-03-15", "48765.40", "41000")
	type shown struct {
		Day, Version, Panel, Aid string
	}
	look := func() shown {
		t.Helper()
		return eval[shown](t, ctx, `(function(){var p=document.getElementById("person-panel");
			return {Day: p.dataset.day, Version: p.dataset.version, Panel: document.getElementById("person").innerText,
				Aid: document.querySelector('#quote-lines tr[data-line="aid"] td.amount').textContent}})()`)
	}
	for _, tc := range []struct {
		day, version, aid string
		paysAid           bool
	}{
		{"2018-03-15", "1", "低保", true},
		{"2018-08-15", "2", "无", false},
		{"2018-06-30", "1", "低保", true},
		{"2018-07-01", "2", "无", false},
	} {
		setField(t, ctx, "discharged_on", tc.day)
		waitQuoted(t, ctx)
		got := look()
		if got.Day != tc.day || got.Version != tc.version || !strings.Contains(got.Panel, tc.aid) || strings.Contains(got.Panel, "低保") != (tc.aid == "低保") {
			t.Errorf("discharged %s: the panel shows %+v; want version %s, aid %s", tc.day, got, tc.version, tc.aid)
		}
		if (got.Aid != "0.00") != tc.paysAid {
			t.Errorf("discharged %s: the quote's aid line is %s; paid aid %v", tc.day, got.Aid, tc.paysAid)
		}
		if tc.version == "2" && !strings.Contains(got.Panel, "有效期 2018-07-01 至 …") {
			t.Errorf("discharged %s: the panel does not say from when version 2 is in force: %q", tc.day, got.Panel)
		}
	}
}
