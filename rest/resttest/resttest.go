// Package resttest starts reference servers for client tests: a real
// `mlflow server` from the Python environment named by MLGATE_TEST_PYTHON,
// listening on 127.0.0.1 with a SQLite store and a local artifact proxy.
package resttest

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// MLflow is a running `mlflow server`.
type MLflow struct {
	// URL is http://127.0.0.1:port.
	URL string
	// Dir holds the database and the artifacts.
	Dir string
	// Python is the interpreter of the environment mlflow runs in.
	Python string
	cmd    *exec.Cmd
	done   chan struct{}
}

// Python returns MLGATE_TEST_PYTHON or fails the test.
func Python(t testing.TB) string {
	t.Helper()
	py := os.Getenv("MLGATE_TEST_PYTHON")
	if py == "" {
		t.Fatal("MLGATE_TEST_PYTHON is not set: it must name the python of a venv with mlflow installed")
	}
	return py
}

// FreePort returns a port that was free on 127.0.0.1 a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	return port
}

// StartMLflow starts `mlflow server` in dir and waits until it answers. The
// caller stops it with Stop (typically from TestMain).
func StartMLflow(py, dir string, port int) (*MLflow, error) {
	mlflowBin := filepath.Join(filepath.Dir(py), "mlflow")
	m := &MLflow{URL: fmt.Sprintf("http://127.0.0.1:%d", port), Dir: dir, Python: py, done: make(chan struct{})}
	m.cmd = exec.Command(mlflowBin, "server",
		"--backend-store-uri", "sqlite:///"+filepath.Join(dir, "mlflow.db"),
		"--artifacts-destination", filepath.Join(dir, "mlartifacts"),
		"--host", "127.0.0.1", "--port", strconv.Itoa(port), "--workers", "1")
	m.cmd.Dir = dir
	log, err := os.Create(filepath.Join(dir, "mlflow-server.log"))
	if err != nil {
		return nil, err
	}
	m.cmd.Stdout, m.cmd.Stderr = log, log
	m.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := m.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { _ = m.cmd.Wait(); _ = log.Close(); close(m.done) }()
	deadline := time.Now().Add(300 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-m.done:
			b, _ := os.ReadFile(filepath.Join(dir, "mlflow-server.log"))
			return nil, fmt.Errorf("mlflow server exited early: %s", tail(b))
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, m.URL+"/api/2.0/mlflow/experiments/get?experiment_id=0", nil)
		res, err := http.DefaultClient.Do(req)
		cancel()
		if err == nil {
			_ = res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return m, nil
			}
		}
		time.Sleep(300 * time.Millisecond)
	}
	m.Stop()
	return nil, fmt.Errorf("mlflow server on %s did not answer within 300 s", m.URL)
}

// Stop ends the server and its workers.
func (m *MLflow) Stop() {
	if m == nil || m.cmd == nil || m.cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-m.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-m.done:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-m.cmd.Process.Pid, syscall.SIGKILL)
		<-m.done
	}
}

func tail(b []byte) string {
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// Port returns a port that was free on 127.0.0.1 a moment ago, or 0.
func Port() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port
}

// StartMLgate builds cmd/mlgate from the module containing the working
// directory and runs `mlgate server` in dir on port, with a SQLite store and
// the artifact proxy. stop ends it.
func StartMLgate(dir string, port int) (url string, stop func(), err error) {
	root, err := moduleRoot()
	if err != nil {
		return "", nil, err
	}
	bin := filepath.Join(dir, "mlgate")
	build := exec.Command("go", "build", "-o", bin, "./cmd/mlgate")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		return "", nil, fmt.Errorf("build mlgate: %w: %s", err, out)
	}
	cmd := exec.Command(bin, "server", "--port", strconv.Itoa(port),
		"--backend-store-uri", "sqlite:///"+filepath.Join(dir, "mlgate.db"),
		"--artifacts-destination", filepath.Join(dir, "mlgate-artifacts"))
	cmd.Dir = dir
	log, err := os.Create(filepath.Join(dir, "mlgate-server.log"))
	if err != nil {
		return "", nil, err
	}
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); _ = log.Close(); close(done) }()
	stop = func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
	}
	url = fmt.Sprintf("http://127.0.0.1:%d", port)
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		select {
		case <-done:
			b, _ := os.ReadFile(filepath.Join(dir, "mlgate-server.log"))
			return "", nil, fmt.Errorf("mlgate server exited early: %s", tail(b))
		default:
		}
		if res, err := http.Get(url + "/health"); err == nil {
			_ = res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return url, stop, nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	stop()
	return "", nil, fmt.Errorf("mlgate server on %s did not answer within 2 minutes", url)
}

func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the working directory")
		}
		dir = parent
	}
}
