package main

import (
	"context"
	"errors"
)

func runServer(_ context.Context, env *cliEnv, args []string) error {
	fs := newFlagSet(env, "server", "mlgate server [flags]")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	return errors.New("server: not built yet")
}
