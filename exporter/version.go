package main

import (
	"log/slog"
	"os"
	"runtime/debug"

	"github.com/prometheus/common/version"
)

// setVersion fills version.Version when the linker flags (Makefile,
// Dockerfile) did not, from the build information Go embeds: the module
// version of `go install ...@v1.2.3`, the VCS pseudo-version of a `go
// build` in a checkout, else "devel". build_info{version} and the reports
// are never without a version.
func setVersion() {
	if version.Version != "" {
		return
	}
	version.Version = "devel"
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		version.Version = bi.Main.Version
	}
}

// hostname is the host name reports carry; "" (omitted) when the system
// cannot tell.
func hostname(logger *slog.Logger) string {
	h, err := os.Hostname()
	if err != nil {
		logger.Warn("cannot read the host name; reports will not name the host", "err", err)
		return ""
	}
	return h
}
