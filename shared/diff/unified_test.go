package diff

import (
	"strings"
	"testing"
)

const cmLive = `apiVersion: v1
kind: ConfigMap
metadata:
  name: c
  namespace: ns
data:
  a: "1"
  b: "2"
  c: "3"
  d: "4"
  e: "5"
`

func TestUnified(t *testing.T) {
	live := obj(t, cmLive)
	desired := obj(t, strings.Replace(cmLive, `d: "4"`, `d: "40"`, 1))
	tests := []struct {
		name          string
		live, desired bool
		colour        bool
		want          string
	}{
		{"changed value", true, true, false, `--- live/v1/ConfigMap/ns/c
+++ desired/v1/ConfigMap/ns/c
@@ -3,7 +3,7 @@
   a: "1"
   b: "2"
   c: "3"
-  d: "4"
+  d: "40"
   e: "5"
 kind: ConfigMap
 metadata:
`},
		{"changed value in colour", true, true, true, "\x1b[1m--- live/v1/ConfigMap/ns/c\x1b[0m\n" +
			"\x1b[1m+++ desired/v1/ConfigMap/ns/c\x1b[0m\n" +
			"\x1b[36m@@ -3,7 +3,7 @@\x1b[0m\n" +
			"   a: \"1\"\n   b: \"2\"\n   c: \"3\"\n" +
			"\x1b[31m-  d: \"4\"\x1b[0m\n" +
			"\x1b[32m+  d: \"40\"\x1b[0m\n" +
			"   e: \"5\"\n kind: ConfigMap\n metadata:\n"},
		{"missing live", false, true, false, `--- live/v1/ConfigMap/ns/c
+++ desired/v1/ConfigMap/ns/c
@@ -0,0 +1,11 @@
+apiVersion: v1
+data:
+  a: "1"
+  b: "2"
+  c: "3"
+  d: "40"
+  e: "5"
+kind: ConfigMap
+metadata:
+  name: c
+  namespace: ns
`},
		{"no difference", true, false, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, d := live, desired
			if !tt.live {
				l = nil
			}
			if !tt.desired {
				d = live // the same object on both sides
			}
			if got := Unified(l, d, tt.colour); got != tt.want {
				t.Errorf("Unified:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
	if got := Unified(nil, nil, true); got != "" {
		t.Errorf("Unified(nil, nil) = %q", got)
	}
}

func TestUnifiedClusterScopedHeader(t *testing.T) {
	a := obj(t, "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: reader\n")
	b := obj(t, "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: reader\n  labels:\n    x: y\n")
	got := Unified(a, b, false)
	if !strings.HasPrefix(got, "--- live/rbac.authorization.k8s.io/v1/ClusterRole/reader\n+++ desired/rbac.authorization.k8s.io/v1/ClusterRole/reader\n") {
		t.Errorf("headers:\n%s", got)
	}
}

const secretLive = `apiVersion: v1
kind: Secret
metadata:
  name: creds
  namespace: ns
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: '{"data":{"password":"aHVudGVyMg=="}}'
type: Opaque
data:
  password: aHVudGVyMg==
  token: c2FtZS10b2tlbg==
  removed: b2xkLWtleQ==
`

func TestUnifiedMasksSecrets(t *testing.T) {
	live := obj(t, secretLive)
	desired := obj(t, strings.NewReplacer(
		"password: aHVudGVyMg==", "password: bmV3LXBhc3N3b3Jk",
		"  removed: b2xkLWtleQ==\n", "  added: YWRkZWQtdmFsdWU=\n",
	).Replace(secretLive)+"stringData:\n  plain: top-secret\n")
	got := Unified(live, desired, false)
	want := `--- live/v1/Secret/ns/creds
+++ desired/v1/Secret/ns/creds
@@ -1,10 +1,12 @@
 apiVersion: v1
 data:
-  password: '*** (before)'
-  removed: '***'
+  added: '***'
+  password: '*** (after)'
   token: '***'
 kind: Secret
 metadata:
   name: creds
   namespace: ns
+stringData:
+  plain: '***'
 type: Opaque
`
	if got != want {
		t.Errorf("Unified:\n%s\nwant:\n%s", got, want)
	}
	for _, secret := range []string{"aHVudGVyMg==", "bmV3LXBhc3N3b3Jk", "c2FtZS10b2tlbg==", "b2xkLWtleQ==", "YWRkZWQtdmFsdWU=", "top-secret", "last-applied"} {
		if strings.Contains(got, secret) {
			t.Errorf("the diff shows %q", secret)
		}
	}
	if live.Object["data"].(map[string]any)["password"] != "aHVudGVyMg==" {
		t.Error("Unified changed its input")
	}
	if got := Unified(live, obj(t, secretLive), false); got != "" {
		t.Errorf("equal Secrets give a diff:\n%s", got)
	}
}

func TestUnifiedMasksOddSecretValues(t *testing.T) {
	live := obj(t, "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\ndata:\n  k:\n    nested: c2VjcmV0\n")
	desired := obj(t, "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\ndata: c2VjcmV0\n")
	got := Unified(live, desired, false)
	if !strings.Contains(got, "'***'") || strings.Contains(got, "c2VjcmV0") {
		t.Errorf("Unified:\n%s", got)
	}
}
