package config

import (
	"context"
	"errors"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
)

func TestParsedFollowsTheConfigMap(t *testing.T) {
	ctx := context.Background()
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	c := fake.NewClientBuilder().WithScheme(scheme).Build()
	parses := 0
	p := NewParsed(Reader{Client: c, NS: "sys"}, "cfg", func(data map[string]string) (string, error) {
		parses++
		if data["key"] == "bad" {
			return "fallback", errors.New("key: bad value")
		}
		return data["key"], nil
	})
	get := func(want string, wantErr bool, wantParses int) {
		t.Helper()
		got, err := p.Get(ctx)
		if got != want || (err != nil) != wantErr || parses != wantParses {
			t.Fatalf("Get = %q, %v after %d parses; want %q, error %v, %d parses", got, err, parses, want, wantErr, wantParses)
		}
	}
	get("", false, 1) // absent: nil data
	get("", false, 1) // unchanged: no parse

	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "sys", Name: "cfg"}, Data: map[string]string{"key": "one"}}
	if err := c.Create(ctx, cm); err != nil {
		t.Fatal(err)
	}
	get("one", false, 2)
	get("one", false, 2)

	cm.Data["key"] = "bad"
	if err := c.Update(ctx, cm); err != nil {
		t.Fatal(err)
	}
	get("fallback", true, 3) // the parse's error is kept with its value
	get("fallback", true, 3)

	if err := c.Delete(ctx, cm); err != nil {
		t.Fatal(err)
	}
	get("", false, 4)
}
