package rollout

import "strings"

// RunModelTag is the tag of a serving run (models serve --log-experiment)
// whose replica follows the rollout of a registered model: its value is the
// model's name. The controller finds the replicas' runs by it.
const RunModelTag = "mlgate.rollout.model"

// The per-version metrics a replica logs to its serving run, one step per
// interval (the step is the interval's index, the timestamp its end): the
// keys are "version.V.NAME" for version V. An interval in which V served
// nothing logs nothing for V.
const (
	Requests            = "requests"             // predictions answered by V
	Errors4xx           = "errors_4xx"           // of which answered 4xx
	Errors5xx           = "errors_5xx"           // of which answered 5xx
	LatencyP50          = "latency_p50_ms"       // median request latency
	LatencyP99          = "latency_p99_ms"       // 99th percentile request latency
	ShadowRequests      = "shadow_requests"      // stable requests mirrored to V and compared
	ShadowDisagreements = "shadow_disagreements" // of which V answered differently (or failed)
	ShadowDropped       = "shadow_dropped"       // mirrors dropped because the shadow queue was full
)

// versionPrefix starts every per-version metric key.
const versionPrefix = "version."

// VersionMetric is the metric key of figure name (one of the constants
// above) for version v: "version.V.NAME".
func VersionMetric(v, name string) string { return versionPrefix + v + "." + name }

// MetricRequests is the key of the predictions v answered.
func MetricRequests(v string) string { return VersionMetric(v, Requests) }

// MetricErrors4xx is the key of v's 4xx answers.
func MetricErrors4xx(v string) string { return VersionMetric(v, Errors4xx) }

// MetricErrors5xx is the key of v's 5xx answers.
func MetricErrors5xx(v string) string { return VersionMetric(v, Errors5xx) }

// MetricLatencyP50 is the key of v's median latency in milliseconds.
func MetricLatencyP50(v string) string { return VersionMetric(v, LatencyP50) }

// MetricLatencyP99 is the key of v's 99th percentile latency in milliseconds.
func MetricLatencyP99(v string) string { return VersionMetric(v, LatencyP99) }

// MetricShadowRequests is the key of the mirrors v answered.
func MetricShadowRequests(v string) string { return VersionMetric(v, ShadowRequests) }

// MetricShadowDisagreements is the key of the mirrors v answered differently.
func MetricShadowDisagreements(v string) string { return VersionMetric(v, ShadowDisagreements) }

// MetricShadowDropped is the key of the mirrors to v dropped on a full queue.
func MetricShadowDropped(v string) string { return VersionMetric(v, ShadowDropped) }

// ParseVersionMetric splits a per-version metric key into its version and
// figure name; ok is false for any other key.
func ParseVersionMetric(key string) (version, name string, ok bool) {
	rest, ok := strings.CutPrefix(key, versionPrefix)
	if !ok {
		return "", "", false
	}
	version, name, ok = strings.Cut(rest, ".")
	if !ok || version == "" || name == "" {
		return "", "", false
	}
	return version, name, true
}
