package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func runArgs(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), &cliEnv{stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}, args)
	return code, out.String(), errb.String()
}

func TestExitCodes(t *testing.T) {
	cases := []struct {
		name string
		args []string
		code int
		in   string // substring of stderr
	}{
		{"no command", nil, exitUsage, "missing command"},
		{"unknown command", []string{"nope"}, exitUsage, `unknown command "nope"`},
		{"unknown subcommand", []string{"models", "nope"}, exitUsage, `unknown command "nope"`},
		{"unknown flag", []string{"version", "--bogus"}, exitUsage, "bogus"},
		{"stray argument", []string{"version", "extra"}, exitUsage, `unexpected argument "extra"`},
		{"help", []string{"--help"}, exitOK, ""},
		{"version", []string{"version"}, exitOK, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, _, stderr := runArgs(t, c.args...)
			if code != c.code {
				t.Fatalf("exit %d, want %d (stderr %q)", code, c.code, stderr)
			}
			if c.in != "" && !strings.Contains(stderr, c.in) {
				t.Fatalf("stderr %q lacks %q", stderr, c.in)
			}
			if c.code == exitUsage && strings.Count(strings.TrimSpace(stderr), "\n") > 0 && c.args != nil {
				t.Fatalf("usage error is not one line: %q", stderr)
			}
		})
	}
}

func TestHelpOnEveryCommand(t *testing.T) {
	for group, cmds := range commands() {
		for _, c := range cmds {
			args := []string{c.name, "--help"}
			if group != "" {
				args = append([]string{group}, args...)
			}
			code, out, _ := runArgs(t, args...)
			if code != exitOK || !strings.Contains(out, "Usage:") {
				t.Errorf("%v: exit %d, stdout %q", args, code, out)
			}
		}
	}
}
