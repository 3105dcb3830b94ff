package wfvalidate

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// cronSpec checks a CronWorkflow's schedule and policies.
func (v *validator) cronSpec(spec *argov1.CronWorkflowSpec, root string) {
	switch {
	case spec.Schedule == "" && len(spec.Schedules) == 0:
		v.add(join(root, "schedules"), "required: when to run, as cron expressions such as \"*/5 * * * *\"")
	case spec.Schedule != "" && len(spec.Schedules) > 0:
		v.add(join(root, "schedule"), "set schedules (or the older schedule), not both")
	}
	if spec.Schedule != "" {
		v.schedule(join(root, "schedule"), spec.Schedule)
	}
	for i, s := range spec.Schedules {
		v.schedule(index(join(root, "schedules"), i), s)
	}
	if spec.Timezone != "" {
		if _, err := time.LoadLocation(spec.Timezone); err != nil {
			v.add(join(root, "timezone"), "unknown time zone %q: use an IANA name such as Europe/Berlin or America/New_York", spec.Timezone)
		}
	}
	switch spec.ConcurrencyPolicy {
	case "", argov1.AllowConcurrent, argov1.ForbidConcurrent, argov1.ReplaceConcurrent:
	default:
		v.add(join(root, "concurrencyPolicy"), "%q is not a concurrency policy: use Allow, Forbid or Replace", spec.ConcurrencyPolicy)
	}
	if n := spec.StartingDeadlineSeconds; n != nil && *n < 0 {
		v.add(join(root, "startingDeadlineSeconds"), "must be 0 or more seconds, not %d", *n)
	}
	if n := spec.SuccessfulJobsHistoryLimit; n != nil && *n < 0 {
		v.add(join(root, "successfulJobsHistoryLimit"), "must be 0 or more, not %d", *n)
	}
	if n := spec.FailedJobsHistoryLimit; n != nil && *n < 0 {
		v.add(join(root, "failedJobsHistoryLimit"), "must be 0 or more, not %d", *n)
	}
	v.expression(join(root, "when"), spec.When)
	v.checkString(join(root, "when"), spec.When, &refScope{syntaxOnly: true})
	if ss := spec.StopStrategy; ss != nil {
		if strings.TrimSpace(ss.Expression) == "" {
			v.add(join(root, "stopStrategy.expression"), "required: the condition that stops the schedule, such as \"cronworkflow.failed >= 3\"")
		}
		v.expression(join(root, "stopStrategy.expression"), ss.Expression)
	}
}

func (v *validator) schedule(path, s string) {
	if err := parseCron(s); err != nil {
		v.add(path, "%q is not a cron schedule: %v (five fields: minute hour day-of-month month day-of-week, such as \"*/5 * * * *\", or @hourly, @daily, @every 1h)", s, err)
	}
}

type cronField struct {
	name     string
	min, max int
	names    map[string]int
}

var cronFields = []cronField{
	{name: "minute", min: 0, max: 59},
	{name: "hour", min: 0, max: 23},
	{name: "day of month", min: 1, max: 31},
	{name: "month", min: 1, max: 12, names: map[string]int{"jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
		"jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12}},
	{name: "day of week", min: 0, max: 6, names: map[string]int{"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}},
}

// parseCron checks a schedule as Argo's cron library (robfig/cron's
// standard parser) reads it: an optional TZ= or CRON_TZ= prefix, then a
// descriptor (@yearly, @annually, @monthly, @weekly, @daily, @midnight,
// @hourly, @every DURATION) or five fields of values, ranges, steps, lists
// and names.
func parseCron(spec string) error {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return fmt.Errorf("empty")
	}
	if strings.HasPrefix(spec, "TZ=") || strings.HasPrefix(spec, "CRON_TZ=") {
		sp := strings.IndexAny(spec, " \t")
		if sp < 0 {
			return fmt.Errorf("nothing after the time zone")
		}
		eq := strings.Index(spec, "=")
		if _, err := time.LoadLocation(spec[eq+1 : sp]); err != nil {
			return fmt.Errorf("unknown time zone %q", spec[eq+1:sp])
		}
		spec = strings.TrimSpace(spec[sp:])
	}
	if strings.HasPrefix(spec, "@") {
		switch spec {
		case "@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly":
			return nil
		}
		if d, ok := strings.CutPrefix(spec, "@every "); ok {
			if _, err := time.ParseDuration(strings.TrimSpace(d)); err != nil {
				return fmt.Errorf("@every takes a duration such as 1h30m, not %q", strings.TrimSpace(d))
			}
			return nil
		}
		return fmt.Errorf("unknown descriptor %q", spec)
	}
	fields := strings.Fields(spec)
	if len(fields) != len(cronFields) {
		return fmt.Errorf("expected exactly 5 fields, found %d", len(fields))
	}
	for i, f := range fields {
		for _, part := range strings.FieldsFunc(f, func(r rune) bool { return r == ',' }) {
			if err := cronFields[i].parse(part); err != nil {
				return fmt.Errorf("%s field %q: %w", cronFields[i].name, f, err)
			}
		}
	}
	return nil
}

func (f cronField) parse(expr string) error {
	rangeAndStep := strings.Split(expr, "/")
	lowAndHigh := strings.Split(rangeAndStep[0], "-")
	single := len(lowAndHigh) == 1
	var start, end int
	if lowAndHigh[0] == "*" || lowAndHigh[0] == "?" {
		start, end = f.min, f.max
	} else {
		var err error
		if start, err = f.value(lowAndHigh[0]); err != nil {
			return err
		}
		switch len(lowAndHigh) {
		case 1:
			end = start
		case 2:
			if end, err = f.value(lowAndHigh[1]); err != nil {
				return err
			}
		default:
			return fmt.Errorf("too many hyphens in %q", expr)
		}
	}
	switch len(rangeAndStep) {
	case 1:
	case 2:
		step, err := strconv.Atoi(rangeAndStep[1])
		if err != nil || step <= 0 {
			return fmt.Errorf("the step in %q must be a positive number", expr)
		}
		if single {
			end = f.max
		}
	default:
		return fmt.Errorf("too many slashes in %q", expr)
	}
	switch {
	case start < f.min:
		return fmt.Errorf("%d is below the minimum %d", start, f.min)
	case end > f.max:
		return fmt.Errorf("%d is above the maximum %d", end, f.max)
	case start > end:
		return fmt.Errorf("the range %q ends before it starts", expr)
	}
	return nil
}

func (f cronField) value(s string) (int, error) {
	if n, ok := f.names[strings.ToLower(s)]; ok {
		return n, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	if n < 0 {
		return 0, fmt.Errorf("%q is negative", s)
	}
	return n, nil
}
