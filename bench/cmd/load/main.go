// Command load drives closed-loop HTTP load at one endpoint and prints
// throughput, latency percentiles and, given the server's process id, the
// server's CPU time per request. It is the tool behind the tuning numbers
// in docs/serving.md:
//
//	go run ./bench/cmd/load -url http://127.0.0.1:5001/invocations -body req.json -c 16 -pid $(pgrep -f 'mlgate models serve')
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	"github.com/mlgate/mlgate/bench"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(2)
	}
}

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	url := fs.String("url", "", "endpoint to POST to")
	bodyFile := fs.String("body", "", "file holding the request body")
	ctype := fs.String("type", "application/json", "Content-Type of the body")
	conc := fs.Int("c", 16, "concurrent senders, one kept-alive connection each")
	dur := fs.Duration("d", 4*time.Second, "measured duration")
	warm := fs.Duration("warmup", time.Second, "unmeasured load before it")
	pid := fs.Int("pid", 0, "server process id: also print its CPU time per request (Linux)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *url == "" || *bodyFile == "" || *conc < 1 || *dur <= 0 {
		return errors.New("-url and -body are required; -c and -d must be positive")
	}
	body, err := os.ReadFile(*bodyFile)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	client := bench.NewClient(*conc, 30*time.Second)
	op := bench.HTTPOp(client, &bench.Request{URL: *url, ContentType: *ctype, Body: body})
	if *warm > 0 {
		bench.Closed(ctx, op, *conc, bench.Bounds{Duration: *warm})
	}
	var cpu0 time.Duration
	if *pid > 0 {
		if cpu0, err = bench.ProcessCPU(*pid); err != nil {
			return err
		}
	}
	res := bench.Closed(ctx, op, *conc, bench.Bounds{Duration: *dur})
	fmt.Fprintf(stdout, "c=%d %v: %.0f req/s, %d errors, p50 %.3f ms, p99 %.3f ms",
		*conc, dur.Round(time.Millisecond), res.Throughput, res.Errors,
		ms(res.Latency.P50), ms(res.Latency.P99))
	if *pid > 0 {
		cpu1, err := bench.ProcessCPU(*pid)
		if err != nil {
			return err
		}
		if ok := res.Requests - res.Errors; ok > 0 {
			fmt.Fprintf(stdout, ", server CPU %.0f µs/request", float64((cpu1-cpu0).Microseconds())/float64(ok))
		}
	}
	fmt.Fprintln(stdout)
	if res.Errors > 0 {
		fmt.Fprintln(stdout, "first error:", res.FirstError)
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
