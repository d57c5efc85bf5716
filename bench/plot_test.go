package bench

import (
	"bytes"
	"image/png"
	"testing"
)

func TestChartRendersPNG(t *testing.T) {
	c := &Chart{
		Title: "throughput", XLabel: "concurrency", YLabel: "req/s", LogX: true, LogY: true,
		XTicks: []Tick{{1, "1"}, {16, "16"}, {64, "64"}},
		Series: []Series{
			{Name: "mlgate", X: []float64{1, 16, 64}, Y: []float64{1000, 9000, 9500}},
			{Name: "mlflow", X: []float64{1, 16, 64}, Y: []float64{100, 300, 0}},
		},
	}
	var buf bytes.Buffer
	if err := c.Render(&buf); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 900 || b.Dy() != 520 {
		t.Fatalf("size %v", b)
	}
	// The first series' colour must appear (a line was drawn).
	want := palette[0]
	found := false
	for y := 0; y < 520 && !found; y++ {
		for x := 0; x < 650; x++ {
			r, g, b, _ := img.At(x, y).RGBA()
			if uint8(r>>8) == want.R && uint8(g>>8) == want.G && uint8(b>>8) == want.B {
				found = true
				break
			}
		}
	}
	if !found {
		t.Error("no pixel of the first series in the plot area")
	}
}

func TestChartEmptyAndTiny(t *testing.T) {
	var buf bytes.Buffer
	if err := (&Chart{Title: "empty"}).Render(&buf); err != nil {
		t.Fatalf("empty chart: %v", err)
	}
	if err := (&Chart{W: 100, H: 100}).Render(&buf); err == nil {
		t.Fatal("a chart too small to draw must fail")
	}
}
