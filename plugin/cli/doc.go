// Package cli owns what every kubectl-argo noun uses, so that a noun is its
// own commands over these pieces:
//
//   - commands: the Options contract (Complete with the command's
//     arguments, Validate, Run), Common (kubeconfig flags, streams, clients,
//     namespace, clock) and the clients built from the kubeconfig;
//   - errors that say what went wrong and what to do, exit codes, timeouts;
//   - printing: -o flags and their validation, list printing, the colour
//     Palette, ages and times, tree tables (TreeNode);
//   - long waits and watches: the progress line, WaitAll, and the Screen
//     that --watch views redraw in place.
package cli
