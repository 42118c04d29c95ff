package chart_test

import (
	"bytes"
	"encoding/xml"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/chart"
	"github.com/hpcalc/hpcalc/fixtures"
	"github.com/hpcalc/hpcalc/policyfile"
	"github.com/hpcalc/hpcalc/replay"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./chart -update to write it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file; if the change is meant, run go test ./chart -update and review the diff", path)
	}
}

// parses checks that svg is well-formed XML whose root is an <svg> with role img, a title
// and a description that aria-labelledby names, and returns every text it holds.
func parses(t *testing.T, svg []byte) string {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(svg))
	var texts strings.Builder
	var root *xml.StartElement
	ids := map[string]string{} // id to the element's name
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not XML: %v", err)
		}
		switch x := tok.(type) {
		case xml.StartElement:
			if root == nil {
				e := x.Copy()
				root = &e
			}
			for _, a := range x.Attr {
				if a.Name.Local == "id" {
					ids[a.Value] = x.Name.Local
				}
				if a.Name.Local == "href" || strings.Contains(a.Value, "http") && a.Name.Local != "xmlns" {
					t.Errorf("%s %s=%q: the chart must fetch nothing", x.Name.Local, a.Name.Local, a.Value)
				}
			}
			if x.Name.Local == "script" || x.Name.Local == "image" || x.Name.Local == "foreignObject" {
				t.Errorf("<%s> in a chart", x.Name.Local)
			}
		case xml.CharData:
			texts.Write(x)
			texts.WriteByte('\n')
		}
	}
	if root == nil || root.Name.Local != "svg" {
		t.Fatal("no <svg> root")
	}
	attr := map[string]string{}
	for _, a := range root.Attr {
		attr[a.Name.Local] = a.Value
	}
	if attr["role"] != "img" || attr["viewBox"] == "" {
		t.Errorf("root attributes %v: want role=img and a viewBox", attr)
	}
	labelled := strings.Fields(attr["aria-labelledby"])
	if len(labelled) != 2 || ids[labelled[0]] != "title" || ids[labelled[1]] != "desc" {
		t.Errorf("aria-labelledby %q should name a <title> and a <desc> (ids %v)", attr["aria-labelledby"], ids)
	}
	return texts.String()
}

// shipped replays the shipped claims under the shipped policy with change applied ("" for
// none).
func shipped(t *testing.T, change string) calc.Tally {
	t.Helper()
	d, err := fixtures.Load()
	if err != nil {
		t.Fatal(err)
	}
	ps := d.Policies
	if change != "" {
		doc, err := fixtures.FS.ReadFile(fixtures.PolicyFile)
		if err != nil {
			t.Fatal(err)
		}
		p, _, err := policyfile.Merge(doc, "change", []byte(change))
		if err != nil {
			t.Fatal(err)
		}
		if ps, err = calc.NewPolicySet(p); err != nil {
			t.Fatal(err)
		}
	}
	res, err := replay.Run(ps, d.Persons, d.Claims.Claims)
	if err != nil {
		t.Fatal(err)
	}
	return res.Tally
}

var lineNames = map[calc.Line]string{calc.Basic: "基本医疗保险", calc.Critical: "大病保险", calc.Commercial: "商业补充保险",
	calc.Aid: "民政医疗救助", calc.Backstop: "政府兜底"}

// whatIfBar is baseline and scenario per line of the shipped claims with the commercial
// in-policy rate raised to 50%, as the finance desk draws it.
func whatIfBar(t *testing.T) (*chart.Bar, calc.Tally, calc.Tally) {
	base, scen := shipped(t, ""), shipped(t, "commercial: {in_policy_rate: 0.50}")
	c := &chart.Bar{Labels: chart.Labels{Title: "各线基线与方案", Desc: "商业补充保险目录内报销比例提高到 50% 时各线的费用",
		X: "保障线", Y: "费用（万元）", Corner: "保障线"}, Wan: true,
		Series: []chart.Series{{Name: "基线"}, {Name: "方案"}}}
	for _, l := range calc.Lines() {
		c.Categories = append(c.Categories, lineNames[l])
		c.Series[0].Values = append(c.Series[0].Values, base.Lines[l])
		c.Series[1].Values = append(c.Series[1].Values, scen.Lines[l])
	}
	c.Categories = append(c.Categories, "个人自付")
	c.Series[0].Values = append(c.Series[0].Values, base.OutOfPocket)
	c.Series[1].Values = append(c.Series[1].Values, scen.OutOfPocket)
	return c, base, scen
}

func TestBarChart(t *testing.T) {
	c, base, scen := whatIfBar(t)
	svg, err := c.SVG("whatif")
	if err != nil {
		t.Fatal(err)
	}
	texts := parses(t, svg)
	for _, want := range []string{c.Title, c.Desc, c.X, c.Y, "基线", "方案", "政府兜底", "个人自付",
		"政府兜底, 方案: " + scen.Lines[calc.Backstop].Grouped(), "大病保险, 基线: " + base.Lines[calc.Critical].Grouped()} {
		if !strings.Contains(texts, want) {
			t.Errorf("the chart does not say %q", want)
		}
	}
	golden(t, "bar.svg", svg)

	tbl := c.Table()
	if tbl.Caption != c.Title || strings.Join(tbl.Head, "|") != "保障线|基线|方案" || len(tbl.Rows) != 6 {
		t.Fatalf("table %+v", tbl)
	}
	for i, l := range calc.Lines() {
		if row := tbl.Rows[i]; row[0] != lineNames[l] || row[1] != base.Lines[l].Grouped() || row[2] != scen.Lines[l].Grouped() {
			t.Errorf("row %q; want %s %s %s", row, lineNames[l], base.Lines[l].Grouped(), scen.Lines[l].Grouped())
		}
	}
	if row := tbl.Rows[5]; row[1] != base.OutOfPocket.Grouped() || row[2] != scen.OutOfPocket.Grouped() {
		t.Errorf("out-of-pocket row %q", row)
	}
}

