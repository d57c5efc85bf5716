package bench

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"strconv"
)

// Series is one line of a chart.
type Series struct {
	Name string
	X, Y []float64
}

// Tick is an axis mark at a data value with a label.
type Tick struct {
	At    float64
	Label string
}

// Chart is a line chart drawn to PNG with the standard library only.
type Chart struct {
	Title          string
	XLabel, YLabel string
	LogX, LogY     bool
	// XTicks, when set, replace the automatic ticks of the x axis.
	XTicks []Tick
	Series []Series
	W, H   int
}

var palette = []color.RGBA{
	{31, 119, 180, 255}, {214, 39, 40, 255}, {44, 160, 44, 255}, {255, 127, 14, 255},
	{148, 103, 189, 255}, {140, 86, 75, 255}, {227, 119, 194, 255}, {127, 127, 127, 255},
	{188, 189, 34, 255}, {23, 190, 207, 255}, {0, 0, 0, 255}, {100, 100, 255, 255},
}

type axis struct {
	lo, hi float64
	log    bool
}

func (a axis) norm(v float64) float64 {
	if a.log {
		v, lo, hi := math.Log10(math.Max(v, 1e-12)), math.Log10(a.lo), math.Log10(a.hi)
		return (v - lo) / (hi - lo)
	}
	return (v - a.lo) / (a.hi - a.lo)
}

func dataRange(ss []Series, y, log bool) (float64, float64) {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, s := range ss {
		vs := s.X
		if y {
			vs = s.Y
		}
		for _, v := range vs {
			if math.IsNaN(v) || math.IsInf(v, 0) || (log && v <= 0) {
				continue
			}
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
	}
	if math.IsInf(lo, 1) {
		return 1, 10
	}
	if log {
		lo = math.Pow(10, math.Floor(math.Log10(lo)))
		hi = math.Pow(10, math.Ceil(math.Log10(hi)))
		if hi <= lo {
			hi = lo * 10
		}
		return lo, hi
	}
	if y {
		lo = math.Min(lo, 0)
	}
	if hi <= lo {
		hi = lo + 1
	}
	return lo, hi + (hi-lo)*0.05
}

// autoTicks returns ticks for an axis: powers of ten for a log axis, about
// five round steps otherwise.
func autoTicks(a axis) []Tick {
	var ts []Tick
	if a.log {
		for v := a.lo; v <= a.hi*1.0001; v *= 10 {
			ts = append(ts, Tick{v, fmtNum(v)})
		}
		return ts
	}
	raw := (a.hi - a.lo) / 5
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag
	for _, m := range []float64{1, 2, 5, 10} {
		if mag*m >= raw {
			step = mag * m
			break
		}
	}
	for v := math.Ceil(a.lo/step) * step; v <= a.hi; v += step {
		ts = append(ts, Tick{v, fmtNum(v)})
	}
	return ts
}

func fmtNum(v float64) string {
	switch {
	case v == 0:
		return "0"
	case math.Abs(v) >= 1e6:
		return strconv.FormatFloat(v/1e6, 'g', 3, 64) + "M"
	case math.Abs(v) >= 1e4:
		return strconv.FormatFloat(v/1e3, 'g', 3, 64) + "K"
	case math.Abs(v) >= 1:
		return strconv.FormatFloat(math.Round(v*100)/100, 'f', -1, 64)
	default:
		return strconv.FormatFloat(v, 'g', 3, 64)
	}
}

// Render draws the chart as a PNG.
func (c *Chart) Render(w io.Writer) error {
	W, H := c.W, c.H
	if W == 0 {
		W, H = 900, 520
	}
	const scale = 2
	img := image.NewRGBA(image.Rect(0, 0, W, H))
	fillRect(img, 0, 0, W, H, color.White)
	black := color.RGBA{0, 0, 0, 255}
	grey := color.RGBA{225, 225, 225, 255}
	left, right, top, bottom := 80, 250, 40, 60
	pw, ph := W-left-right, H-top-bottom
	if pw < 50 || ph < 50 {
		return fmt.Errorf("chart %dx%d too small", W, H)
	}
	xa := axis{log: c.LogX}
	xa.lo, xa.hi = dataRange(c.Series, false, c.LogX)
	ya := axis{log: c.LogY}
	ya.lo, ya.hi = dataRange(c.Series, true, c.LogY)
	xticks := c.XTicks
	if len(xticks) > 0 {
		xa.lo, xa.hi = xticks[0].At, xticks[len(xticks)-1].At
		if xa.hi <= xa.lo {
			xa.hi = xa.lo + 1
		}
	} else {
		xticks = autoTicks(xa)
	}
	px := func(v float64) int { return left + int(math.Round(xa.norm(v)*float64(pw))) }
	py := func(v float64) int { return top + ph - int(math.Round(ya.norm(v)*float64(ph))) }
	for _, t := range autoTicks(ya) {
		y := py(t.At)
		fillRect(img, left, y, pw, 1, grey)
		drawText(img, left-8-textWidth(t.Label, scale), y-5, t.Label, scale, black)
	}
	for _, t := range xticks {
		x := px(t.At)
		fillRect(img, x, top, 1, ph, grey)
		drawText(img, x-textWidth(t.Label, scale)/2, top+ph+8, t.Label, scale, black)
	}
	fillRect(img, left, top, 1, ph+1, black)
	fillRect(img, left, top+ph, pw+1, 1, black)
	drawText(img, left, 12, c.Title, scale, black)
	drawText(img, left+pw/2-textWidth(c.XLabel, scale)/2, H-24, c.XLabel, scale, black)
	drawText(img, 6, top-24, c.YLabel, scale, black)
	for i, s := range c.Series {
		col := palette[i%len(palette)]
		prevOK := false
		var x0, y0 int
		for j := range min(len(s.X), len(s.Y)) {
			if (c.LogY && s.Y[j] <= 0) || (c.LogX && s.X[j] <= 0) || math.IsNaN(s.Y[j]) {
				prevOK = false
				continue
			}
			x1, y1 := px(s.X[j]), py(s.Y[j])
			if prevOK {
				drawLine(img, x0, y0, x1, y1, col)
			}
			fillRect(img, x1-2, y1-2, 5, 5, col)
			x0, y0, prevOK = x1, y1, true
		}
		ly := top + 4 + i*18
		fillRect(img, left+pw+14, ly+2, 16, 6, col)
		drawText(img, left+pw+36, ly, s.Name, scale, black)
	}
	return png.Encode(w, img)
}

// drawLine draws a 2-pixel line from (x0, y0) to (x1, y1), clipped to img.
func drawLine(img *image.RGBA, x0, y0, x1, y1 int, c color.Color) {
	dx, dy := abs(x1-x0), -abs(y1-y0)
	sx, sy := 1, 1
	if x0 > x1 {
		sx = -1
	}
	if y0 > y1 {
		sy = -1
	}
	e := dx + dy
	for {
		fillRect(img, x0, y0, 2, 2, c)
		if x0 == x1 && y0 == y1 {
			return
		}
		e2 := 2 * e
		if e2 >= dy {
			e += dy
			x0 += sx
		}
		if e2 <= dx {
			e += dx
			y0 += sy
		}
	}
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}
