package oci

import (
	"path"
	"strings"
	"testing"

	"github.com/mlgate/mlgate/pkgformat"
)

func TestModelLabels(t *testing.T) {
	m, err := pkgformat.ParseMLmodel([]byte("run_id: r1\nmodel_uuid: u1\nflavors:\n  onnx: {}\n  python_function: {}\n" +
		"signature:\n  inputs: '[{\"type\": \"double\", \"name\": \"x\"}]'\n  outputs: null\n"))
	if err != nil {
		t.Fatal(err)
	}
	l := ModelLabels("reg/linear:v1", ModelInfo{URI: "models:/linear@champion", Name: "linear", Version: "3", Model: m})
	for k, want := range map[string]string{
		LabelModelURI: "models:/linear@champion", LabelModelName: "linear", LabelModelVersion: "3",
		LabelRunID: "r1", LabelModelUUID: "u1", LabelFlavors: "onnx,python_function", LabelTitle: "reg/linear:v1",
	} {
		if l[k] != want {
			t.Errorf("%s = %q, want %q", k, l[k], want)
		}
	}
	if !strings.Contains(l[LabelSignature], `"x"`) {
		t.Errorf("signature label %q", l[LabelSignature])
	}
	if l := ModelLabels("x", ModelInfo{URI: "/m"}); len(l) != 2 {
		t.Errorf("labels of a plain folder: %v", l)
	}
}

func TestServeEntrypoint(t *testing.T) {
	if got := ServeEntrypoint([]string{"/usr/local/bin/mlgate"}); got[0] != "/usr/local/bin/mlgate" || got[4] != ModelDir {
		t.Fatal(got)
	}
	if got := ServeEntrypoint([]string{"/bin/sh", "-c"}); got[0] != "mlgate" {
		t.Fatal(got)
	}
}

func TestDockerfile(t *testing.T) {
	df := Dockerfile(DockerfileSpec{
		Base: "mlgate/mlgate:1.0", Labels: map[string]string{"b": `say "hi" $HOME <x>`, "a": "1"}, Entrypoint: ServeEntrypoint(nil),
		From: []CopyFrom{{"rt:1", "/usr/local/bin/mlgate", "/usr/local/bin/mlgate"}},
		Run:  [][]string{{"python3", "-m", "pip", "install", "x"}},
		Env:  []string{"PYTHONPATH=/opt/ml/env"},
	})
	for _, want := range []string{
		"FROM mlgate/mlgate:1.0\n",
		"COPY --from=rt:1 /usr/local/bin/mlgate /usr/local/bin/mlgate\nCOPY --chown=0:0 model_dir /opt/ml/model\n",
		"RUN [\"python3\",\"-m\",\"pip\",\"install\",\"x\"]\nENV PYTHONPATH=\"/opt/ml/env\"\n",
		"LABEL a=\"1\"\nLABEL b=\"say \\\"hi\\\" \\$HOME <x>\"\n",
		"EXPOSE 8080\n",
		`ENTRYPOINT ["mlgate","models","serve","-m","/opt/ml/model","--host","0.0.0.0","--port","8080"]`,
	} {
		if !strings.Contains(df, want) {
			t.Errorf("Dockerfile lacks %q:\n%s", want, df)
		}
	}
}

// FuzzLinkInside checks linkInside against resolving the link by hand:
// it accepts a link only when no step of its target climbs above /.
func FuzzLinkInside(f *testing.F) {
	for _, s := range [][2]string{{"/lib/a.so", "../b"}, {"/a/b/c", "../../../x"}, {"/x", "/y/../z"}, {"/a", "./.."}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, img, target string) {
		if !path.IsAbs(img) || path.Clean(img) != img || img == "/" {
			return
		}
		got := linkInside(img, target)
		start := path.Dir(img)
		if path.IsAbs(target) {
			start = "/"
		}
		var stack []string
		if start != "/" {
			stack = strings.Split(strings.TrimPrefix(start, "/"), "/")
		}
		escapes := target == ""
		for _, part := range strings.Split(target, "/") {
			switch part {
			case "", ".":
			case "..":
				if len(stack) == 0 {
					escapes = true
				} else {
					stack = stack[:len(stack)-1]
				}
			default:
				stack = append(stack, part)
			}
		}
		if got == escapes {
			t.Fatalf("linkInside(%q, %q) = %v, but escapes = %v", img, target, got, escapes)
		}
	})
}
