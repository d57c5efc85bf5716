package rollout

import "testing"

func TestVersionMetricNames(t *testing.T) {
	for got, want := range map[string]string{
		MetricRequests("3"):            "version.3.requests",
		MetricErrors4xx("3"):           "version.3.errors_4xx",
		MetricErrors5xx("3"):           "version.3.errors_5xx",
		MetricLatencyP50("3"):          "version.3.latency_p50_ms",
		MetricLatencyP99("12"):         "version.12.latency_p99_ms",
		MetricShadowRequests("4"):      "version.4.shadow_requests",
		MetricShadowDisagreements("4"): "version.4.shadow_disagreements",
		MetricShadowDropped("4"):       "version.4.shadow_dropped",
	} {
		if got != want {
			t.Errorf("%s, want %s", got, want)
		}
	}
	v, name, ok := ParseVersionMetric("version.12.latency_p99_ms")
	if !ok || v != "12" || name != LatencyP99 {
		t.Errorf("parsed %q %q %v", v, name, ok)
	}
	for _, bad := range []string{"requests", "version.", "version.3", "version..requests", "version.3."} {
		if _, _, ok := ParseVersionMetric(bad); ok {
			t.Errorf("%q parsed as a version metric", bad)
		}
	}
}
