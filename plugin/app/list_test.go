package app

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/argolite/argolite/plugin/cli"
	"github.com/argolite/argolite/plugin/clitest"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

func listFixture() []*argov1.Application {
	return []*argov1.Application{
		application("web"),
		application("api", func(a *argov1.Application) {
			a.Status.Sync = argov1.SyncStatus{Status: argov1.SyncStatusOutOfSync, Revision: "v1.2.0"}
			a.Status.Health.Status = argov1.HealthProgressing
			a.Spec.Source.TargetRevision = ""
			a.CreationTimestamp = metav1.Time{Time: now.Add(-3 * 24 * time.Hour)}
		}),
		application("new", func(a *argov1.Application) {
			a.Status = argov1.ApplicationStatus{}
			a.Spec.Source = nil
			a.Spec.Sources = []argov1.ApplicationSource{
				{RepoURL: "https://git.example.com/values.git", Ref: "values"},
				{RepoURL: "https://git.example.com/charts.git", Path: "charts/new"},
			}
		}),
		application("billing", func(a *argov1.Application) { a.Namespace = "billing" }),
	}
}

func TestList(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    string
		wantErr string
	}{
		{
			name: "namespace",
			args: []string{"list"},
			want: `NAME SYNC HEALTH REVISION REPO PATH AGE
api OutOfSync Progressing v1.2.0 https://git.example.com/api.git deploy 3d
new Unknown Unknown - https://git.example.com/charts.git charts/new 120m
web Synced Healthy 53e28ff https://git.example.com/web.git deploy 120m`,
		},
		{
			name: "all namespaces, wide",
			args: []string{"ls", "-A", "-o", "wide"},
			want: `NAMESPACE NAME SYNC HEALTH REVISION REPO PATH TARGET DESTINATION AGE
billing billing Synced Healthy 53e28ff https://git.example.com/billing.git deploy main billing 120m
team api OutOfSync Progressing v1.2.0 https://git.example.com/api.git deploy HEAD api 3d
team new Unknown Unknown - https://git.example.com/charts.git charts/new HEAD new 120m
team web Synced Healthy 53e28ff https://git.example.com/web.git deploy main web 120m`,
		},
		{
			name: "names",
			args: []string{"list", "-o", "name"},
			want: "application.argolite.dev/api\napplication.argolite.dev/new\napplication.argolite.dev/web",
		},
		{name: "unknown format", args: []string{"list", "-o", "table"}, wantErr: `unknown output format "table": use one of wide, json, yaml, kyaml, name,`},
	}
	clients := clitest.NewClients(t, objects(listFixture())...)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, clients, tt.args...)
			clitest.WantOutput(t, r, tt.wantErr, tt.want)
			if strings.Contains(r.Out, "\x1b[") {
				t.Error("colour codes in output that is not a terminal")
			}
		})
	}
}

func TestListJSON(t *testing.T) {
	r := run(t, clitest.NewClients(t, objects(listFixture())...), "list", "-o", "json")
	clitest.WantErr(t, r.Err, "")
	var list argov1.ApplicationList
	if err := json.Unmarshal([]byte(r.Out), &list); err != nil {
		t.Fatalf("-o json is not an ApplicationList: %v\n%s", err, r.Out)
	}
	if list.Kind != "ApplicationList" || len(list.Items) != 3 || list.Items[0].APIVersion != "argolite.dev/v1alpha1" ||
		list.Items[0].Kind != "Application" || list.Items[0].Name != "api" {
		t.Errorf("list: %+v", list)
	}
}

func TestListEmpty(t *testing.T) {
	r := run(t, clitest.NewClients(t), "list")
	clitest.WantErr(t, r.Err, "")
	if r.Out != "" || r.ErrOut != "No applications found in namespace team.\n" {
		t.Errorf("stdout %q, stderr %q", r.Out, r.ErrOut)
	}
}

func TestPaletteKeepsColumnsAligned(t *testing.T) {
	o := NewListOptions(Common{Common: cli.Common{Now: func() time.Time { return now }}})
	var out strings.Builder
	o.Out = &out
	o.printTable([]argov1.Application{*application("web"), *application("api", func(a *argov1.Application) {
		a.Status.Sync.Status = argov1.SyncStatusOutOfSync
		a.Status.Health.Status = "Weird"
	})}, palette{cli.Palette{On: true}})
	lines := strings.Split(strings.TrimSpace(cli.StripColour(out.String())), "\n")
	col := strings.Index(lines[0], "REVISION")
	for _, l := range lines[1:] {
		if strings.Index(l, "53e28ff") != col {
			t.Errorf("columns not aligned with colour on:\n%s", cli.StripColour(out.String()))
		}
	}
	if !strings.Contains(out.String(), "\x1b[32mSynced\x1b[0m") || !strings.Contains(out.String(), "\x1b[33mOutOfSync\x1b[0m") {
		t.Errorf("sync words not coloured: %q", out.String())
	}
}
