package main

import (
	"fmt"
	"time"

	"github.com/mlgate/mlgate/bench"
)

// targets evaluates the goals of issues 4, 5 and 8 against this run. They
// are reported, not asserted.
func targets(cfg *config, rep *bench.Report) []bench.Target {
	var ts []bench.Target
	add := func(ok, known bool, name, detail string) {
		st := "MISS"
		switch {
		case !known:
			st = "N/A"
		case ok:
			st = "PASS"
		}
		if cfg.quick && known {
			detail += " (quick run: indicative only)"
		}
		ts = append(ts, bench.Target{Status: st, Name: name, Detail: detail})
	}
	ms := func(d time.Duration) string { return bench.Ms(d) + " ms" }

	// Issue 4: HTTP overhead at concurrency 16, small model.
	mg := rep.Find(keyMlgate, "linear").At(16)
	gin := rep.Find(keyFloorGin, "linear").At(16)
	ort := rep.Find(keyFloorORT, "linear").At(16)
	if mg != nil && gin != nil {
		add(mg.Throughput >= 0.75*gin.Throughput, true, "issue 4: mlgate /invocations throughput ≥ 75% of the gin floor (linear, c=16)",
			fmt.Sprintf("%.0f vs %.0f req/s = %.0f%%", mg.Throughput, gin.Throughput, 100*mg.Throughput/gin.Throughput)+cpuBudget(mg, gin))
	} else {
		add(false, false, "issue 4: mlgate throughput ≥ 75% of the gin floor (linear, c=16)", "not measured in this run")
	}
	if mg != nil && gin != nil && ort != nil {
		added := mg.Latency.P50 - gin.Latency.P50 - ort.Latency.P50
		add(added <= 2*gin.Latency.P50, true, "issue 4: p50 mlgate adds over the floors ≤ 2× the gin floor's p50 (linear, c=16)",
			fmt.Sprintf("mlgate p50 %s − gin p50 %s − ORT p50 %s = %s added; limit %s", ms(mg.Latency.P50), ms(gin.Latency.P50),
				ms(ort.Latency.P50), ms(added), ms(2*gin.Latency.P50)))
	} else {
		add(false, false, "issue 4: p50 mlgate adds over the floors ≤ 2× the floor's p50 (linear, c=16)", "not measured in this run")
	}
	off := rep.Find(keyMlgate, "mlp").At(64)
	on := rep.Find(keyMlgateBatch, "mlp").At(64)
	if off != nil && on != nil && off.Throughput > 0 {
		detail := fmt.Sprintf("%.0f vs %.0f req/s = ×%.2f", on.Throughput, off.Throughput, on.Throughput/off.Throughput)
		if rc := rep.RowCost["mlp"]; rc[1] > 0 && rc[32] > 0 {
			detail += fmt.Sprintf("; ONNX Runtime alone (one thread, no HTTP) takes %.0f µs per row at batch 1 and %.0f µs at batch 32: ×%.2f is what batching can save on compute",
				rc[1]/1e3, rc[32]/1e3, rc[1]/rc[32])
			if c := batchCeiling(rep, rc[1], rc[32]); c > 0 {
				detail += fmt.Sprintf("; adding the gin floor's machine time per request at c=64 (HTTP at both ends, no JSON), ×%.2f is the most any server could reach here", c)
			}
		}
		add(on.Throughput >= 3*off.Throughput, true, "issue 4: batching on ≥ 3× batching off (mlp, c=64)", detail)
	} else {
		add(false, false, "issue 4: batching on ≥ 3× batching off (mlp, c=64)", "not measured in this run")
	}
	if s := rep.Find(keyMlgate, "linear"); s != nil && s.Err == "" {
		add(s.IdleRSS > 0 && s.IdleRSS <= 60e6, s.IdleRSS > 0, "issue 4: idle resident memory ≤ 60 MB (linear)",
			fmt.Sprintf("%.1f MB (%.1f MiB) summed VmRSS after start-up", float64(s.IdleRSS)/1e6, float64(s.IdleRSS)/(1<<20)))
		add(s.StartToFirst <= 300*time.Millisecond, true, "issue 4: process start to ready ≤ 300 ms (linear)",
			fmt.Sprintf("%s from exec to the first successful prediction (an upper bound of ready)", ms(s.StartToFirst)))
	} else {
		add(false, false, "issue 4: idle memory ≤ 60 MB and start ≤ 300 ms (linear)", "mlgate onnx did not run")
	}

	// Issue 8: pyfunc workers.
	for _, n := range []int{1, 2} {
		key, base := keyPyfunc1, keyMlflow
		if n == 2 {
			key, base = keyPyfunc2, keyMlflow2
		}
		mgp := rep.Find(key, "sklearn_pipeline").At(16)
		mfp := rep.Find(base, "sklearn_pipeline").At(16)
		name := fmt.Sprintf("issue 8: mlgate --workers %d ≥ 1.5× mlflow --workers %d throughput with p99 no worse (sklearn_pipeline, c=16)", n, n)
		if n == 1 {
			name = "issue 8 (informative, target is for N=2): mlgate --workers 1 vs mlflow --workers 1 (sklearn_pipeline, c=16)"
		}
		if mgp == nil || mfp == nil || mfp.Throughput == 0 {
			add(false, false, name, "not measured in this run")
			continue
		}
		add(mgp.Throughput >= 1.5*mfp.Throughput && mgp.Latency.P99 <= mfp.Latency.P99, true, name,
			fmt.Sprintf("%.0f vs %.0f req/s = ×%.2f; p99 %s vs %s", mgp.Throughput, mfp.Throughput, mgp.Throughput/mfp.Throughput,
				ms(mgp.Latency.P99), ms(mfp.Latency.P99)))
	}
	if mgb, mfp := rep.Find(keyPyfunc2B, "sklearn_pipeline").At(16), rep.Find(keyMlflow2, "sklearn_pipeline").At(16); mgb != nil && mfp != nil && mfp.Throughput > 0 {
		add(mgb.Throughput >= 1.5*mfp.Throughput && mgb.Latency.P99 <= mfp.Latency.P99, true,
			"issue 8, with dynamic batching (--max-batch-size 64 --max-batch-delay 2ms): mlgate --workers 2 ≥ 1.5× mlflow --workers 2, p99 no worse (sklearn_pipeline, c=16)",
			fmt.Sprintf("%.0f vs %.0f req/s = ×%.2f; p99 %s vs %s", mgb.Throughput, mfp.Throughput, mgb.Throughput/mfp.Throughput,
				ms(mgb.Latency.P99), ms(mfp.Latency.P99)))
	}

	// Issue 5: tracking ≥ 10× mlflow on each op.
	var mgt, mft *bench.TrackingRun
	for i := range rep.Tracking {
		switch rep.Tracking[i].System {
		case "mlgate server":
			mgt = &rep.Tracking[i]
		case "mlflow server":
			mft = &rep.Tracking[i]
		}
	}
	// Issue 20: the security middleware (and the permissions) cost at most
	// 5% of throughput: permissionTargets, below.
	for _, op := range trackingOps {
		for _, c := range cfg.trackConcs {
			name := fmt.Sprintf("issue 5: mlgate server ≥ 10× mlflow server throughput, %s, c=%d", op, c)
			a, b := mgt.Op(op, c), mft.Op(op, c)
			if a == nil || b == nil || b.Throughput == 0 {
				add(false, false, name, "not measured in this run")
				continue
			}
			add(a.Throughput >= 10*b.Throughput, true, name, fmt.Sprintf("%s vs %s req/s = %s; p50 %s vs %s, p99 %s vs %s",
				bench.Rate(a.Throughput), bench.Rate(b.Throughput), bench.Ratio(a.Throughput, b.Throughput), ms(a.Latency.P50), ms(b.Latency.P50),
				ms(a.Latency.P99), ms(b.Latency.P99)))
		}
	}
	shadowTargets(cfg, rep, add)
	payloadTargets(rep, add)
	permissionTargets(cfg, rep, add)
	// Issue 15: images.
	if im := rep.Images; im != nil && im.Uncompressed > 0 {
		add(im.Uncompressed <= 100e6, true, "issue 15: ONNX example image ≤ 100 MB uncompressed",
			fmt.Sprintf("%.1f MB uncompressed, %.1f MB compressed (base %.1f MB)", float64(im.Uncompressed)/1e6, float64(im.Compressed)/1e6, float64(im.BaseUncompressed)/1e6)+venvNote(im))
		warm := bench.Median(im.BuildWarm)
		add(warm > 0 && warm <= 5*time.Second, warm > 0, "issue 15: build-docker of the ONNX example ≤ 5 s warm",
			fmt.Sprintf("median %s over %d warm builds (first of the run %s)", ms(warm), len(im.BuildWarm), ms(im.BuildFirst)))
		c, h := bench.Median(im.ContainerFirst), bench.Median(im.HostFirst)
		add(c > 0 && c <= 500*time.Millisecond, c > 0, "issue 15: container start (runc run) to first successful prediction ≤ 500 ms",
			fmt.Sprintf("median %s over %d starts; the same server as a host process %s", ms(c), len(im.ContainerFirst), ms(h)))
	} else {
		add(false, false, "issue 15: image size, build time and container start", "not measured in this run")
	}
	return ts
}

