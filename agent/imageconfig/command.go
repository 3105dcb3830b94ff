package imageconfig

// Command is what a container without a command runs, by Docker's rules
// (which the kubelet follows): the image's Entrypoint, then its Cmd unless
// the container has args, which take Cmd's place (the kubelet appends them
// to the command). Empty means the image names nothing to run.
func Command(entrypoint, cmd []string, hasArgs bool) []string {
	out := append([]string(nil), entrypoint...)
	if !hasArgs {
		out = append(out, cmd...)
	}
	return out
}
