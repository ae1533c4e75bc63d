package digest

import (
	"bytes"
	"fmt"
	"image/color"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/helpdeskd/helpdesk/sla"
)

// The chart's size in pixels (at chartDPI), as the HTML part's <img> gives it.
const (
	ChartWidth, ChartHeight = 640, 260
	chartDPI                = 96
)

// Series colours: the board's (board/page.html).
var (
	responseColor   = color.RGBA{R: 0x09, G: 0x69, B: 0xda, A: 0xff}
	resolutionColor = color.RGBA{R: 0x82, G: 0x50, B: 0xdf, A: 0xff}
)

// decided reports whether any week decided a clock: a chart of nothing
// is left out.
func decided(weeks []sla.WeekFigures) bool {
	for _, w := range weeks {
		if w.ResponseMet+w.ResponseBreached+w.ResolutionMet+w.ResolutionBreached > 0 {
			return true
		}
	}
	return false
}

// Chart draws the weekly trend as a PNG: the share of response and of
// resolution clocks met, by the week the tickets were filed, a line per
// clock broken where a week decided none, a point per week that did.
// Mail clients show no SVG (the board's chart), so the digest carries
// this PNG inline.
func Chart(weeks []sla.WeekFigures) ([]byte, error) {
	p := plot.New()
	p.Title.Text = "Share of SLA clocks met, by the week the tickets were filed"
	p.Title.TextStyle.Font.Size = vg.Points(11)
	p.Y.Min, p.Y.Max = 0, 100
	p.Y.Label.Text = "% met"
	p.Y.Tick.Marker = plot.ConstantTicks([]plot.Tick{{Value: 0, Label: "0%"}, {Value: 25}, {Value: 50, Label: "50%"}, {Value: 75}, {Value: 100, Label: "100%"}})
	p.X.Min, p.X.Max = -0.5, float64(len(weeks))-0.5
	var ticks []plot.Tick
	for i, w := range weeks {
		label := ""
		if i%2 == 0 || i == len(weeks)-1 {
			label = w.Start.Format("2 Jan")
		}
		ticks = append(ticks, plot.Tick{Value: float64(i), Label: label})
	}
	p.X.Tick.Marker = plot.ConstantTicks(ticks)
	p.X.Label.Text = "week of"
	grid := plotter.NewGrid()
	grid.Vertical.Color = color.Transparent
	p.Add(grid)
	p.Legend.Top, p.Legend.Left = false, true
	for _, s := range []struct {
		name string
		c    color.Color
		get  func(w sla.WeekFigures) (met, breached int)
	}{
		{"first response", responseColor, func(w sla.WeekFigures) (int, int) { return w.ResponseMet, w.ResponseBreached }},
		{"resolution", resolutionColor, func(w sla.WeekFigures) (int, int) { return w.ResolutionMet, w.ResolutionBreached }},
	} {
		var all, run plotter.XYs
		flush := func() error {
			if len(run) > 1 {
				l, err := plotter.NewLine(run)
				if err != nil {
					return err
				}
				l.Color, l.Width = s.c, vg.Points(2)
				p.Add(l)
			}
			run = nil
			return nil
		}
		for i, w := range weeks {
			met, breached := s.get(w)
			if met+breached == 0 {
				if err := flush(); err != nil {
					return nil, fmt.Errorf("chart: %w", err)
				}
				continue
			}
			pt := plotter.XY{X: float64(i), Y: 100 * float64(met) / float64(met+breached)}
			run, all = append(run, pt), append(all, pt)
		}
		if err := flush(); err != nil {
			return nil, fmt.Errorf("chart: %w", err)
		}
		if len(all) == 0 {
			continue
		}
		sc, err := plotter.NewScatter(all)
		if err != nil {
			return nil, fmt.Errorf("chart: %w", err)
		}
		sc.Color, sc.Radius, sc.Shape = s.c, vg.Points(3), draw.CircleGlyph{}
		p.Add(sc)
		p.Legend.Add(s.name, sc)
	}
	c := vgimg.NewWith(vgimg.UseWH(vg.Length(ChartWidth)*vg.Inch/chartDPI, vg.Length(ChartHeight)*vg.Inch/chartDPI),
		vgimg.UseDPI(chartDPI), vgimg.UseBackgroundColor(color.White))
	p.Draw(draw.New(c))
	var buf bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: c}).WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("chart: png: %w", err)
	}
	return buf.Bytes(), nil
}
