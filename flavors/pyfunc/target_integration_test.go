//go:build integration

package pyfunc

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/mlgate/mlgate/pkgformat"
)

// targetModel writes a python_function model folder with the given
// environment files and returns it with its parsed MLmodel.
func targetModel(t *testing.T, mlflowVersion string, files map[string]string) (string, *pkgformat.Model) {
	t.Helper()
	dir := t.TempDir()
	mlmodel := "flavors:\n  python_function:\n    loader_module: mlflow.sklearn\n"
	if mlflowVersion != "" {
		mlmodel += "mlflow_version: " + mlflowVersion + "\n"
	}
	files["MLmodel"] = mlmodel
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	m, err := pkgformat.ReadModel(dir)
	if err != nil {
		t.Fatal(err)
	}
	return dir, m
}

func targetOptions(t *testing.T) TargetOptions {
	t.Helper()
	platform, err := PythonPlatform(runtime.GOARCH)
	if err != nil {
		t.Fatal(err)
	}
	return TargetOptions{UV: filepath.Join(filepath.Dir(testPython(t)), "uv"), PythonVersion: "3.11", Platform: platform, Python: "/usr/bin/python3.11"}
}

// tree reads every file of dir (relative path -> mode and content).
func tree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		out[rel] = info.Mode().String() + "\n" + string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestInstallTargetIsReproducibleAndImportable(t *testing.T) {
	dir, m := targetModel(t, "", map[string]string{
		"requirements.txt": "sqlparse==0.6.1\nsix==1.17.0\n",
		"python_env.yaml":  "python: 3.11.7\nbuild_dependencies:\n- pip\ndependencies:\n- -r requirements.txt\n",
	})
	o := targetOptions(t)
	var trees []map[string]string
	for range 2 {
		dest := filepath.Join(t.TempDir(), "env")
		te, err := InstallTarget(context.Background(), dir, m, dest, o)
		if err != nil {
			t.Fatal(err)
		}
		if te.ModelPython != "3.11.7" || strings.Join(te.Requirements, " ") != "-r requirements.txt" {
			t.Fatalf("installed %+v", te)
		}
		trees = append(trees, tree(t, dest))
		out, err := exec.Command("/usr/bin/python3.11", "-c", "import sys; sys.path.insert(0, sys.argv[1]); import sqlparse, six; print(sqlparse.__file__)", dest).CombinedOutput()
		if err != nil || !strings.HasPrefix(string(out), dest+"/sqlparse/") {
			t.Fatalf("import from the folder: %v %s", err, out)
		}
	}
	a, b := trees[0], trees[1]
	if len(a) != len(b) || len(a) == 0 {
		t.Fatalf("%d files, then %d", len(a), len(b))
	}
	for p, content := range a {
		if b[p] != content {
			t.Errorf("%s differs between two installs", p)
		}
		if strings.HasSuffix(p, ".pyc") || p == ".lock" {
			t.Errorf("%s is in the folder", p)
		}
	}
	if script := a["bin/sqlformat"]; !strings.HasPrefix(script, "-rwxr-xr-x\n#!/usr/bin/python3.11\n") {
		t.Fatalf("bin/sqlformat: %q", script[:min(len(script), 80)])
	}
}

func TestInstallTargetFailures(t *testing.T) {
	o := targetOptions(t)
	t.Run("unknown package", func(t *testing.T) {
		dir, m := targetModel(t, "3.17.2", map[string]string{"requirements.txt": "mlgate-no-such-package-xq7==1.0\n"})
		dest := filepath.Join(t.TempDir(), "env")
		_, err := InstallTarget(context.Background(), dir, m, dest, o)
		if !errors.Is(err, ErrEnv) || !strings.Contains(err.Error(), "mlgate-no-such-package-xq7") || !strings.Contains(err.Error(), "mlflow==3.17.2") {
			t.Fatalf("got %v", err)
		}
		if _, err := os.Stat(dest); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("left %s: %v", dest, err)
		}
	})
	t.Run("no environment files", func(t *testing.T) {
		dir, m := targetModel(t, "3.17.2", map[string]string{})
		_, err := InstallTarget(context.Background(), dir, m, filepath.Join(t.TempDir(), "env"), o)
		if !errors.Is(err, ErrEnv) || !strings.Contains(err.Error(), "needs requirements.txt or python_env.yaml") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("python_env dependencies", func(t *testing.T) {
		dir, m := targetModel(t, "", map[string]string{"python_env.yaml": "python: '3.11'\ndependencies:\n- six==1.17.0\n"})
		dest := filepath.Join(t.TempDir(), "env")
		te, err := InstallTarget(context.Background(), dir, m, dest, o)
		if err != nil || te.ModelPython != "3.11" {
			t.Fatalf("%+v %v", te, err)
		}
		if _, err := os.Stat(filepath.Join(dest, "six.py")); err != nil {
			t.Fatal(err)
		}
	})
}
