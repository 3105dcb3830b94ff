package wfvalidate

import (
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

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

// cronParser reads schedules as Argo does (robfig/cron's standard parser:
// five fields or a descriptor, with an optional TZ= or CRON_TZ= prefix).
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// parseCron checks one schedule.
func parseCron(spec string) error {
	if strings.TrimSpace(spec) == "" {
		return fmt.Errorf("empty")
	}
	_, err := cronParser.Parse(spec)
	return err
}

// Schedules parses a CronWorkflow's schedules in its timezone: what the
// agent runs on and `kubectl argo cron list` shows the next run of.
func Schedules(spec *argov1.CronWorkflowSpec) ([]cron.Schedule, error) {
	list := spec.Schedules
	if spec.Schedule != "" {
		list = append([]string{spec.Schedule}, list...)
	}
	if len(list) == 0 {
		return nil, fmt.Errorf("spec.schedules is empty: give at least one cron schedule such as \"*/5 * * * *\"")
	}
	tz := ""
	if spec.Timezone != "" {
		if _, err := time.LoadLocation(spec.Timezone); err != nil {
			return nil, fmt.Errorf("spec.timezone %q: %w", spec.Timezone, err)
		}
		tz = "CRON_TZ=" + spec.Timezone + " "
	}
	out := make([]cron.Schedule, 0, len(list))
	for i, s := range list {
		sched, err := cronParser.Parse(tz + s)
		if err != nil {
			return nil, fmt.Errorf("spec.schedules[%d] %q: %w", i, s, err)
		}
		out = append(out, sched)
	}
	return out, nil
}
