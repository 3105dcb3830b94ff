package exec

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// kubeFlags are the kubectl flags a resource template may give
// (resource.flags); Argo passes them to kubectl, we interpret the subset
// that makes sense for one action on the API.
type kubeFlags struct {
	args           []string // TYPE NAME..., TYPE/NAME...
	namespace      string
	selector       string
	fieldSelector  string
	all            bool
	ignoreNotFound bool // Argo always passes --ignore-not-found to delete
	wait           bool // kubectl delete waits by default
	timeout        time.Duration
	gracePeriod    *int64
	propagation    metav1.DeletionPropagation
	validation     string // Strict, Warn or Ignore (kubectl's --validate)
	fieldManager   string
}

func (f *kubeFlags) manager() string {
	if f.fieldManager != "" {
		return f.fieldManager
	}
	return FieldManager
}

const supportedKubeFlags = "-n/--namespace, -l/--selector, --field-selector, --all, --ignore-not-found, --wait, --timeout, " +
	"--grace-period, --now, --force, --cascade, --validate, --field-manager (and, without effect, --server-side, --force-conflicts, --save-config, --record)"

// parseKubeFlags reads resource.flags the way kubectl would.
func parseKubeFlags(flags []string) (*kubeFlags, error) {
	f := &kubeFlags{ignoreNotFound: true, wait: true, validation: metav1.FieldValidationStrict}
	for i := 0; i < len(flags); i++ {
		arg := flags[i]
		if arg == "--" {
			f.args = append(f.args, flags[i+1:]...)
			break
		}
		if !strings.HasPrefix(arg, "-") || arg == "-" {
			f.args = append(f.args, arg)
			continue
		}
		long := strings.HasPrefix(arg, "--")
		name, val, hasVal := strings.Cut(strings.TrimLeft(arg, "-"), "=")
		if !long && len(name) > 1 && !hasVal { // -nNAMESPACE, -lapp=x
			name, val, hasVal = name[:1], arg[2:], true
		}
		value := func() (string, error) {
			if hasVal {
				return val, nil
			}
			if i+1 < len(flags) {
				i++
				return flags[i], nil
			}
			return "", fmt.Errorf("flags: %s needs a value", arg)
		}
		boolean := func() (bool, error) {
			if !hasVal {
				return true, nil
			}
			b, err := strconv.ParseBool(val)
			if err != nil {
				return false, fmt.Errorf("flags: %s: want true or false", arg)
			}
			return b, nil
		}
		var err error
		switch name {
		case "n", "namespace":
			f.namespace, err = value()
		case "l", "selector":
			f.selector, err = value()
		case "field-selector":
			f.fieldSelector, err = value()
		case "all":
			f.all, err = boolean()
		case "ignore-not-found":
			f.ignoreNotFound, err = boolean()
		case "wait":
			f.wait, err = boolean()
		case "timeout":
			var s string
			if s, err = value(); err == nil {
				if f.timeout, err = time.ParseDuration(s); err != nil {
					err = fmt.Errorf("flags: --timeout %q: want a duration such as 30s", s)
				}
			}
		case "grace-period":
			var s string
			if s, err = value(); err == nil {
				var n int64
				if n, err = strconv.ParseInt(s, 10, 64); err != nil {
					err = fmt.Errorf("flags: --grace-period %q: want whole seconds", s)
				} else if n >= 0 { // kubectl: negative means the object's default
					f.gracePeriod = &n
				}
			}
		case "now":
			var b bool
			if b, err = boolean(); b {
				f.gracePeriod = ptr(int64(1))
			}
		case "force":
			var b bool
			if b, err = boolean(); b {
				f.gracePeriod = ptr(int64(0))
			}
		case "cascade":
			s := "background"
			if hasVal {
				s = val
			}
			switch s {
			case "background", "true":
				f.propagation = metav1.DeletePropagationBackground
			case "foreground":
				f.propagation = metav1.DeletePropagationForeground
			case "orphan", "false":
				f.propagation = metav1.DeletePropagationOrphan
			default:
				err = fmt.Errorf("flags: --cascade=%s: want background, foreground or orphan", s)
			}
		case "validate":
			s := "strict"
			if hasVal {
				s = val
			}
			switch strings.ToLower(s) {
			case "strict", "true":
				f.validation = metav1.FieldValidationStrict
			case "warn":
				f.validation = metav1.FieldValidationWarn
			case "ignore", "false":
				f.validation = metav1.FieldValidationIgnore
			default:
				err = fmt.Errorf("flags: --validate=%s: want strict, warn or ignore", s)
			}
		case "field-manager":
			f.fieldManager, err = value()
		case "server-side", "force-conflicts", "save-config", "record":
			_, err = boolean()
		default:
			return nil, fmt.Errorf("flags: %s is not supported in a resource template (supported: %s)", arg, supportedKubeFlags)
		}
		if err != nil {
			return nil, err
		}
	}
	return f, nil
}
