package app

import (
	"context"
	"slices"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/argolite/argolite/plugin/clitest"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

func TestDelete(t *testing.T) {
	tests := []struct {
		name string
		args []string
		app  *argov1.Application
		// wantCascade is the cascade annotation the agent sees ("" for none).
		wantCascade string
		wantOut     []string
	}{
		{
			name: "cascade adds the finalizer",
			args: []string{"web"},
			app:  application("web"),
			wantOut: []string{"Waiting for the deletion of web (the agent is removing its objects; finalizers argolite.dev/resources-finalizer)\n",
				"application.argolite.dev/web deleted\n"},
		},
		{
			name: "cascade clears an earlier opt-out",
			args: []string{"web", "--cascade=true"},
			app: application("web", func(a *argov1.Application) {
				a.Annotations = map[string]string{argov1.AnnotationCascade: "false"}
				a.Finalizers = []string{argov1.ResourcesFinalizer}
			}),
			wantOut: []string{"application.argolite.dev/web deleted\n"},
		},
		{
			name: "without cascade",
			args: []string{"web", "--cascade=false"},
			app: application("web", func(a *argov1.Application) {
				a.Finalizers = []string{argov1.ResourcesFinalizer}
			}),
			wantCascade: "false",
			wantOut: []string{"Waiting for the deletion of web (the agent is removing its finalizer (leaving its objects); finalizers argolite.dev/resources-finalizer)\n",
				"application.argolite.dev/web deleted\n"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var seen *argov1.Application
			deleting := func(a *argov1.Application) bool { return a.DeletionTimestamp != nil }
			agent := &fakeAgent{name: "web", when: deleting, steps: []func(*argov1.Application){
				func(a *argov1.Application) { seen = a.DeepCopy() },
				func(a *argov1.Application) { a.Finalizers = nil },
			}}
			clients := clitest.NewClientsWith(t, agent.funcs(), tt.app)
			r := run(t, clients, append([]string{"delete"}, tt.args...)...)
			clitest.WantErr(t, r.Err, "")
			if seen == nil || seen.DeletionTimestamp == nil {
				t.Fatalf("the agent did not see the Application being deleted: %+v", seen)
			}
			if !slices.Contains(seen.Finalizers, argov1.ResourcesFinalizer) {
				t.Errorf("finalizers %v lack %s", seen.Finalizers, argov1.ResourcesFinalizer)
			}
			if got := seen.Annotations[argov1.AnnotationCascade]; got != tt.wantCascade {
				t.Errorf("cascade annotation %q, want %q", got, tt.wantCascade)
			}
			for _, s := range tt.wantOut {
				if !strings.Contains(r.Out, s) {
					t.Errorf("output lacks %q:\n%s", s, r.Out)
				}
			}
			err := clients.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "web"}, &argov1.Application{})
			if !apierrors.IsNotFound(err) {
				t.Errorf("the Application is still there: %v", err)
			}
		})
	}
}

func TestDeleteNoWait(t *testing.T) {
	held := func(a *argov1.Application) { a.Finalizers = []string{argov1.ResourcesFinalizer} }
	clients := clitest.NewClients(t, application("web", held), application("api", held))
	r := run(t, clients, "delete", "web", "api", "--wait=false", "--cascade=false")
	clitest.WantErr(t, r.Err, "")
	if want := "application.argolite.dev/web deletion requested\napplication.argolite.dev/api deletion requested\n"; r.Out != want {
		t.Errorf("output:\n%s\nwant:\n%s", r.Out, want)
	}
	for _, name := range []string{"web", "api"} {
		app := get(t, clients, name)
		if app.DeletionTimestamp == nil || app.Annotations[argov1.AnnotationCascade] != "false" {
			t.Errorf("%s: deletion %v, annotations %v", name, app.DeletionTimestamp, app.Annotations)
		}
	}
}

func TestDeleteTimeout(t *testing.T) {
	r := run(t, clitest.NewClients(t, application("web")), "delete", "web", "--timeout", "20ms")
	clitest.WantErr(t, r.Err, "timed out after 20ms waiting for the deletion of web in namespace team: the agent removes the "+
		"argolite.dev/resources-finalizer finalizer once it has deleted the objects: check it with kubectl argo status and see the conditions with "+
		`kubectl argo app get web; to let the Application go without the agent (its objects stay), run kubectl patch application web -n team --type merge -p '{"metadata":{"finalizers":null}}'`)
}

func TestRefresh(t *testing.T) {
	var seen string
	agent := &fakeAgent{name: "web", eager: true, steps: []func(*argov1.Application){
		func(*argov1.Application) {},
		func(a *argov1.Application) {
			seen = a.Annotations[RefreshAnnotation]
			delete(a.Annotations, RefreshAnnotation)
			outOfSync(a)
		},
	}}
	r := run(t, clitest.NewClientsWith(t, agent.funcs(), application("web")), "refresh", "web")
	clitest.WantErr(t, r.Err, "")
	if seen != RefreshNormal {
		t.Errorf("the agent saw refresh %q, want %q", seen, RefreshNormal)
	}
	want := "Waiting for the agent to refresh team/web (normal)\n" +
		"Refreshed team/web: OutOfSync, Progressing at 53e28ff (Deployment web: 1 of 2 replicas available)\n"
	if r.Out != want {
		t.Errorf("output:\n%s\nwant:\n%s", r.Out, want)
	}
}

func TestRefreshTimeout(t *testing.T) {
	clients := clitest.NewClients(t, application("web"))
	r := run(t, clients, "refresh", "web", "--hard", "--timeout", "20ms")
	clitest.WantErr(t, r.Err, "timed out after 20ms waiting for the agent to refresh team/web: check that the agent runs with kubectl argo status; "+
		"the argolite.dev/refresh annotation stays until an agent handles it")
	if got := get(t, clients, "web").Annotations[RefreshAnnotation]; got != RefreshHard {
		t.Errorf("refresh annotation %q, want %q", got, RefreshHard)
	}
}
