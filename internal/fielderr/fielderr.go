// Package fielderr is the error a library returns for a bad setting. It
// names the setting by its Go name ("pace.Config.PassDuration"), never by a
// command-line flag: flags are exporter/'s, which maps each Field to its
// flag (exporter/flagnames.go) before it prints the error.
//
// It owns that one type and imports only the standard library.
package fielderr

import (
	"errors"
	"fmt"
	"strings"
)

// Error is a bad value of one setting.
type Error struct {
	Field string // the setting's Go name, such as "pace.Config.PassDuration"
	Value string // the value as given, formatted for a person (strings quoted)
	Msg   string // what is wrong and what to do
	Err   error  // the cause, if any
}

// New returns an *Error for field and value (formatted with %v, or %q for
// a string) with the message format and args.
func New(field string, value any, format string, args ...any) *Error {
	v := fmt.Sprintf("%v", value)
	if s, ok := value.(string); ok {
		v = fmt.Sprintf("%q", s)
	}
	return &Error{Field: field, Value: v, Msg: fmt.Sprintf(format, args...)}
}

// Wrap is New with a cause, which Unwrap returns and the message ends
// with.
func Wrap(err error, field string, value any, format string, args ...any) *Error {
	e := New(field, value, format, args...)
	e.Err = err
	return e
}

func (e *Error) Error() string { return e.Describe(e.Field) }

// Describe is the message with name standing for the field (a flag, say).
func (e *Error) Describe(name string) string {
	s := "invalid " + name + " " + e.Value
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s + ": " + e.Msg
}

func (e *Error) Unwrap() error { return e.Err }

// Rename rewrites err's message when it holds an *Error whose Field names
// has: the field is replaced by names[Field], outer context kept. Other
// errors come back unchanged; the cause stays reachable with errors.Is/As.
func Rename(err error, names map[string]string) error {
	var fe *Error
	if !errors.As(err, &fe) {
		return err
	}
	name, ok := names[fe.Field]
	if !ok {
		return err
	}
	return &renamed{msg: strings.Replace(err.Error(), fe.Error(), fe.Describe(name), 1), err: err}
}

type renamed struct {
	msg string
	err error
}

func (r *renamed) Error() string { return r.msg }
func (r *renamed) Unwrap() error { return r.err }
