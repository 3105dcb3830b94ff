// Package cli owns what every kubectl-argo noun uses, so that a noun is its
// own commands over these pieces:
//
//   - commands: the Options contract (Complete with the command's
//     arguments, then Validate, then Run), Common (kubeconfig flags,
//     streams, clients, namespace, clock, poll interval) with Each to make
//     it for every subcommand, and the clients the kubeconfig selects;
//   - errors that say what went wrong and what to do (Error, Explain,
//     NotFound, Rejected), exit codes and --timeout;
//   - printing: -o and -f flags, output validation and the printer
//     (AddPrintFlags, ValidateOutput, Printer, PrintList), list scope (-A,
//     -l), the colour Palette, ages and times, and tree tables (WriteTree);
//   - long waits and watches: the progress line (Progress, Poll, WaitAll)
//     and the Screen that --watch views redraw in place.
package cli
