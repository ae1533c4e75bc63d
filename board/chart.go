package board

import (
	"fmt"
	"strings"
)

// Chart geometry, in SVG user units (the SVG scales to its box).
const (
	chartW, chartH = 640.0, 220.0
	padL, padR     = 44.0, 12.0
	padT, padB     = 12.0, 36.0
)

// trendChart is what the template draws for the weekly trend: the grid,
// one series per clock, and the week labels.
type trendChart struct {
	W, H   float64
	Grid   []gridLine
	Series []series
	Labels []axisLabel
}

type gridLine struct {
	Y     float64
	Label string
}

type axisLabel struct {
	X      float64
	Text   string
	Anchor string // SVG text-anchor: the last label ends at the plot's edge
}

// series is one clock's compliance per week: polylines broken where a
// week decided no clock, and a point per week that did.
type series struct {
	Name   string
	Class  string
	Lines  []string // SVG points attributes
	Points []chartPoint
}

type chartPoint struct {
	X, Y  float64
	Title string // "week of 2 Nov: 92% (46 of 50)"
}

// drawTrend lays out the weeks' figures on the chart.
func drawTrend(weeks []week) trendChart {
	c := trendChart{W: chartW, H: chartH}
	plotH := chartH - padT - padB
	y := func(pct float64) float64 { return padT + plotH*(1-pct/100) }
	for _, p := range []float64{0, 50, 100} {
		c.Grid = append(c.Grid, gridLine{Y: y(p), Label: fmt.Sprintf("%.0f%%", p)})
	}
	n := len(weeks)
	x := func(i int) float64 {
		if n < 2 {
			return padL
		}
		return padL + (chartW-padL-padR)*float64(i)/float64(n-1)
	}
	for i, w := range weeks {
		if i%2 == 0 || i == n-1 {
			anchor := "middle"
			if i == n-1 {
				anchor = "end"
			}
			c.Labels = append(c.Labels, axisLabel{X: x(i), Text: w.Start.Format("2 Jan"), Anchor: anchor})
		}
	}
	for _, s := range []struct {
		name, class string
		get         func(w week) (met, breached int)
	}{
		{"first response", "resp", func(w week) (int, int) { return w.ResponseMet, w.ResponseBreached }},
		{"resolution", "resol", func(w week) (int, int) { return w.ResolutionMet, w.ResolutionBreached }},
	} {
		sr := series{Name: s.name, Class: s.class}
		var line []string
		flush := func() {
			if len(line) > 0 {
				sr.Lines = append(sr.Lines, strings.Join(line, " "))
			}
			line = nil
		}
		for i, w := range weeks {
			met, breached := s.get(w)
			if met+breached == 0 {
				flush()
				continue
			}
			pct := 100 * float64(met) / float64(met+breached)
			px, py := x(i), y(pct)
			line = append(line, fmt.Sprintf("%.1f,%.1f", px, py))
			sr.Points = append(sr.Points, chartPoint{X: px, Y: py,
				Title: fmt.Sprintf("%s, week of %s: %s", s.name, w.Start.Format("2 Jan"), metRate(met, breached))})
		}
		flush()
		c.Series = append(c.Series, sr)
	}
	return c
}
