// Package imageconfig reads a container image's entrypoint from its
// registry, as Argo's emissary executor does: the agent wraps every step's
// command, so a container without one needs the image's Entrypoint and Cmd
// before its Pod exists. Configs are cached by digest, tags by the digest
// they pointed at for a short while; registry mirrors follow containerd's
// hosts.toml, since the agent cannot read the node's, and credentials come
// from the Pod's and its ServiceAccount's imagePullSecrets, as the kubelet's.
package imageconfig
