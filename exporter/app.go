package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/KimMachineGun/automemlimit/memlimit"
	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/common/promslog"
	promslogflag "github.com/prometheus/common/promslog/flag"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web/kingpinflag"
)

const appName = "sigil-integrity-exporter"

// Exit codes, documented in the README.
const (
	exitOK       = 0 // check: no failures; serve: clean shutdown
	exitFailures = 1 // check: failures found
	exitError    = 2 // could not run: bad flags, unreachable store, bad key file
)

// run parses args and runs the chosen command; it returns the exit code.
func run(args []string, stdout, stderr io.Writer) int {
	setVersion()
	app := kingpin.New(appName, "Verifies every sigil record in the app's store and exports the result to Prometheus.")
	app.Version(version.Print(appName))
	app.HelpFlag.Short('h')
	app.UsageWriter(stdout)
	app.ErrorWriter(stderr)
	exited := -1
	app.Terminate(func(code int) { exited = code })

	cfg := &config{}
	cfg.register(app)
	webFlags := kingpinflag.AddFlags(app, ":9961")
	logCfg := &promslog.Config{}
	promslogflag.AddFlags(app, logCfg)
	nameFlagErrors(app)

	serveCmd := app.Command("serve", "Walk the stores continuously, one paced pass per --scan.pass-duration, and serve metrics and reports (the default).").Default()
	checkCmd := app.Command("check", "Run one full pass at full speed, write the report, print a summary and exit: 0 no failures, 1 failures, 2 could not run.")
	demoCmd := app.Command("demo", "Build a demo LevelDB with planted corruptions in a temp dir and serve it with a short pass.")
	cfg.registerCheck(checkCmd)
	demoDir := demoCmd.Flag("demo.dir", "Where to build the demo database and reports (default: a new temp dir).").String()

	cmd, err := app.Parse(args)
	if exited >= 0 { // --help, --version
		return exited
	}
	if err != nil {
		fmt.Fprintf(stderr, "%s: error: %v (see --help)\n", appName, err)
		return exitError
	}
	if err := validateFlags(cfg, webFlags); err != nil {
		return fatalf(stderr, "%v", err)
	}
	logCfg.Writer = stderr
	logger := promslog.New(logCfg)
	logger.Info("starting "+appName, "command", cmd, "version", version.Info(), "build_context", version.BuildContext())
	warnFlags(cfg, args, logger)
	setMemoryLimit(logger, memlimit.FromCgroup)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	switch cmd {
	case checkCmd.FullCommand():
		return runCheck(ctx, cfg, logger, stdout, stderr)
	case demoCmd.FullCommand():
		return runDemo(ctx, cfg, *demoDir, webFlags, logger, stdout, stderr)
	case serveCmd.FullCommand():
		return runServe(ctx, cfg, webFlags, logger, stderr)
	}
	fmt.Fprintf(stderr, "%s: error: unknown command %q\n", appName, cmd)
	return exitError
}

// fatalf prints one clear line and returns the "could not run" code. An
// error among a about a library's setting names its flag.
func fatalf(stderr io.Writer, format string, a ...any) int {
	for i, x := range a {
		if err, ok := x.(error); ok {
			a[i] = flagError(err)
		}
	}
	fmt.Fprintf(stderr, "%s: error: %s\n", appName, fmt.Sprintf(format, a...))
	return exitError
}
