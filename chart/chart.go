// Package chart draws the console's charts as SVG on the server, with no script, font or
// anything else fetched from the network: a bar chart of series side by side per category
// (baseline and scenario per line) and a line chart of series over steps (each line's cost
// over a sweep). Each chart is accessible — role="img", a <title> and a <desc>, and a
// <title> on every bar and point giving its value — and gives the same numbers as a table
// (Table), which the page shows beside it.
//
// Amounts are calc.Money and are only ever formatted by calc; positions on the drawing are
// the only floating point here. chart imports calc and the standard library, and must
// never import store, batch, api, console or cmd.
package chart

import (
	"bytes"
	"errors"
	"fmt"
	"html"
	"math"
	"strconv"
	"strings"

	"github.com/hpcalc/hpcalc/calc"
)

// ErrShape is returned for a chart whose series do not fit its categories or steps.
var ErrShape = errors.New("chart: series and categories do not fit")

// Series is one named set of amounts: one per category of a bar chart, one per step of a
// line chart.
type Series struct {
	Name   string
	Values []calc.Money
}

// Labels are a chart's words, in whatever language the page is in.
type Labels struct {
	Title  string // the chart's title, shown above it and read by screen readers
	Desc   string // one or two sentences saying what it shows
	X, Y   string // the axes' titles; Y should name the unit (元 or 万元)
	Corner string // the table's first header cell (what the rows are)
}

// Bar is a bar chart: for each category, one bar per series.
type Bar struct {
	Labels
	Categories []string
	Series     []Series
	Wan        bool // ticks in 万元 rather than yuan
}

// Line is a line chart: each series drawn over the steps, in order.
type Line struct {
	Labels
	Steps  []string // the x values as shown, e.g. "0.05"
	Series []Series
	Wan    bool
}

// Table is a chart's numbers: a header row and one row per category or step, amounts
// formatted as calc.Money.Grouped formats them.
type Table struct {
	Caption string
	Head    []string
	Rows    [][]string
}

// Geometry of every chart, in SVG user units; the drawing scales with its viewBox.
const (
	width, height                     = 760, 400
	padLeft, padRight, padTop, padBot = 96, 24, 64, 72
	plotW, plotH                      = width - padLeft - padRight, height - padTop - padBot
)

// palette is distinguishable in colour and, for the line chart, by dash and marker too,
// so that the chart reads in grey and for colour-blind readers.
var palette = []struct{ color, dash, marker string }{
	{"#1f5fa8", "", "circle"},
	{"#d9731a", "6 3", "square"},
	{"#2e8b57", "2 3", "diamond"},
	{"#8e44ad", "10 4", "triangle"},
	{"#c0392b", "4 2 1 2", "circle"},
	{"#5d6d7e", "1 2", "square"},
	{"#b7950b", "8 2 2 2", "diamond"},
}

