// Package exec owns the step wrapper: the code that runs inside every
// workflow step Pod as `argolite-agent exec ...`. The workflow role builds
// the Pod; this package is what happens in it.
//
// Subcommands (the CLI contract with agent/workflow):
//
//	argolite-agent exec init
//	    Copy the running binary to Binary (/var/run/argolite/argolite-agent,
//	    0755, atomically) and create DoneDir. Run by the init container
//	    InitContainerName.
//
//	argolite-agent exec run [--role main|sidecar|init|set] [--container NAME] -- COMMAND [ARG...]
//	    Run the user's command with stdin, stdout and stderr passed through,
//	    forwarding SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 to
//	    its process group. --role defaults to main and --container to the
//	    role's usual container name ("main" for main).
//	      main:    download input artifacts, write the script, run, collect
//	               outputs.result (when Spec.CaptureResult or Script), output
//	               parameters and artifacts, archive the log (Spec.Logs),
//	               write DoneDir/NAME and the Result to the termination log,
//	               exit with the command's exit code.
//	      sidecar: run; when DoneDir/main appears, SIGTERM the command, SIGKILL
//	               it after 5s, exit 0. If it ends first, exit with its code.
//	      set:     a container-set member: wait for the done files of
//	               Spec.Dependencies[NAME] (all must hold 0), then run like
//	               main; outputs are collected only by the container "main",
//	               but every member writes its done file and a Result.
//	      init:    a user's init container: run and pass the exit code through.
//
//	argolite-agent exec resource
//	    Perform Spec.Resource with the Pod's ServiceAccount (in-cluster
//	    config): create, apply (server-side, field manager argolite, force),
//	    replace, patch (strategic, merge or json), delete or get; wait for
//	    successCondition / failureCondition; read output parameters by
//	    jsonPath or jqFilter; write the Result to the termination log.
//
// The Spec (spec.go) arrives through the downward-API file SpecFile. The
// Result goes to the termination message (TerminationLog, or
// $ARGOLITE_TERMINATION_LOG); when its JSON is larger than the 4 KiB the
// kubelet keeps, it is stored at Spec.Offload and the message carries
// {"exitCode":N,"offloaded":LOCATION}, or, without Offload, the step fails
// with a message saying how to configure an artifact repository.
//
// Artifacts follow Argo: output artifacts are tar+gzip archives of a file or
// directory unless archive is "none" (a file as it is, a directory as one
// object per file under the key); input artifacts that are tar+gzip
// archives are unpacked (a single top-level entry becomes the path itself),
// anything else is placed as it is. S3 goes through minio-go with
// credentials from the environment variables the Location names; HTTP(S)
// and raw (inline) locations are supported for inputs.
//
// Everything the wrapper touches on the filesystem comes from Options, so
// tests run it in a temporary directory.
package exec