// venvNote compares the image with what mlflow's build-docker installs.
func venvNote(im *bench.ImageRun) string {
	if im.VenvBytes == 0 {
		return "; the mlflow venv baseline is measured in full runs"
	}
	return fmt.Sprintf("; mlflow build-docker's venv alone (mlflow + the model's requirements, no Python base) is %.0f MB, %s the image",
		float64(im.VenvBytes)/1e6, bench.Ratio(float64(im.VenvBytes), float64(im.Uncompressed)))
}

// batchCeiling bounds the batching speed-up on this machine: each request
// costs at least the gin floor's machine time (CPUs ÷ its throughput at
// c=64: HTTP at both ends, the load generator's share included, no JSON)
// plus ONNX Runtime's time per row, at batch 1 without batching and at
// batch 32 with it. 0 when the floor was not measured.
func batchCeiling(rep *bench.Report, row1, row32 float64) float64 {
	g := rep.Find(keyFloorGin, "linear").At(64)
	if g == nil || g.Throughput <= 0 || rep.Machine.CPUs <= 0 {
		return 0
	}
	floor := float64(rep.Machine.CPUs) / g.Throughput * 1e9 // ns
	return (floor + row1) / (floor + row32)
}

// cpuBudget explains a throughput ratio on a machine the load generator
// shares: with every CPU busy, throughput is the CPUs over the server's
// plus the load generator's CPU time per request, so reaching 75% of the
// floor needs the server's CPU per request at most (floor server + floor
// load generator) ÷ 0.75 − mlgate's load generator. "" when the CPU times
// were not measured.
func cpuBudget(mg, floor *bench.Result) string {
	ms, mc := mg.PerRequest(mg.ServerCPU), mg.PerRequest(mg.ClientCPU)
	fs, fc := floor.PerRequest(floor.ServerCPU), floor.PerRequest(floor.ClientCPU)
	if ms == 0 || mc == 0 || fs == 0 || fc == 0 {
		return ""
	}
	budget := time.Duration(float64(fs+fc)/0.75) - mc
	return fmt.Sprintf("; CPU per request: mlgate's server %s µs and its load generator %s µs, the floor's %s µs and %s µs; 75%% needs mlgate's server at about %s µs or less",
		bench.Us(ms), bench.Us(mc), bench.Us(fs), bench.Us(fc), bench.Us(budget))
}