// Table gives the bar chart's numbers: a row per category, a column per series.
func (c *Bar) Table() Table {
	t := Table{Caption: c.Title, Head: append([]string{c.Corner}, names(c.Series)...)}
	for i, cat := range c.Categories {
		row := []string{cat}
		for _, s := range c.Series {
			row = append(row, s.Values[i].Grouped())
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}

// Table gives the line chart's numbers: a row per step, a column per series.
func (c *Line) Table() Table {
	t := Table{Caption: c.Title, Head: append([]string{c.Corner}, names(c.Series)...)}
	for i, x := range c.Steps {
		row := []string{x}
		for _, s := range c.Series {
			row = append(row, s.Values[i].Grouped())
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}

func names(ss []Series) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = s.Name
	}
	return out
}

func check(n int, ss []Series, what string) error {
	if n == 0 || len(ss) == 0 {
		return fmt.Errorf("%w: no %s or no series", ErrShape, what)
	}
	if len(ss) > len(palette) {
		return fmt.Errorf("%w: %d series, at most %d", ErrShape, len(ss), len(palette))
	}
	for _, s := range ss {
		if len(s.Values) != n {
			return fmt.Errorf("%w: series %q has %d values for %d %s", ErrShape, s.Name, len(s.Values), n, what)
		}
	}
	return nil
}

// scale maps amounts to the plot's height over round ticks that include zero.
type scale struct {
	lo, hi, step calc.Money
}

func newScale(ss []Series) scale {
	var lo, hi calc.Money
	for _, s := range ss {
		for _, v := range s.Values {
			lo, hi = min(lo, v), max(hi, v)
		}
	}
	if lo == hi {
		hi = lo + 100 // all zero: one yuan of room
	}
	step := niceStep(hi - lo)
	return scale{lo: floorTo(lo, step), hi: ceilTo(hi, step), step: step}
}

// niceStep is a round tick interval (1, 2 or 5 times a power of ten fen) giving four to
// ten ticks over span.
func niceStep(span calc.Money) calc.Money {
	step := calc.Money(1)
	for {
		for _, m := range []calc.Money{1, 2, 5} {
			if span/(step*m) <= 8 {
				return step * m
			}
		}
		step *= 10
	}
}

func floorTo(v, step calc.Money) calc.Money {
	q := v / step * step
	if q > v {
		q -= step
	}
	return q
}

func ceilTo(v, step calc.Money) calc.Money {
	q := v / step * step
	if q < v {
		q += step
	}
	return q
}

// y is the drawing's y of amount v.
func (s scale) y(v calc.Money) float64 {
	return padTop + plotH*float64(s.hi-v)/float64(s.hi-s.lo)
}

// tick formats a tick amount without the decimals round ticks do not need.
func tick(v calc.Money, wan bool) string {
	if wan {
		return strings.TrimSuffix(v.Wan(), ".00")
	}
	return strings.TrimSuffix(v.Grouped(), ".00")
}

// num writes a coordinate with at most one decimal: enough for a screen, and stable in
// golden files.
func num(f float64) string {
	return strconv.FormatFloat(math.Round(f*10)/10, 'f', -1, 64)
}

func esc(s string) string { return html.EscapeString(s) }

// frame writes the opening of the SVG, its title and description, the chart's visible
// title, the y axis with its grid and ticks, and the axes' titles.
func frame(b *bytes.Buffer, id string, lb Labels, sc scale, wan bool) {
	fmt.Fprintf(b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-labelledby="%s-title %s-desc" font-family="sans-serif" font-size="12">`+"\n",
		width, height, width, height, id, id)
	fmt.Fprintf(b, `<title id="%s-title">%s</title>`+"\n", id, esc(lb.Title))
	fmt.Fprintf(b, `<desc id="%s-desc">%s</desc>`+"\n", id, esc(lb.Desc))
	fmt.Fprintf(b, `<rect width="%d" height="%d" fill="#ffffff"/>`+"\n", width, height)
	fmt.Fprintf(b, `<text x="%d" y="22" font-size="15" font-weight="bold" fill="#1b2631">%s</text>`+"\n", padLeft, esc(lb.Title))
	b.WriteString(`<g class="grid" stroke="#d5d8dc" stroke-width="1">` + "\n")
	for v := sc.lo; v <= sc.hi; v += sc.step {
		fmt.Fprintf(b, `<line x1="%d" x2="%d" y1="%s" y2="%s"/>`+"\n", padLeft, padLeft+plotW, num(sc.y(v)), num(sc.y(v)))
	}
	b.WriteString("</g>\n")
	b.WriteString(`<g class="y-ticks" text-anchor="end" fill="#34495e">` + "\n")
	for v := sc.lo; v <= sc.hi; v += sc.step {
		fmt.Fprintf(b, `<text x="%d" y="%s">%s</text>`+"\n", padLeft-8, num(sc.y(v)+4), esc(tick(v, wan)))
	}
	b.WriteString("</g>\n")
	fmt.Fprintf(b, `<line class="axis" x1="%d" x2="%d" y1="%s" y2="%s" stroke="#1b2631"/>`+"\n", padLeft, padLeft+plotW, num(sc.y(0)), num(sc.y(0)))
	fmt.Fprintf(b, `<line class="axis" x1="%d" x2="%d" y1="%d" y2="%d" stroke="#1b2631"/>`+"\n", padLeft, padLeft, padTop, padTop+plotH)
	fmt.Fprintf(b, `<text class="y-label" transform="translate(18 %d) rotate(-90)" text-anchor="middle" fill="#1b2631">%s</text>`+"\n",
		padTop+plotH/2, esc(lb.Y))
	fmt.Fprintf(b, `<text class="x-label" x="%d" y="%d" text-anchor="middle" fill="#1b2631">%s</text>`+"\n",
		padLeft+plotW/2, height-12, esc(lb.X))
}

// legend writes a key of the series across the top, each with its colour (and dash).
func legend(b *bytes.Buffer, ss []Series, lines bool) {
	b.WriteString(`<g class="legend">` + "\n")
	x := padLeft
	for i, s := range ss {
		p := palette[i]
		if lines {
			fmt.Fprintf(b, `<line x1="%d" x2="%d" y1="42" y2="42" stroke="%s" stroke-width="2.5" stroke-dasharray="%s"/>`+"\n", x, x+22, p.color, p.dash)
		} else {
			fmt.Fprintf(b, `<rect x="%d" y="36" width="14" height="12" fill="%s"/>`+"\n", x, p.color)
		}
		fmt.Fprintf(b, `<text x="%d" y="46">%s</text>`+"\n", x+28, esc(s.Name))
		x += 28 + textWidth(s.Name) + 16
	}
	b.WriteString("</g>\n")
}

// textWidth estimates how wide s is drawn at 12 units: Chinese characters are square,
// Latin ones about half as wide.
func textWidth(s string) int {
	w := 0
	for _, r := range s {
		if r >= 0x2E80 {
			w += 12
		} else {
			w += 7
		}
	}
	return w
}

// SVG draws the bar chart. id names the chart's title and description for aria (unique on
// the page). It fails only with ErrShape.
func (c *Bar) SVG(id string) ([]byte, error) {
	if err := check(len(c.Categories), c.Series, "categories"); err != nil {
		return nil, err
	}
	sc := newScale(c.Series)
	var b bytes.Buffer
	frame(&b, id, c.Labels, sc, c.Wan)
	legend(&b, c.Series, false)
	group := float64(plotW) / float64(len(c.Categories))
	barW := group * 0.8 / float64(len(c.Series))
	b.WriteString(`<g class="bars">` + "\n")
	for i, cat := range c.Categories {
		x0 := float64(padLeft) + group*float64(i) + group*0.1
		for j, s := range c.Series {
			v := s.Values[i]
			top, bottom := sc.y(max(v, 0)), sc.y(min(v, 0))
			fmt.Fprintf(&b, `<rect x="%s" y="%s" width="%s" height="%s" fill="%s"><title>%s, %s: %s</title></rect>`+"\n",
				num(x0+barW*float64(j)), num(top), num(barW-2), num(max(bottom-top, 0.5)), palette[j].color,
				esc(cat), esc(s.Name), esc(v.Grouped()))
		}
	}
	b.WriteString("</g>\n")
	b.WriteString(`<g class="x-ticks" text-anchor="middle" fill="#34495e">` + "\n")
	for i, cat := range c.Categories {
		fmt.Fprintf(&b, `<text x="%s" y="%d">%s</text>`+"\n", num(float64(padLeft)+group*(float64(i)+0.5)), padTop+plotH+18, esc(cat))
	}
	b.WriteString("</g>\n</svg>\n")
	return b.Bytes(), nil
}

// maxStepLabels is how many step values the x axis names at most; the table has them all.
const maxStepLabels = 12

// SVG draws the line chart; id as for Bar.SVG.
func (c *Line) SVG(id string) ([]byte, error) {
	if err := check(len(c.Steps), c.Series, "steps"); err != nil {
		return nil, err
	}
	sc := newScale(c.Series)
	var b bytes.Buffer
	frame(&b, id, c.Labels, sc, c.Wan)
	legend(&b, c.Series, true)
	x := func(i int) float64 {
		if len(c.Steps) == 1 {
			return padLeft + plotW/2
		}
		return float64(padLeft) + float64(plotW)*float64(i)/float64(len(c.Steps)-1)
	}
	every := (len(c.Steps) + maxStepLabels - 1) / maxStepLabels
	b.WriteString(`<g class="x-ticks" text-anchor="middle" fill="#34495e">` + "\n")
	for i, s := range c.Steps {
		if i%every == 0 || i == len(c.Steps)-1 {
			fmt.Fprintf(&b, `<text x="%s" y="%d">%s</text>`+"\n", num(x(i)), padTop+plotH+18, esc(s))
		}
	}
	b.WriteString("</g>\n")
	for j, s := range c.Series {
		p := palette[j]
		pts := make([]string, len(s.Values))
		for i, v := range s.Values {
			pts[i] = num(x(i)) + "," + num(sc.y(v))
		}
		fmt.Fprintf(&b, `<g class="series"><polyline points="%s" fill="none" stroke="%s" stroke-width="2.5" stroke-dasharray="%s"/>`+"\n",
			strings.Join(pts, " "), p.color, p.dash)
		for i, v := range s.Values {
			marker(&b, p.marker, x(i), sc.y(v), p.color, fmt.Sprintf("%s, %s: %s", s.Name, c.Steps[i], v.Grouped()))
		}
		b.WriteString("</g>\n")
	}
	b.WriteString("</svg>\n")
	return b.Bytes(), nil
}

// marker draws one point, with its value as a tooltip and for screen readers.
func marker(b *bytes.Buffer, shape string, x, y float64, color, title string) {
	t := "<title>" + esc(title) + "</title>"
	switch shape {
	case "square":
		fmt.Fprintf(b, `<rect x="%s" y="%s" width="7" height="7" fill="%s">%s</rect>`+"\n", num(x-3.5), num(y-3.5), color, t)
	case "diamond":
		fmt.Fprintf(b, `<path d="M%s %sl4 4l-4 4l-4-4z" fill="%s">%s</path>`+"\n", num(x), num(y-4), color, t)
	case "triangle":
		fmt.Fprintf(b, `<path d="M%s %sl4 7h-8z" fill="%s">%s</path>`+"\n", num(x), num(y-4), color, t)
	default:
		fmt.Fprintf(b, `<circle cx="%s" cy="%s" r="3.5" fill="%s">%s</circle>`+"\n", num(x), num(y), color, t)
	}
}
