package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// mlflowLoadScript fills an mlflow SQLite store up to n runs in the curve
// experiment with the same runs mlgateLoad writes (bench.MixValue,
// bench.MixTag): the schema comes from mlflow's own SqlAlchemyStore, the
// rows go in with executemany (its ORM, and its REST API even more so,
// would take hours for 100,000 runs of 50 metrics). It prints the
// experiment id and the run count.
const mlflowLoadScript = `import sys, sqlite3, uuid
from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore
path, root, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
BASE, METRICS, PARAMS, WRITERS = %d, %d, %d, %d
store = SqlAlchemyStore("sqlite:///" + path, root)
exp = store.get_experiment_by_name("curve")
exp = exp.experiment_id if exp else store.create_experiment("curve")
store.engine.dispose()
db = sqlite3.connect(path)
have = db.execute("SELECT COUNT(*) FROM runs WHERE experiment_id = ?", (int(exp),)).fetchone()[0]
def val(i, k):
    return float((i * 7919 + k * 104729) %% 10007) / 10007
for lo in range(have, n, 5000):
    runs, tags, params, metrics = [], [], [], []
    for i in range(lo, min(n, lo + 5000)):
        rid = uuid.uuid4().hex
        runs.append((rid, "load-%%d" %% i, "LOCAL", "", "", "bench", "FINISHED", BASE + i, BASE + i + 1000, "", "active",
                     "%%s/%%s/%%s/artifacts" %% (root, exp, rid), int(exp)))
        tags.append(("w", str(i %% WRITERS), rid))
        tags.append(("mlflow.runName", "load-%%d" %% i, rid))
        for k in range(PARAMS):
            params.append(("p%%d" %% k, str((i + k) %% 100), rid))
        for k in range(METRICS):
            metrics.append(("m%%d" %% k, val(i, k), BASE + i, 0, 0, rid))
    db.executemany("INSERT INTO runs (run_uuid, name, source_type, source_name, entry_point_name, user_id, status, start_time, end_time, source_version, lifecycle_stage, artifact_uri, experiment_id) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", runs)
    db.executemany("INSERT INTO tags (key, value, run_uuid) VALUES (?,?,?)", tags)
    db.executemany("INSERT INTO params (key, value, run_uuid) VALUES (?,?,?)", params)
    db.executemany("INSERT INTO metrics (key, value, timestamp, step, is_nan, run_uuid) VALUES (?,?,?,?,?,?)", metrics)
    db.executemany("INSERT INTO latest_metrics (key, value, timestamp, step, is_nan, run_uuid) VALUES (?,?,?,?,?,?)", metrics)
    db.commit()
print(exp)
print(db.execute("SELECT COUNT(*) FROM runs WHERE experiment_id = ?", (int(exp),)).fetchone()[0])
`

// mlflowLoad fills the mlflow store at path up to n runs.
func mlflowLoad(ctx context.Context, cfg *config, path string, n int64) (string, int64, error) {
	script := fmt.Sprintf(mlflowLoadScript, baseStart, 50, 5, 6)
	cmd := exec.CommandContext(ctx, "nice", "-n", fmt.Sprint(cfg.nice), cfg.python, "-c", script, path, filepath.Join(filepath.Dir(path), "artifacts"), fmt.Sprint(n))
	cmd.Env = append(os.Environ(), pythonEnv(cfg.python)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", 0, fmt.Errorf("loading the mlflow store: %w: %s", err, tail(stderr.String(), 800))
	}
	f := strings.Fields(string(out))
	if len(f) != 2 {
		return "", 0, fmt.Errorf("loading the mlflow store printed %q", out)
	}
	have, err := strconv.ParseInt(f[1], 10, 64)
	return f[0], have, err
}

func pythonEnv(python string) []string {
	path := filepath.Dir(python) + string(os.PathListSeparator) + os.Getenv("PATH")
	return []string{"MLFLOW_DISABLE_TELEMETRY=true", "DO_NOT_TRACK=true", "PYTHONUNBUFFERED=1", "PATH=" + path}
}

func tail(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		s = "…" + s[len(s)-n:]
	}
	return strings.ReplaceAll(s, "\n", " | ")
}
