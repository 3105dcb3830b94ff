package wfvalidate

import (
	"fmt"
	"strings"
)

// Error is one fault: where it is and what is wrong.
type Error struct {
	// File is the file the object came from ("" for an object that did not
	// come from a file); for a file of several documents it names the
	// document too: "wf.yaml (document 2)".
	File string
	// Path is the field, as `spec.templates[0].steps[1][0].arguments`; ""
	// for a fault of the whole document.
	Path string
	// Reason says what is wrong and how to fix it.
	Reason string
}

// Error formats the fault as `FILE: PATH: REASON`, leaving out the parts
// that are empty.
func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteString(": ")
	}
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Reason)
	return b.String()
}

// Errors are the faults of one validation, in the order found.
type Errors []*Error

// Error lists the faults, one per line.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Err returns es as an error, or nil when there is no fault (an empty Errors
// stored in an error interface would not be nil).
func (es Errors) Err() error {
	if len(es) == 0 {
		return nil
	}
	return es
}

// WithFile sets File on the faults that have none, and returns es.
func (es Errors) WithFile(file string) Errors {
	for _, e := range es {
		if e.File == "" {
			e.File = file
		}
	}
	return es
}

// errorList collects faults.
type errorList struct {
	errs Errors
}

func (l *errorList) add(path, format string, args ...any) {
	l.errs = append(l.errs, &Error{Path: path, Reason: fmt.Sprintf(format, args...)})
}
