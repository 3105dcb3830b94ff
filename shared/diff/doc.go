// Package diff owns drift detection for Applications: it normalizes a live
// object and the object the API server would make from Git (a server-side
// apply dry-run with field manager argolite), applies the Application's
// ignoreDifferences rules (JSON pointers, jq path expressions and
// managedFieldsManagers, with Argo CD's matching), says whether and where the
// two differ, and renders the difference as a unified YAML diff with Secret
// values masked. The agent uses it for OutOfSync and selfHeal, the plugin for
// `kubectl argo app diff`.
package diff
