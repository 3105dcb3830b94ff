// Command argolite-agent is the per-cluster agent: it runs argolite's roles
// (GitOps, workflows, rollouts, events, notifications) as controllers.
package main

import (
	"os"
	// CronWorkflow timezones: the agent image has no zoneinfo of its own.
	_ "time/tzdata"

	"github.com/argolite/argolite/agent/boot"
)

func main() { os.Exit(boot.Main(os.Args[1:])) }
