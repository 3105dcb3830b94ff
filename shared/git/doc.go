// Package git owns fetching Git repositories for the agent and the plugin:
// resolving a revision (branch, tag, commit) to a commit SHA with ls-remote,
// fetching into a per-URL bare repository cache, writing the tree of a commit
// out to a shared read-only directory, and choosing credentials for a
// repository URL from Argo CD style repository Secrets.
//
// It wraps github.com/go-git/go-git/v5 and returns typed errors
// (ErrAuthentication, ErrRepositoryNotFound, ErrRevisionNotFound,
// ErrUnreachable) whose text names the repository URL, never its credentials,
// and says what to fix. It does not import controller-runtime: callers read
// Secrets themselves and pass their data to AuthFromSecretData or
// MatchCredentials.
package git