// sweep is each line's cost of the shipped claims as the backstop's out-of-pocket ceiling
// goes from 5% to 15%, as the finance desk draws it.
func sweep(t *testing.T) *chart.Line {
	steps, err := policyfile.Steps("0.05", "0.15", "0.01", 100)
	if err != nil {
		t.Fatal(err)
	}
	c := &chart.Line{Labels: chart.Labels{Title: "政府兜底个人自付上限的影响", Desc: "个人自付上限从 5% 到 15% 时各线的费用",
		X: "backstop.oop_ceiling", Y: "费用（万元）", Corner: "取值"}, Wan: true}
	for _, l := range calc.Lines() {
		c.Series = append(c.Series, chart.Series{Name: lineNames[l]})
	}
	c.Series = append(c.Series, chart.Series{Name: "个人自付"})
	for _, v := range steps {
		tally := shipped(t, string(policyfile.Change("backstop.oop_ceiling", v.Decimal())))
		c.Steps = append(c.Steps, v.Decimal())
		for i, l := range calc.Lines() {
			c.Series[i].Values = append(c.Series[i].Values, tally.Lines[l])
		}
		c.Series[5].Values = append(c.Series[5].Values, tally.OutOfPocket)
	}
	return c
}

func TestLineChart(t *testing.T) {
	c := sweep(t)
	svg, err := c.SVG("sweep")
	if err != nil {
		t.Fatal(err)
	}
	texts := parses(t, svg)
	for _, want := range []string{c.Title, c.Desc, c.X, c.Y, "0.05", "0.15", "个人自付",
		"政府兜底, 0.1: " + c.Series[4].Values[5].Grouped()} {
		if !strings.Contains(texts, want) {
			t.Errorf("the chart does not say %q", want)
		}
	}
	if n := strings.Count(string(svg), "<polyline"); n != len(c.Series) {
		t.Errorf("%d polylines, want one per series (%d)", n, len(c.Series))
	}
	golden(t, "line.svg", svg)
	tbl := c.Table()
	if len(tbl.Rows) != 11 || tbl.Rows[0][0] != "0.05" || tbl.Rows[10][0] != "0.15" {
		t.Fatalf("table rows %q", tbl.Rows)
	}
	for i, row := range tbl.Rows {
		for j, s := range c.Series {
			if row[j+1] != s.Values[i].Grouped() {
				t.Errorf("step %s %s: table %s, series %s", row[0], s.Name, row[j+1], s.Values[i].Grouped())
			}
		}
	}
	// The backstop pays less as patients may pay more: the drawing must follow the figures.
	if b := c.Series[4].Values; !(b[0] > b[len(b)-1]) {
		t.Errorf("backstop from %s to %s: should fall as the ceiling rises", b[0], b[len(b)-1])
	}
}

func TestEdgeCases(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    *chart.Bar
	}{
		{"all zero", &chart.Bar{Categories: []string{"a"}, Series: []chart.Series{{Name: "s", Values: []calc.Money{0}}}}},
		{"negative changes", &chart.Bar{Categories: []string{"a", "b"}, Series: []chart.Series{{Name: "Δ", Values: []calc.Money{-123456, 7890}}}}},
		{"all negative", &chart.Bar{Categories: []string{"a", "b"}, Series: []chart.Series{{Name: "Δ", Values: []calc.Money{-1, -99999999}}}}},
		{"markup in words", &chart.Bar{Labels: chart.Labels{Title: `<script>alert("x")</script>`, Desc: "a & b", X: "<x>", Y: "'y'"},
			Categories: []string{"</svg>"}, Series: []chart.Series{{Name: "<b>", Values: []calc.Money{5}}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			svg, err := tc.c.SVG("c")
			if err != nil {
				t.Fatal(err)
			}
			texts := parses(t, svg)
			if !strings.Contains(texts, tc.c.Title) || !strings.Contains(texts, tc.c.Categories[0]) {
				t.Errorf("title or category lost: %s", texts)
			}
			if strings.Contains(string(svg), "NaN") || strings.Contains(string(svg), "Inf") || strings.Contains(string(svg), `height="-`) {
				t.Errorf("bad geometry:\n%s", svg)
			}
		})
	}
	one := &chart.Line{Steps: []string{"0.1"}, Series: []chart.Series{{Name: "s", Values: []calc.Money{100}}}}
	if svg, err := one.SVG("one"); err != nil {
		t.Error(err)
	} else {
		parses(t, svg)
	}
	for _, bad := range []*chart.Bar{
		{Categories: []string{"a", "b"}, Series: []chart.Series{{Name: "s", Values: []calc.Money{1}}}},
		{Categories: []string{"a"}},
		{Series: []chart.Series{{Name: "s"}}},
	} {
		if _, err := bad.SVG("x"); !errors.Is(err, chart.ErrShape) {
			t.Errorf("%+v: %v, want ErrShape", bad, err)
		}
	}
}
