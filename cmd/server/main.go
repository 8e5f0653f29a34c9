// Command server runs pingdeck: the ping engine, the API, the live stream and the
// dashboard, on one port.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/gin-gonic/gin"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	case err != nil:
		fmt.Fprintln(os.Stderr, "pingdeck:", err)
		os.Exit(1)
	}
}

// run starts pingdeck and blocks until ctx is cancelled, then shuts down in reverse order.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	gin.SetMode(gin.ReleaseMode) // gin's mode is process-wide; debug mode only adds noise
	if len(args) > 0 && args[0] == "agent" {
		return runAgent(ctx, args[1:], getenv, stderr)
	}
	cfg, err := parseConfig(args, getenv, stderr)
	if err != nil {
		return err
	}
	app, err := start(ctx, cfg, stdout, stderr)
	if err != nil {
		if ctx.Err() != nil {
			return nil // told to stop while starting: what start made, it undid
		}
		return err
	}
	<-ctx.Done()
	return app.shutdown()
}
