package e2e

import (
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/client"
)

// gitopsSuite is what the subtests of TestGitOps share: the agent they all
// run against is installed once, and they reach it through one client and
// one Git server. Each subtest is a function in the file of its feature
// (gitops_sync_test.go, gitops_hooks_test.go, ...) and works in namespaces
// of its own; they run in the order TestGitOps lists them.
type gitopsSuite struct {
	c   client.Client
	srv *gitServer
}

// TestGitOps runs Applications against a real Git server and the real
// cluster: sync, poll, webhook, prune, self-heal, waves, hooks, rollback,
// ignoreDifferences and each kind of bad input.
func TestGitOps(t *testing.T) {
	needCluster(t)
	sharedAgent(t)
	c := newCRClient(t)
	srv := startGitServer(t, "", "")
	gs := &gitopsSuite{c: c, srv: srv}

	t.Run("directory app: sync, poll, prune, self-heal, broken commit, rollback", gs.directoryApp)
	t.Run("webhook push syncs at once, a bad signature changes nothing", gs.webhookPush)
	t.Run("waves apply in order, PreSync and PostSync hooks run with their delete policies", gs.wavesAndHooks)
	t.Run("a failing sync runs the SyncFail hook", gs.syncFailHook)
	t.Run("cascade delete keeps objects marked Delete=false", gs.cascadeDelete)
	t.Run("a CRD and its custom resource in one app", gs.crdAndItsResource)
	t.Run("kustomize and helm apps run real Pods", gs.kustomizeAndHelm)
	t.Run("ignoreDifferences leaves an HPA's replicas alone", gs.ignoreDifferences)
	t.Run("the guestbook example", gs.guestbookExample)
	t.Run("app diff, manifests and a manual sync", gs.diffManifestsManualSync)
	t.Run("bad input is reported and changes nothing", gs.badInput)
}
