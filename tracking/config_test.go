package tracking

import (
	"testing"
	"time"
)

func TestFromEnv(t *testing.T) {
	env := map[string]string{
		"MLFLOW_TRACKING_URI":             "http://127.0.0.1:5000",
		"MLFLOW_EXPERIMENT_NAME":          "exp",
		"MLFLOW_EXPERIMENT_ID":            "7",
		"MLFLOW_RUN_ID":                   "abc",
		"MLFLOW_TRACKING_USERNAME":        "bob",
		"MLFLOW_TRACKING_PASSWORD":        "pw",
		"MLFLOW_TRACKING_TOKEN":           "tok",
		"MLFLOW_TRACKING_INSECURE_TLS":    "TRUE",
		"MLFLOW_HTTP_REQUEST_TIMEOUT":     "2.5",
		"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
		"MLFLOW_ENABLE_ASYNC_LOGGING":     "1",
	}
	c := FromEnv(func(k string) string { return env[k] })
	if c.TrackingURI != env["MLFLOW_TRACKING_URI"] || c.ExperimentName != "exp" || c.ExperimentID != "7" || c.RunID != "abc" {
		t.Fatalf("config %+v", c)
	}
	if c.HTTP.Username != "bob" || c.HTTP.Password != "pw" || c.HTTP.Token != "tok" || !c.HTTP.InsecureTLS {
		t.Fatalf("http config %+v", c.HTTP)
	}
	if c.HTTP.Timeout != 2500*time.Millisecond || c.HTTP.MaxRetries != -1 || !c.AsyncLogging || c.User != "bob" {
		t.Fatalf("config %+v", c)
	}
	empty := FromEnv(func(string) string { return "" })
	if empty.TrackingURI != "" || empty.HTTP.MaxRetries != 0 || empty.AsyncLogging {
		t.Fatalf("empty env gives %+v", empty)
	}
}

func TestValidateKey(t *testing.T) {
	for k, ok := range map[string]bool{
		"loss": true, "a/b": true, "x y:z-1.0": true,
		"": false, "../x": false, "/a": false, "a//b": false, ".": false, "a/": false, "bad!": false,
	} {
		if (ValidateKey("metric", k) == nil) != ok {
			t.Errorf("ValidateKey(%q) ok=%v", k, !ok)
		}
	}
}

func TestFloatJSON(t *testing.T) {
	for in, want := range map[string]string{`"NaN"`: `"NaN"`, `"Infinity"`: `"Infinity"`, `"-Infinity"`: `"-Infinity"`, `1.5`: `1.5`, `"2"`: `2`} {
		var f Float
		if err := f.UnmarshalJSON([]byte(in)); err != nil {
			t.Fatal(in, err)
		}
		out, _ := f.MarshalJSON()
		if string(out) != want {
			t.Errorf("%s -> %s, want %s", in, out, want)
		}
	}
}
