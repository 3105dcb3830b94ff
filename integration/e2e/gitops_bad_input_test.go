package e2e

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// badInput is the subtest of TestGitOps
// "bad input is reported and changes nothing".
func (gs *gitopsSuite) badInput(t *testing.T) {
	c, srv := gs.c, gs.srv
	ctx := context.Background()
	ns := newNamespace(t)
	repo := srv.newRepo(t, "bad")
	repo.commit("bad", map[string]string{
		"invalid/cm.yaml":     "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x\n",
		"unknown/thing.yaml":  "apiVersion: nowhere.argolite.dev/v1\nkind: Thing\nmetadata:\n  name: t\n",
		"good/cm.yaml":        configMap("good", "1", ""),
		"badchart/Chart.yaml": "apiVersion: v2\nname: badchart\nversion: 0.1.0\n",
		"badchart/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-chart\ndata:\n" +
			"  value: {{ required \"needed is required\" .Values.needed | quote }}\n",
	})
	authSrv := startGitServer(t, "robot", "right-password")
	private := authSrv.newRepo(t, "private")
	private.commit("private", map[string]string{"cm.yaml": configMap("private", "1", "")})
	creds := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "repo-creds", Labels: map[string]string{"argocd.argoproj.io/secret-type": "repository"}},
		Data:       map[string][]byte{"url": []byte(private.URL), "username": []byte("robot"), "password": []byte("wrong-password")},
	}
	if err := c.Create(ctx, creds); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		source argov1.ApplicationSource
		reason string
		parts  []string
	}{
		{"unreachable", argov1.ApplicationSource{RepoURL: "http://" + nodeIP(t) + ":1/nothing.git"}, "GitOperationFailed", []string{"nothing.git"}},
		{"bad-credentials", argov1.ApplicationSource{RepoURL: private.URL}, "AuthenticationFailed", []string{"private.git"}},
		{"missing-path", argov1.ApplicationSource{RepoURL: repo.URL, Path: "does/not/exist"}, "RenderFailed", []string{"does/not/exist"}},
		{"invalid-yaml", argov1.ApplicationSource{RepoURL: repo.URL, Path: "invalid"}, "RenderFailed", []string{"cm.yaml"}},
		{"unknown-kind", argov1.ApplicationSource{RepoURL: repo.URL, Path: "unknown"}, "UnknownKind", []string{"Thing", "nowhere.argolite.dev/v1"}},
		{"helm-template-error", argov1.ApplicationSource{RepoURL: repo.URL, Path: "badchart"}, "RenderFailed", []string{"badchart/templates/cm.yaml", "needed is required"}},
		{"missing-revision", argov1.ApplicationSource{RepoURL: repo.URL, TargetRevision: "no-such-branch", Path: "good"}, "RevisionNotFound", []string{"no-such-branch"}},
	}
	// Each fault hits an app already synced from good/ into its own
	// namespace, with prune and selfHeal on: it is reported, and the
	// live object stays as it was.
	dests := map[string]string{}
	for _, tc := range cases {
		dests[tc.name] = newNamespace(t)
		newApp(t, c, ns, tc.name, argov1.ApplicationSpec{
			Source:      &argov1.ApplicationSource{RepoURL: repo.URL, Path: "good"},
			Destination: argov1.ApplicationDestination{Namespace: dests[tc.name]},
			SyncPolicy:  automated(true, true),
		})
	}
	for _, tc := range cases {
		app := waitApp(t, c, ns, tc.name, "Synced from good/", time.Minute, syncedHealthy(""))
		before := app.DeepCopy()
		app.Spec.Source = &tc.source
		if err := c.Patch(ctx, app, client.MergeFrom(before)); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range cases {
		waitApp(t, c, ns, tc.name, "Ready=False "+tc.reason, time.Minute, readyFalse(tc.reason, tc.parts...))
		waitEvent(t, ns, tc.name, tc.reason)
	}
	for _, tc := range cases {
		cm, err := clientset.CoreV1().ConfigMaps(dests[tc.name]).Get(ctx, "good", metav1.GetOptions{})
		if err != nil || cm.Data["value"] != "1" || cm.Labels[argov1.LabelAppName] != tc.name {
			t.Errorf("%s: the live ConfigMap changed or went away: %v %v (err %v)", tc.name, cm.Data, cm.Labels, err)
		}
	}
	// The same private repository with the right password in a secretRef syncs.
	good := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "good-creds"},
		Data:       map[string][]byte{"username": []byte("robot"), "password": []byte("right-password")},
	}
	if err := c.Create(ctx, good); err != nil {
		t.Fatal(err)
	}
	newApp(t, c, ns, "good-credentials", argov1.ApplicationSpec{
		Source:     &argov1.ApplicationSource{RepoURL: private.URL, SecretRef: &argov1.LocalSecretReference{Name: "good-creds"}},
		SyncPolicy: automated(true, false),
	})
	waitApp(t, c, ns, "good-credentials", "Synced with the secretRef's credentials", time.Minute, syncedHealthy(""))
	if _, err := clientset.CoreV1().ConfigMaps(ns).Get(ctx, "private", metav1.GetOptions{}); err != nil {
		t.Errorf("the private repository's ConfigMap was not applied: %v", err)
	}
	// A namespace the agent may not write (an admission policy refuses
	// it): the sync fails naming the object and the refusal.
	denied := newNamespace(t)
	denyAgentWrites(t, denied)
	newApp(t, c, ns, "forbidden-namespace", argov1.ApplicationSpec{
		Source:      &argov1.ApplicationSource{RepoURL: repo.URL, Path: "good"},
		Destination: argov1.ApplicationDestination{Namespace: denied},
		SyncPolicy:  automated(true, false),
	})
	waitApp(t, c, ns, "forbidden-namespace", "Ready=False SyncFailed", time.Minute,
		readyFalse("SyncFailed", "ConfigMap/"+denied+"/good", "may not write"))
	waitEvent(t, ns, "forbidden-namespace", "SyncFailed")
	if _, err := clientset.CoreV1().ConfigMaps(denied).Get(ctx, "good", metav1.GetOptions{}); !isNotFound(err) {
		t.Errorf("the refused ConfigMap exists in %s (err %v)", denied, err)
	}
	// A destination in another cluster is refused with the way forward.
	newApp(t, c, ns, "elsewhere", argov1.ApplicationSpec{
		Source:      &argov1.ApplicationSource{RepoURL: repo.URL, Path: "good"},
		Destination: argov1.ApplicationDestination{Server: "https://other-cluster.example:6443", Namespace: ns},
	})
	waitApp(t, c, ns, "elsewhere", "Ready=False InvalidSpec", time.Minute, readyFalse("InvalidSpec", "spec.destination.server", "fleet"))
}
