// Package bench is mlgate's benchmark harness: a load generator (closed loop
// at a fixed concurrency and open loop at a fixed arrival rate, latency
// measured from the intended send time), a small log-linear latency
// histogram, process helpers that start a server on loopback and measure its
// resident memory and its time to the first successful answer, a tiny PNG
// chart plotter and the Markdown report writer. bench/cmd/benchrun drives it
// (`make bench`).
package bench
